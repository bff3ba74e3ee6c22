//! WebSocket keep-alive through the server: a quiet peer is pinged, a peer that answers
//! stays, a vanished one (silent, pongs included) gets close 1001 and is let go.

use std::io::{Read, Write};
use std::net::TcpStream;

use sockwire_core::ws::Config as WsConfig;
use sockwire_std::server::{Server, ServerConfig};

mod common;

fn start() -> Server {
    Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        workers: 1,
        ws: WsConfig {
            ping_interval_ms: Some(200),
            idle_timeout_ms: Some(1000),
            close_timeout_ms: 500,
            ..ServerConfig::default().ws
        },
        ..ServerConfig::default()
    })
    .unwrap()
}

/// A raw WebSocket on `/echo` of `server`.
fn upgraded(server: &Server) -> TcpStream {
    common::echo_upgraded(&server.local_addr().to_string())
}

/// The next frame's opcode byte and payload (server frames are unmasked, short).
fn frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    let mut payload = vec![0u8; usize::from(head[1] & 0x7f)];
    s.read_exact(&mut payload).unwrap();
    (head[0], payload)
}

#[test]
fn a_quiet_peer_is_pinged_and_a_vanished_one_let_go() {
    let server = start();
    let mut live = upgraded(&server);
    // The live peer answers three pings with pongs and is still there past the idle time.
    for _ in 0..6 {
        assert_eq!(frame(&mut live), (0x89, Vec::new()), "an empty ping");
        live.write_all(&[0x8A, 0x80, 9, 9, 9, 9]).unwrap();
    }
    live.write_all(&[0x81, 0x82, 0, 0, 0, 0, b'h', b'i'])
        .unwrap();
    let (op, payload) = loop {
        match frame(&mut live) {
            (0x89, _) => continue,
            other => break other,
        }
    };
    assert_eq!((op, payload.as_slice()), (0x81, &b"hi"[..]));
    // The silent one gets pings, then the idle close, then the connection ends.
    let mut silent = upgraded(&server);
    let close = loop {
        match frame(&mut silent) {
            (0x89, _) => continue,
            other => break other,
        }
    };
    assert_eq!(close.0, 0x88);
    assert_eq!(&close.1[..2], &1001u16.to_be_bytes());
    assert_eq!(&close.1[2..], b"idle timeout");
    let mut rest = Vec::new();
    assert!(
        silent.read_to_end(&mut rest).is_ok(),
        "closed, not timed out"
    );
    server.stop();
    server.join();
}
