//! The stacks end to end, byte level: STOMP over TCP, WebSocket and SockJS, the broker
//! session with the embedded broker, whole WebSocket messages.

extern crate std;

use super::*;
use crate::broker::{BrokerConfig, Delivery, FixedInFlight, FixedStore, SessionId, SimpleBroker};
use crate::machine::{Machine, Status};
use crate::pair::WsRecord;
use crate::sockjs::{Attach, BodyEncoding, Config as SockJsConfig, Transport};
use crate::stomp::{Id, ServerSession, ServerSessionConfig};
use crate::store::FixedBytes;
use crate::time::Instant;
use crate::ws::{Config as WsConfig, Connection, DataKind, Fragment, Role};
use std::string::String;
use std::vec::Vec;

type Store = FixedBytes<8192>;
type Broker = SimpleBroker<'static, FixedStore<16, 64>, FixedInFlight<8, 64, 1024>>;

fn broker() -> Broker {
    SimpleBroker::new(
        BrokerConfig::default(),
        FixedStore::new(),
        FixedInFlight::new(),
    )
}

fn session(n: u64) -> ServerSession {
    ServerSession::new(
        ServerSessionConfig::default(),
        Id::from_decimal(n),
        Instant(0),
    )
}

fn drain(m: &mut impl Machine, now: Instant) -> Vec<u8> {
    let mut out = [0u8; 1024];
    let mut all = Vec::new();
    while let Some(n) = m.poll_transmit(now, &mut out).unwrap() {
        all.extend_from_slice(&out[..n]);
    }
    all
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

type Tcp = BrokerSession<StompStack<TcpCarrier<Store>, Store>, Store>;

fn tcp_session(n: u32) -> Tcp {
    let stack = StompStack::new(
        TcpCarrier::new(Store::new()),
        session(u64::from(n)),
        Store::new(),
    );
    BrokerSession::new(stack, SessionId(n), Store::new())
}

/// Feeds `input` to `s`, accepting CONNECTs as `user`; deliveries for other sessions are
/// kept in `others`. Returns the events other than CONNECT.
fn feed(
    s: &mut Tcp,
    b: &mut Broker,
    input: &[u8],
    user: &str,
    others: &mut Vec<(SessionId, String, Vec<u8>)>,
) -> Vec<String> {
    let mut pending = input.to_vec();
    let mut events = Vec::new();
    let now = Instant(0);
    loop {
        let mut sink = |d: Delivery<'_>| {
            others.push((d.session, String::from(d.subscription), d.body.to_vec()));
            crate::broker::Handoff::Taken
        };
        let read = s.read(&mut pending, now, b, &mut sink);
        let consumed = read.consumed;
        let mut connect = false;
        let go_on = match read.status {
            Status::Event(SessionEvent::Connect { .. }) => {
                connect = true;
                true
            }
            Status::Event(e) => {
                events.push(std::format!("{e:?}"));
                true
            }
            _ => false,
        };
        pending.drain(..consumed);
        if connect {
            s.accept(now, user).unwrap();
        }
        if !go_on {
            return events;
        }
    }
}

