//! The Origin check knows the server's own names: a DNS-rebinding page (its own name in
//! `Host` and `Origin`) is refused on the WebSocket, STOMP and SockJS endpoints, the
//! server's own pages are allowed whatever `Host` says, an allow-list adds origins (and
//! patterns) without taking the server's own away.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sockwire_std::server::{Server, ServerConfig};

mod common;

fn start(allowed_origins: Vec<String>) -> Server {
    Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        workers: 1,
        allowed_origins,
        ..ServerConfig::default()
    })
    .unwrap()
}

/// The status line's code of `request` sent with these `Host` and `Origin`; `SESSION` in
/// it becomes a new SockJS session id each time.
fn status(server: &Server, request: &str, host: &str, origin: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let request = request.replace("SESSION", &format!("s{id}"));
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "{request}Host: {host}\r\nOrigin: {origin}\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).into_owned()
}

const WS: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

fn requests() -> Vec<(String, &'static str)> {
    vec![
        (format!("GET /echo HTTP/1.1\r\n{WS}"), "101"),
        (
            format!("GET /ws HTTP/1.1\r\n{WS}Sec-WebSocket-Protocol: v12.stomp\r\n"),
            "101",
        ),
        (
            format!("GET /sockjs/000/SESSION/websocket HTTP/1.1\r\n{WS}"),
            "101",
        ),
        (
            "POST /sockjs/000/SESSION/xhr HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n"
                .to_string(),
            "200",
        ),
    ]
}

#[test]
fn a_rebound_dns_name_is_refused_and_the_servers_own_names_are_not() {
    let server = start(Vec::new());
    let port = server.local_addr().port();
    let evil = format!("evil.example:{port}");
    for (request, ok) in requests() {
        let rebound = status(&server, &request, &evil, &format!("http://{evil}"));
        assert_eq!(rebound, "403", "{request}");
        for own in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
            let got = status(&server, &request, &evil, &format!("http://{own}"));
            assert_eq!(got, ok, "{request} from {own}");
        }
    }
    server.stop();
    server.join();
}

#[test]
fn an_allow_list_adds_origins_and_patterns_and_keeps_the_servers_own() {
    let server = start(vec![
        "http://good.example".into(),
        "https://*.apps.example".into(),
    ]);
    let port = server.local_addr().port();
    let host = format!("127.0.0.1:{port}");
    let echo = format!("GET /echo HTTP/1.1\r\n{WS}");
    for (origin, want) in [
        (format!("http://127.0.0.1:{port}"), "101"),
        ("http://good.example".to_string(), "101"),
        ("https://one.apps.example".to_string(), "101"),
        ("https://apps.example".to_string(), "403"),
        ("http://evil.example".to_string(), "403"),
    ] {
        assert_eq!(status(&server, &echo, &host, &origin), want, "{origin}");
    }
    server.stop();
    server.join();
}

#[test]
fn sockjs_info_reports_the_origin_policy_it_applies() {
    let info = |server: &Server| {
        let a = server.local_addr();
        let request =
            format!("GET /sockjs/info HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n");
        common::exchange(a, request.as_bytes())
    };
    let own = start(vec!["https://*.example.com".into()]);
    let port = own.local_addr().port();
    let expected = format!(
        "\"origins\":[\"127.0.0.1:{port}\",\"localhost:{port}\",\"https://*.example.com\"]"
    );
    let got = info(&own);
    assert!(got.contains(&expected), "{got}");
    let any = start(vec!["*".into()]);
    let got = info(&any);
    assert!(got.contains("\"origins\":[\"*:*\"]"), "{got}");
    for s in [own, any] {
        s.stop();
        s.join();
    }
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_host_is_the_servers_name() {
    let proxied = |public_names: Vec<String>| {
        Server::start(ServerConfig {
            http: "127.0.0.1:0".parse().unwrap(),
            workers: 1,
            public_names,
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..ServerConfig::default()
        })
        .unwrap()
    };
    let upgrade = |host: &str| format!("GET /echo HTTP/1.1\r\n{WS}X-Forwarded-Host: {host}\r\n");
    let server = proxied(Vec::new());
    let page = "https://chat.example";
    assert_eq!(
        status(&server, &upgrade("chat.example"), "backend:9000", page),
        "101"
    );
    assert_eq!(
        status(
            &server,
            &upgrade("chat.example"),
            "backend:9000",
            "https://evil.example"
        ),
        "403"
    );
    // Names given: they decide, whatever the proxy forwards (a rebound name is refused).
    let named = proxied(vec!["chat.example".into()]);
    assert_eq!(
        status(
            &named,
            &upgrade("evil.example"),
            "evil.example",
            "http://evil.example"
        ),
        "403"
    );
    assert_eq!(
        status(&named, &upgrade("chat.example"), "backend:9000", page),
        "101"
    );
    for s in [server, named] {
        s.stop();
        s.join();
    }
}
