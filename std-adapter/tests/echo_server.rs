//! The event-driven server and the blocking client over loopback.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sockwire_std::client::{ClientOptions, WsClient};
use sockwire_std::message::Message;
use sockwire_std::server::{Server, ServerConfig};

fn start(config: ServerConfig) -> Server {
    Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        ..config
    })
    .unwrap()
}

fn echo_url(server: &Server) -> String {
    format!("ws://{}/echo", server.local_addr())
}

/// Sends a raw request and returns the response head.
fn raw_request(server: &Server, request: &str) -> String {
    common::exchange(server.local_addr(), request.as_bytes())
}

#[test]
fn echoes_text_and_binary_of_all_sizes() {
    // Messages up to 5 MiB: over the 1 MiB default, so the limits are raised.
    let mut config = ServerConfig::default();
    config.ws.max_message_size = 8 << 20;
    config.ws.max_frame_size = 8 << 20;
    let server = start(config);
    let mut c = WsClient::connect(&echo_url(&server)).unwrap();
    for size in [0usize, 1, 125, 126, 65535, 65536, 1 << 20, 5 << 20] {
        let text: String = (0..size)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        c.send_text(&text).unwrap();
        assert_eq!(c.read().unwrap(), Message::Text(text));
        let bin: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
        c.send_binary(&bin).unwrap();
        assert_eq!(c.read().unwrap(), Message::Binary(bin));
    }
    c.send_text("héllo wörld ✓ 😀").unwrap();
    assert_eq!(c.read().unwrap(), Message::Text("héllo wörld ✓ 😀".into()));
    c.ping(b"are you there").unwrap();
    assert_eq!(c.read().unwrap(), Message::Pong(b"are you there".to_vec()));
    c.close(1000, "bye").unwrap();
    assert_eq!(
        c.read().unwrap(),
        Message::Close {
            code: Some(1000),
            reason: String::new()
        }
    );
    c.wait_for_eof(Duration::from_secs(5)).unwrap();
    server.stop();
    server.join();
}

#[test]
fn many_clients_at_once() {
    let server = start(ServerConfig::default());
    let url = echo_url(&server);
    let threads: Vec<_> = (0..32)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut c = WsClient::connect(&url).unwrap();
                for i in 0..50 {
                    let m = format!("client {t} message {i}");
                    c.send_text(&m).unwrap();
                    assert_eq!(c.read().unwrap(), Message::Text(m));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    server.stop();
    server.join();
}

#[test]
fn message_over_the_limit_is_closed_with_1009() {
    let mut config = ServerConfig::default();
    config.ws.max_message_size = 1000;
    let server = start(config);
    let mut c = WsClient::connect(&echo_url(&server)).unwrap();
    c.send_binary(&[1u8; 1001]).unwrap();
    match c.read().unwrap() {
        Message::Close { code, .. } => assert_eq!(code, Some(1009)),
        other => panic!("expected a close, got {other:?}"),
    }
    server.stop();
    server.join();
}

#[test]
fn unknown_path_is_404() {
    let server = start(ServerConfig::default());
    let head = raw_request(&server, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    server.stop();
    server.join();
}

const UPGRADE: &str = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

#[test]
fn wrong_version_is_426_with_supported_version() {
    let server = start(ServerConfig::default());
    let head = raw_request(
        &server,
        &format!("{UPGRADE}Sec-WebSocket-Version: 8\r\n\r\n"),
    );
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{head}"
    );
    server.stop();
    server.join();
}

#[test]
fn origins_are_checked() {
    let server = start(ServerConfig {
        allowed_origins: vec!["http://good.example".into()],
        ..ServerConfig::default()
    });
    let bad = raw_request(
        &server,
        &format!("{UPGRADE}Sec-WebSocket-Version: 13\r\nOrigin: http://evil.example\r\n\r\n"),
    );
    assert!(bad.starts_with("HTTP/1.1 403"), "{bad}");
    let options = ClientOptions {
        origin: Some("http://good.example".into()),
        ..ClientOptions::default()
    };
    let mut c = WsClient::connect_with(&echo_url(&server), &options).unwrap();
    c.send_text("ok").unwrap();
    assert_eq!(c.read().unwrap(), Message::Text("ok".into()));
    server.stop();
    server.join();
}

#[test]
fn accept_key_matches_rfc_example() {
    let server = start(ServerConfig::default());
    let head = raw_request(
        &server,
        &format!("{UPGRADE}Sec-WebSocket-Version: 13\r\n\r\n"),
    );
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    server.stop();
    server.join();
}

#[test]
fn slow_head_times_out() {
    let server = start(ServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    });
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let head = String::from_utf8_lossy(&out);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    server.stop();
    server.join();
}

#[test]
fn head_arriving_byte_by_byte_is_accepted() {
    let server = start(ServerConfig::default());
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for b in format!("{UPGRADE}Sec-WebSocket-Version: 13\r\n\r\n").bytes() {
        s.write_all(&[b]).unwrap();
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    server.stop();
    server.join();
}
