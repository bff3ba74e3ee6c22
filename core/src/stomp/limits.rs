//! Bounds on what a peer may make the decoder accept.

/// Limits the decoder enforces on every frame; exceeding one is a
/// [`DecodeError`](super::DecodeError) of its own, to be answered with an `ERROR` frame
/// and a close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Header lines per frame (repeated names count each time). Default 32.
    ///
    /// The decoder also stops at the length of the header slice its caller passes.
    pub max_headers: usize,
    /// Bytes in one header line, without its end of line. Default 1024.
    pub max_header_line: usize,
    /// Bytes in a frame body. Default 64 KiB.
    pub max_body: usize,
}

impl Limits {
    /// The defaults: 32 headers, 1024-byte header lines, 64 KiB bodies.
    pub const DEFAULT: Limits = Limits {
        max_headers: 32,
        max_header_line: 1024,
        max_body: 64 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
