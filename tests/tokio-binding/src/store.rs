//! [`VecBytes`]: a growable [`ByteStore`] that allocates only what it holds, up to a
//! limit fixed when it is made.

use sockwire_core::store::ByteStore;

/// Above this many allocated bytes, an emptied store gives its memory back.
const KEEP: usize = 16 * 1024;

/// A bounded FIFO of bytes in a `Vec`: held bytes are `buf[start..end]`; the vector
/// grows (doubling, never past what the limit allows) when a write needs room, and is
/// compacted to the front before it grows.
#[derive(Debug, Clone)]
pub struct VecBytes {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    limit: usize,
}

impl VecBytes {
    /// An empty store that never holds more than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        VecBytes {
            buf: Vec::new(),
            start: 0,
            end: 0,
            limit,
        }
    }
}

impl ByteStore for VecBytes {
    fn as_slice(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.start..self.end).unwrap_or_default()
    }

    fn spare(&mut self, len: usize) -> Option<&mut [u8]> {
        let held = self.end - self.start;
        if held.checked_add(len)? > self.limit {
            return None;
        }
        if self.buf.len() - self.end < len {
            // Reclaim the consumed front first, then grow.
            self.buf.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = held;
            if self.buf.len() - self.end < len {
                let want = (held + len).max(self.buf.len().saturating_mul(2));
                self.buf.resize(want.min(self.limit), 0);
            }
        }
        // Never offer room past the limit, so that a commit cannot pass it.
        let stop = self.buf.len().min(self.start + self.limit);
        self.buf.get_mut(self.end..stop)
    }

    fn commit(&mut self, n: usize) {
        let stop = self.buf.len().min(self.start + self.limit);
        self.end = self.end.saturating_add(n).min(stop);
    }

    fn discard(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > KEEP {
                self.buf.truncate(KEEP);
                self.buf.shrink_to_fit();
            }
        }
    }

    fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_bounded_queue() {
        let mut s = VecBytes::new(8);
        assert!(s.push(b"hello").is_ok());
        s.discard(2);
        assert!(s.push(b"world").is_ok());
        assert_eq!(s.as_slice(), b"lloworld");
        assert!(s.push(b"!").is_err());
        assert_eq!(s.room(), 0);
        s.discard(100);
        assert!(s.is_empty());
        assert_eq!(s.spare(8).map(|r| r.len()), Some(8));
        assert!(s.spare(9).is_none());
    }

    #[test]
    fn grows_only_as_needed_and_gives_memory_back() {
        let mut s = VecBytes::new(1 << 20);
        assert!(s.push(&[7; 100]).is_ok());
        assert!(s.buf.len() < 1024);
        assert!(s.push(&vec![1; 100_000]).is_ok());
        assert_eq!(s.len(), 100_100);
        s.discard(usize::MAX);
        assert!(s.buf.len() <= KEEP);
    }

    #[test]
    fn write_with_asks_for_more_room() {
        let mut s = VecBytes::new(64);
        let encode = |out: &mut [u8]| match out.get_mut(..10) {
            Some(dst) => {
                dst.copy_from_slice(b"0123456789");
                Ok(10)
            }
            None => Err(10usize),
        };
        assert_eq!(s.write_with(2, encode, |n| Some(*n)), Ok(10));
        assert_eq!(s.as_slice(), b"0123456789");
    }
}
