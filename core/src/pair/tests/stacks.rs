//! The stacks as pairs: STOMP over WebSocket, SockJS over WebSocket, and broker sessions
//! sharing a broker.

extern crate std;

use crate::machine::Machine;

use super::super::{
    drive_all, sockjs_stores, BrokerHub, BrokerPeer, BrokerRecord, ClientRecord, Dir, Flow, Pair,
    ServerRecord, SharedHub, SockJsFrame, SockJsWsClient, SockJsWsRecord, SockJsWsServer,
    StompClient, StompClientOps, StompServer, StompWsClient, WsChunking,
};
use super::{bodies, server_bodies, server_session, settle, times};
use crate::broker::{BrokerConfig, FixedInFlight, FixedStore, SessionId, SimpleBroker};
use crate::sockjs::Config as SockJsConfig;
use crate::stack::{BrokerSession, SockJsWebSocket, StompStack, TcpCarrier, WebSocketCarrier};
use crate::stomp::{AckMode, HeartBeat};
use crate::store::FixedBytes;
use crate::time::Instant;
use crate::ws::{CloseCode, Config as WsConfig, Connection, Role};
use std::format;
use std::string::String;
use std::vec::Vec;

type Store = FixedBytes<8192>;
type WsStack = StompStack<WebSocketCarrier<Store>, Store>;
type WsStompPair = Pair<StompWsClient, StompServer<WsStack>>;

const BEATS: HeartBeat = HeartBeat {
    send_ms: 1000,
    receive_ms: 1000,
};

fn ws_stomp_pair(heart_beat: HeartBeat) -> WsStompPair {
    let client = StompWsClient::new(Connection::new(Role::Client, WsConfig::default(), 9));
    let ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let stack = StompStack::new(
        WebSocketCarrier::new(ws, Store::new()),
        server_session(1, heart_beat),
        Store::new(),
    );
    Pair::new(client, StompServer::new(stack))
}

/// The server answers every SEND with a MESSAGE carrying its body, for subscription 1.
fn echo_sends(pair: &mut WsStompPair) {
    let mut n = 0;
    pair.on_server(move |s, e, now| {
        if let ServerRecord::Send { body, .. } = e {
            n += 1;
            s.message(now, "1", &format!("m{n}"), "/queue/q", body)
                .unwrap();
        }
    });
}

#[test]
fn stomp_frames_split_across_websocket_messages_and_frames() {
    let mut pair = ws_stomp_pair(HeartBeat::NONE);
    echo_sends(&mut pair);
    let c = pair.client_mut();
    c.chunking = WsChunking::Pieces(5);
    c.fragment = Some(3);
    let now = Instant(0);
    c.connect(now, HeartBeat::NONE).unwrap();
    pair.drive();
    let c = pair.client_mut();
    c.subscribe(now, "1", "/queue/q", AckMode::Auto, Some("r1"))
        .unwrap();
    for body in ["one", "two\0nul", "three"] {
        c.send(now, "/queue/q", body.as_bytes(), None, None)
            .unwrap();
    }
    pair.drive();
    let expected = [b"one".to_vec(), b"two\0nul".to_vec(), b"three".to_vec()];
    assert_eq!(server_bodies(&pair.server_events()), expected);
    let client = pair.client_events();
    assert!(matches!(client[0], ClientRecord::Connected { .. }));
    assert_eq!(client[1], ClientRecord::Receipt(String::from("r1")));
    assert_eq!(bodies(&client), expected);
}

#[test]
fn several_stomp_frames_in_one_websocket_message() {
    let mut pair = ws_stomp_pair(HeartBeat::NONE);
    echo_sends(&mut pair);
    let now = Instant(0);
    let c = pair.client_mut();
    c.chunking = WsChunking::Batch;
    c.connect(now, HeartBeat::NONE).unwrap();
    c.flush_batch(now);
    pair.drive();
    let c = pair.client_mut();
    c.subscribe(now, "1", "/queue/q", AckMode::Auto, None)
        .unwrap();
    for i in 0..5 {
        c.send(now, "/queue/q", format!("{i}").as_bytes(), None, None)
            .unwrap();
    }
    c.disconnect(now, Some("bye")).unwrap();
    c.flush_batch(now);
    pair.drive();
    let expected: Vec<Vec<u8>> = (0..5).map(|i| format!("{i}").into_bytes()).collect();
    assert_eq!(server_bodies(&pair.server_events()), expected);
    let client = pair.client_events();
    assert_eq!(bodies(&client), expected);
    assert_eq!(
        client.last(),
        Some(&ClientRecord::Receipt(String::from("bye")))
    );
    assert_eq!(
        pair.server_events().last(),
        Some(&ServerRecord::Disconnect {
            receipt: Some(String::from("bye"))
        })
    );
}

