//! What a [`crate::ws::Connection`] reports about the peer.

use super::close::CloseCode;
use super::error::ProtocolError;

/// The kind of a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DataKind {
    /// UTF-8 text.
    Text,
    /// Arbitrary bytes.
    Binary,
}

/// The largest control frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// An owned control frame payload (at most 125 bytes), so that events need not borrow
/// the connection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ControlPayload {
    bytes: [u8; MAX_CONTROL_PAYLOAD],
    len: u8,
}

impl ControlPayload {
    /// An empty payload.
    pub const fn empty() -> Self {
        ControlPayload {
            bytes: [0; MAX_CONTROL_PAYLOAD],
            len: 0,
        }
    }

    /// Copies `bytes`, or returns `None` when it is longer than 125 bytes.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        let mut p = ControlPayload::empty();
        p.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        p.len = bytes.len() as u8;
        Some(p)
    }

    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The payload as text, when it is valid UTF-8 (a close reason always is).
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.as_bytes()).ok()
    }

    /// The payload length.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for ControlPayload {
    fn default() -> Self {
        ControlPayload::empty()
    }
}

impl core::fmt::Debug for ControlPayload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.as_str() {
            Some(s) => write!(f, "{s:?}"),
            None => write!(f, "{:?}", self.as_bytes()),
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for ControlPayload {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=[u8]}", self.as_bytes())
    }
}

/// Something the peer did, reported by [`crate::ws::Connection::read`].
///
/// Data events borrow the caller's input buffer; the others are owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'b> {
    /// A chunk of a data message's payload as it arrives (a frame may arrive in several
    /// chunks; a message in several frames).
    ///
    /// `first`: first chunk of the message; `fin`: last chunk of the message. Text chunks
    /// are UTF-8-valid so far (a code point may be split across chunks, never invalid),
    /// unless the message is extension-compressed (see [`crate::ws::Config::allowed_rsv`]).
    /// Empty frames still produce an event when they start or end the message. `rsv`: RSV
    /// bits of the message's first frame (for an extension layer).
    Data {
        /// Text or binary.
        kind: DataKind,
        /// The unmasked payload chunk, borrowed from the caller's input.
        payload: &'b [u8],
        /// This chunk starts the message.
        first: bool,
        /// This chunk ends the message.
        fin: bool,
        /// RSV bits of the message's first frame.
        rsv: u8,
    },
    /// The peer sent a ping (a pong has been queued unless we are closing).
    Ping(ControlPayload),
    /// The peer sent a pong.
    Pong(ControlPayload),
    /// The peer closed (or answered our close; terminal). `code` is `None` when the close
    /// frame had no body; `reason` is valid UTF-8 ([`ControlPayload::as_str`]).
    Closed {
        /// The peer's close code.
        code: Option<CloseCode>,
        /// The peer's reason (up to 123 bytes of UTF-8).
        reason: ControlPayload,
    },
    /// The peer broke a rule (terminal). A close with [`ProtocolError::close_code`] has
    /// been queued for [`crate::machine::Machine::poll_transmit`] (unless ours was
    /// already sent), no more input is processed, and the connection is closed once that
    /// close has been transmitted.
    Failed(ProtocolError),
    /// The peer did not answer our close within `close_timeout_ms` (terminal, reported by
    /// [`crate::machine::Machine::handle_timeout`]): the connection is closed without
    /// the closing handshake, what RFC 6455 reports as 1006.
    TimedOut,
}