#[test]
fn broker_session_routes_subscriptions_publishes_and_self_deliveries() {
    let mut b = broker();
    let (mut alice, mut bob) = (tcp_session(1), tcp_session(2));
    let mut others = Vec::new();
    feed(&mut alice, &mut b, b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SUBSCRIBE\nid:s\ndestination:/topic/a\nreceipt:r1\n\n\0", "alice", &mut others);
    let out = text(&drain(&mut alice, Instant(0)));
    assert!(out.starts_with("CONNECTED\nversion:1.2\n"), "{out}");
    assert!(out.contains("RECEIPT\nreceipt-id:r1\n"));
    feed(
        &mut bob,
        &mut b,
        b"CONNECT\naccept-version:1.1\nhost:h\n\n\0SUBSCRIBE\nid:t\ndestination:/topic/a\n\n\0",
        "bob",
        &mut others,
    );
    drain(&mut bob, Instant(0));
    // Alice publishes: Bob's delivery goes to the sink, hers is written by her session.
    feed(
        &mut alice,
        &mut b,
        b"SEND\ndestination:/topic/a\nx-k:v\\cw\ncontent-type:text/plain\n\nhi\0",
        "alice",
        &mut others,
    );
    assert_eq!(others, [(SessionId(2), String::from("t"), b"hi".to_vec())]);
    let out = text(&drain(&mut alice, Instant(0)));
    assert!(
        out.starts_with("MESSAGE\nsubscription:s\nmessage-id:"),
        "{out}"
    );
    // The publisher's header lines are copied as they were escaped.
    assert!(
        out.contains("\nx-k:v\\cw\ncontent-type:text/plain\ncontent-length:2\n\nhi\0"),
        "{out}"
    );
    assert!(!out.contains("destination:/topic/a\nx-k") || out.contains("destination:/topic/a\n"));
    // A refused frame gets an ERROR naming its receipt, and the session ends.
    let events = feed(
        &mut alice,
        &mut b,
        b"SUBSCRIBE\nid:u\ndestination:/nowhere\nreceipt:r2\n\n\0",
        "alice",
        &mut others,
    );
    assert_eq!(events, ["Closed(Refused)"]);
    let out = text(&drain(&mut alice, Instant(0)));
    assert!(
        out.starts_with("ERROR\nmessage:unknown destination prefix\nreceipt-id:r2\n"),
        "{out}"
    );
    assert!(!out.contains("RECEIPT"));
    assert!(feed(&mut alice, &mut b, b"SEND\n", "alice", &mut others).is_empty());
    assert!(alice.is_released() && alice.is_closed());
    // The application prefix comes back to the caller.
    let events = feed(
        &mut bob,
        &mut b,
        b"SEND\ndestination:/app/x\n\nq\0",
        "bob",
        &mut others,
    );
    assert_eq!(events.len(), 1);
    assert!(
        events[0].starts_with("Application { destination: \"/app/x\""),
        "{events:?}"
    );
    let events = feed(
        &mut bob,
        &mut b,
        b"DISCONNECT\nreceipt:bye\n\n\0",
        "bob",
        &mut others,
    );
    assert_eq!(events, ["Closed(Disconnected)"]);
    assert!(text(&drain(&mut bob, Instant(0))).starts_with("RECEIPT\nreceipt-id:bye\n"));
    assert!(bob.is_closed());
}

/// A client WebSocket frame carrying `payload`.
#[test]
fn a_guard_refuses_frames_with_their_receipt_and_sees_who_sent_them() {
    use crate::broker::access::{Commands, Rule, Rules, Who};
    const RULES: &[Rule<'static>] = &[Rule {
        pattern: "/topic/admin/**",
        commands: Commands::SUBSCRIBE.and(Commands::SEND),
        who: &[Who::Anyone],
        allow: false,
    }];
    let rules = Rules {
        rules: RULES,
        separator: b'/',
        queue_prefix: "/queue",
        drain_by_default: false,
    };
    let mut b = broker();
    let mut delivered = 0;
    let mut sink = |_: Delivery<'_>| {
        delivered += 1;
        crate::broker::Handoff::Taken
    };
    let now = Instant(0);
    let frames: [&[u8]; 4] = [
        b"SUBSCRIBE\nid:a\ndestination:/topic/ok\nreceipt:r1\n\n\0",
        b"SUBSCRIBE\nid:b\ndestination:/topic/**\nreceipt:r2\n\n\0",
        b"SEND\ndestination:/topic/admin/x\nreceipt:r3\n\nhi\0",
        b"SUBSCRIBE\nid:c\ndestination:/queue/**\nreceipt:r4\n\n\0",
    ];
    for (i, frame) in frames.iter().enumerate() {
        let mut s = tcp_session(10 + i as u32);
        let mut input = b"CONNECT\naccept-version:1.2\nhost:h\n\n\0".to_vec();
        let read = s.read_guarded(&mut input, now, &mut b, &rules, &mut sink);
        assert!(matches!(
            read.status,
            Status::Event(SessionEvent::Connect { .. })
        ));
        s.accept_anonymous(now, "session-1").unwrap();
        assert!(!s.is_authenticated());
        drain(&mut s, now);
        let mut input = frame.to_vec();
        let status = std::format!(
            "{:?}",
            s.read_guarded(&mut input, now, &mut b, &rules, &mut sink)
                .status
        );
        let out = text(&drain(&mut s, now));
        if i == 0 {
            assert_eq!(
                status,
                "Event(Subscribed { id: \"a\", destination: \"/topic/ok\", application: false })",
                "{out}"
            );
            assert!(out.starts_with("RECEIPT\nreceipt-id:r1\n"), "{out}");
        } else {
            assert_eq!(status, "Event(Closed(Refused))", "{i}: {out}");
            let why = if i == 3 {
                "queues cannot be subscribed to by pattern"
            } else {
                "access denied"
            };
            let expected = std::format!("ERROR\nmessage:{why}\nreceipt-id:r{}\n", i + 1);
            assert!(out.starts_with(&expected), "{out}");
        }
    }
    // Nothing denied reached the broker: no session got a delivery.
    assert_eq!(delivered, 0);
}

