//! Byte stores: where a machine keeps bytes between calls (a STOMP frame split across
//! WebSocket messages, frames waiting for a slow reader, SockJS messages waiting for a
//! receiving request).
//!
//! Every store is bounded: [`ByteStore::limit`] is the most it ever holds, and a write
//! past it fails rather than growing or dropping anything. Firmware uses [`FixedBytes`],
//! a fixed array chosen at compile time; a std runtime plugs in a growable store that
//! allocates only what it holds, up to its limit.

/// A bounded FIFO of bytes: written at the end, consumed from the front.
pub trait ByteStore {
    /// The bytes held, oldest first.
    fn as_slice(&self) -> &[u8];

    /// The bytes held, to change in place.
    fn as_mut_slice(&mut self) -> &mut [u8];

    /// Writable room for at least `len` more bytes at the end (the slice may be longer),
    /// or `None` when holding `len` more would pass [`ByteStore::limit`]. Nothing counts
    /// as held until [`ByteStore::commit`].
    fn spare(&mut self, len: usize) -> Option<&mut [u8]>;

    /// Counts the first `n` bytes of the last [`ByteStore::spare`] slice as held.
    fn commit(&mut self, n: usize);

    /// Forgets the first `n` bytes held (all of them when `n` is larger).
    fn discard(&mut self, n: usize);

    /// The most bytes the store holds.
    fn limit(&self) -> usize;

    /// Bytes held.
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether nothing is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many more bytes fit before the limit.
    fn room(&self) -> usize {
        self.limit().saturating_sub(self.len())
    }

    /// Appends `bytes` whole, or nothing (`Err`) when they do not fit.
    fn push(&mut self, bytes: &[u8]) -> Result<(), StoreFull> {
        let needed = self.len().saturating_add(bytes.len());
        let spare = self.spare(bytes.len()).ok_or(StoreFull { needed })?;
        let dst = spare.get_mut(..bytes.len()).ok_or(StoreFull { needed })?;
        dst.copy_from_slice(bytes);
        self.commit(bytes.len());
        Ok(())
    }

    /// Appends what `encode` writes into the spare room, asking for more room when it
    /// reports [`BufferTooSmall`](crate::buf::BufferTooSmall), starting with `guess`
    /// bytes. Nothing is held when it fails.
    fn write_with<E>(
        &mut self,
        guess: usize,
        mut encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
        needed: impl Fn(&E) -> Option<usize>,
    ) -> Result<usize, WriteError<E>> {
        let mut want = guess;
        loop {
            let held = self.len();
            let Some(spare) = self.spare(want) else {
                return Err(WriteError::Full(StoreFull {
                    needed: held.saturating_add(want),
                }));
            };
            match encode(spare) {
                Ok(n) => {
                    self.commit(n);
                    return Ok(n);
                }
                Err(e) => match needed(&e) {
                    Some(more) if more > want => want = more,
                    _ => return Err(WriteError::Encode(e)),
                },
            }
        }
    }
}

/// A store cannot take more bytes: `needed` is what it would have to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StoreFull {
    /// The bytes the store would hold after the write.
    pub needed: usize,
}

impl core::fmt::Display for StoreFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "byte store full: {} bytes needed", self.needed)
    }
}

impl core::error::Error for StoreFull {}

/// Why [`ByteStore::write_with`] wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WriteError<E> {
    /// The store's limit was reached.
    Full(StoreFull),
    /// The encoder failed for another reason.
    Encode(E),
}

impl<E: core::fmt::Display> core::fmt::Display for WriteError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WriteError::Full(e) => e.fmt(f),
            WriteError::Encode(e) => e.fmt(f),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for WriteError<E> {}

/// A [`ByteStore`] of at most `N` bytes in a fixed array.
///
/// ```
/// use sockwire_core::store::{ByteStore, FixedBytes};
/// let mut s = FixedBytes::<8>::new();
/// s.push(b"hello").unwrap();
/// s.discard(2);
/// s.push(b"world").unwrap(); // the front is reclaimed
/// assert_eq!(s.as_slice(), b"lloworld");
/// assert!(s.push(b"!").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct FixedBytes<const N: usize> {
    bytes: [u8; N],
    start: usize,
    end: usize,
}

impl<const N: usize> FixedBytes<N> {
    /// An empty store.
    pub const fn new() -> Self {
        FixedBytes {
            bytes: [0; N],
            start: 0,
            end: 0,
        }
    }
}

impl<const N: usize> Default for FixedBytes<N> {
    fn default() -> Self {
        FixedBytes::new()
    }
}

impl<const N: usize> ByteStore for FixedBytes<N> {
    fn as_slice(&self) -> &[u8] {
        self.bytes.get(self.start..self.end).unwrap_or_default()
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        self.bytes.get_mut(self.start..self.end).unwrap_or_default()
    }

    fn spare(&mut self, len: usize) -> Option<&mut [u8]> {
        if N.saturating_sub(self.end) < len {
            if self.len().saturating_add(len) > N {
                return None;
            }
            self.bytes.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.bytes.get_mut(self.end..)
    }

    fn commit(&mut self, n: usize) {
        self.end = self.end.saturating_add(n).min(N);
    }

    fn discard(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    fn limit(&self) -> usize {
        N
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::buf::{BufferTooSmall, Writer};
    use proptest::prelude::*;

    #[test]
    fn write_with_asks_for_what_the_encoder_needs() {
        let mut s = FixedBytes::<16>::new();
        let encode = |out: &mut [u8]| {
            let mut w = Writer::new(out);
            w.put(b"0123456789");
            w.finish()
        };
        let needed = |e: &BufferTooSmall| Some(e.needed);
        assert_eq!(s.write_with(2, encode, needed), Ok(10));
        assert_eq!(s.as_slice(), b"0123456789");
        assert_eq!(
            s.write_with(2, encode, needed),
            Err(WriteError::Full(StoreFull { needed: 20 }))
        );
        assert_eq!(s.len(), 10, "nothing held after a failed write");
    }

    proptest! {
        /// Against a model: what goes in comes out in order, and the limit holds.
        #[test]
        fn behaves_like_a_bounded_queue(ops in proptest::collection::vec((any::<bool>(), 0usize..12), 0..64)) {
            let mut s = FixedBytes::<20>::new();
            let mut model: std::vec::Vec<u8> = std::vec::Vec::new();
            let mut next = 0u8;
            for (write, n) in ops {
                if write {
                    let data: std::vec::Vec<u8> = (0..n).map(|i| next.wrapping_add(i as u8)).collect();
                    next = next.wrapping_add(n as u8);
                    let fits = model.len() + n <= 20;
                    prop_assert_eq!(s.push(&data).is_ok(), fits);
                    if fits {
                        model.extend_from_slice(&data);
                    }
                } else {
                    s.discard(n);
                    model.drain(..n.min(model.len()));
                }
                prop_assert_eq!(s.as_slice(), model.as_slice());
                prop_assert_eq!(s.room(), 20 - model.len());
            }
        }
    }
}
