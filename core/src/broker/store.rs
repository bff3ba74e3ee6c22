//! Where subscriptions live: the [`SubscriptionStore`] trait and [`FixedStore`], a
//! fixed-capacity implementation with a hash index for exact destinations.

use super::{AckMode, DestinationText, SessionId};
use heapless::{String, Vec};

/// A store or in-flight table has no room for what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StoreError {
    /// Every slot is taken.
    Full,
    /// A text (destination, id, selector) or body exceeds its fixed buffer.
    TooLong,
}

/// A stable reference to a stored subscription, valid until it is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SubHandle(pub usize);

/// A subscription to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NewSubscription<'a> {
    /// The subscribing session.
    pub session: SessionId,
    /// The session's subscription id.
    pub id: &'a str,
    /// The destination or pattern messages are matched against (user destinations
    /// already translated to `/user/{name}/...`).
    pub destination: DestinationText<'a>,
    /// Whether `destination` is a wildcard pattern.
    pub pattern: bool,
    /// A validated selector.
    pub selector: Option<&'a str>,
    /// The acknowledgement mode.
    pub ack: AckMode,
}

/// A stored subscription, borrowed from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Subscription<'a> {
    /// The subscribing session.
    pub session: SessionId,
    /// The session's subscription id.
    pub id: &'a str,
    /// The destination or pattern (translated for user destinations).
    pub destination: &'a str,
    /// Whether `destination` is a wildcard pattern.
    pub pattern: bool,
    /// The selector, if any.
    pub selector: Option<&'a str>,
    /// The acknowledgement mode.
    pub ack: AckMode,
    /// When it was last given a queue message (a broker counter), for round robin.
    pub last_served: u64,
}

