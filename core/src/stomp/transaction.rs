//! Open transactions and the frames held for them until `COMMIT`.
//!
//! A `SEND`, `ACK` or `NACK` carrying a `transaction` header is not reported when it
//! arrives: its bytes, exactly as received, are copied into a byte list that holds at most
//! its limit. `COMMIT` replays them (decoded again) in arrival order; `ABORT`,
//! `DISCONNECT` and any error drop them, so nothing of an aborted transaction ever reaches
//! the application: its messages are not published, and those it acknowledged still await
//! acknowledgement (and are redelivered when the session ends).

use super::{Id, SessionError};
use crate::table::Table;

/// Octets in front of every held frame: the transaction's slot, then the frame's
/// length as a little-endian `u32`.
const RECORD_HEAD: usize = 5;

/// Open transactions, as many slots as the list `N` holds (at most 255), and held frames,
/// as many octets as the list `B` holds (each frame costs its length plus 5).
///
/// A transaction keeps its slot while it is open; the slots past the last open one are
/// given back, so that a session with no open transaction holds none.
#[derive(Debug, Clone, Default)]
pub(crate) struct Transactions<N, B> {
    names: N,
    store: B,
}

impl<N: Table<Option<Id>>, B: Table<u8>> Transactions<N, B> {
    /// The slot of the open transaction called `name`.
    pub fn slot_of(&self, name: &[u8]) -> Option<usize> {
        self.names
            .as_slice()
            .iter()
            .position(|n| n.as_ref().is_some_and(|n| n.as_bytes() == name))
    }

    /// Opens a transaction.
    pub fn begin(&mut self, name: Id) -> Result<usize, SessionError> {
        if self.slot_of(name.as_bytes()).is_some() {
            return Err(SessionError::DuplicateTransaction);
        }
        let free = self
            .names
            .as_mut_slice()
            .iter_mut()
            .enumerate()
            .find(|(_, n)| n.is_none());
        if let Some((slot, free)) = free {
            *free = Some(name);
            return Ok(slot);
        }
        let slot = self.names.len();
        if slot > usize::from(u8::MAX) {
            return Err(SessionError::TooManyTransactions);
        }
        self.names
            .push(Some(name))
            .map_err(|_| SessionError::TooManyTransactions)?;
        Ok(slot)
    }

    /// Number of open transactions.
    pub fn open(&self) -> usize {
        self.names.as_slice().iter().filter(|n| n.is_some()).count()
    }

    /// Keeps a copy of `frame` for the transaction in `slot`.
    pub fn hold(&mut self, slot: usize, frame: &[u8]) -> Result<(), SessionError> {
        let too_large = SessionError::TransactionTooLarge;
        let len = u32::try_from(frame.len()).map_err(|_| too_large)?;
        let tag = u8::try_from(slot).map_err(|_| too_large)?;
        let start = self.store.len();
        let [a, b, c, d] = len.to_le_bytes();
        self.store
            .extend_from_slice(&[tag, a, b, c, d])
            .map_err(|_| too_large)?;
        if self.store.extend_from_slice(frame).is_err() {
            self.store.truncate(start);
            return Err(too_large);
        }
        Ok(())
    }

    /// The first frame held for `slot` at or after `from`: its bounds in
    /// [`Transactions::stored`] and where to look for the next one.
    pub fn next_held(&self, slot: usize, from: usize) -> Option<(usize, usize)> {
        let mut at = from;
        while let Some((tag, start, end)) = self.record_at(at) {
            if usize::from(tag) == slot {
                return Some((start, end));
            }
            at = end;
        }
        None
    }

    /// The held octets (a frame's bounds come from [`Transactions::next_held`]).
    pub fn stored(&self) -> &[u8] {
        self.store.as_slice()
    }

    /// Number of frames held for `slot`.
    pub fn held(&self, slot: usize) -> usize {
        let mut count = 0;
        let mut at = 0;
        while let Some((_, end)) = self.next_held(slot, at) {
            count += 1;
            at = end;
        }
        count
    }

    /// Closes the transaction in `slot` and drops its frames (after `ABORT`, or once
    /// `COMMIT` has replayed them).
    pub fn close(&mut self, slot: usize) {
        let mut read = 0;
        let mut write = 0;
        while let Some((tag, _, end)) = self.record_at(read) {
            if usize::from(tag) != slot {
                self.store.as_mut_slice().copy_within(read..end, write);
                write += end - read;
            }
            read = end;
        }
        self.store.truncate(write);
        if let Some(name) = self.names.as_mut_slice().get_mut(slot) {
            *name = None;
        }
        while self.names.as_slice().last().is_some_and(Option::is_none) {
            self.names.pop();
        }
    }

    /// Closes every transaction.
    pub fn clear(&mut self) {
        self.names.clear();
        self.store.clear();
    }

    /// The record starting at `at`: (slot, frame start, frame end).
    fn record_at(&self, at: usize) -> Option<(u8, usize, usize)> {
        let head = self.stored().get(at..at.checked_add(RECORD_HEAD)?)?;
        let (&tag, len) = head.split_first()?;
        let len = u32::from_le_bytes(len.try_into().ok()?);
        let start = at + RECORD_HEAD;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        (end <= self.store.len()).then_some((tag, start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::new(s.as_bytes()).unwrap()
    }

    #[test]
    fn hold_replay_and_drop() {
        let mut t = Transactions::<heapless::Vec<Option<Id>, 2>, heapless::Vec<u8, 64>>::default();
        let a = t.begin(id("a")).unwrap();
        let b = t.begin(id("b")).unwrap();
        assert_eq!(t.begin(id("a")), Err(SessionError::DuplicateTransaction));
        assert_eq!(t.begin(id("c")), Err(SessionError::TooManyTransactions));
        t.hold(a, b"one").unwrap();
        t.hold(b, b"two").unwrap();
        t.hold(a, b"three").unwrap();
        assert_eq!(t.held(a), 2);
        let (s, e) = t.next_held(a, 0).unwrap();
        assert_eq!(&t.stored()[s..e], b"one");
        let (s2, e2) = t.next_held(a, e).unwrap();
        assert_eq!(&t.stored()[s2..e2], b"three");
        assert_eq!(t.next_held(a, e2), None);
        t.close(a);
        assert_eq!(t.held(a), 0);
        assert_eq!(t.held(b), 1);
        let (s, e) = t.next_held(b, 0).unwrap();
        assert_eq!(&t.stored()[s..e], b"two");
        assert_eq!(t.slot_of(b"a"), None);
        assert_eq!(t.open(), 1);
        assert_eq!(
            t.hold(b, &[0u8; 60]),
            Err(SessionError::TransactionTooLarge)
        );
        t.clear();
        assert_eq!(t.open(), 0);
        assert!(t.stored().is_empty());
    }
}
