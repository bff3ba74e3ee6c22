//! One memory budget: a peer over its share is closed, not the server slowed for
//! everyone. A WebSocket handler that sends more than its peer reads closes the session
//! with 1008; an echo client that never reads is shed while the server is over its output
//! budget, and STOMP publishers go on; a message over what the server-wide incoming
//! budget has left is refused with 1009.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sockwire_core::stomp::AckMode;
use sockwire_core::ws::DataKind;
use sockwire_std::client::WsClient;
use sockwire_std::message::Message;
use sockwire_std::server::{Endpoint, Outbox, Server, ServerConfig, WsHandler};
use sockwire_std::stomp::{StompClient, StompEvent, StompOptions};

fn config() -> ServerConfig {
    ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        stomp_tcp: Some("127.0.0.1:0".parse().unwrap()),
        workers: 2,
        ..ServerConfig::default()
    }
}

/// Answers each message with 100 messages of 64 KiB.
struct Flood;

impl WsHandler for Flood {
    fn on_message(&mut self, _: DataKind, _: &[u8], out: &mut Outbox<'_>) {
        for _ in 0..100 {
            if out.send(DataKind::Binary, &[7; 64 * 1024]).is_err() {
                return;
            }
        }
    }
}

#[test]
fn a_handler_that_outruns_its_reader_ends_the_session_with_1008() {
    let mut config = config();
    config.max_write_buffer = 128 * 1024;
    config.ws.max_message_size = 64 * 1024;
    config.routes.push((
        "/flood".into(),
        Endpoint::WebSocket {
            subprotocols: Vec::new(),
            handler: Arc::new(|_| Box::new(Flood)),
        },
    ));
    let server = Server::start(config).unwrap();
    let mut c = WsClient::connect(&format!("ws://{}/flood", server.local_addr())).unwrap();
    c.send_text("go").unwrap();
    let mut got = 0;
    let close = loop {
        match c.read().unwrap() {
            Message::Binary(b) => {
                assert_eq!(b.len(), 64 * 1024);
                got += 1;
            }
            Message::Close { code, reason } => break (code, reason),
            other => panic!("unexpected {other:?}"),
        }
    };
    // What fitted arrives whole; the rest is not dropped with the session going on.
    assert!(got > 0 && got < 100, "{got} messages");
    assert_eq!(close.0, Some(1008));
    assert!(close.1.starts_with("slow consumer"), "{}", close.1);
    assert_eq!(server.stats().closed_for_slowness, 1);
    server.stop();
    server.join();
}