fn client_frame(client: &mut Connection, fragment: Fragment, payload: &[u8]) -> Vec<u8> {
    let mut out = std::vec![0u8; payload.len() + 14];
    let n = client
        .send(Instant(0), fragment, payload, &mut out)
        .unwrap();
    out.truncate(n);
    out
}

/// Decodes server WebSocket frames into whole messages, and the close.
fn server_messages(client: &mut Connection, mut wire: Vec<u8>) -> Vec<String> {
    let records = WsRecord::read_all(client, &mut wire, Instant(0));
    let messages = WsRecord::messages(&records).into_iter();
    let mut messages: Vec<String> = messages.map(|(_, m)| text(&m)).collect();
    if let Some(WsRecord::Closed { code, .. }) = records.last() {
        messages.push(std::format!("close {code:?}"));
    }
    messages
}

#[test]
fn stomp_over_websocket_frames_split_and_joined() {
    let mut client = Connection::new(Role::Client, WsConfig::default(), 7);
    let server_ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let stack = StompStack::new(
        WebSocketCarrier::new(server_ws, Store::new()),
        session(1),
        Store::new(),
    );
    let mut s = BrokerSession::new(stack, SessionId(1), Store::new());
    let mut b = broker();
    let connect = b"CONNECT\naccept-version:1.2\nhost:h\n\n\0";
    // CONNECT split over two messages; then two frames in one message.
    let mut wire = client_frame(&mut client, Fragment::Whole(DataKind::Text), &connect[..9]);
    wire.extend(client_frame(
        &mut client,
        Fragment::Whole(DataKind::Binary),
        &connect[9..],
    ));
    let two = b"SUBSCRIBE\nid:1\ndestination:/queue/q\n\n\0SEND\ndestination:/queue/q\n\nx\0";
    wire.extend(client_frame(
        &mut client,
        Fragment::First(DataKind::Text),
        &two[..20],
    ));
    wire.extend(client_frame(&mut client, Fragment::Last, &two[20..]));
    let mut sink = |_: Delivery<'_>| panic!("no other session");
    let mut events = Vec::new();
    loop {
        let read = s.read(&mut wire, Instant(0), &mut b, &mut sink);
        let n = read.consumed;
        let connect = matches!(read.status, Status::Event(SessionEvent::Connect { .. }));
        let go_on = matches!(read.status, Status::Event(_));
        if let Status::Event(e) = read.status {
            events.push(std::format!("{e:?}"));
        }
        wire.drain(..n);
        if connect {
            s.accept(Instant(0), "u").unwrap();
        }
        if !go_on {
            break;
        }
    }
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events[1].starts_with("Subscribed { id: \"1\""),
        "{events:?}"
    );
    let out = drain(&mut s, Instant(0));
    let messages = server_messages(&mut client, out);
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with("CONNECTED\n"));
    assert!(
        messages[1].starts_with("MESSAGE\nsubscription:1\n") && messages[1].ends_with("\n\nx\0")
    );
    // The client closes: the session ends, the close is echoed.
    let mut close = std::vec![0u8; 16];
    client
        .close(Instant(0), crate::ws::CloseCode::NORMAL, "")
        .unwrap();
    let n = client
        .poll_transmit(Instant(0), &mut close)
        .unwrap()
        .unwrap();
    close.truncate(n);
    let read = s.read(&mut close, Instant(0), &mut b, &mut sink);
    assert_eq!(
        read.status,
        Status::Event(SessionEvent::Closed(CloseReason::TransportClosed))
    );
    assert_eq!(
        server_messages(&mut client, drain(&mut s, Instant(0))),
        ["close Some(1000)"]
    );
    assert!(s.is_closed() && s.is_released());
}

