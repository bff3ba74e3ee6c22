//! [`BytePool`]: a budget of bytes shared by many stores, so that what peers make the
//! server hold has one bound however many peers there are.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes many [`VecBytes`](crate::store::VecBytes) stores draw from: what one holds the
/// others cannot. A store whose pool is spent has no room, which its machine answers as
/// it answers a full store (a WebSocket message that does not fit is closed with 1009).
#[derive(Debug)]
pub struct BytePool {
    used: AtomicUsize,
    limit: usize,
}

impl BytePool {
    /// A pool of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        BytePool {
            used: AtomicUsize::new(0),
            limit,
        }
    }

    /// Bytes held now, by every store of the pool.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Bytes still to be had.
    pub fn available(&self) -> usize {
        self.limit.saturating_sub(self.used())
    }

    /// `n` more bytes are held.
    pub(crate) fn charge(&self, n: usize) {
        self.used.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` bytes are no longer held.
    pub(crate) fn refund(&self, n: usize) {
        // Never below zero, even should a refund outrun its charge.
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(n))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::VecBytes;
    use sockwire_core::store::ByteStore;
    use std::sync::Arc;

    #[test]
    fn stores_share_the_pool_and_give_back_what_they_release() {
        let pool = Arc::new(BytePool::new(10));
        let mut a = VecBytes::pooled(8, pool.clone());
        let mut b = VecBytes::pooled(8, pool.clone());
        assert!(a.push(b"123456").is_ok());
        assert_eq!(pool.used(), 6);
        // b may take only what a left: 4 bytes, not its own limit of 8.
        assert_eq!(b.room(), 4);
        assert!(b.push(b"12345").is_err());
        assert!(b.push(b"1234").is_ok());
        a.discard(6);
        assert_eq!(pool.used(), 4);
        assert_eq!(b.room(), 4, "its own limit of 8 now bounds it");
        drop(b);
        assert_eq!(pool.used(), 0);
    }
}
