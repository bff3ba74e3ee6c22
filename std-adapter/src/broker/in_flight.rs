//! [`VecInFlight`]: messages held for acknowledgement or redelivery, in a growable map.

use std::collections::BTreeMap;

use sockwire_core::broker::{
    AckMode, HeaderLines, Held, InFlightStore, Message, Owner, SessionId, StoreError,
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

fn owned(owner: Option<Owner<'_>>) -> Option<(SessionId, String, AckMode)> {
    owner.map(|o| (o.session, o.subscription.to_string(), o.ack))
}

/// Held messages by sequence number, in order.
#[derive(Debug, Default)]
pub struct VecInFlight {
    held: BTreeMap<u64, Stored>,
}

impl VecInFlight {
    /// An empty store.
    pub fn new() -> Self {
        VecInFlight::default()
    }

    /// Bytes of message data held.
    pub fn held_bytes(&self) -> usize {
        self.held
            .values()
            .map(|s| s.headers.len() + s.body.len())
            .sum()
    }
}

impl InFlightStore for VecInFlight {
    fn insert(
        &mut self,
        seq: u64,
        message: Message<'_>,
        owner: Option<Owner<'_>>,
    ) -> Result<(), StoreError> {
        self.held.insert(
            seq,
            Stored {
                destination: message.destination.to_string(),
                headers: message.headers.as_bytes().to_vec(),
                escaping: message.headers.escaping(),
                body: message.body.to_vec(),
                owner: owned(owner),
            },
        );
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
        if let Some(s) = self.held.get_mut(&seq) {
            s.owner = owned(owner);
        }
        Ok(())
    }

    fn remove(&mut self, seq: u64) -> bool {
        self.held.remove(&seq).is_some()
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
}
