//! The subscriptions of one session.

use super::{AckMode, Id, SessionError};
use crate::table::Table;

/// One subscription: its id and how its messages are acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub id: Id,
    pub ack: AckMode,
}

/// Subscriptions keyed by id, as many as the list `L` holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Subscriptions<L> {
    entries: L,
}

impl<L: Table<Subscription>> Subscriptions<L> {
    pub fn find(&self, id: &[u8]) -> Option<&Subscription> {
        self.entries
            .as_slice()
            .iter()
            .find(|s| s.id.as_bytes() == id)
    }

    pub fn add(&mut self, id: Id, ack: AckMode) -> Result<(), SessionError> {
        if self.find(id.as_bytes()).is_some() {
            return Err(SessionError::DuplicateSubscription);
        }
        self.entries
            .push(Subscription { id, ack })
            .map_err(|_| SessionError::TooManySubscriptions)
    }

    /// Removes the subscription, returning it.
    pub fn remove(&mut self, id: &[u8]) -> Option<Subscription> {
        let found = self.find(id).cloned()?;
        self.entries.retain(|s| s.id.as_bytes() != id);
        Some(found)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}
