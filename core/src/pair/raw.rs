//! [`RawPeer`]: a peer that writes the bytes it is given and keeps what it receives,
//! for driving a machine with arbitrary input (a fuzzer's) through the harness.

extern crate std;

use super::outbox::Outbox;
use super::Peer;
use crate::machine::Read;
use crate::time::Instant;
use core::convert::Infallible;
use std::vec::Vec;

/// Writes what it is given, reads everything, reports nothing, never ends.
#[derive(Debug, Clone, Default)]
pub struct RawPeer {
    outbox: Outbox,
    /// Every byte received, in order.
    pub received: Vec<u8>,
}

impl RawPeer {
    /// Queues `bytes` as one unit for the wire (nothing when empty).
    pub fn write(&mut self, bytes: &[u8]) {
        self.outbox.push(bytes.to_vec());
    }
}

machine_of!(RawPeer, outbox, Infallible);

impl Peer for RawPeer {
    fn read(&mut self, input: &mut [u8], _now: Instant) -> Read<Infallible> {
        self.received.extend_from_slice(input);
        Read::need_more(input.len())
    }

    fn is_terminal(event: &Infallible) -> bool {
        match *event {}
    }
}
