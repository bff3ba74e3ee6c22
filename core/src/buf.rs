//! Writing into caller-provided buffers.
//!
//! Every encoder in sockwire writes into a `&mut [u8]` the caller owns. When the buffer is
//! too small the encoder returns [`BufferTooSmall`] with the exact size it needs, and the
//! bytes it may have placed in the buffer must be ignored: nothing counts as written.

/// The caller's output buffer cannot hold what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BufferTooSmall {
    /// The number of bytes the whole output needs.
    pub needed: usize,
}

impl core::fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "output buffer too small: {} bytes needed", self.needed)
    }
}

impl core::error::Error for BufferTooSmall {}

/// Appends bytes to a caller buffer, counting what would be needed even past its end.
///
/// Writes past the end are dropped but counted, so a single pass tells both whether the
/// output fits and, when it does not, how large a buffer the caller must provide.
///
/// ```
/// use sockwire_core::buf::{BufferTooSmall, Writer};
/// let mut out = [0u8; 4];
/// let mut w = Writer::new(&mut out);
/// w.put(b"hello");
/// assert_eq!(w.finish(), Err(BufferTooSmall { needed: 5 }));
/// ```
pub struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    /// Starts writing at the beginning of `out`.
    pub fn new(out: &'a mut [u8]) -> Self {
        Writer { out, len: 0 }
    }

    /// Appends `bytes`.
    pub fn put(&mut self, bytes: &[u8]) {
        let start = self.len;
        self.len = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.out.get_mut(start..self.len) {
            dst.copy_from_slice(bytes);
        }
    }

    /// Appends a string.
    pub fn put_str(&mut self, s: &str) {
        self.put(s.as_bytes());
    }

    /// Appends the decimal form of `n`.
    #[allow(
        clippy::indexing_slicing,
        reason = "a u64 has at most 20 decimal digits"
    )]
    pub fn put_decimal(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut rest = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.put(&digits[i..]);
    }

    /// Bytes appended so far, including any that did not fit.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was appended yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of bytes written, or the size needed when they did not all fit.
    pub fn finish(self) -> Result<usize, BufferTooSmall> {
        if self.len <= self.out.len() {
            Ok(self.len)
        } else {
            Err(BufferTooSmall { needed: self.len })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_exactly() {
        let mut out = [0u8; 5];
        let mut w = Writer::new(&mut out);
        w.put_str("he");
        w.put_decimal(120);
        assert_eq!(w.finish(), Ok(5));
        assert_eq!(&out, b"he120");
    }

    #[test]
    fn counts_past_the_end() {
        let mut out = [0u8; 2];
        let mut w = Writer::new(&mut out);
        w.put_decimal(u64::MAX);
        assert_eq!(w.finish(), Err(BufferTooSmall { needed: 20 }));
    }

    #[test]
    fn zero() {
        let mut out = [0u8; 1];
        let mut w = Writer::new(&mut out);
        w.put_decimal(0);
        assert_eq!(w.finish(), Ok(1));
        assert_eq!(&out, b"0");
    }
}