#[test]
fn stomp_heart_beats_over_websocket_and_a_silent_client() {
    let mut pair = ws_stomp_pair(BEATS);
    pair.client_mut().connect(Instant(0), BEATS).unwrap();
    pair.advance(3000);
    // Each heart-beat is one WebSocket text message "\n" (masked from the client).
    let beats = super::sent_at(pair.link(Dir::ToClient).sent(), b"\x81\x01\n");
    assert_eq!(beats, [1000, 2000, 3000]);
    assert_eq!(pair.take_client_events().len(), 1);
    pair.link(Dir::ToServer).flow = Flow::Drop;
    pair.advance(20_000);
    // The client's last heart-beat went out at 3000: the server gives up at 5000 and
    // closes the WebSocket; the client's answer is lost, so the close times out.
    assert_eq!(
        times(pair.server_log(), |e| *e == ServerRecord::HeartbeatTimeout),
        [5000]
    );
    assert_eq!(
        pair.client_events(),
        [ClientRecord::TransportClosed { code: Some(1000) }]
    );
    assert!(pair.client().is_closed());
    assert!(pair.server().is_closed());
}

fn sockjs_pair(heartbeat_ms: u64) -> Pair<SockJsWsClient, SockJsWsServer<Store>> {
    let config = SockJsConfig {
        heartbeat_ms,
        ..SockJsConfig::default()
    };
    let ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let server = SockJsWebSocket::new(ws, &config, sockjs_stores::<Store>(), Instant(0));
    let client = SockJsWsClient::new(Connection::new(Role::Client, WsConfig::default(), 3));
    Pair::new(client, SockJsWsServer::new(server))
}

#[test]
fn sockjs_over_websocket_opens_beats_and_closes() {
    let mut pair = sockjs_pair(1000);
    pair.advance(3000);
    assert_eq!(
        times(pair.client_log(), |e| *e
            == SockJsWsRecord::Frame(SockJsFrame::Open)),
        [0]
    );
    let heartbeat = SockJsWsRecord::Frame(SockJsFrame::Heartbeat);
    assert_eq!(
        times(pair.client_log(), |e| *e == heartbeat),
        [1000, 2000, 3000]
    );
    let now = pair.now();
    pair.client_mut().send(now, &["hi", "\"there\""]).unwrap();
    pair.advance(500);
    let now = pair.now();
    pair.server_mut().machine.close(now, 3000, "Go away!");
    settle(&mut pair);
    // Each message is echoed in its own frame, then the close frame, then the close.
    let events = pair.client_events();
    let tail = &events[events.len() - 4..];
    assert_eq!(
        tail,
        [
            SockJsWsRecord::Frame(SockJsFrame::Messages(std::vec![String::from("hi")])),
            SockJsWsRecord::Frame(SockJsFrame::Messages(std::vec![String::from("\"there\"")])),
            SockJsWsRecord::Frame(SockJsFrame::Close {
                code: 3000,
                reason: String::from("Go away!")
            }),
            SockJsWsRecord::Closed { code: Some(1000) },
        ]
    );
    assert_eq!(pair.next_deadline(), None);
}

#[test]
fn sockjs_over_websocket_ends_when_the_client_closes() {
    let mut pair = sockjs_pair(25_000);
    pair.drive();
    let now = pair.now();
    pair.client_mut().close(now, CloseCode::GOING_AWAY).unwrap();
    settle(&mut pair);
    assert_eq!(
        pair.server_events(),
        [super::super::SockJsWsServerRecord::Closed]
    );
    assert_eq!(
        pair.client_events().last(),
        Some(&SockJsWsRecord::Closed { code: Some(1001) })
    );
}

type Broker = SimpleBroker<'static, FixedStore<16, 64>, FixedInFlight<8, 64, 1024>>;
type TcpBrokerPeer = BrokerPeer<StompStack<TcpCarrier<Store>, Store>, Store, Broker>;
type BrokerPair = Pair<StompClient, TcpBrokerPeer>;

const ALICE: usize = 0;
const BOB: usize = 1;