/// Storage for subscriptions. Fixed-capacity here ([`FixedStore`]); the std adapter
/// provides a growable one. Exact-destination lookup must not scan every subscription;
/// patterns are iterated separately.
pub trait SubscriptionStore {
    /// Stores a subscription. The caller has checked that `(session, id)` is new.
    fn insert(&mut self, sub: NewSubscription<'_>) -> Result<SubHandle, StoreError>;
    /// The subscription `id` of `session`.
    fn find(&self, session: SessionId, id: &str) -> Option<SubHandle>;
    /// Any subscription of `session`.
    fn first_of_session(&self, session: SessionId) -> Option<SubHandle>;
    /// The subscription behind `handle`.
    fn get(&self, handle: SubHandle) -> Option<Subscription<'_>>;
    /// Removes a subscription; false when `handle` was not stored.
    fn remove(&mut self, handle: SubHandle) -> bool;
    /// Records when a subscription was last given a queue message.
    fn set_last_served(&mut self, handle: SubHandle, served: u64);
    /// How many subscriptions are stored.
    fn len(&self) -> usize;
    /// Whether no subscription is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Calls `f` for each non-pattern subscription to exactly `destination`.
    fn for_each_exact(&self, destination: &str, f: &mut dyn FnMut(SubHandle, Subscription<'_>));
    /// Calls `f` for each pattern subscription.
    fn for_each_pattern(&self, f: &mut dyn FnMut(SubHandle, Subscription<'_>));
}

/// FNV-1a, 32 bits: the index key of a destination.
fn hash(bytes: impl Iterator<Item = u8>) -> u32 {
    bytes.fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[derive(Debug, Clone)]
struct Entry<const TEXT: usize> {
    session: SessionId,
    id: String<TEXT>,
    destination: String<TEXT>,
    selector: Option<String<TEXT>>,
    pattern: bool,
    ack: AckMode,
    last_served: u64,
}

impl<const TEXT: usize> Entry<TEXT> {
    fn view(&self) -> Subscription<'_> {
        Subscription {
            session: self.session,
            id: &self.id,
            destination: &self.destination,
            pattern: self.pattern,
            selector: self.selector.as_deref(),
            ack: self.ack,
            last_served: self.last_served,
        }
    }
}

/// Up to `SUBS` subscriptions, each destination, id and selector up to `TEXT` bytes.
///
/// Exact subscriptions are indexed by a sorted array of `(destination hash, slot)`:
/// a lookup is a binary search plus the subscriptions sharing that hash. Pattern
/// subscriptions are kept in a separate list, in subscription order.
///
/// ```
/// use sockwire_core::broker::{AckMode, DestinationText, FixedStore, NewSubscription, SessionId, SubscriptionStore};
/// let mut store = FixedStore::<8, 32>::new();
/// store.insert(NewSubscription {
///     session: SessionId(1), id: "s1", destination: DestinationText::whole("/topic/a"),
///     pattern: false, selector: None, ack: AckMode::Auto,
/// })?;
/// let mut n = 0;
/// store.for_each_exact("/topic/a", &mut |_, _| n += 1);
/// assert_eq!(n, 1);
/// # Ok::<(), sockwire_core::broker::StoreError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FixedStore<const SUBS: usize, const TEXT: usize> {
    slots: [Option<Entry<TEXT>>; SUBS],
    index: Vec<(u32, usize), SUBS>,
    patterns: Vec<usize, SUBS>,
    len: usize,
}

impl<const SUBS: usize, const TEXT: usize> Default for FixedStore<SUBS, TEXT> {
    fn default() -> Self {
        Self::new()
    }
}

fn copy<const N: usize>(parts: &[&str]) -> Result<String<N>, StoreError> {
    let mut s = String::new();
    for p in parts {
        s.push_str(p).map_err(|_| StoreError::TooLong)?;
    }
    Ok(s)
}

impl<const SUBS: usize, const TEXT: usize> FixedStore<SUBS, TEXT> {
    /// An empty store.
    pub fn new() -> Self {
        FixedStore {
            slots: core::array::from_fn(|_| None),
            index: Vec::new(),
            patterns: Vec::new(),
            len: 0,
        }
    }

    fn slot(&self, i: usize) -> Option<&Entry<TEXT>> {
        self.slots.get(i).and_then(Option::as_ref)
    }
}

impl<const SUBS: usize, const TEXT: usize> SubscriptionStore for FixedStore<SUBS, TEXT> {
    fn insert(&mut self, sub: NewSubscription<'_>) -> Result<SubHandle, StoreError> {
        let free = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(StoreError::Full)?;
        let entry = Entry {
            session: sub.session,
            id: copy(&[sub.id])?,
            destination: copy(&sub.destination.parts())?,
            selector: sub.selector.map(|s| copy(&[s])).transpose()?,
            pattern: sub.pattern,
            ack: sub.ack,
            last_served: 0,
        };
        if sub.pattern {
            self.patterns.push(free).map_err(|_| StoreError::Full)?;
        } else {
            let key = (hash(entry.destination.bytes()), free);
            let at = self.index.partition_point(|k| *k < key);
            self.index.insert(at, key).map_err(|_| StoreError::Full)?;
        }
        if let Some(slot) = self.slots.get_mut(free) {
            *slot = Some(entry);
        }
        self.len = self.len.saturating_add(1);
        Ok(SubHandle(free))
    }

    fn find(&self, session: SessionId, id: &str) -> Option<SubHandle> {
        self.slots
            .iter()
            .position(|e| {
                e.as_ref()
                    .is_some_and(|e| e.session == session && e.id == id)
            })
            .map(SubHandle)
    }

    fn first_of_session(&self, session: SessionId) -> Option<SubHandle> {
        self.slots
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.session == session))
            .map(SubHandle)
    }

    fn get(&self, handle: SubHandle) -> Option<Subscription<'_>> {
        self.slot(handle.0).map(Entry::view)
    }

    fn remove(&mut self, handle: SubHandle) -> bool {
        let Some(entry) = self.slots.get_mut(handle.0).and_then(Option::take) else {
            return false;
        };
        if entry.pattern {
            self.patterns.retain(|i| *i != handle.0);
        } else {
            let key = (hash(entry.destination.bytes()), handle.0);
            if let Ok(at) = self.index.binary_search(&key) {
                self.index.remove(at);
            }
        }
        self.len = self.len.saturating_sub(1);
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
        let h = hash(destination.bytes());
        let start = self.index.partition_point(|k| k.0 < h);
        for &(_, slot) in self.index.iter().skip(start).take_while(|k| k.0 == h) {
            if let Some(e) = self.slot(slot) {
                if e.destination == destination {
                    f(SubHandle(slot), e.view());
                }
            }
        }
    }

    fn for_each_pattern(&self, f: &mut dyn FnMut(SubHandle, Subscription<'_>)) {
        for &slot in &self.patterns {
            if let Some(e) = self.slot(slot) {
                f(SubHandle(slot), e.view());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(session: u32, id: &'static str, dest: &'static str) -> NewSubscription<'static> {
        NewSubscription {
            session: SessionId(session),
            id,
            destination: DestinationText::whole(dest),
            pattern: dest.contains('*'),
            selector: None,
            ack: AckMode::Auto,
        }
    }

    fn exact(
        store: &impl SubscriptionStore,
        dest: &str,
    ) -> std::vec::Vec<(u32, std::string::String)> {
        let mut out = std::vec::Vec::new();
        store.for_each_exact(dest, &mut |_, s| out.push((s.session.0, s.id.into())));
        out.sort();
        out
    }

    extern crate std;

    #[test]
    fn exact_lookup_and_removal() {
        let mut store = FixedStore::<8, 32>::new();
        let a = store.insert(sub(1, "a", "/topic/x")).unwrap();
        store.insert(sub(2, "a", "/topic/x")).unwrap();
        store.insert(sub(1, "b", "/topic/y")).unwrap();
        store.insert(sub(1, "c", "/topic/*")).unwrap();
        assert_eq!(store.len(), 4);
        assert_eq!(
            exact(&store, "/topic/x"),
            [(1, "a".into()), (2, "a".into())]
        );
        assert_eq!(exact(&store, "/topic/y"), [(1, "b".into())]);
        assert!(exact(&store, "/topic/z").is_empty());
        assert!(exact(&store, "/topic/*").is_empty());
        let mut patterns = 0;
        store.for_each_pattern(&mut |_, s| {
            assert_eq!(s.destination, "/topic/*");
            patterns += 1;
        });
        assert_eq!(patterns, 1);
        assert_eq!(store.find(SessionId(1), "a"), Some(a));
        assert!(store.remove(a));
        assert!(!store.remove(a));
        assert_eq!(exact(&store, "/topic/x"), [(2, "a".into())]);
        while let Some(h) = store.first_of_session(SessionId(1)) {
            store.remove(h);
        }
        assert_eq!(store.len(), 1);
        store.remove(store.find(SessionId(2), "a").unwrap());
        assert!(store.is_empty());
        assert!(store.index.is_empty() && store.patterns.is_empty());
    }

    #[test]
    fn capacity_errors() {
        let mut store = FixedStore::<2, 8>::new();
        store.insert(sub(1, "a", "/t/a")).unwrap();
        assert_eq!(
            store.insert(sub(1, "b", "/t/toolong")),
            Err(StoreError::TooLong)
        );
        store.insert(sub(1, "b", "/t/*")).unwrap();
        assert_eq!(store.insert(sub(1, "c", "/t/c")), Err(StoreError::Full));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn hash_collisions_are_told_apart() {
        // Many destinations in a small index: lookups compare the text after the hash.
        let mut store = FixedStore::<64, 16>::new();
        let names: [&'static str; 40] = core::array::from_fn(|i| {
            const N: [&str; 40] = [
                "/q/0", "/q/1", "/q/2", "/q/3", "/q/4", "/q/5", "/q/6", "/q/7", "/q/8", "/q/9",
                "/q/10", "/q/11", "/q/12", "/q/13", "/q/14", "/q/15", "/q/16", "/q/17", "/q/18",
                "/q/19", "/q/20", "/q/21", "/q/22", "/q/23", "/q/24", "/q/25", "/q/26", "/q/27",
                "/q/28", "/q/29", "/q/30", "/q/31", "/q/32", "/q/33", "/q/34", "/q/35", "/q/36",
                "/q/37", "/q/38", "/q/39",
            ];
            N[i]
        });
        for (i, n) in names.iter().enumerate() {
            store.insert(sub(i as u32, "s", n)).unwrap();
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(exact(&store, n), [(i as u32, "s".into())]);
        }
    }
}
