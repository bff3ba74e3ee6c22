//! [`SessionStorage`]: where a [`ServerSession`](super::ServerSession) keeps what it
//! remembers (subscriptions, open transactions and their held frames, messages awaiting
//! acknowledgement, owed receipts).

use core::fmt::Debug;

use crate::table::Table;

/// The kind of list a [`ServerSession`](super::ServerSession) keeps its tables in. The
/// session's const generics say how many items each may hold; this says where they live.
///
/// [`FixedStorage`] (the default) keeps every table inline at its full size, for a target
/// without an allocator. A runtime with one plugs a list that grows up to its limit and
/// shrinks as it empties, so that an idle session holds next to nothing (the std
/// adapter's `GrowableStorage`).
pub trait SessionStorage {
    /// A list of at most `N` items.
    type List<T: Clone + Debug, const N: usize>: Table<T> + Default + Clone + Debug;
}

/// Every table inline at its full capacity (`heapless::Vec`): no allocator needed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FixedStorage;

impl SessionStorage for FixedStorage {
    type List<T: Clone + Debug, const N: usize> = heapless::Vec<T, N>;
}