fn hub() -> SharedHub<Broker> {
    BrokerHub::shared(SimpleBroker::new(
        BrokerConfig::default(),
        FixedStore::new(),
        FixedInFlight::new(),
    ))
}

fn broker_pair(hub: &SharedHub<Broker>, n: u32, user: &str) -> BrokerPair {
    let stack = StompStack::new(
        TcpCarrier::new(Store::new()),
        server_session(u64::from(n), BEATS),
        Store::new(),
    );
    let session = BrokerSession::new(stack, SessionId(n), Store::new());
    let mut pair = Pair::new(
        StompClient::new(),
        BrokerPeer::new(session, hub.clone(), user),
    );
    pair.client_mut().connect(Instant(0), BEATS).unwrap();
    pair.drive();
    assert!(matches!(
        pair.take_client_events()[..],
        [ClientRecord::Connected { .. }]
    ));
    assert!(matches!(
        pair.take_server_events()[..],
        [BrokerRecord::Connect { .. }]
    ));
    pair
}

/// Alice and Bob on one broker, Alice subscribed to `/topic/t` (asking for `receipt`).
fn alice_subscribed(receipt: Option<&str>) -> (SharedHub<Broker>, [BrokerPair; 2]) {
    let hub = hub();
    let mut pairs = [broker_pair(&hub, 1, "alice"), broker_pair(&hub, 2, "bob")];
    pairs[ALICE]
        .client_mut()
        .subscribe(Instant(0), "a", "/topic/t", AckMode::Auto, receipt)
        .unwrap();
    (hub, pairs)
}

#[test]
fn broker_sessions_on_one_broker_deliver_to_each_other() {
    let (hub, mut pairs) = alice_subscribed(Some("r"));
    let now = Instant(0);
    pairs[BOB]
        .client_mut()
        .subscribe(now, "b", "/topic/t", AckMode::Auto, None)
        .unwrap();
    drive_all(&mut pairs);
    pairs[BOB]
        .client_mut()
        .send(now, "/topic/t", b"hello", None, None)
        .unwrap();
    pairs[ALICE]
        .client_mut()
        .send(now, "/topic/t", b"hi", None, None)
        .unwrap();
    drive_all(&mut pairs);
    // Each gets both messages once (their order across publishers is not defined).
    for pair_events in [pairs[ALICE].client_events(), pairs[BOB].client_events()] {
        let mut got = bodies(&pair_events);
        got.sort();
        assert_eq!(got, [b"hello".to_vec(), b"hi".to_vec()]);
    }
    assert_eq!(
        pairs[ALICE].client_events()[0],
        ClientRecord::Receipt(String::from("r"))
    );
    // An application destination comes back to the application.
    pairs[BOB]
        .client_mut()
        .send(now, "/app/x", b"q", None, None)
        .unwrap();
    drive_all(&mut pairs);
    assert_eq!(
        pairs[BOB].server_events(),
        [
            BrokerRecord::Subscribed {
                destination: String::from("/topic/t"),
                application: false
            },
            BrokerRecord::Application {
                destination: String::from("/app/x"),
                body: b"q".to_vec()
            }
        ]
    );
    assert!(hub.borrow().mail.is_empty());
}

#[test]
fn the_websocket_under_an_ended_stomp_session_closes_when_the_client_answers() {
    for server_ends in [false, true] {
        let mut pair = ws_stomp_pair(HeartBeat::NONE);
        let now = Instant(0);
        pair.client_mut().connect(now, HeartBeat::NONE).unwrap();
        pair.drive();
        if server_ends {
            pair.server_mut().close(now, "shutting down").unwrap();
        } else {
            pair.client_mut().disconnect(now, Some("bye")).unwrap();
        }
        // The client's close answers the server's: no waiting for the close timeout.
        settle(&mut pair);
        let ws = pair.server().machine.carrier().connection().state();
        assert_eq!(ws, crate::ws::State::Closed);
        assert_eq!(pair.next_deadline(), None);
    }
}

