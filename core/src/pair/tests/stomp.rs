//! A STOMP client session against a STOMP server session over a byte pipe.

extern crate std;

use crate::machine::Machine;

use super::super::{
    ClientRecord, Cut, Dir, Flow, Pair, ServerRecord, StompClient, StompClientOps, StompServer,
};
use super::{assert_quiet, receipts, sent_at, server_session, settle, times};
use crate::stomp::{AckMode, HeartBeat, HeartBeatIntervals, ServerSession, Version};
use crate::time::Instant;
use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec;

type StompPair = Pair<StompClient, StompServer<ServerSession>>;

const BEATS: HeartBeat = HeartBeat {
    send_ms: 1000,
    receive_ms: 1000,
};

/// A client offering `client_hb` against a server offering `server_hb`, connected.
fn connected(client_hb: HeartBeat, server_hb: HeartBeat) -> StompPair {
    let server = server_session(1, server_hb);
    let mut pair = Pair::new(StompClient::new(), StompServer::new(server));
    pair.client_mut().connect(Instant(0), client_hb).unwrap();
    pair.drive();
    assert_eq!(
        pair.take_client_events(),
        [ClientRecord::Connected {
            version: Version::V1_2,
            heart_beat: pair.client().session.heart_beat(),
        }]
    );
    assert!(matches!(
        &pair.take_server_events()[..],
        [ServerRecord::Connect { version: Version::V1_2, heart_beat, .. }] if *heart_beat == client_hb
    ));
    pair
}

#[test]
fn heart_beats_go_both_ways_on_time() {
    let mut pair = connected(BEATS, BEATS);
    assert_eq!(
        pair.client().session.heart_beat(),
        HeartBeatIntervals {
            send_every_ms: Some(1000),
            expect_every_ms: Some(1000),
        }
    );
    pair.advance(5000);
    let beats = [1000, 2000, 3000, 4000, 5000];
    assert_eq!(sent_at(pair.link(Dir::ToServer).sent(), b"\n"), beats);
    assert_eq!(sent_at(pair.link(Dir::ToClient).sent(), b"\n"), beats);
    assert!(pair.client_events().is_empty() && pair.server_events().is_empty());
    // Traffic postpones the heart-beat: a SEND at 5500 moves the next one to 6500.
    pair.advance(500);
    pair.client_mut()
        .send(Instant(5500), "/queue/a", b"x", None, None)
        .unwrap();
    pair.advance(1500);
    assert_eq!(
        sent_at(pair.link(Dir::ToServer).sent(), b"\n"),
        [1000, 2000, 3000, 4000, 5000, 6500]
    );
}

/// Silence on the link `silent` after connecting: when the client lost the server,
/// when the server timed the client out, and when the silent side's peer sent its
/// heart-beats (the other link).
fn silence(silent: Dir) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    let mut pair = connected(BEATS, BEATS);
    pair.link(silent).flow = Flow::Drop;
    pair.advance(10_000);
    assert!(pair.client().is_closed() && pair.server().is_closed());
    let other = match silent {
        Dir::ToClient => Dir::ToServer,
        Dir::ToServer => Dir::ToClient,
    };
    (
        times(pair.client_log(), |e| *e == ClientRecord::HeartbeatLost),
        times(pair.server_log(), |e| *e == ServerRecord::HeartbeatTimeout),
        sent_at(pair.link(other).sent(), b"\n"),
    )
}

#[test]
fn a_silent_peer_is_detected_on_time() {
    // A silent server: the client gives up after 1.5 intervals since CONNECTED at 0;
    // the server, whose last heart-beat from the client came at 1000, after two.
    let (lost, timed_out, client_beats) = silence(Dir::ToClient);
    assert_eq!(
        (lost, timed_out, client_beats),
        ([1500].into(), [3000].into(), [1000].into())
    );
    // A silent client: the server gives up at 2000, before its own heart-beat then; the
    // client, which heard it last at 1000, at 2500.
    let (lost, timed_out, server_beats) = silence(Dir::ToServer);
    assert_eq!(
        (lost, timed_out, server_beats),
        ([2500].into(), [2000].into(), [1000].into())
    );
}

#[test]
fn a_slow_wire_within_the_tolerance_keeps_the_session() {
    let mut pair = connected(BEATS, BEATS);
    pair.link(Dir::ToServer).delay_ms = 400;
    pair.link(Dir::ToClient).delay_ms = 400;
    pair.advance(20_000);
    assert_quiet(&pair);
}

#[test]
fn every_receipt_is_answered_once_in_order() {
    let mut pair = connected(HeartBeat::NONE, HeartBeat::NONE);
    pair.link(Dir::ToServer).cut = Cut::Pieces(vec![1, 3, 7]);
    pair.link(Dir::ToClient).cut = Cut::Pieces(vec![2, 5]);
    let now = pair.now();
    let c = pair.client_mut();
    c.subscribe(now, "s", "/topic/a", AckMode::Auto, Some("r0"))
        .unwrap();
    // More receipts at once than the server queues (RECEIPT_QUEUE): it pauses for them.
    for i in 1..10 {
        let receipt = format!("r{i}");
        c.send(now, "/topic/a", b"x", None, Some(&receipt)).unwrap();
    }
    c.disconnect(now, Some("bye")).unwrap();
    settle(&mut pair);
    let mut expected: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
    expected.push(String::from("bye"));
    assert_eq!(receipts(&pair.client_events()), expected);
    assert_eq!(pair.client().session.outstanding_receipts().count(), 0);
    let sends = pair
        .server_events()
        .iter()
        .filter(|e| matches!(e, ServerRecord::Send { .. }))
        .count();
    assert_eq!(sends, 9);
}

