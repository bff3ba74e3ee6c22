//! Queue messages the broker still holds: delivered and not yet acknowledged, or waiting
//! for a subscriber. The [`InFlightStore`] trait and [`FixedInFlight`], a fixed table.

use super::{AckMode, HeaderLines, Message, SessionId, StoreError};
use crate::stomp::Escaping;
use heapless::{String, Vec};

/// Who holds an in-flight message: the subscription it was delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Owner<'a> {
    /// The session.
    pub session: SessionId,
    /// Its subscription id.
    pub subscription: &'a str,
    /// The subscription's acknowledgement mode.
    pub ack: AckMode,
}

/// The messages waiting for a taker at one destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Backlog {
    /// How many.
    pub messages: usize,
    /// Their header lines and bodies, in bytes.
    pub bytes: usize,
}

impl Backlog {
    /// Counts `message` in.
    pub fn add(&mut self, message: &Message<'_>) {
        self.messages = self.messages.saturating_add(1);
        self.bytes = self.bytes.saturating_add(message.size());
    }
}

/// A held message, borrowed from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Held<'a> {
    /// The broker's sequence number (the message id).
    pub seq: u64,
    /// The message as published.
    pub message: Message<'a>,
    /// The subscription that has it unacknowledged, `None` while it waits.
    pub owner: Option<Owner<'a>>,
}

/// Storage for held queue messages, so that they can be redelivered. Fixed-capacity here
/// ([`FixedInFlight`]); the std adapter provides a growable one.
pub trait InFlightStore {
    /// Holds a copy of `message` under `seq` (greater than every held seq).
    fn insert(
        &mut self,
        seq: u64,
        message: Message<'_>,
        owner: Option<Owner<'_>>,
    ) -> Result<(), StoreError>;
    /// The message held under `seq`.
    fn get(&self, seq: u64) -> Option<Held<'_>>;
    /// Changes who holds `seq`.
    fn set_owner(&mut self, seq: u64, owner: Option<Owner<'_>>) -> Result<(), StoreError>;
    /// Drops `seq`; false when it was not held.
    fn remove(&mut self, seq: u64) -> bool;
    /// The smallest held seq greater than `after` (the first one for `None`): iterates in
    /// publish order.
    fn next_after(&self, after: Option<u64>) -> Option<u64>;
    /// How many messages are held.
    fn len(&self) -> usize;
    /// Whether no message is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The smallest seq greater than `after` of a message that waits for a taker (no
    /// owner). The default scans; a store may index them.
    fn next_waiting_after(&self, after: Option<u64>) -> Option<u64> {
        let mut at = after;
        while let Some(seq) = self.next_after(at) {
            if self.get(seq).is_some_and(|h| h.owner.is_none()) {
                return Some(seq);
            }
            at = Some(seq);
        }
        None
    }
    /// What waits for a taker at exactly `destination`. The default scans; a store may
    /// index them.
    fn backlog(&self, destination: &str) -> Backlog {
        let mut backlog = Backlog::default();
        let mut at = None;
        while let Some(seq) = self.next_waiting_after(at) {
            if let Some(h) = self.get(seq) {
                if h.message.destination == destination {
                    backlog.add(&h.message);
                }
            }
            at = Some(seq);
        }
        backlog
    }
    /// Bytes (header lines and bodies) of every held message.
    fn held_bytes(&self) -> usize;
}

#[derive(Debug, Clone)]
struct Slot<const TEXT: usize, const BYTES: usize> {
    seq: u64,
    destination: String<TEXT>,
    /// Header lines, then the body.
    data: Vec<u8, BYTES>,
    headers_len: usize,
    escaping: Escaping,
    owner: Option<(SessionId, String<TEXT>, AckMode)>,
}

/// Up to `N` held messages, destination and subscription id up to `TEXT` bytes, header
/// lines plus body up to `BYTES` bytes each.
#[derive(Debug, Clone)]
pub struct FixedInFlight<const N: usize, const TEXT: usize, const BYTES: usize> {
    slots: [Option<Slot<TEXT, BYTES>>; N],
    len: usize,
}

impl<const N: usize, const TEXT: usize, const BYTES: usize> Default
    for FixedInFlight<N, TEXT, BYTES>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const TEXT: usize, const BYTES: usize> FixedInFlight<N, TEXT, BYTES> {
    /// An empty table.
    pub fn new() -> Self {
        FixedInFlight {
            slots: core::array::from_fn(|_| None),
            len: 0,
        }
    }

    fn find(&self, seq: u64) -> Option<&Slot<TEXT, BYTES>> {
        self.slots.iter().flatten().find(|s| s.seq == seq)
    }
}

fn owned<const TEXT: usize>(
    owner: Option<Owner<'_>>,
) -> Result<Option<(SessionId, String<TEXT>, AckMode)>, StoreError> {
    owner
        .map(|o| {
            let id = String::try_from(o.subscription).map_err(|_| StoreError::TooLong)?;
            Ok((o.session, id, o.ack))
        })
        .transpose()
}

impl<const N: usize, const TEXT: usize, const BYTES: usize> InFlightStore
    for FixedInFlight<N, TEXT, BYTES>
{
    fn insert(
        &mut self,
        seq: u64,
        message: Message<'_>,
        owner: Option<Owner<'_>>,
    ) -> Result<(), StoreError> {
        let free = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(StoreError::Full)?;
        let mut data = Vec::new();
        data.extend_from_slice(message.headers.as_bytes())
            .map_err(|_| StoreError::TooLong)?;
        data.extend_from_slice(message.body)
            .map_err(|_| StoreError::TooLong)?;
        let slot = Slot {
            seq,
            destination: String::try_from(message.destination).map_err(|_| StoreError::TooLong)?,
            data,
            headers_len: message.headers.as_bytes().len(),
            escaping: message.headers.escaping(),
            owner: owned(owner)?,
        };
        if let Some(s) = self.slots.get_mut(free) {
            *s = Some(slot);
            self.len = self.len.saturating_add(1);
        }
        Ok(())
    }

    fn get(&self, seq: u64) -> Option<Held<'_>> {
        let s = self.find(seq)?;
        let (headers, body) = s.data.split_at_checked(s.headers_len)?;
        Some(Held {
            seq,
            message: Message {
                destination: &s.destination,
                headers: HeaderLines::with_escaping(headers, s.escaping),
                body,
            },
            owner: s.owner.as_ref().map(|(session, id, ack)| Owner {
                session: *session,
                subscription: id,
                ack: *ack,
            }),
        })
    }

