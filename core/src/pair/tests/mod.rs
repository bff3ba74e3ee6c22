//! Tests on the harness: STOMP, WebSocket, SockJS and the stacks as pairs, with virtual
//! time.

extern crate std;

mod props;
mod sockjs;
mod stacks;
mod stomp;
mod ws;

use super::{Pair, Peer};
use crate::time::Instant;
use std::vec::Vec;

/// The instants of the events of a log that match `pick`.
fn times<E>(log: &[super::Logged<E>], pick: impl Fn(&E) -> bool) -> Vec<u64> {
    log.iter()
        .filter(|l| pick(&l.event))
        .map(|l| l.at.as_millis())
        .collect()
}

/// The instants at which `unit` was written on a link.
fn sent_at(sent: &[(Instant, Vec<u8>)], unit: &[u8]) -> Vec<u64> {
    sent.iter()
        .filter(|(_, b)| b == unit)
        .map(|(t, _)| t.as_millis())
        .collect()
}

/// Drives `pair` and says that both sides are closed.
fn settle<C: Peer, S: Peer>(pair: &mut Pair<C, S>) {
    pair.drive();
    assert!(pair.client().is_closed(), "client not closed");
    assert!(pair.server().is_closed(), "server not closed");
}
