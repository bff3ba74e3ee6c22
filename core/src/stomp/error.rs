//! What can go wrong decoding and encoding STOMP frames.

use crate::buf::BufferTooSmall;

/// The rule a peer's bytes broke. Every variant is fatal for the connection: the
/// specification's answer is an `ERROR` frame (with [`DecodeError::message`] as its
/// `message` header) followed by a close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// The first line of a frame is not a STOMP command.
    UnknownCommand,
    /// A header line has no `:`, an empty name, or a NUL octet.
    MalformedHeader,
    /// A header uses an escape sequence its version does not define (such as `\t`), or
    /// ends in a lone backslash.
    InvalidEscape,
    /// The `content-length` header is not a decimal number.
    InvalidContentLength,
    /// The octet after a `content-length` body is not the NUL that ends the frame.
    MissingNul,
    /// More header lines than [`Limits::max_headers`](super::Limits::max_headers).
    TooManyHeaders,
    /// A header line longer than [`Limits::max_header_line`](super::Limits::max_header_line).
    HeaderLineTooLong,
    /// A body, or a `content-length` announcing one, larger than
    /// [`Limits::max_body`](super::Limits::max_body).
    BodyTooLarge,
}

impl DecodeError {
    /// A short description, suitable for an `ERROR` frame's `message` header.
    pub const fn message(self) -> &'static str {
        match self {
            DecodeError::UnknownCommand => "unknown command",
            DecodeError::MalformedHeader => "malformed header",
            DecodeError::InvalidEscape => "undefined escape sequence in header",
            DecodeError::InvalidContentLength => "invalid content-length",
            DecodeError::MissingNul => "frame not terminated by NUL after content-length body",
            DecodeError::TooManyHeaders => "too many headers",
            DecodeError::HeaderLineTooLong => "header line too long",
            DecodeError::BodyTooLarge => "body too large",
        }
    }
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

/// Why a frame could not be encoded. Nothing written counts when encoding fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The output buffer is too small; it says how large a buffer the frame needs.
    BufferTooSmall(BufferTooSmall),
    /// The header at this index (in the order given) cannot be written in the frame's
    /// version without changing its meaning: an empty name, a NUL octet, or (where
    /// headers are not escaped: STOMP 1.0 and `CONNECT`/`STOMP`/`CONNECTED` frames) a line
    /// feed, a `:` in a name, or a value ending in a carriage return (also in 1.1, which
    /// has no `\r` escape).
    InvalidHeader {
        /// Position of the offending header.
        index: usize,
    },
    /// The caller's `content-length` header disagrees with the body's length.
    ContentLengthMismatch,
}

impl From<BufferTooSmall> for EncodeError {
    fn from(e: BufferTooSmall) -> Self {
        EncodeError::BufferTooSmall(e)
    }
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::BufferTooSmall(e) => e.fmt(f),
            EncodeError::InvalidHeader { index } => {
                write!(f, "header {index} cannot be represented in this frame")
            }
            EncodeError::ContentLengthMismatch => {
                f.write_str("content-length header disagrees with the body length")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

impl core::error::Error for EncodeError {}
