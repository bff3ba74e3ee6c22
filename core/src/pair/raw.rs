//! [`RawPeer`]: a peer that writes the bytes it is given and keeps what it receives,
//! for driving a machine with arbitrary input (a fuzzer's) through the harness.

extern crate std;

use super::stomp::pop_unit;
use super::Peer;
use crate::buf::BufferTooSmall;
use crate::machine::Read;
use crate::time::Instant;
use std::collections::VecDeque;
use std::vec::Vec;

/// Writes what it is given, reads everything, reports nothing.
#[derive(Debug, Clone, Default)]
pub struct RawPeer {
    units: VecDeque<Vec<u8>>,
    /// Every byte received, in order.
    pub received: Vec<u8>,
}

impl RawPeer {
    /// Queues `bytes` as one unit for the wire (nothing when empty).
    pub fn write(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.units.push_back(bytes.to_vec());
        }
    }
}

impl Peer for RawPeer {
    type Event = ();

    fn read(&mut self, input: &mut [u8], _now: Instant) -> Read<()> {
        self.received.extend_from_slice(input);
        Read::need_more(input.len())
    }

    fn poll_transmit(
        &mut self,
        _now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        pop_unit(&mut self.units, out).transpose()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn handle_timeout(&mut self, _now: Instant) -> Option<()> {
        None
    }

    fn is_closed(&self) -> bool {
        false
    }

    fn is_terminal(_: &()) -> bool {
        false
    }
}