#[test]
fn a_broker_session_over_websocket_closes_when_the_client_answers() {
    let hub = hub();
    let ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let stack = StompStack::new(
        WebSocketCarrier::new(ws, Store::new()),
        server_session(1, HeartBeat::NONE),
        Store::new(),
    );
    let session = BrokerSession::new(stack, SessionId(1), Store::new());
    let client = StompWsClient::new(Connection::new(Role::Client, WsConfig::default(), 5));
    let mut pair = Pair::new(client, BrokerPeer::new(session, hub.clone(), "u"));
    let now = Instant(0);
    pair.client_mut().connect(now, HeartBeat::NONE).unwrap();
    pair.drive();
    pair.client_mut().disconnect(now, Some("bye")).unwrap();
    settle(&mut pair);
    assert_eq!(
        pair.server_events().last(),
        Some(&BrokerRecord::Closed(
            crate::stack::CloseReason::Disconnected
        ))
    );
    assert_eq!(pair.next_deadline(), None);
}
#[test]
fn a_broker_session_that_times_out_is_reported_once_and_forgotten() {
    let (hub, mut pairs) = alice_subscribed(None);
    drive_all(&mut pairs);
    // Alice's client goes silent: her session times out at 2000 (twice the interval).
    pairs[ALICE].link(Dir::ToServer).flow = Flow::Drop;
    pairs[ALICE].advance(3000);
    assert_eq!(
        times(pairs[ALICE].server_log(), |e| *e
            == BrokerRecord::Closed(
                crate::stack::CloseReason::HeartbeatTimeout
            )),
        [2000]
    );
    // The broker forgot her: what Bob sends reaches nobody.
    pairs[BOB].advance(3000);
    pairs[BOB]
        .client_mut()
        .send(Instant(3000), "/topic/t", b"x", None, None)
        .unwrap();
    drive_all(&mut pairs);
    assert!(hub.borrow().mail.is_empty());
    assert!(bodies(&pairs[ALICE].client_events()).is_empty());
    assert!(pairs[ALICE].server().session.is_released());
}

/// A client against a server of whole messages of at most 16 bytes, echoing.
fn messages_pair() -> Pair<super::super::WsPeer, super::super::MessagesServer<FixedBytes<16>>> {
    let client = super::super::WsPeer::new(Connection::new(Role::Client, WsConfig::default(), 1));
    let ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let machine =
        crate::stack::WebSocketMessages::new(ws, FixedBytes::<16>::new(), FixedBytes::<16>::new());
    Pair::new(client, super::super::MessagesServer::new(machine))
}

#[test]
fn whole_messages_close_with_1009_and_read_the_answer() {
    let mut pair = messages_pair();
    let now = Instant(0);
    pair.client_mut()
        .send_message(now, crate::ws::DataKind::Text, b"fits")
        .unwrap();
    pair.client_mut()
        .send_message(now, crate::ws::DataKind::Binary, &[7; 17])
        .unwrap();
    settle(&mut pair);
    assert_eq!(
        pair.server_events(),
        [
            super::super::MessageRecord::Message {
                kind: crate::ws::DataKind::Text,
                data: b"fits".to_vec()
            },
            super::super::MessageRecord::Closed { code: None },
        ]
    );
    let client = pair.client_events();
    assert_eq!(
        super::super::WsRecord::messages(&client),
        [(crate::ws::DataKind::Text, b"fits".to_vec())]
    );
    assert!(matches!(
        client.last(),
        Some(super::super::WsRecord::Closed {
            code: Some(1009),
            ..
        })
    ));
    assert_eq!(pair.next_deadline(), None);
}

#[test]
fn sockjs_over_websocket_closes_with_1009_and_reads_the_answer() {
    let stores = sockjs_stores::<FixedBytes<128>>();
    let ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let server = SockJsWebSocket::new(ws, &SockJsConfig::default(), stores, Instant(0));
    let client = SockJsWsClient::new(Connection::new(Role::Client, WsConfig::default(), 3));
    let mut pair = Pair::new(client, SockJsWsServer::new(server));
    let now = Instant(0);
    pair.client_mut().send(now, &["ok"]).unwrap();
    let big = "x".repeat(200);
    pair.client_mut().send(now, &[&big]).unwrap();
    settle(&mut pair);
    assert_eq!(
        pair.server_events(),
        [
            super::super::SockJsWsServerRecord::Message(String::from("ok")),
            super::super::SockJsWsServerRecord::Closed
        ]
    );
    assert!(matches!(
        pair.client_events().last(),
        Some(SockJsWsRecord::Closed { code: Some(1009) })
    ));
    assert_eq!(pair.next_deadline(), None);
}

#[test]
fn a_stack_whose_transport_ended_keeps_no_session_timer() {
    let mut pair = ws_stomp_pair(BEATS);
    let now = Instant(0);
    // The client goes away before its CONNECT.
    pair.client_mut()
        .ws
        .close(now, CloseCode::GOING_AWAY, "")
        .unwrap();
    pair.drive();
    assert_eq!(pair.server_events(), [ServerRecord::TransportClosed]);
    assert!(pair.server().is_closed());
    // The session's CONNECT deadline is not the stack's any more: it would never move.
    assert_eq!(pair.server().poll_timeout(), None);
    pair.advance(20_000);
}