fn sent_bodies(events: &[ServerRecord]) -> Vec<(Option<String>, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            ServerRecord::Send {
                transaction, body, ..
            } => Some((transaction.clone(), body.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_commit_delivers_the_held_sends_in_order_and_an_abort_drops_them() {
    let mut pair = connected(HeartBeat::NONE, HeartBeat::NONE);
    pair.link(Dir::ToServer).cut = Cut::Pieces(vec![4]);
    let now = pair.now();
    let c = pair.client_mut();
    c.begin(now, "t", None).unwrap();
    c.begin(now, "u", Some("b")).unwrap();
    for body in ["1", "2", "3"] {
        c.send(now, "/queue/a", body.as_bytes(), Some("t"), None)
            .unwrap();
    }
    c.send(now, "/queue/a", b"dropped", Some("u"), None)
        .unwrap();
    c.send(now, "/queue/a", b"plain", None, None).unwrap();
    c.abort(now, "u", Some("a")).unwrap();
    c.commit(now, "t", Some("c")).unwrap();
    pair.drive();
    let events = pair.server_events();
    let t = Some(String::from("t"));
    assert_eq!(
        sent_bodies(&events),
        [
            (None, b"plain".to_vec()),
            (t.clone(), b"1".to_vec()),
            (t.clone(), b"2".to_vec()),
            (t, b"3".to_vec()),
        ]
    );
    assert!(events.contains(&ServerRecord::Abort {
        transaction: String::from("u"),
        discarded: 1
    }));
    assert!(events.contains(&ServerRecord::Commit {
        transaction: String::from("t"),
        held: 3
    }));
    assert_eq!(receipts(&pair.client_events()), ["b", "a", "c"]);
    assert_eq!(pair.server().machine.open_transactions(), 0);
}

#[test]
fn disconnect_with_a_receipt_while_the_server_sends_an_error() {
    let mut pair = connected(BEATS, BEATS);
    let now = pair.now();
    pair.client_mut().disconnect(now, Some("bye")).unwrap();
    pair.server_mut().close(now, "shutting down").unwrap();
    settle(&mut pair);
    // The ERROR ends the client; the server, closing already, ignores the DISCONNECT.
    assert_eq!(
        pair.client_events(),
        [ClientRecord::Error {
            message: Some(String::from("shutting down")),
            receipt_id: None
        }]
    );
    assert!(pair.server_events().is_empty());
    // No timer runs on: nothing happens later.
    pair.advance(60_000);
    assert!(pair
        .link(Dir::ToServer)
        .sent()
        .iter()
        .all(|(t, _)| *t == now));
    assert!(pair
        .link(Dir::ToClient)
        .sent()
        .iter()
        .all(|(t, _)| *t == now));
}

#[test]
fn both_sides_close_at_once() {
    let mut pair = connected(BEATS, BEATS);
    pair.link(Dir::ToServer).delay_ms = 50;
    pair.link(Dir::ToClient).delay_ms = 50;
    let now = pair.now();
    // The client is done as soon as it sends DISCONNECT without a receipt.
    pair.client_mut().disconnect(now, None).unwrap();
    pair.server_mut().close(now, "bye").unwrap();
    pair.advance(100);
    assert_quiet(&pair);
    assert!(pair.client().is_closed() && pair.server().is_closed());
    assert_eq!(pair.next_deadline(), None);
}

#[test]
fn a_disconnect_is_answered_before_the_server_goes_quiet() {
    let mut pair = connected(BEATS, BEATS);
    pair.link(Dir::ToServer).cut = Cut::Pieces(vec![1]);
    let now = pair.now();
    pair.client_mut().disconnect(now, Some("d")).unwrap();
    settle(&mut pair);
    assert_eq!(
        pair.client_events(),
        [ClientRecord::Receipt(String::from("d"))]
    );
    assert_eq!(
        pair.server_events(),
        [ServerRecord::Disconnect {
            receipt: Some(String::from("d"))
        }]
    );
    assert_eq!(pair.next_deadline(), None);
}

#[test]
fn no_message_follows_an_error() {
    let mut pair = connected(HeartBeat::NONE, HeartBeat::NONE);
    let now = pair.now();
    pair.client_mut()
        .subscribe(now, "s", "/topic/a", AckMode::Auto, None)
        .unwrap();
    pair.drive();
    let s = pair.server_mut();
    s.message(now, "s", "m1", "/topic/a", b"one").unwrap();
    s.close(now, "bye").unwrap();
    assert!(s.message(now, "s", "m2", "/topic/a", b"two").is_err());
    settle(&mut pair);
    let events = pair.client_events();
    assert!(
        matches!(&events[..], [ClientRecord::Message { body, .. }, ClientRecord::Error { .. }] if body == b"one"),
        "{events:?}"
    );
}