    fn set_owner(&mut self, seq: u64, owner: Option<Owner<'_>>) -> Result<(), StoreError> {
        let owner = owned(owner)?;
        if let Some(s) = self.slots.iter_mut().flatten().find(|s| s.seq == seq) {
            s.owner = owner;
        }
        Ok(())
    }

    fn remove(&mut self, seq: u64) -> bool {
        let found = self
            .slots
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|s| s.seq == seq));
        match found {
            Some(slot) => {
                *slot = None;
                self.len = self.len.saturating_sub(1);
                true
            }
            None => false,
        }
    }

    fn next_after(&self, after: Option<u64>) -> Option<u64> {
        self.slots
            .iter()
            .flatten()
            .map(|s| s.seq)
            .filter(|seq| after.is_none_or(|a| *seq > a))
            .min()
    }

    fn len(&self) -> usize {
        self.len
    }

    fn held_bytes(&self) -> usize {
        self.slots.iter().flatten().map(|s| s.data.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &[u8]) -> Message<'_> {
        Message {
            destination: "/queue/a",
            headers: HeaderLines::new(b"k:v\n"),
            body,
        }
    }

    #[test]
    fn hold_own_release() {
        let mut t = FixedInFlight::<2, 16, 16>::new();
        let owner = Owner {
            session: SessionId(3),
            subscription: "s",
            ack: AckMode::Client,
        };
        t.insert(7, msg(b"x"), Some(owner)).unwrap();
        t.insert(5, msg(b"y"), None).unwrap();
        assert_eq!(t.insert(9, msg(b"z"), None), Err(StoreError::Full));
        let h = t.get(7).unwrap();
        assert_eq!(h.message.body, b"x");
        assert_eq!(h.message.headers.as_bytes(), b"k:v\n");
        assert_eq!(h.owner, Some(owner));
        assert_eq!(t.next_after(None), Some(5));
        assert_eq!(t.next_after(Some(5)), Some(7));
        assert_eq!(t.next_after(Some(7)), None);
        t.set_owner(7, None).unwrap();
        assert_eq!(t.get(7).unwrap().owner, None);
        assert!(t.remove(7) && t.remove(5) && !t.remove(5));
        assert!(t.is_empty());
        assert_eq!(t.insert(1, msg(&[0; 13]), None), Err(StoreError::TooLong));
        assert!(t.is_empty());
    }
}
