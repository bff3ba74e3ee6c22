//! The addresses the clients accept.

use sockwire_std::stomp::StompUrl;
use sockwire_std::url::WsUrl;

#[test]
fn parses_forms() {
    let u = WsUrl::parse("ws://127.0.0.1:9001/echo?x=1").unwrap();
    assert_eq!(
        (u.host.as_str(), u.port, u.path.as_str()),
        ("127.0.0.1", 9001, "/echo?x=1")
    );
    assert_eq!(u.host_header(), "127.0.0.1:9001");
    let u = WsUrl::parse("ws://example.org").unwrap();
    assert_eq!(
        (u.port, u.path.as_str(), u.host_header().as_str()),
        (80, "/", "example.org")
    );
    let u = WsUrl::parse("ws://[::1]:8080?a").unwrap();
    assert_eq!((u.host.as_str(), u.path.as_str()), ("::1", "/?a"));
    assert_eq!(u.host_header(), "[::1]:8080");
}

#[test]
fn parses_tls_forms() {
    let u = WsUrl::parse("wss://example.org/ws").unwrap();
    assert_eq!(
        (u.port, u.tls, u.host_header().as_str()),
        (443, true, "example.org")
    );
    let u = WsUrl::parse("https://localhost:8443/sockjs").unwrap();
    assert_eq!((u.port, u.tls, u.path.as_str()), (8443, true, "/sockjs"));
    assert_eq!(u.host_header(), "localhost:8443");
    assert!(!WsUrl::parse("ws://x/").unwrap().tls);
}

#[test]
fn rejects() {
    assert!(WsUrl::parse("ftp://x/").is_err());
    assert!(WsUrl::parse("ws://:80/").is_err());
    assert!(WsUrl::parse("ws://x:99999/").is_err());
}

#[test]
fn parses_urls() {
    assert_eq!(
        StompUrl::parse("stomp://127.0.0.1:61613").unwrap(),
        StompUrl::Tcp {
            host: "127.0.0.1".into(),
            port: 61613,
            tls: false
        }
    );
    assert_eq!(
        StompUrl::parse("tcp://localhost").unwrap(),
        StompUrl::Tcp {
            host: "localhost".into(),
            port: 61613,
            tls: false
        }
    );
    let ws = StompUrl::parse("ws://127.0.0.1:15674/ws").unwrap();
    assert_eq!(ws.host(), "127.0.0.1");
    assert_eq!(
        StompUrl::parse("stomp+ssl://localhost").unwrap(),
        StompUrl::Tcp {
            host: "localhost".into(),
            port: 61614,
            tls: true
        }
    );
    assert!(StompUrl::parse("ftp://x").is_err());
    assert!(StompUrl::parse("stomp://:1").is_err());
}
