//! [`DurableInFlight`]: the broker's in-flight store kept in memory and, with a data
//! directory, in a [`Journal`] too, so that queue messages not acknowledged survive a
//! crash or a restart.

use std::io;
use std::path::Path;

use sockwire_core::broker::{
    Backlog, HeaderLines, Held, InFlightStore, Message, Owner, StoreError,
};

use super::journal::Journal;
use super::VecInFlight;

/// Per-record bytes besides the message, for judging how much of the journal is live.
const RECORD_OVERHEAD: u64 = 32;

/// Held queue messages in memory, journaled when durable.
#[derive(Debug, Default)]
pub struct DurableInFlight {
    held: VecInFlight,
    journal: Option<Journal>,
}

impl DurableInFlight {
    /// Memory only: nothing survives the process.
    pub fn in_memory() -> Self {
        DurableInFlight::default()
    }

    /// Journaled in `dir`: what the journal there holds is held again, waiting for
    /// subscribers.
    pub fn open(dir: &Path) -> io::Result<Self> {
        let (journal, recovered) = Journal::open(dir)?;
        let mut held = VecInFlight::new();
        for r in &recovered {
            let message = Message {
                destination: &r.destination,
                headers: HeaderLines::with_escaping(&r.headers, r.escaping),
                body: &r.body,
            };
            let _ = held.insert(r.seq, message, None);
        }
        if !recovered.is_empty() {
            log::info!(
                "{}: {} queue messages recovered",
                dir.display(),
                recovered.len()
            );
        }
        Ok(DurableInFlight {
            held,
            journal: Some(journal),
        })
    }

    /// Whether records wait to be made durable.
    pub fn is_dirty(&self) -> bool {
        self.journal.as_ref().is_some_and(Journal::is_dirty)
    }

    /// Makes what was noted durable (one `fdatasync`), and rewrites the journal when
    /// most of it is messages let go.
    pub fn sync(&mut self) -> io::Result<()> {
        let Some(journal) = self.journal.as_mut() else {
            return Ok(());
        };
        journal.sync()?;
        let live = self.held.held_bytes() as u64 + self.held.len() as u64 * RECORD_OVERHEAD;
        if journal.wants_compaction(live) {
            let held = &self.held;
            let mut at = None;
            let messages = std::iter::from_fn(|| {
                let seq = held.next_after(at)?;
                at = Some(seq);
                held.get(seq).map(|h| (seq, h.message))
            });
            journal.compact(messages)?;
        }
        Ok(())
    }
}

impl InFlightStore for DurableInFlight {
    fn insert(
        &mut self,
        seq: u64,
        message: Message<'_>,
        owner: Option<Owner<'_>>,
    ) -> Result<(), StoreError> {
        self.held.insert(seq, message, owner)?;
        if let Some(j) = self.journal.as_mut() {
            j.put(seq, message);
        }
        Ok(())
    }

    fn get(&self, seq: u64) -> Option<Held<'_>> {
        self.held.get(seq)
    }

    fn set_owner(&mut self, seq: u64, owner: Option<Owner<'_>>) -> Result<(), StoreError> {
        // Who holds a message is not kept: after a restart every message waits.
        self.held.set_owner(seq, owner)
    }

    fn remove(&mut self, seq: u64) -> bool {
        let removed = self.held.remove(seq);
        if removed {
            if let Some(j) = self.journal.as_mut() {
                j.remove(seq);
            }
        }
        removed
    }

    fn next_after(&self, after: Option<u64>) -> Option<u64> {
        self.held.next_after(after)
    }

    fn len(&self) -> usize {
        self.held.len()
    }

    fn next_waiting_after(&self, after: Option<u64>) -> Option<u64> {
        self.held.next_waiting_after(after)
    }

    fn backlog(&self, destination: &str) -> Backlog {
        self.held.backlog(destination)
    }

    fn held_bytes(&self) -> usize {
        self.held.held_bytes()
    }
}
