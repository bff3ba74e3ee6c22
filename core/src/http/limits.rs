//! Limits on the size of a head.

/// Caps on a message head, so a peer cannot make us buffer or scan without bound.
///
/// Exceeding either is answered with `431 Request Header Fields Too Large`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeadLimits {
    /// The longest head accepted, in bytes, including the start line and the blank line.
    pub max_head_len: usize,
    /// The most header fields accepted (the start line does not count).
    pub max_headers: usize,
}

impl HeadLimits {
    /// 16 KiB and 64 header fields.
    pub const DEFAULT: HeadLimits = HeadLimits {
        max_head_len: 16 * 1024,
        max_headers: 64,
    };

    /// No limits at all; for parsing a head that is already known to be bounded.
    pub const UNLIMITED: HeadLimits = HeadLimits {
        max_head_len: usize::MAX,
        max_headers: usize::MAX,
    };
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits::DEFAULT
    }
}
