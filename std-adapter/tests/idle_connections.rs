//! `sockwire serve` holds 10,000 idle WebSocket connections and still answers.
//!
//! The server runs as its own process (the `sockwire` binary) so that its descriptors and
//! this test's client sockets each stay under the per-process limit.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

mod common;

use common::Serve;
use sockwire_std::client::WsClient;
use sockwire_std::message::Message;

const CONNECTIONS: usize = 10_000;

#[test]
fn holds_ten_thousand_idle_connections() {
    // All from 127.0.0.1, and one more than the default cap in all.
    let server = Serve::start(&[
        "--no-stomp-tcp",
        "--max-connections",
        "20000",
        "--max-connections-per-address",
        "20000",
    ]);
    let addr = server.http.clone();
    let started = Instant::now();
    let idle: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| common::echo_upgraded(&addr))
        .collect();
    eprintln!("{CONNECTIONS} connections open in {:?}", started.elapsed());
    if let Some(rss) = server.rss_kib() {
        eprintln!(
            "server RSS with {CONNECTIONS} idle connections: {} MiB",
            rss / 1024
        );
    }

    let mut c = WsClient::connect(&format!("ws://{addr}/echo")).unwrap();
    c.send_text("still here").unwrap();
    assert_eq!(c.read().unwrap(), Message::Text("still here".into()));

    // Every idle connection is still open and served: spot-check a spread of them.
    for s in idle.iter().step_by(997) {
        let mut s = s;
        // A masked ping with an empty payload; the pong must come back.
        s.write_all(&[0x89, 0x80, 1, 2, 3, 4]).unwrap();
        let mut pong = [0u8; 2];
        s.read_exact(&mut pong).unwrap();
        assert_eq!(pong, [0x8A, 0x00]);
    }
    drop(idle);
}
