//! Nothing is lost to a reader that does not keep up: a queue consumer that reads only
//! after 10,000 messages of 20 KB were published gets every one, in order, over TCP and
//! over WebSocket. (The SockJS transports have the same test under Node:
//! `tests/sockjs-node/slow_reader.js`.) The queue's limits are raised to hold all 200 MB;
//! with the defaults the publisher's SEND is refused once the queue is full
//! (`stomp_server.rs` tests that path).

use std::time::Duration;

use sockwire_core::broker::QueueLimits;
use sockwire_core::stomp::{AckMode, HeartBeat};
use sockwire_std::server::{Server, ServerConfig};
use sockwire_std::stomp::{StompClient, StompEvent, StompOptions};

const COUNT: usize = 10_000;
const SIZE: usize = 20 * 1024;

fn start() -> Server {
    Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        stomp_tcp: Some("127.0.0.1:0".parse().unwrap()),
        workers: 2,
        // The reader stalls for as long as publishing takes, which on a loaded machine can
        // pass the default 10 s after which a stalled session is closed (with an error,
        // tested elsewhere): this test is about what a reader that is waited for gets.
        send_time_limit: Duration::from_secs(120),
        queue_limits: QueueLimits {
            messages_per_queue: COUNT,
            bytes_per_queue: 256 << 20,
            held_bytes: 512 << 20,
        },
        ..ServerConfig::default()
    })
    .unwrap()
}

/// The body of message `i`: its number, then filler that changes with it.
fn body(i: usize) -> Vec<u8> {
    let mut b = format!("{i:08}:").into_bytes();
    b.resize(SIZE, b'a' + (i % 26) as u8);
    b
}

fn slow_queue_reader_gets_everything(url: &str, publisher_url: &str, queue: &str) {
    // The reader does not read while the publisher runs, heart-beats included.
    let options = StompOptions {
        timeout: Duration::from_secs(60),
        heart_beat: HeartBeat::NONE,
        ..StompOptions::default()
    };
    let mut reader = StompClient::connect(url, &options).unwrap();
    reader
        .subscribe(queue, "s", AckMode::Auto, &[], true)
        .unwrap();
    let mut publisher = StompClient::connect(publisher_url, &options).unwrap();
    for i in 0..COUNT {
        // A receipt now and then paces the publisher and proves the broker has them.
        let receipt = i % 1000 == 999;
        publisher.send(queue, &[], &body(i), None, receipt).unwrap();
    }
    // Only now does the reader read: all of it must still come, in order.
    for i in 0..COUNT {
        match reader.next_event(Duration::from_secs(30)).unwrap() {
            Some(StompEvent::Message(m)) => {
                assert_eq!(m.body.len(), SIZE, "message {i}");
                assert_eq!(&m.body[..9], &body(i)[..9], "message {i} out of order");
                assert_eq!(m.body, body(i), "message {i}");
            }
            other => panic!("message {i}: {other:?}"),
        }
    }
    if let Some(e) = reader.next_event(Duration::from_millis(300)).unwrap() {
        panic!("more than was sent: {e:?}");
    }
    reader.disconnect().unwrap();
    publisher.disconnect().unwrap();
}

#[test]
fn over_tcp() {
    let server = start();
    let tcp = format!("stomp://{}", server.stomp_addr().unwrap());
    slow_queue_reader_gets_everything(&tcp, &tcp, "/queue/slow-tcp");
    assert_eq!(server.stats().closed_for_slowness, 0);
    server.stop();
    server.join();
}

#[test]
fn over_websocket() {
    let server = start();
    let ws = format!("ws://{}/ws", server.local_addr());
    let tcp = format!("stomp://{}", server.stomp_addr().unwrap());
    slow_queue_reader_gets_everything(&ws, &tcp, "/queue/slow-ws");
    assert_eq!(server.stats().closed_for_slowness, 0);
    server.stop();
    server.join();
}