#[test]
fn stomp_over_sockjs_http_whose_session_ended_keeps_no_stomp_timer() {
    use crate::machine::{Machine, Status};
    use crate::sockjs::Transport;
    use crate::stack::{SockJsStomp, StackEvent, StompEndpoint};
    let mut s = SockJsStomp::new(
        &SockJsConfig::default(),
        server_session(4, BEATS),
        Store::new(),
        Store::new(),
        Instant(0),
    );
    s.attach_receiver(Instant(0), Transport::XhrStreaming, "");
    let mut out = [0u8; 256];
    while s.poll_transmit(Instant(0), &mut out).unwrap().is_some() {}
    s.receiver_interrupted(Instant(1));
    let read = StompEndpoint::read(&mut s, &mut [], Instant(1));
    assert_eq!(read.status, Status::Event(StackEvent::TransportClosed));
    // Every deadline handled moves on (the SockJS session's, then none).
    let mut handled = 0;
    while let Some(t) = s.poll_timeout() {
        assert_eq!(s.handle_timeout(t), None);
        assert_ne!(
            s.poll_timeout(),
            Some(t),
            "the deadline {t:?} does not move on"
        );
        handled += 1;
        assert!(handled < 10);
    }
    assert!(s.is_closed());
}

/// One step (the server reads what the client wrote, and closes), then the client's
/// answer is lost and the close times out: the server's events.
fn answer_lost<C: super::super::Peer, S: super::super::Peer>(
    pair: &mut Pair<C, S>,
) -> Vec<super::super::Event<S>> {
    pair.step();
    pair.link(Dir::ToServer).flow = Flow::Drop;
    pair.advance(10_000);
    assert!(pair.server().is_closed());
    pair.server_events()
}

#[test]
fn a_close_timeout_after_the_end_is_not_a_second_end() {
    // Whole messages: a message too big ends the machine; the client never answers.
    let mut pair = messages_pair();
    pair.client_mut()
        .send_message(Instant(0), crate::ws::DataKind::Binary, &[0; 20])
        .unwrap();
    assert_eq!(
        answer_lost(&mut pair),
        [super::super::MessageRecord::Closed { code: None }]
    );
    // SockJS over WebSocket: broken framing ends the session; the client never answers.
    let mut pair = sockjs_pair(25_000);
    let now = Instant(0);
    pair.client_mut()
        .ws
        .send_message(now, crate::ws::DataKind::Text, b"[\"x")
        .unwrap();
    assert_eq!(
        answer_lost(&mut pair),
        [super::super::SockJsWsServerRecord::Closed]
    );
}

#[test]
fn stomp_over_sockjs_websocket_closes_when_the_client_answers() {
    type Small = FixedBytes<128>;
    // Broken framing (1002), and a message larger than the carrier's stores (1009).
    let broken: [&[u8]; 2] = [b"[\"x", &[b'7'; 300]];
    for (message, code) in broken.into_iter().zip([1002, 1009]) {
        let stores = sockjs_stores::<Small>();
        let ws = Connection::new(Role::Server, WsConfig::default(), 0);
        let carrier = SockJsWebSocket::new(ws, &SockJsConfig::default(), stores, Instant(0));
        let stack = StompStack::new(carrier, server_session(2, HeartBeat::NONE), Store::new());
        let client = SockJsWsClient::new(Connection::new(Role::Client, WsConfig::default(), 3));
        let mut pair = Pair::new(client, StompServer::new(stack));
        let now = Instant(0);
        pair.client_mut()
            .send(now, &["CONNECT\naccept-version:1.2\nhost:h\n\n\0"])
            .unwrap();
        pair.drive();
        assert!(matches!(
            pair.server_events()[..],
            [ServerRecord::Connect { .. }]
        ));
        pair.client_mut()
            .ws
            .send_message(now, crate::ws::DataKind::Text, message)
            .unwrap();
        settle(&mut pair);
        assert_eq!(
            pair.server_events().last(),
            Some(&ServerRecord::TransportClosed)
        );
        assert_eq!(
            pair.client_events().last(),
            Some(&SockJsWsRecord::Closed { code: Some(code) })
        );
        assert_eq!(pair.next_deadline(), None);
    }
}
