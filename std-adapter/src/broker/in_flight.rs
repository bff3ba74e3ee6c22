//! [`VecInFlight`]: messages held for acknowledgement or redelivery, in a growable map.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sockwire_core::broker::{
    AckMode, Backlog, HeaderLines, Held, InFlightStore, Message, Owner, SessionId, StoreError,
};
use sockwire_core::stomp::Escaping;

#[derive(Debug)]
struct Stored {
    destination: String,
    headers: Vec<u8>,
    escaping: Escaping,
    body: Vec<u8>,
    owner: Option<(SessionId, String, AckMode)>,
}

impl Stored {
    fn size(&self) -> usize {
        self.headers.len() + self.body.len()
    }
}

fn owned(owner: Option<Owner<'_>>) -> Option<(SessionId, String, AckMode)> {
    owner.map(|o| (o.session, o.subscription.to_string(), o.ack))
}

/// The held messages that wait for a taker: by seq, and counted by destination.
#[derive(Debug, Default)]
struct Waiting {
    seqs: BTreeSet<u64>,
    to: HashMap<String, Backlog>,
}

impl Waiting {
    /// `seq` (to `destination`, `size` bytes) starts (`waits`) or stops waiting.
    fn note(&mut self, seq: u64, destination: &str, size: usize, waits: bool) {
        let changed = if waits {
            self.seqs.insert(seq)
        } else {
            self.seqs.remove(&seq)
        };
        if !changed {
            return;
        }
        if waits {
            // The key is allocated only for a destination not yet waiting.
            let b = match self.to.get_mut(destination) {
                Some(b) => b,
                None => self.to.entry(destination.to_string()).or_default(),
            };
            b.messages += 1;
            b.bytes += size;
        } else if let Some(b) = self.to.get_mut(destination) {
            b.messages -= 1;
            b.bytes -= size;
            if b.messages == 0 {
                self.to.remove(destination);
            }
        }
    }
}

/// Held messages by sequence number, in order, with an index of those that wait.
#[derive(Debug, Default)]
pub struct VecInFlight {
    held: BTreeMap<u64, Stored>,
    waiting: Waiting,
    bytes: usize,
}

impl VecInFlight {
    /// An empty store.
    pub fn new() -> Self {
        VecInFlight::default()
    }
}

impl InFlightStore for VecInFlight {
    fn insert(
        &mut self,
        seq: u64,
        message: Message<'_>,
        owner: Option<Owner<'_>>,
    ) -> Result<(), StoreError> {
        let stored = Stored {
            destination: message.destination.to_string(),
            headers: message.headers.as_bytes().to_vec(),
            escaping: message.headers.escaping(),
            body: message.body.to_vec(),
            owner: owned(owner),
        };
        // Seqs are not reused while held; should one be, it replaces the old message.
        self.remove(seq);
        if owner.is_none() {
            self.waiting
                .note(seq, message.destination, stored.size(), true);
        }
        self.bytes += stored.size();
        self.held.insert(seq, stored);
        Ok(())
    }

    fn get(&self, seq: u64) -> Option<Held<'_>> {
        let s = self.held.get(&seq)?;
        Some(Held {
            seq,
            message: Message {
                destination: &s.destination,
                headers: HeaderLines::with_escaping(&s.headers, s.escaping),
                body: &s.body,
            },
            owner: s.owner.as_ref().map(|(session, id, ack)| Owner {
                session: *session,
                subscription: id,
                ack: *ack,
            }),
        })
    }

    fn set_owner(&mut self, seq: u64, owner: Option<Owner<'_>>) -> Result<(), StoreError> {
        let Some(s) = self.held.get_mut(&seq) else {
            return Ok(());
        };
        s.owner = owned(owner);
        self.waiting
            .note(seq, &s.destination, s.size(), owner.is_none());
        Ok(())
    }

    fn remove(&mut self, seq: u64) -> bool {
        match self.held.remove(&seq) {
            Some(s) => {
                self.waiting.note(seq, &s.destination, s.size(), false);
                self.bytes -= s.size();
                true
            }
            None => false,
        }
    }

    fn next_after(&self, after: Option<u64>) -> Option<u64> {
        match after {
            None => self.held.keys().next().copied(),
            Some(a) => self
                .held
                .range(a.saturating_add(1)..)
                .next()
                .map(|(k, _)| *k),
        }
    }

    fn len(&self) -> usize {
        self.held.len()
    }

    fn next_waiting_after(&self, after: Option<u64>) -> Option<u64> {
        let from = after.map_or(0, |a| a.saturating_add(1));
        self.waiting.seqs.range(from..).next().copied()
    }

    fn backlog(&self, destination: &str) -> Backlog {
        self.waiting
            .to
            .get(destination)
            .copied()
            .unwrap_or_default()
    }

    fn held_bytes(&self) -> usize {
        self.bytes
    }
}
