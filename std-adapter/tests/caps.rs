//! Caps on what one client may make the server hold: connections and SockJS sessions,
//! per client address; what is over a cap is refused at once and counted, and a place
//! freed is available again.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sockwire_std::server::{Caps, Server, ServerConfig};

fn start(connections: Caps, sockjs_sessions: Caps) -> Server {
    Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        connections,
        sockjs_sessions,
        ..ServerConfig::default()
    })
    .unwrap()
}

const MANY: Caps = Caps {
    total: 1000,
    per_address: 1000,
};

/// Sends `request` on a new connection and reads the answer until the server closes.
fn exchange(server: &Server, request: &str) -> String {
    common::exchange(server.local_addr(), request.as_bytes())
}

/// Whether the server closes `s` without a byte.
fn closed_at_once(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(0) | Err(_))
}

#[test]
fn connections_over_the_per_address_cap_are_closed_at_once() {
    let server = start(
        Caps {
            total: 100,
            per_address: 2,
        },
        MANY,
    );
    let a = TcpStream::connect(server.local_addr()).unwrap();
    let b = TcpStream::connect(server.local_addr()).unwrap();
    let mut c = TcpStream::connect(server.local_addr()).unwrap();
    assert!(closed_at_once(&mut c), "the third connection was served");
    assert!(server.stats_json().contains("\"refused_over_caps\":1"));
    drop((a, b));
    // The places come back once the server has seen the two close.
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = exchange(
            &server,
            "GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < give_up, "places were not given back");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();
    server.join();
}

#[test]
fn a_new_sockjs_session_over_the_cap_is_refused_with_1013() {
    let server = start(
        MANY,
        Caps {
            total: 100,
            per_address: 1,
        },
    );
    let post = |session: &str| {
        exchange(
            &server,
            &format!(
                "POST /sockjs/000/{session}/xhr HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    assert!(post("first").ends_with("o\n"), "the first session opens");
    let refused = post("second");
    assert!(
        refused.ends_with("c[1013,\"Try again later: too many sessions\"]\n"),
        "{refused}"
    );
    // The first session goes on: what it is sent comes back on its next poll.
    let sent = exchange(
        &server,
        "POST /sockjs/000/first/xhr_send HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nConnection: close\r\n\r\n[\"hi\"]\n",
    );
    assert!(sent.starts_with("HTTP/1.1 204"), "{sent}");
    let again = post("first");
    assert!(again.ends_with("a[\"hi\"]\n"), "{again}");
    server.stop();
    server.join();
}
