//! One direction of a [`Pair`](super::Pair): what the writer wrote, in flight, and what
//! waits for the reader.

extern crate std;

use crate::time::Instant;
use std::collections::VecDeque;
use std::vec::Vec;

/// What a link does with the bytes written into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flow {
    /// Bytes arrive (after the link's delay).
    #[default]
    Open,
    /// Bytes are lost: the reader hears nothing, a silent peer.
    Drop,
    /// Bytes wait in flight until the link is open again.
    Hold,
}

/// How arriving bytes are cut before the reader sees them, as socket reads would.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cut {
    /// Everything that arrived is given at once.
    #[default]
    Whole,
    /// Pieces of these sizes, in turn (0 counts as 1), then again from the first.
    Pieces(Vec<usize>),
}

/// One direction of a pair: its options and the bytes on it.
#[derive(Debug, Clone)]
pub struct Link {
    /// What happens to written bytes.
    pub flow: Flow,
    /// Whether the writer may write (`false`: its socket is full, what it owes stays
    /// in the machine).
    pub writable: bool,
    /// Milliseconds from writing to arrival.
    pub delay_ms: u64,
    /// How arrived bytes are cut for the reader.
    pub cut: Cut,
    /// The size of the buffer the writer's `poll_transmit` is given first (it grows when
    /// the writer asks for more).
    pub out_cap: usize,
    in_flight: VecDeque<(Instant, Vec<u8>)>,
    /// Arrived bytes the reader has not consumed.
    pub(super) inbox: Vec<u8>,
    /// How many of `inbox` the reader was given.
    pub(super) exposed: usize,
    piece: usize,
    written: usize,
    dropped: usize,
    consumed: usize,
    sent: Vec<(Instant, Vec<u8>)>,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            flow: Flow::Open,
            writable: true,
            delay_ms: 0,
            cut: Cut::Whole,
            out_cap: 4096,
            in_flight: VecDeque::new(),
            inbox: Vec::new(),
            exposed: 0,
            piece: 0,
            written: 0,
            dropped: 0,
            consumed: 0,
            sent: Vec::new(),
        }
    }
}

impl Link {
    /// Every unit the writer wrote, with when, dropped ones included.
    pub fn sent(&self) -> &[(Instant, Vec<u8>)] {
        &self.sent
    }

    /// Every byte the writer wrote, in order.
    pub fn sent_bytes(&self) -> Vec<u8> {
        self.sent
            .iter()
            .flat_map(|(_, b)| b.iter().copied())
            .collect()
    }

    /// Forgets the record of what was written (the counters stay).
    pub fn clear_sent(&mut self) {
        self.sent.clear();
    }

    /// Bytes written.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Bytes the link dropped.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Bytes the reader consumed.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// Bytes written and not yet arrived.
    pub fn in_flight(&self) -> usize {
        self.in_flight.iter().map(|(_, b)| b.len()).sum()
    }

    /// Bytes arrived and not consumed by the reader.
    pub fn waiting(&self) -> &[u8] {
        &self.inbox
    }

    pub(super) fn write(&mut self, now: Instant, bytes: &[u8]) {
        self.written += bytes.len();
        self.sent.push((now, bytes.to_vec()));
        match self.flow {
            Flow::Drop => self.dropped += bytes.len(),
            Flow::Open | Flow::Hold => self
                .in_flight
                .push_back((now.add_millis(self.delay_ms), bytes.to_vec())),
        }
    }

    /// When the next bytes in flight arrive, unless the link holds them.
    pub(super) fn next_arrival(&self) -> Option<Instant> {
        match self.flow {
            Flow::Hold => None,
            Flow::Open | Flow::Drop => self.in_flight.front().map(|(at, _)| *at),
        }
    }

    /// Moves the bytes due at `now` to the reader, in order; whether any moved.
    pub(super) fn arrive(&mut self, now: Instant) -> bool {
        if self.flow == Flow::Hold {
            return false;
        }
        let mut any = false;
        while let Some((at, _)) = self.in_flight.front() {
            if *at > now {
                break;
            }
            let (_, bytes) = self.in_flight.pop_front().unwrap_or_default();
            self.inbox.extend_from_slice(&bytes);
            any = true;
        }
        any
    }

    /// Gives the reader the next piece of what arrived; whether there was one.
    pub(super) fn expose(&mut self) -> bool {
        let left = self.inbox.len() - self.exposed;
        if left == 0 {
            return false;
        }
        let size = match &self.cut {
            Cut::Whole => left,
            Cut::Pieces(sizes) if sizes.is_empty() => left,
            Cut::Pieces(sizes) => {
                let size = sizes[self.piece % sizes.len()].max(1);
                self.piece = self.piece.wrapping_add(1);
                size
            }
        };
        self.exposed += size.min(left);
        true
    }

    /// Gives the reader everything that arrived; whether there was more.
    pub(super) fn expose_all(&mut self) -> bool {
        let more = self.exposed < self.inbox.len();
        self.exposed = self.inbox.len();
        more
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.inbox.drain(..n);
        self.exposed -= n;
        self.consumed += n;
    }

    /// Every byte written was dropped, is in flight, waits for the reader or was
    /// consumed.
    pub(super) fn check_conserved(&self) {
        assert_eq!(
            self.written,
            self.dropped + self.in_flight() + self.inbox.len() + self.consumed,
            "bytes lost or invented on a link"
        );
    }
}
