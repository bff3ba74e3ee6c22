//! The rules a peer can break, and errors of the local API.

use super::close::CloseCode;
use crate::buf::BufferTooSmall;

/// A WebSocket rule the peer broke. Each maps to the close code sent in answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProtocolError {
    /// A frame had RSV bits set that no extension negotiated.
    ReservedBits,
    /// A frame used a reserved opcode (3-7, 0xB-0xF).
    ReservedOpcode,
    /// A control frame's payload exceeded 125 bytes.
    ControlTooLong,
    /// A control frame had FIN clear.
    FragmentedControl,
    /// A continuation frame arrived with no message in progress.
    UnexpectedContinuation,
    /// A new text or binary frame arrived while a fragmented message was in progress.
    ExpectedContinuation,
    /// A client sent an unmasked frame (the server requires masking).
    UnmaskedClientFrame,
    /// A server sent a masked frame (the client requires unmasked frames).
    MaskedServerFrame,
    /// A text message or close reason was not valid UTF-8.
    InvalidUtf8,
    /// A close frame had a 1-byte payload.
    InvalidClosePayload,
    /// A close frame carried a code that is not valid on the wire.
    InvalidCloseCode,
    /// A 64-bit payload length had its most significant bit set.
    InvalidLength,
    /// A frame's payload exceeded `max_frame_size`.
    FrameTooLarge,
    /// A message's total payload exceeded `max_message_size`.
    MessageTooLarge,
}

impl ProtocolError {
    /// The close code sent to the peer in answer: 1007 for invalid UTF-8, 1009 for
    /// exceeded limits, 1002 for everything else.
    pub const fn close_code(self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            ProtocolError::FrameTooLarge | ProtocolError::MessageTooLarge => {
                CloseCode::MESSAGE_TOO_BIG
            }
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl core::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = match self {
            ProtocolError::ReservedBits => "reserved bits set",
            ProtocolError::ReservedOpcode => "reserved opcode",
            ProtocolError::ControlTooLong => "control frame payload over 125 bytes",
            ProtocolError::FragmentedControl => "fragmented control frame",
            ProtocolError::UnexpectedContinuation => "continuation frame without a message",
            ProtocolError::ExpectedContinuation => "new message while a message is in progress",
            ProtocolError::UnmaskedClientFrame => "unmasked frame from a client",
            ProtocolError::MaskedServerFrame => "masked frame from a server",
            ProtocolError::InvalidUtf8 => "invalid UTF-8",
            ProtocolError::InvalidClosePayload => "close payload of 1 byte",
            ProtocolError::InvalidCloseCode => "invalid close code",
            ProtocolError::InvalidLength => "64-bit length with the top bit set",
            ProtocolError::FrameTooLarge => "frame too large",
            ProtocolError::MessageTooLarge => "message too large",
        };
        f.write_str(s)
    }
}

impl core::error::Error for ProtocolError {}

/// Why a frame could not be sent or queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendError {
    /// The output buffer is too small; nothing was written.
    BufferTooSmall(BufferTooSmall),
    /// A close was already sent or queued, or the connection is closed.
    Closed,
    /// `first` was true while an outgoing message was still in progress.
    MessageInProgress,
    /// `first` was false with no outgoing message in progress.
    NoMessageInProgress,
    /// A ping payload over 125 bytes, or a close reason over 123 bytes.
    ControlTooLong,
    /// The close code may not be sent on the wire (see [`CloseCode::is_valid_on_wire`]).
    InvalidCloseCode,
}

impl From<BufferTooSmall> for SendError {
    fn from(e: BufferTooSmall) -> Self {
        SendError::BufferTooSmall(e)
    }
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SendError::BufferTooSmall(e) => e.fmt(f),
            SendError::Closed => f.write_str("connection closing or closed"),
            SendError::MessageInProgress => f.write_str("a message is already in progress"),
            SendError::NoMessageInProgress => f.write_str("no message in progress"),
            SendError::ControlTooLong => f.write_str("control payload too long"),
            SendError::InvalidCloseCode => f.write_str("close code not valid on the wire"),
        }
    }
}

impl core::error::Error for SendError {}