/// A byte count of `/stats`: `queued_bytes` (output) or `incoming_bytes`.
fn stat(server: &Server, name: &str) -> usize {
    let json = server.stats_json();
    let key = format!("\"{name}\":");
    let at = json.find(&key).unwrap() + key.len();
    json[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn an_echo_client_that_never_reads_is_shed_and_publishers_go_on() {
    let mut config = config();
    config.max_write_buffer = 256 * 1024;
    config.max_queued_bytes = 64 * 1024;
    config.max_total_queued_bytes = 128 * 1024;
    // Long enough that shedding, not the send-time limit, closes the hog.
    config.send_time_limit = Duration::from_secs(60);
    let server = Server::start(config).unwrap();
    let url = format!("ws://{}/echo", server.local_addr());
    let hog = std::thread::spawn(move || {
        let mut c = WsClient::connect(&url).unwrap();
        let chunk = vec![1u8; 32 * 1024];
        // Sends until the server drops the connection; never reads.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if c.send_binary(&chunk).is_err() {
                break;
            }
        }
        started.elapsed()
    });
    let give_up = Instant::now() + Duration::from_secs(30);
    while stat(&server, "queued_bytes") <= 128 * 1024 {
        assert!(
            Instant::now() < give_up,
            "the echo client never filled its queue"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The server is over its budget because of one peer: STOMP still flows, well before
    // the 60 s send-time limit would have dropped the hog.
    let tcp = format!("stomp://{}", server.stomp_addr().unwrap());
    let options = StompOptions {
        timeout: Duration::from_secs(20),
        ..StompOptions::default()
    };
    let mut sub = StompClient::connect(&tcp, &options).unwrap();
    sub.subscribe("/topic/on", "s", AckMode::Auto, &[], true)
        .unwrap();
    let mut publisher = StompClient::connect(&tcp, &options).unwrap();
    // Enough that the publisher is read many times while the budget is spent.
    let body = |i: usize| format!("{i:08}").repeat(128).into_bytes();
    for i in 0..2000 {
        publisher
            .send("/topic/on", &[], &body(i), None, i % 100 == 99)
            .unwrap();
    }
    for i in 0..2000 {
        match sub.next_event(Duration::from_secs(20)).unwrap() {
            Some(StompEvent::Message(m)) => assert!(m.body == body(i), "message {i}"),
            other => panic!("message {i}: {other:?}"),
        }
    }
    // Shed for holding more than its share, long before the send-time limit.
    let lasted = hog.join().unwrap();
    assert!(
        lasted < Duration::from_secs(30),
        "the echo client lasted {lasted:?}"
    );
    assert_eq!(server.stats().closed_for_slowness, 1);
    server.stop();
    server.join();
}

#[test]
fn a_message_over_what_the_incoming_budget_has_left_is_refused_with_1009() {
    let mut config = config();
    config.max_total_incoming_bytes = 100 * 1024;
    let server = Server::start(config).unwrap();
    let url = format!("ws://{}/echo", server.local_addr());
    let mut c = WsClient::connect(&url).unwrap();
    let echoed = |c: &mut WsClient, byte: u8, len: usize| match c.read().unwrap() {
        Message::Binary(b) => b.len() == len && b.iter().all(|&x| x == byte),
        _ => false,
    };
    // Within the budget: echoed.
    c.send_binary(&[3; 60 * 1024]).unwrap();
    assert!(echoed(&mut c, 3, 60 * 1024));
    // Within the 1 MiB message limit, over the server-wide budget: refused.
    let _ = c.send_binary(&[4; 200 * 1024]);
    match c.read().unwrap() {
        Message::Close { code, .. } => assert_eq!(code, Some(1009)),
        other => panic!(
            "expected the close, got {:?}",
            std::mem::discriminant(&other)
        ),
    }
    c.wait_for_eof(Duration::from_secs(5)).unwrap();
    drop(c);
    // What it held goes back to the budget, whole again for the next peer.
    let give_up = Instant::now() + Duration::from_secs(10);
    while stat(&server, "incoming_bytes") > 0 {
        assert!(
            Instant::now() < give_up,
            "the refused message's bytes were kept"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut next = WsClient::connect(&url).unwrap();
    next.send_binary(&[5; 90 * 1024]).unwrap();
    assert!(echoed(&mut next, 5, 90 * 1024));
    server.stop();
    server.join();
}

#[test]
fn sockjs_session_queues_count_in_the_output_budget() {
    let server = Server::start(config()).unwrap();
    let exchange = |request: String| common::exchange(server.local_addr(), request.as_bytes());
    let poll = || {
        exchange(
            "POST /sockjs/000/q/xhr HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_string(),
        )
    };
    assert!(poll().ends_with("o\n"));
    // Echoes wait in the session for its next poll: they count.
    let body = format!("[\"{}\"]", "x".repeat(10_000));
    let sent = exchange(format!(
        "POST /sockjs/000/q/xhr_send HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert!(sent.starts_with("HTTP/1.1 204"), "{sent}");
    let give_up = Instant::now() + Duration::from_secs(10);
    while stat(&server, "queued_bytes") < 10_000 {
        assert!(
            Instant::now() < give_up,
            "the session's queue was not counted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Polled, they are gone from the count.
    assert!(poll().contains(&"x".repeat(10_000)));
    while stat(&server, "queued_bytes") > 0 {
        assert!(
            Instant::now() < give_up,
            "the drained queue is still counted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server.stop();
    server.join();
}