fn sockjs_stores() -> SockJsStores<Store> {
    SockJsStores {
        incoming: Store::new(),
        decoded: Store::new(),
        queue: Store::new(),
        out: Store::new(),
    }
}

#[test]
fn sockjs_websocket_echo_heartbeats_and_close() {
    let config = SockJsConfig {
        heartbeat_ms: 1000,
        ..SockJsConfig::default()
    };
    let mut client = Connection::new(Role::Client, WsConfig::default(), 7);
    let ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let mut s = SockJsWebSocket::new(ws, &config, sockjs_stores(), Instant(0));
    assert_eq!(
        server_messages(&mut client, drain(&mut s, Instant(0))),
        ["o"]
    );
    let mut wire = client_frame(
        &mut client,
        Fragment::Whole(DataKind::Text),
        br#"["a","\u00e9"]"#,
    );
    let mut got = Vec::new();
    loop {
        let read = s.read(&mut wire, Instant(10));
        let n = read.consumed;
        let message = match read.status {
            Status::Event(SockJsEvent::Message(m)) => String::from(m),
            _ => break,
        };
        wire.drain(..n);
        s.send(Instant(10), &message).unwrap();
        got.push(message);
    }
    assert_eq!(got, ["a", "é"]);
    assert_eq!(
        server_messages(&mut client, drain(&mut s, Instant(10))),
        [r#"a["a"]"#, r#"a["é"]"#]
    );
    // A heart-beat once nothing was sent for the interval.
    assert_eq!(s.poll_timeout(), Some(Instant(1010)));
    assert_eq!(s.handle_timeout(Instant(1010)), None);
    assert_eq!(
        server_messages(&mut client, drain(&mut s, Instant(1010))),
        ["h"]
    );
    // Broken framing closes with 1002.
    let mut bad = client_frame(&mut client, Fragment::Whole(DataKind::Text), b"[\"x");
    let read = s.read(&mut bad, Instant(1011));
    assert_eq!(read.status, Status::Event(SockJsEvent::Closed));
    let out = server_messages(&mut client, drain(&mut s, Instant(1011)));
    assert_eq!(
        out.last().map(String::as_str),
        Some("close Some(1002)"),
        "{out:?}"
    );
}

#[test]
fn stomp_over_sockjs_websocket_sends_close_frames() {
    let mut client = Connection::new(Role::Client, WsConfig::default(), 7);
    let ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let carrier = SockJsWebSocket::new(ws, &SockJsConfig::default(), sockjs_stores(), Instant(0));
    let mut s = StompStack::new(carrier, session(3), Store::new());
    let mut wire = client_frame(
        &mut client,
        Fragment::Whole(DataKind::Text),
        br#"["CONNECT\naccept-version:1.2\nhost:h\n\n\u0000"]"#,
    );
    let read = s.read(&mut wire, Instant(0));
    assert!(matches!(
        read.status,
        Status::Event(StackEvent::Stomp(crate::stomp::ServerEvent::Connect { .. }))
    ));
    s.accept_connect(Instant(0)).unwrap();
    let out = server_messages(&mut client, drain(&mut s, Instant(0)));
    assert_eq!(out[0], "o");
    assert!(
        out[1].starts_with(r#"a["CONNECTED\nversion:1.2\n"#),
        "{out:?}"
    );
    assert!(out[1].ends_with(r#"\n\n\u0000"]"#), "{out:?}");
    // The server ends the session: ERROR, then c[3000,"Go away!"], then close 1000.
    s.close(Instant(1), "shutting down").unwrap();
    let out = server_messages(&mut client, drain(&mut s, Instant(1)));
    assert!(
        out[0].starts_with(r#"a["ERROR\nmessage:shutting down"#),
        "{out:?}"
    );
    assert_eq!(&out[1..], [r#"c[3000,"Go away!"]"#, "close Some(1000)"]);
}

#[test]
fn stomp_over_sockjs_http_polls() {
    let mut s = SockJsStomp::new(
        &SockJsConfig::default(),
        session(4),
        Store::new(),
        Store::new(),
        Instant(0),
    );
    let poll = |s: &mut SockJsStomp<Store>, now: u64| {
        assert_ne!(
            s.attach_receiver(Instant(now), Transport::Xhr, ""),
            Attach::AnotherConnectionStillOpen
        );
        text(&drain(s, Instant(now)))
    };
    assert_eq!(poll(&mut s, 0), "o\n");
    s.receive_body(Instant(1), br#"["CONNECT\naccept-version:1.2\n\n\u0000SUBSCRIBE\nid:1\ndestination:/topic/t\n\n\u0000"]"#, BodyEncoding::Json)
        .unwrap();
    let read = StompEndpoint::read(&mut s, &mut [], Instant(1));
    assert!(matches!(
        read.status,
        Status::Event(StackEvent::Stomp(crate::stomp::ServerEvent::Connect { .. }))
    ));
    StompEndpoint::accept_connect(&mut s, Instant(1)).unwrap();
    let read = StompEndpoint::read(&mut s, &mut [], Instant(1));
    assert!(matches!(
        read.status,
        Status::Event(StackEvent::Stomp(
            crate::stomp::ServerEvent::Subscribe { .. }
        ))
    ));
    assert_eq!(
        StompEndpoint::read(&mut s, &mut [], Instant(1)).status,
        Status::NeedMore
    );
    let got = poll(&mut s, 2);
    assert!(got.starts_with(r#"a["CONNECTED\n"#), "{got}");
    assert_eq!(
        s.receive_body(Instant(3), b"[oops", BodyEncoding::Json),
        Err(BodyError::Broken(crate::sockjs::SendBodyError::BrokenJson))
    );
}

#[test]
fn whole_websocket_messages_and_their_limit() {
    let mut client = Connection::new(Role::Client, WsConfig::default(), 7);
    let ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let mut s = WebSocketMessages::new(ws, FixedBytes::<16>::new(), FixedBytes::<16>::new());
    let mut wire = client_frame(&mut client, Fragment::First(DataKind::Text), b"hello ");
    wire.extend(client_frame(&mut client, Fragment::Last, b"world"));
    let read = s.read(&mut wire, Instant(0));
    assert_eq!(read.consumed, wire.len());
    assert_eq!(
        read.status,
        Status::Event(MessageEvent::Message {
            kind: DataKind::Text,
            data: b"hello world"
        })
    );
    s.send(Instant(0), DataKind::Binary, b"\x00\x01").unwrap();
    assert_eq!(drain(&mut s, Instant(0)), b"\x82\x02\x00\x01");
    let mut big = client_frame(&mut client, Fragment::Whole(DataKind::Binary), &[0; 17]);
    let read = s.read(&mut big, Instant(0));
    assert!(matches!(
        read.status,
        Status::Event(MessageEvent::Closed { code: None, .. })
    ));
    assert_eq!(
        server_messages(&mut client, drain(&mut s, Instant(0))),
        ["close Some(1009)"]
    );
}

type WsServer = StompStack<WebSocketCarrier<Store>, Store>;
type WsClient = StompClientStack<WebSocketCarrier<Store>, Store>;

/// Moves what `from` owes into `to` and reads it all, naming each event.
fn to_server(from: &mut WsClient, to: &mut WsServer) -> Vec<String> {
    let mut wire = drain(from, Instant(0));
    let mut events = Vec::new();
    loop {
        let read = to.read(&mut wire, Instant(0));
        let consumed = read.consumed;
        match read.status {
            Status::Event(StackEvent::Stomp(e)) => events.push(std::format!("{e:?}")),
            Status::Event(e) => events.push(std::format!("{e:?}")),
            _ => return events,
        }
        wire.drain(..consumed);
    }
}

fn to_client(from: &mut WsServer, to: &mut WsClient) -> Vec<String> {
    let mut wire = drain(from, Instant(0));
    let mut events = Vec::new();
    loop {
        let read = to.read(&mut wire, Instant(0));
        let consumed = read.consumed;
        match read.status {
            Status::Event(ClientStackEvent::Stomp(e)) => events.push(std::format!("{e:?}")),
            Status::Event(e) => events.push(std::format!("{e:?}")),
            Status::Closed => events.push(String::from("closed")),
            _ => return events,
        }
        wire.drain(..consumed);
        if wire.is_empty() {
            return events;
        }
    }
}

#[test]
fn a_client_stack_over_websocket_talks_to_the_server_stack() {
    use crate::stomp::SubscribeFrame;
    let (mut client, mut server) = connected_ws_pair();
    let now = Instant(0);

    let frame = SubscribeFrame {
        destination: "/topic/a",
        id: "s1",
        ack: crate::stomp::AckMode::Auto,
        headers: &[],
        receipt: Some("r1"),
    };
    client
        .send(now, |s, now, out| s.subscribe(now, &frame, out))
        .unwrap();
    let events = to_server(&mut client, &mut server);
    assert!(events[0].starts_with("Subscribe"), "{events:?}");
    let events = to_client(&mut server, &mut client);
    assert!(events[0].starts_with("Receipt"), "{events:?}");

    client
        .send(now, |s, now, out| s.disconnect(now, Some("bye"), out))
        .unwrap();
    let events = to_server(&mut client, &mut server);
    assert!(events[0].starts_with("Disconnect"), "{events:?}");
    // The receipt, then the server's WebSocket close; the client answers it.
    let events = to_client(&mut server, &mut client);
    assert!(events[0].starts_with("Receipt"), "{events:?}");
    to_server(&mut client, &mut server);
    assert!(client.session().is_closed());
    assert!(server.is_closed(), "the server's closing handshake is done");
    assert!(client.is_closed(), "the client's closing handshake is done");
}

/// A pair of WebSocket STOMP stacks, connected.
fn connected_ws_pair() -> (WsClient, WsServer) {
    use crate::stomp::{ClientSession, ConnectOptions, Limits};
    let now = Instant(0);
    let ws = Connection::new(Role::Client, WsConfig::default(), 3);
    let stomp: ClientSession = ClientSession::new(Limits::default());
    let mut client = WsClient::new(WebSocketCarrier::new(ws, Store::new()), stomp, Store::new());
    let ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let mut server = WsServer::new(
        WebSocketCarrier::new(ws, Store::new()),
        session(1),
        Store::new(),
    );
    let options = ConnectOptions::default();
    client
        .send(now, |s, now, out| s.connect(now, &options, out))
        .unwrap();
    to_server(&mut client, &mut server);
    server.accept_connect(now).unwrap();
    to_client(&mut server, &mut client);
    (client, server)
}

#[test]
fn a_client_stack_reads_the_servers_close_after_its_error() {
    let (mut client, mut server) = connected_ws_pair();
    let now = Instant(0);
    server.close(now, "bye").unwrap();
    // The ERROR and the server's WebSocket close come in one read.
    let events = to_client(&mut server, &mut client);
    assert!(
        events.len() == 1 && events[0].starts_with("Error"),
        "{events:?}"
    );
    assert!(matches!(client.read(&mut [], now).status, Status::Closed));
    // The client answered the close: both handshakes are done.
    to_server(&mut client, &mut server);
    assert!(client.is_closed());
    assert!(server.is_closed());
    assert_eq!(client.poll_timeout(), None, "no timer left once over");
}

/// Alice sends herself a `/queue/q` message, taking it in `client-individual` mode, and
/// sends `frames` (with
/// `{ack}` standing for the message's `ack` header), then disconnects; returns the bodies
/// Carol, subscribing next, is given: what Alice's session left unacknowledged.
fn redelivered_after(frames: &str) -> Vec<Vec<u8>> {
    let mut b = broker();
    let (mut alice, mut carol) = (tcp_session(1), tcp_session(3));
    let mut others = Vec::new();
    let connect = b"CONNECT\naccept-version:1.2\nhost:h\n\n\0";
    feed(&mut alice, &mut b, connect, "alice", &mut others);
    feed(
        &mut alice,
        &mut b,
        b"SUBSCRIBE\nid:s\ndestination:/queue/q\nack:client-individual\n\n\0",
        "alice",
        &mut others,
    );
    feed(
        &mut alice,
        &mut b,
        b"SEND\ndestination:/queue/q\n\njob\0",
        "alice",
        &mut others,
    );
    let out = text(&drain(&mut alice, Instant(0)));
    let ack = out
        .lines()
        .find_map(|l| l.strip_prefix("ack:"))
        .unwrap_or_else(|| panic!("no ack header in {out:?}"));
    let frames = frames.replace("{ack}", ack);
    feed(&mut alice, &mut b, frames.as_bytes(), "alice", &mut others);
    let events = feed(
        &mut alice,
        &mut b,
        b"DISCONNECT\n\n\0",
        "alice",
        &mut others,
    );
    assert_eq!(events, ["Closed(Disconnected)"]);
    others.clear();
    feed(&mut carol, &mut b, connect, "carol", &mut others);
    feed(
        &mut carol,
        &mut b,
        b"SUBSCRIBE\nid:c\ndestination:/queue/q\n\n\0",
        "carol",
        &mut others,
    );
    let out = drain(&mut carol, Instant(0));
    let out = text(&out);
    out.split('\0')
        .filter(|f| f.starts_with("MESSAGE\n"))
        .map(|f| f.rsplit("\n\n").next().unwrap_or("").as_bytes().to_vec())
        .collect()
}

#[test]
fn an_ack_in_a_transaction_reaches_the_broker_at_commit_only() {
    let job = std::vec![b"job".to_vec()];
    // Acked at once: gone.
    assert!(redelivered_after("ACK\nid:{ack}\n\n\0").is_empty());
    // Acked in a transaction that commits: gone.
    assert!(redelivered_after(
        "BEGIN\ntransaction:t\n\n\0ACK\nid:{ack}\ntransaction:t\n\n\0COMMIT\ntransaction:t\n\n\0"
    )
    .is_empty());
    // Acked in a transaction the session ends before committing: redelivered.
    assert_eq!(
        redelivered_after("BEGIN\ntransaction:t\n\n\0ACK\nid:{ack}\ntransaction:t\n\n\0"),
        job
    );
    // Acked in a transaction that aborts: redelivered.
    assert_eq!(
        redelivered_after(
            "BEGIN\ntransaction:t\n\n\0ACK\nid:{ack}\ntransaction:t\n\n\0ABORT\ntransaction:t\n\n\0"
        ),
        job
    );
}
