//! The rules a STOMP client can break, each answered by the server session with an
//! `ERROR` frame and a close.

use super::{DecodeError, Limits, VersionSet};
use crate::buf::Writer;

/// Octets a message naming a limit takes at most
/// ([`SessionError::message_with_limits`]).
pub const LIMIT_MESSAGE_LEN: usize = 48;

/// The rule a client broke. The server session answers every variant with an `ERROR`
/// frame whose `message` header is [`SessionError::message`] (plus `receipt-id` when the
/// faulty frame asked for a receipt), then closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SessionError {
    /// The bytes are not a well-formed frame.
    Decode(DecodeError),
    /// A frame other than `CONNECT`/`STOMP` before the session was accepted.
    NotConnected,
    /// A second `CONNECT`/`STOMP`.
    AlreadyConnected,
    /// A server command (`CONNECTED`, `MESSAGE`, `RECEIPT`, `ERROR`) from the client.
    UnexpectedCommand,
    /// No version in `accept-version` (1.0 when absent) that the server supports; the
    /// `ERROR` frame's `version` header lists the supported ones.
    UnsupportedVersion(VersionSet),
    /// The `heart-beat` header is not two decimal numbers.
    InvalidHeartBeat,
    /// A header the frame requires is absent (its name).
    MissingHeader(&'static str),
    /// An `id`, `transaction`, `receipt`, `subscription` or `message-id` value longer
    /// than [`MAX_ID_LEN`](super::MAX_ID_LEN), or one that could not be echoed in a
    /// header of this version (a value ending in a carriage return before STOMP 1.2).
    InvalidId,
    /// The `ack` header of `SUBSCRIBE` is not `auto`, `client` or `client-individual`.
    InvalidAckMode,
    /// `SUBSCRIBE` with an id already in use.
    DuplicateSubscription,
    /// `UNSUBSCRIBE`, `ACK` or `NACK` naming no current subscription.
    UnknownSubscription,
    /// More subscriptions than the session's capacity.
    TooManySubscriptions,
    /// `ACK`/`NACK` for a message that is not awaiting acknowledgement.
    UnknownMessage,
    /// `BEGIN` with a transaction name already open.
    DuplicateTransaction,
    /// A `transaction` header naming no open transaction.
    UnknownTransaction,
    /// More open transactions than the session's capacity.
    TooManyTransactions,
    /// The frames held for open transactions exceed the session's byte store.
    TransactionTooLarge,
    /// A body on a frame other than `SEND`.
    UnexpectedBody,
    /// The application refused the `CONNECT` (see
    /// [`ServerSession::reject_connect`](super::ServerSession::reject_connect)); the
    /// `ERROR` frame carries the application's message.
    Rejected,
}

impl SessionError {
    /// A short description, the `ERROR` frame's `message` header.
    pub fn message(self) -> &'static str {
        match self {
            SessionError::Decode(e) => e.message(),
            SessionError::NotConnected => "frame before CONNECT",
            SessionError::AlreadyConnected => "already connected",
            SessionError::UnexpectedCommand => "server command sent by client",
            SessionError::UnsupportedVersion(_) => "no supported protocol version",
            SessionError::InvalidHeartBeat => "invalid heart-beat header",
            SessionError::MissingHeader(name) => match name {
                "destination" => "missing destination header",
                "id" => "missing id header",
                "message-id" => "missing message-id header",
                "subscription" => "missing subscription header",
                "transaction" => "missing transaction header",
                _ => "missing required header",
            },
            SessionError::InvalidId => "identifier too long or not representable",
            SessionError::InvalidAckMode => "invalid ack mode",
            SessionError::DuplicateSubscription => "subscription id already in use",
            SessionError::UnknownSubscription => "unknown subscription",
            SessionError::TooManySubscriptions => "too many subscriptions",
            SessionError::UnknownMessage => "message not awaiting acknowledgement",
            SessionError::DuplicateTransaction => "transaction already open",
            SessionError::UnknownTransaction => "unknown transaction",
            SessionError::TooManyTransactions => "too many open transactions",
            SessionError::TransactionTooLarge => "transaction too large",
            SessionError::UnexpectedBody => "frame must not have a body",
            SessionError::Rejected => "connection rejected",
        }
    }
}

impl SessionError {
    /// The `ERROR` frame's `message` header, naming the limit a frame exceeded (`frame
    /// body exceeds 1048576 bytes`) so that a client knows what it may send; written into
    /// `buf` where it names one, [`SessionError::message`] otherwise.
    pub fn message_with_limits<'b>(
        self,
        limits: &Limits,
        buf: &'b mut [u8; LIMIT_MESSAGE_LEN],
    ) -> &'b str {
        let (before, limit, after): (&[u8], usize, &[u8]) = match self {
            SessionError::Decode(DecodeError::BodyTooLarge) => {
                (b"frame body exceeds ", limits.max_body, b" bytes")
            }
            SessionError::Decode(DecodeError::HeaderLineTooLong) => {
                (b"header line exceeds ", limits.max_header_line, b" bytes")
            }
            SessionError::Decode(DecodeError::TooManyHeaders) => {
                (b"more than ", limits.max_headers, b" headers")
            }
            _ => return self.message(),
        };
        let mut w = Writer::new(buf);
        w.put(before);
        w.put_decimal(u64::try_from(limit).unwrap_or(u64::MAX));
        w.put(after);
        match w.finish() {
            Ok(n) => buf
                .get(..n)
                .and_then(|b| core::str::from_utf8(b).ok())
                .unwrap_or(self.message()),
            Err(_) => self.message(),
        }
    }
}

impl From<DecodeError> for SessionError {
    fn from(e: DecodeError) -> Self {
        SessionError::Decode(e)
    }
}

impl core::fmt::Display for SessionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for SessionError {}
