//! [`VecBytes`]: the core's [`ByteStore`] on a growable buffer that holds only what it
//! needs, up to a limit.

use std::sync::Arc;

use sockwire_core::store::ByteStore;

use crate::pool::BytePool;

/// Capacity an empty store keeps; more is released once it drains.
const KEEP: usize = 512;

/// A [`ByteStore`] that grows as bytes arrive, up to `limit`, and gives its memory back
/// when it empties: an idle session costs a few bytes, not its worst case.
///
/// A store may draw from a [`BytePool`] shared with others: then it holds at most what
/// the pool has left, besides its own limit.
#[derive(Debug)]
pub struct VecBytes {
    bytes: Vec<u8>,
    start: usize,
    end: usize,
    limit: usize,
    pool: Option<Arc<BytePool>>,
}

impl VecBytes {
    /// An empty store that holds at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        VecBytes {
            bytes: Vec::new(),
            start: 0,
            end: 0,
            limit,
            pool: None,
        }
    }

    /// An empty store that holds at most `limit` bytes, and no more than `pool` has left.
    pub fn pooled(limit: usize, pool: Arc<BytePool>) -> Self {
        let mut store = VecBytes::new(limit);
        store.pool = Some(pool);
        store
    }

    fn held(&self) -> usize {
        self.end - self.start
    }

    /// Bytes allocated, for accounting.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }
}

impl Clone for VecBytes {
    fn clone(&self) -> Self {
        if let Some(p) = &self.pool {
            p.charge(self.held());
        }
        VecBytes {
            bytes: self.bytes.clone(),
            start: self.start,
            end: self.end,
            limit: self.limit,
            pool: self.pool.clone(),
        }
    }
}

impl Drop for VecBytes {
    fn drop(&mut self) {
        if let Some(p) = &self.pool {
            p.refund(self.held());
        }
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
        let held = self.held();
        if held.checked_add(len)? > self.limit() {
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
        let end = (self.end + n).min(self.bytes.len());
        if let Some(p) = &self.pool {
            p.charge(end - self.end);
        }
        self.end = end;
    }

    fn discard(&mut self, n: usize) {
        let start = (self.start + n).min(self.end);
        if let Some(p) = &self.pool {
            p.refund(start - self.start);
        }
        self.start = start;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.bytes.len() > KEEP {
                self.bytes = Vec::new();
            }
        }
    }

    fn limit(&self) -> usize {
        match &self.pool {
            Some(p) => self.limit.min(self.held().saturating_add(p.available())),
            None => self.limit,
        }
    }
}
