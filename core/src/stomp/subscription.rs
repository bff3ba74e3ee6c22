//! The subscriptions of one session.

use super::{AckMode, Id, SessionError};

/// One subscription: its id and how its messages are acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub id: Id,
    pub ack: AckMode,
}

/// At most `N` subscriptions, keyed by id.
#[derive(Debug, Clone)]
pub(crate) struct Subscriptions<const N: usize> {
    entries: heapless::Vec<Subscription, N>,
}

impl<const N: usize> Subscriptions<N> {
    pub const fn new() -> Self {
        Subscriptions {
            entries: heapless::Vec::new(),
        }
    }

    pub fn find(&self, id: &[u8]) -> Option<&Subscription> {
        self.entries.iter().find(|s| s.id.as_bytes() == id)
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
