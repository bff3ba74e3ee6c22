//! What can go wrong in a STOMP client session: the caller's misuse, or the server's.

use super::{Command, DecodeError, EncodeError};

/// Why a client session refused to build a frame. Nothing was written and the session's
/// state did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ClientError {
    /// The frame could not be encoded (buffer too small: it says the size needed).
    Encode(EncodeError),
    /// `CONNECT` was already sent.
    AlreadyConnecting,
    /// The session is not connected (no `CONNECTED` yet, or it ended).
    NotConnected,
    /// `CONNECT` offered no version.
    NoVersion,
    /// More outstanding receipts than the session's `RECEIPTS` capacity.
    TooManyReceipts,
    /// More subscriptions than the session's `SUBSCRIPTIONS` capacity.
    TooManySubscriptions,
    /// A subscription or receipt id longer than the session's `ID_LEN`, or empty.
    InvalidId,
    /// A receipt id that is already outstanding.
    DuplicateReceipt,
    /// A subscription id that is already in use.
    DuplicateSubscription,
    /// `UNSUBSCRIBE` of an id that is not subscribed.
    UnknownSubscription,
    /// More headers than one outgoing frame may carry ([`MAX_FRAME_HEADERS`](super::MAX_FRAME_HEADERS)).
    TooManyHeaders,
}

impl From<EncodeError> for ClientError {
    fn from(e: EncodeError) -> Self {
        ClientError::Encode(e)
    }
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClientError::Encode(e) => e.fmt(f),
            ClientError::AlreadyConnecting => f.write_str("CONNECT already sent"),
            ClientError::NotConnected => f.write_str("session not connected"),
            ClientError::NoVersion => f.write_str("no STOMP version offered"),
            ClientError::TooManyReceipts => f.write_str("too many outstanding receipts"),
            ClientError::TooManySubscriptions => f.write_str("too many subscriptions"),
            ClientError::InvalidId => f.write_str("id empty or too long"),
            ClientError::DuplicateReceipt => f.write_str("receipt id already outstanding"),
            ClientError::DuplicateSubscription => f.write_str("subscription id already in use"),
            ClientError::UnknownSubscription => f.write_str("no such subscription"),
            ClientError::TooManyHeaders => f.write_str("too many headers for one frame"),
        }
    }
}

impl core::error::Error for ClientError {}

/// The rule the server's bytes broke. Every variant ends the session: close the
/// transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ServerViolation {
    /// The bytes are not a well-formed STOMP frame.
    Decode(DecodeError),
    /// A frame a server must not send, or not now (a client command, `MESSAGE` before
    /// `CONNECTED`, a second `CONNECTED`, anything after the session ended).
    UnexpectedFrame(Command),
    /// A header the specification requires is missing (its name).
    MissingHeader(&'static str),
    /// `CONNECTED` names a version the client did not offer.
    UnsupportedVersion,
    /// `CONNECTED` carries a malformed `heart-beat` header.
    InvalidHeartBeat,
}

impl From<DecodeError> for ServerViolation {
    fn from(e: DecodeError) -> Self {
        ServerViolation::Decode(e)
    }
}

impl core::fmt::Display for ServerViolation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ServerViolation::Decode(e) => e.fmt(f),
            ServerViolation::UnexpectedFrame(c) => write!(f, "unexpected {c} frame from server"),
            ServerViolation::MissingHeader(h) => write!(f, "server frame lacks the {h} header"),
            ServerViolation::UnsupportedVersion => {
                f.write_str("server chose a version not offered")
            }
            ServerViolation::InvalidHeartBeat => f.write_str("malformed heart-beat header"),
        }
    }
}

impl core::error::Error for ServerViolation {}
