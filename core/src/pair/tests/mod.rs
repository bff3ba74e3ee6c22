//! Tests on the harness: STOMP, WebSocket, SockJS and the stacks as pairs, with virtual
//! time.

extern crate std;

mod props;
mod sockjs;
mod stacks;
mod stomp;
mod ws;

use super::{ClientRecord, Pair, Peer, ServerRecord};
use crate::stomp::{HeartBeat, Id, ServerSession, ServerSessionConfig};
use crate::time::Instant;
use std::string::String;
use std::vec::Vec;

/// A server session number `n` offering `heart_beat`, created at 0.
fn server_session(n: u64, heart_beat: HeartBeat) -> ServerSession {
    let config = ServerSessionConfig {
        heart_beat,
        ..ServerSessionConfig::default()
    };
    ServerSession::new(config, Id::from_decimal(n), Instant(0))
}

/// The bodies of the MESSAGEs among a client's events.
fn bodies(events: &[ClientRecord]) -> Vec<Vec<u8>> {
    let bodies = events.iter().filter_map(ClientRecord::message_body);
    bodies.map(<[u8]>::to_vec).collect()
}

/// The RECEIPTs among a client's events.
fn receipts(events: &[ClientRecord]) -> Vec<String> {
    let ids = events.iter().filter_map(ClientRecord::receipt_id);
    ids.map(String::from).collect()
}

/// The bodies of the SENDs among a server's events.
fn server_bodies(events: &[ServerRecord]) -> Vec<Vec<u8>> {
    let bodies = events.iter().filter_map(ServerRecord::send_body);
    bodies.map(<[u8]>::to_vec).collect()
}

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

/// Says that neither side reported anything.
fn assert_quiet<C: Peer, S: Peer>(pair: &Pair<C, S>) {
    assert!(pair.client_log().is_empty(), "{:?}", pair.client_log());
    assert!(pair.server_log().is_empty(), "{:?}", pair.server_log());
}

/// Drives `pair` and says that both sides are closed.
fn settle<C: Peer, S: Peer>(pair: &mut Pair<C, S>) {
    pair.drive();
    assert!(pair.client().is_closed(), "client not closed");
    assert!(pair.server().is_closed(), "server not closed");
}
