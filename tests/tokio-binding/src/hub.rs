//! [`Hub`]: the one embedded broker every connection shares, and the mailboxes that carry
//! the broker's deliveries to the sessions of other connections.
//!
//! A session applies a frame to the broker under the hub's lock; a delivery for itself
//! is written by its own `BrokerSession`, one for another session is copied into that
//! session's bounded mailbox, and the task that owns the other session writes it
//! (`BrokerSession::deliver`) when it wakes up.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sockwire_core::broker::{
    AckMode, BrokerConfig, Delivery, DestinationText, FixedInFlight, FixedStore, Handoff,
    HeaderLines, SessionId, SimpleBroker, Sink,
};
use sockwire_core::stomp::Escaping;
use tokio::sync::mpsc::{self, error::TrySendError};

// The core's fixed stores live inline in the broker, which `SimpleBroker::new` takes by
// value: it is built on the stack (copied several times over in a debug build) before it
// moves to the heap, so these sizes keep it near 130 KiB. Enough for the tests; a server
// for real traffic would plug in growable stores instead.

/// Subscriptions the broker holds, all sessions together.
const SUBSCRIPTIONS: usize = 128;
/// The longest destination, subscription id or selector the broker keeps.
const TEXT: usize = 128;
/// Queue messages held (unacknowledged or waiting for a subscriber).
const HELD: usize = 16;
/// Header lines plus body of one held queue message.
const HELD_BYTES: usize = 4096;
/// Deliveries waiting for one session before it counts as a slow consumer.
const MAILBOX: usize = 1024;

/// The embedded broker, on the core's fixed stores.
pub type Broker =
    SimpleBroker<'static, FixedStore<SUBSCRIPTIONS, TEXT>, FixedInFlight<HELD, TEXT, HELD_BYTES>>;

/// The hub as the connection tasks share it.
pub type SharedHub = Arc<Mutex<Hub>>;

/// A [`Delivery`] copied out of the broker's call, to cross to another task.
#[derive(Debug, Clone)]
pub struct OwnedDelivery {
    session: SessionId,
    subscription: String,
    message_id: String,
    destination: String,
    headers: Vec<u8>,
    escaping: Escaping,
    body: Vec<u8>,
    ack: AckMode,
    redelivered: bool,
}

impl OwnedDelivery {
    /// Copies `d`.
    fn copy(d: &Delivery<'_>) -> Self {
        OwnedDelivery {
            session: d.session,
            subscription: d.subscription.to_owned(),
            message_id: d.message_id.to_owned(),
            destination: d.destination.parts().concat(),
            headers: d.headers.as_bytes().to_vec(),
            escaping: d.headers.escaping(),
            body: d.body.to_vec(),
            ack: d.ack,
            redelivered: d.redelivered,
        }
    }

    /// The delivery again, borrowing the copy.
    pub fn as_delivery(&self) -> Delivery<'_> {
        Delivery {
            session: self.session,
            subscription: &self.subscription,
            message_id: &self.message_id,
            destination: DestinationText::whole(&self.destination),
            headers: HeaderLines::with_escaping(&self.headers, self.escaping),
            body: &self.body,
            ack: self.ack,
            redelivered: self.redelivered,
            // The broker counted the message as taken when it was posted: a session
            // with no room for it ends as a slow consumer rather than drop it.
            queued: false,
        }
    }
}

/// The broker and, per live session, the sending end of its mailbox.
pub struct Hub {
    broker: Broker,
    mailboxes: HashMap<SessionId, mpsc::Sender<OwnedDelivery>>,
    last_id: u32,
}

impl Hub {
    /// A broker with Spring's prefixes (`/topic`, `/queue`, `/app`, `/user`) and no
    /// session yet.
    pub fn new() -> Self {
        Hub {
            broker: SimpleBroker::new(
                BrokerConfig::default(),
                FixedStore::new(),
                FixedInFlight::new(),
            ),
            mailboxes: HashMap::new(),
            last_id: 0,
        }
    }

    /// A new session: its number (never one in use) and the receiving end of its mailbox.
    pub fn register(&mut self) -> (SessionId, mpsc::Receiver<OwnedDelivery>) {
        loop {
            self.last_id = self.last_id.wrapping_add(1);
            let id = SessionId(self.last_id);
            if let Entry::Vacant(free) = self.mailboxes.entry(id) {
                let (tx, rx) = mpsc::channel(MAILBOX);
                free.insert(tx);
                return (id, rx);
            }
        }
    }

    /// Session `id` is gone: deliveries for it are no longer posted.
    pub fn unregister(&mut self, id: SessionId) {
        self.mailboxes.remove(&id);
    }

    /// Runs `f` with the broker and a sink that posts deliveries to the mailboxes.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Broker, &mut Sink<'_>) -> R) -> R {
        let Hub {
            broker, mailboxes, ..
        } = self;
        let mut sink = |d: Delivery<'_>| post(mailboxes, &d);
        f(broker, &mut sink)
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

/// Posts `d` to its session's mailbox. A full mailbox evicts the session: its sender is
/// dropped, so that its task, once it has written what was posted before, sees the
/// mailbox closed and ends the session as a slow consumer; nothing after the gap is
/// delivered to it.
fn post(
    mailboxes: &mut HashMap<SessionId, mpsc::Sender<OwnedDelivery>>,
    d: &Delivery<'_>,
) -> Handoff {
    let Some(tx) = mailboxes.get(&d.session) else {
        // The session's task has ended; it tells the broker as it goes.
        return Handoff::Refused;
    };
    match tx.try_send(OwnedDelivery::copy(d)) {
        Ok(()) => Handoff::Taken,
        Err(TrySendError::Full(_) | TrySendError::Closed(_)) => {
            mailboxes.remove(&d.session);
            Handoff::Refused
        }
    }
}

/// Locks the hub. A task that panicked while holding it left the broker as it was
/// between two calls, which every broker call keeps consistent: go on with it.
pub fn lock(hub: &SharedHub) -> MutexGuard<'_, Hub> {
    hub.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_is_small_enough_to_build_on_a_stack() {
        assert!(std::mem::size_of::<Broker>() < 160 * 1024);
    }
}
