//! [`VecBytes`]: the core's [`ByteStore`] on a growable buffer that holds only what it
//! needs, up to a limit.

use sockwire_core::store::ByteStore;

/// Capacity an empty store keeps; more is released once it drains.
const KEEP: usize = 4 * 1024;

/// A [`ByteStore`] that grows as bytes arrive, up to `limit`, and gives its memory back
/// when it empties: an idle session costs a few bytes, not its worst case.
#[derive(Debug, Clone)]
pub struct VecBytes {
    bytes: Vec<u8>,
    start: usize,
    end: usize,
    limit: usize,
}

impl VecBytes {
    /// An empty store that holds at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        VecBytes {
            bytes: Vec::new(),
            start: 0,
            end: 0,
            limit,
        }
    }

    /// Bytes allocated, for accounting.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }
}

impl ByteStore for VecBytes {
    fn as_slice(&self) -> &[u8] {
        self.bytes.get(self.start..self.end).unwrap_or_default()
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        self.bytes.get_mut(self.start..self.end).unwrap_or_default()
    }

    fn spare(&mut self, len: usize) -> Option<&mut [u8]> {
        let held = self.end - self.start;
        if held.checked_add(len)? > self.limit {
            return None;
        }
        if self.bytes.len() - self.end < len {
            if self.start > 0 {
                self.bytes.copy_within(self.start..self.end, 0);
                self.end = held;
                self.start = 0;
            }
            if self.bytes.len() - self.end < len {
                let grown = (self.end + len).max(self.bytes.len() * 2).min(self.limit);
                self.bytes.resize(grown.max(self.end + len), 0);
            }
        }
        self.bytes.get_mut(self.end..)
    }

    fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.bytes.len());
    }

    fn discard(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.bytes.len() > KEEP {
                self.bytes = Vec::new();
            }
        }
    }

    fn limit(&self) -> usize {
        self.limit
    }
}
