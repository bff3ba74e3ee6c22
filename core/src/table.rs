//! [`Table`]: a list of at most a fixed number of items, in storage the caller picks:
//! `heapless::Vec` in the core (room for every item, inline), or a growable list in a
//! runtime with an allocator that holds only what is in it.

/// A list that holds at most its limit of items; [`Table::push`] gives the item back
/// when the list is full.
///
/// ```
/// use sockwire_core::table::Table;
/// let mut t = heapless::Vec::<u8, 2>::new();
/// assert_eq!(Table::push(&mut t, 1), Ok(()));
/// assert_eq!(Table::push(&mut t, 2), Ok(()));
/// assert_eq!(Table::push(&mut t, 3), Err(3));
/// Table::retain(&mut t, |&x| x != 1);
/// assert_eq!(Table::as_slice(&t), &[2]);
/// ```
pub trait Table<T> {
    /// The items, in order.
    fn as_slice(&self) -> &[T];

    /// The items, in order, to change in place.
    fn as_mut_slice(&mut self) -> &mut [T];

    /// Appends `item`, or gives it back when the list is full.
    fn push(&mut self, item: T) -> Result<(), T>;

    /// Appends a copy of every item of `items`, or none when they do not all fit.
    fn extend_from_slice(&mut self, items: &[T]) -> Result<(), TableFull>
    where
        T: Clone;

    /// Removes and returns the last item.
    fn pop(&mut self) -> Option<T>;

    /// Removes and returns the item at `index`, shifting the rest down.
    fn remove(&mut self, index: usize) -> Option<T>;

    /// Keeps the first `len` items.
    fn truncate(&mut self, len: usize);

    /// Keeps the items for which `keep` is true, in order.
    fn retain(&mut self, keep: impl FnMut(&T) -> bool);

    /// Removes every item.
    fn clear(&mut self);

    /// Whether no item fits.
    fn is_full(&self) -> bool;

    /// Number of items.
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there is no item.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The items did not fit in a [`Table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TableFull;

impl core::fmt::Display for TableFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("table full")
    }
}

impl core::error::Error for TableFull {}

impl<T, const N: usize> Table<T> for heapless::Vec<T, N> {
    fn as_slice(&self) -> &[T] {
        self
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        self
    }

    fn push(&mut self, item: T) -> Result<(), T> {
        heapless::Vec::push(self, item)
    }

    fn extend_from_slice(&mut self, items: &[T]) -> Result<(), TableFull>
    where
        T: Clone,
    {
        heapless::Vec::extend_from_slice(self, items).map_err(|_| TableFull)
    }

    fn pop(&mut self) -> Option<T> {
        heapless::Vec::pop(self)
    }

    fn remove(&mut self, index: usize) -> Option<T> {
        (index < heapless::Vec::len(self)).then(|| heapless::Vec::remove(self, index))
    }

    fn truncate(&mut self, len: usize) {
        heapless::Vec::truncate(self, len);
    }

    fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        heapless::Vec::retain(self, keep);
    }

    fn clear(&mut self) {
        heapless::Vec::clear(self);
    }

    fn is_full(&self) -> bool {
        heapless::Vec::is_full(self)
    }
}
