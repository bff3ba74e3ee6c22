//! WebSocket close races between a client and a server connection.

extern crate std;

use crate::machine::Machine;

use super::super::{Dir, Flow, Pair, WsPeer, WsRecord};
use super::{settle, times};
use crate::ws::{CloseCode, Config, Connection, DataKind, Fragment, Role, SendError};
use std::string::String;
use std::vec::Vec;

type WsPair = Pair<WsPeer, WsPeer>;

fn ws_pair() -> WsPair {
    let config = Config {
        close_timeout_ms: 5000,
        ..Config::default()
    };
    Pair::new(
        WsPeer::new(Connection::new(Role::Client, config, 42)),
        WsPeer::new(Connection::new(Role::Server, config, 0)),
    )
}

fn closed(code: u16, reason: &str) -> WsRecord {
    WsRecord::Closed {
        code: Some(code),
        reason: String::from(reason),
    }
}

/// How many close frames went over a link (a server writes them unmasked, a client
/// masked: both start with 0x88).
fn closes(pair: &mut WsPair, dir: Dir) -> usize {
    pair.link(dir)
        .sent()
        .iter()
        .filter(|(_, b)| b.first() == Some(&0x88))
        .count()
}

#[test]
fn both_close_at_the_same_instant() {
    let mut pair = ws_pair();
    let now = pair.now();
    pair.client_mut()
        .close(now, CloseCode::NORMAL, "client done")
        .unwrap();
    pair.server_mut()
        .close(now, CloseCode::GOING_AWAY, "server done")
        .unwrap();
    settle(&mut pair);
    // Each takes the other's close as the answer to its own: one close frame each way.
    assert_eq!(pair.client_events(), [closed(1001, "server done")]);
    assert_eq!(pair.server_events(), [closed(1000, "client done")]);
    assert_eq!(closes(&mut pair, Dir::ToServer), 1);
    assert_eq!(closes(&mut pair, Dir::ToClient), 1);
    assert_eq!(pair.next_deadline(), None);
}

#[test]
fn a_close_arrives_while_the_peer_is_mid_message() {
    let mut pair = ws_pair();
    let now = pair.now();
    pair.client_mut()
        .send(now, Fragment::First(DataKind::Text), b"hel")
        .unwrap();
    pair.drive();
    pair.server_mut().close(now, CloseCode::NORMAL, "").unwrap();
    // The client finishes its message before it sees the close: the server, having sent
    // its close, still takes the data.
    pair.link(Dir::ToClient).flow = Flow::Hold;
    pair.drive();
    pair.client_mut().send(now, Fragment::Last, b"lo").unwrap();
    pair.drive();
    pair.link(Dir::ToClient).flow = Flow::Open;
    settle(&mut pair);
    let server = pair.server_events();
    assert_eq!(
        WsRecord::messages(&server),
        [(DataKind::Text, b"hello".to_vec())]
    );
    assert_eq!(server.last(), Some(&closed(1000, "")));
    assert_eq!(pair.client_events(), [closed(1000, "")]);
}

#[test]
fn a_message_cut_off_by_the_peers_close_cannot_be_finished() {
    let mut pair = ws_pair();
    let now = pair.now();
    pair.client_mut()
        .send(now, Fragment::First(DataKind::Binary), b"\x01\x02")
        .unwrap();
    pair.server_mut()
        .close(now, CloseCode::NORMAL, "bye")
        .unwrap();
    settle(&mut pair);
    assert_eq!(pair.client_events(), [closed(1000, "bye")]);
    assert_eq!(
        pair.client_mut().send(now, Fragment::Last, b"\x03"),
        Err(SendError::Closed)
    );
    // The half message reached the server, and never its end.
    let server = pair.server_events();
    assert!(matches!(
        &server[0],
        WsRecord::Data {
            first: true,
            fin: false,
            ..
        }
    ));
    assert_eq!(server.last(), Some(&closed(1000, "")));
    assert!(WsRecord::messages(&server).is_empty());
}

#[test]
fn the_close_timer_starts_when_the_close_is_sent() {
    let mut pair = ws_pair();
    // An hour of silence first.
    pair.advance(3_600_000);
    let idle = pair.now();
    // The close is queued, but the client's socket takes nothing for ten seconds.
    pair.link(Dir::ToServer).writable = false;
    pair.client_mut()
        .close(idle, CloseCode::NORMAL, "")
        .unwrap();
    pair.advance(10_000);
    assert!(
        pair.client_events().is_empty(),
        "no timer before the close is sent"
    );
    assert_eq!(pair.client().poll_timeout(), None);
    // It goes out at 10 s; the server's answer is lost.
    pair.link(Dir::ToServer).writable = true;
    pair.link(Dir::ToClient).flow = Flow::Drop;
    let sent = pair.now().as_millis();
    pair.advance(60_000);
    assert_eq!(
        times(pair.client_log(), |e| *e == WsRecord::TimedOut),
        [sent + 5000]
    );
    assert!(pair.client().is_closed());
    // The server answered at once and is done.
    assert_eq!(pair.server_events(), [closed(1000, "")]);
    assert!(pair.server().is_closed());
}

#[test]
fn a_close_the_peer_never_answers_times_out() {
    let mut pair = ws_pair();
    // A silent server: it never reads anything.
    pair.link(Dir::ToServer).flow = Flow::Hold;
    let now = pair.now();
    pair.server_mut()
        .send(now, Fragment::Whole(DataKind::Text), b"still here")
        .unwrap();
    pair.client_mut().close(now, CloseCode::NORMAL, "").unwrap();
    pair.advance(4999);
    assert_eq!(
        pair.client().poll_timeout().map(|t| t.as_millis()),
        Some(5000)
    );
    // Data sent before the peer saw our close is still delivered.
    let client: Vec<WsRecord> = pair.client_events();
    assert_eq!(
        WsRecord::messages(&client),
        [(DataKind::Text, b"still here".to_vec())]
    );
    pair.advance(1);
    assert_eq!(
        times(pair.client_log(), |e| *e == WsRecord::TimedOut),
        [5000]
    );
    assert!(pair.client().is_closed());
    assert_eq!(pair.client().poll_timeout(), None);
}

#[test]
fn pings_are_answered_between_the_fragments_of_a_message() {
    let mut pair = ws_pair();
    let now = pair.now();
    let c = pair.client_mut();
    c.send(now, Fragment::First(DataKind::Text), b"a").unwrap();
    c.conn.ping(now, b"p").unwrap();
    pair.drive();
    pair.client_mut().send(now, Fragment::Last, b"b").unwrap();
    pair.drive();
    let server = pair.server_events();
    assert!(server.contains(&WsRecord::Ping(b"p".to_vec())));
    assert_eq!(
        WsRecord::messages(&server),
        [(DataKind::Text, b"ab".to_vec())]
    );
    assert_eq!(pair.client_events(), [WsRecord::Pong(b"p".to_vec())]);
}
