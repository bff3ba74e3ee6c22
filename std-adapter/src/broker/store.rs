//! [`VecStore`]: subscriptions in growable maps, exact destinations indexed by hash map.

use std::collections::HashMap;

use sockwire_core::broker::{
    AckMode, NewSubscription, SessionId, StoreError, SubHandle, Subscription, SubscriptionStore,
};

use super::destination_string;

#[derive(Debug)]
struct Entry {
    session: SessionId,
    id: String,
    destination: String,
    selector: Option<String>,
    pattern: bool,
    ack: AckMode,
    last_served: u64,
}

/// A subscription store that grows as needed. Routing an exact destination is one hash
/// lookup; only wildcard subscriptions are scanned.
#[derive(Debug, Default)]
pub struct VecStore {
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    exact: HashMap<String, Vec<usize>>,
    patterns: Vec<usize>,
    by_session: HashMap<SessionId, HashMap<String, usize>>,
    len: usize,
}

impl VecStore {
    /// An empty store.
    pub fn new() -> Self {
        VecStore::default()
    }

    fn view(&self, slot: usize) -> Option<Subscription<'_>> {
        let e = self.slots.get(slot)?.as_ref()?;
        Some(Subscription {
            session: e.session,
            id: &e.id,
            destination: &e.destination,
            pattern: e.pattern,
            selector: e.selector.as_deref(),
            ack: e.ack,
            last_served: e.last_served,
        })
    }
}

impl SubscriptionStore for VecStore {
    fn insert(&mut self, sub: NewSubscription<'_>) -> Result<SubHandle, StoreError> {
        let entry = Entry {
            session: sub.session,
            id: sub.id.to_string(),
            destination: destination_string(sub.destination),
            selector: sub.selector.map(str::to_string),
            pattern: sub.pattern,
            ack: sub.ack,
            last_served: 0,
        };
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        if entry.pattern {
            self.patterns.push(slot);
        } else {
            self.exact
                .entry(entry.destination.clone())
                .or_default()
                .push(slot);
        }
        self.by_session
            .entry(entry.session)
            .or_default()
            .insert(entry.id.clone(), slot);
        self.slots[slot] = Some(entry);
        self.len += 1;
        Ok(SubHandle(slot))
    }

    fn find(&self, session: SessionId, id: &str) -> Option<SubHandle> {
        self.by_session
            .get(&session)?
            .get(id)
            .copied()
            .map(SubHandle)
    }

    fn first_of_session(&self, session: SessionId) -> Option<SubHandle> {
        self.by_session
            .get(&session)?
            .values()
            .next()
            .copied()
            .map(SubHandle)
    }

    fn get(&self, handle: SubHandle) -> Option<Subscription<'_>> {
        self.view(handle.0)
    }

    fn remove(&mut self, handle: SubHandle) -> bool {
        let Some(entry) = self.slots.get_mut(handle.0).and_then(Option::take) else {
            return false;
        };
        if entry.pattern {
            self.patterns.retain(|&s| s != handle.0);
        } else if let Some(list) = self.exact.get_mut(&entry.destination) {
            list.retain(|&s| s != handle.0);
            if list.is_empty() {
                self.exact.remove(&entry.destination);
            }
        }
        if let Some(ids) = self.by_session.get_mut(&entry.session) {
            ids.remove(&entry.id);
            if ids.is_empty() {
                self.by_session.remove(&entry.session);
            }
        }
        self.free.push(handle.0);
        self.len -= 1;
        true
    }

    fn set_last_served(&mut self, handle: SubHandle, served: u64) {
        if let Some(Some(e)) = self.slots.get_mut(handle.0) {
            e.last_served = served;
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn for_each_exact(&self, destination: &str, f: &mut dyn FnMut(SubHandle, Subscription<'_>)) {
        for &slot in self.exact.get(destination).into_iter().flatten() {
            if let Some(view) = self.view(slot) {
                f(SubHandle(slot), view);
            }
        }
    }

    fn for_each_pattern(&self, f: &mut dyn FnMut(SubHandle, Subscription<'_>)) {
        for &slot in &self.patterns {
            if let Some(view) = self.view(slot) {
                f(SubHandle(slot), view);
            }
        }
    }
}
