//! [`VecTable`]: the core's [`Table`] on a `Vec` that holds only what is in it, and
//! [`GrowableStorage`], the [`SessionStorage`] that keeps a STOMP session's tables in
//! them.

use std::fmt::Debug;

use sockwire_core::stomp::SessionStorage;
use sockwire_core::table::{Table, TableFull};

/// A list of at most `N` items that allocates as items arrive and gives its memory back
/// as they leave: an empty one holds no allocation.
#[derive(Debug, Clone)]
pub struct VecTable<T, const N: usize> {
    items: Vec<T>,
}

impl<T, const N: usize> Default for VecTable<T, N> {
    fn default() -> Self {
        VecTable { items: Vec::new() }
    }
}

impl<T, const N: usize> VecTable<T, N> {
    /// Items the list has room for without allocating.
    pub fn capacity(&self) -> usize {
        self.items.capacity()
    }

    /// Makes room for `more` items beyond those held: doubling, never past `N`.
    fn reserve(&mut self, more: usize) {
        let needed = self.items.len().saturating_add(more);
        if needed > self.items.capacity() {
            let grown = needed.max(self.items.capacity() * 2).min(N);
            self.items
                .reserve_exact(grown.max(needed) - self.items.len());
        }
    }

    /// After items left: an empty list frees its allocation, a mostly empty one halves.
    fn shrink(&mut self) {
        let (len, capacity) = (self.items.len(), self.items.capacity());
        if len == 0 {
            self.items = Vec::new();
        } else if capacity >= 16 && len <= capacity / 4 {
            self.items.shrink_to(len * 2);
        }
    }
}

impl<T, const N: usize> Table<T> for VecTable<T, N> {
    fn as_slice(&self) -> &[T] {
        &self.items
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.items
    }

    fn push(&mut self, item: T) -> Result<(), T> {
        if self.items.len() >= N {
            return Err(item);
        }
        self.reserve(1);
        self.items.push(item);
        Ok(())
    }

    fn extend_from_slice(&mut self, items: &[T]) -> Result<(), TableFull>
    where
        T: Clone,
    {
        if self.items.len().saturating_add(items.len()) > N {
            return Err(TableFull);
        }
        self.reserve(items.len());
        self.items.extend_from_slice(items);
        Ok(())
    }

    fn pop(&mut self) -> Option<T> {
        let item = self.items.pop();
        self.shrink();
        item
    }

    fn remove(&mut self, index: usize) -> Option<T> {
        let item = (index < self.items.len()).then(|| self.items.remove(index));
        self.shrink();
        item
    }

    fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
        self.shrink();
    }

    fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.items.retain(keep);
        self.shrink();
    }

    fn clear(&mut self) {
        self.items = Vec::new();
    }

    fn is_full(&self) -> bool {
        self.items.len() >= N
    }
}

/// A STOMP session's tables in [`VecTable`]s: each holds what is in it, up to the
/// session's capacity, so that an idle session's tables cost a few words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrowableStorage;

impl SessionStorage for GrowableStorage {
    type List<T: Clone + Debug, const N: usize> = VecTable<T, N>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_grows_and_gives_back() {
        let mut t = VecTable::<u32, 5>::default();
        assert_eq!(t.capacity(), 0);
        for i in 0..5 {
            assert_eq!(t.push(i), Ok(()));
        }
        assert!(t.is_full());
        assert_eq!(t.capacity(), 5, "never past the limit");
        assert_eq!(t.push(9), Err(9));
        assert_eq!(t.extend_from_slice(&[1]), Err(TableFull));
        assert_eq!(t.remove(0), Some(0));
        assert_eq!(t.remove(7), None);
        t.retain(|&x| x != 2);
        assert_eq!(t.as_slice(), &[1, 3, 4]);
        t.truncate(0);
        assert_eq!(t.capacity(), 0, "an empty table holds nothing");
        let mut bytes = VecTable::<u8, 100>::default();
        assert_eq!(bytes.extend_from_slice(&[7; 60]), Ok(()));
        assert_eq!(bytes.extend_from_slice(&[7; 60]), Err(TableFull));
        assert_eq!(bytes.len(), 60);
        assert_eq!(bytes.extend_from_slice(&[7; 40]), Ok(()));
        assert_eq!(bytes.capacity(), 100);
        bytes.truncate(10);
        assert!(bytes.capacity() <= 25);
        bytes.clear();
        assert_eq!(bytes.capacity(), 0);
    }
}
