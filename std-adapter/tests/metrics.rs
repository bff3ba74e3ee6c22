//! `GET /metrics` (the Prometheus text exposition format, version 0.0.4) and `GET
//! /health`: every line of the exposition is checked against the format's grammar, and
//! the numbers move with real traffic (a WebSocket echo, a STOMP publish and delivery,
//! a refused handshake).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use sockwire_core::stomp::AckMode;
use sockwire_std::client::WsClient;
use sockwire_std::message::Message;
use sockwire_std::server::{Server, ServerConfig};
use sockwire_std::stomp::{StompClient, StompEvent, StompOptions};

/// No test here may hang the suite.
fn watchdog() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(60));
        eprintln!("metrics test: still running after 60 s");
        std::process::exit(1);
    });
}

fn start() -> Server {
    watchdog();
    Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        stomp_tcp: Some("127.0.0.1:0".parse().unwrap()),
        workers: 2,
        ..ServerConfig::default()
    })
    .unwrap()
}

/// `GET path`: the head and the body.
fn get(server: &Server, path: &str) -> (String, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let answer = common::exchange(server.local_addr(), request.as_bytes());
    let (head, body) = answer.split_once("\r\n\r\n").expect("a response head");
    (head.to_string(), body.to_string())
}

/// A parsed exposition: each sample (`name{labels}` as written) and its value.
type Samples = HashMap<String, f64>;

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Checks `{k="v",...}` (escapes `\\`, `\"`, `\n` in values).
fn check_labels(labels: &str) {
    let inner = labels
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or_else(|| panic!("labels not braced: {labels}"));
    let mut rest = inner;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect("label name=\"value\"");
        assert!(is_name(name), "label name {name:?}");
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => {
                    let escaped = chars.next().map(|(_, c)| c);
                    assert!(matches!(escaped, Some('\\' | '"' | 'n')), "bad escape");
                }
                Some((i, '"')) => break i,
                Some(_) => {}
                None => panic!("unterminated label value in {labels}"),
            }
        };
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// Parses text exposition format 0.0.4 strictly: `# HELP` / `# TYPE` at most once per
/// metric and `# TYPE` before its samples, a family's samples together, counters named
/// `_total`, sample values numbers.
fn parse(text: &str) -> Samples {
    assert!(text.ends_with('\n'), "the last line ends with a newline");
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helped = Vec::new();
    let mut finished: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut samples = Samples::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let (keyword, name) = (parts.next().unwrap(), parts.next().expect("a name"));
            assert!(is_name(name), "metric name {name:?}");
            match keyword {
                "HELP" => {
                    assert!(!helped.contains(&name.to_string()), "HELP twice: {name}");
                    helped.push(name.to_string());
                }
                "TYPE" => {
                    let kind = parts.next().expect("a type");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "type {kind}"
                    );
                    assert!(
                        types.insert(name.to_string(), kind.to_string()).is_none(),
                        "TYPE twice: {name}"
                    );
                    if kind == "counter" {
                        assert!(name.ends_with("_total"), "counter {name} not _total");
                    }
                }
                other => panic!("unknown comment keyword {other}"),
            }
            continue;
        }
        assert!(!line.is_empty(), "no blank lines");
        assert!(!line.starts_with('#'), "comment without a space: {line}");
        let (series, value) = line.rsplit_once(' ').expect("a sample: name value");
        let name = series.split('{').next().unwrap();
        assert!(is_name(name), "sample name {name:?}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            check_labels(labels);
        }
        assert!(types.contains_key(name), "sample before its TYPE: {line}");
        if current.as_deref() != Some(name) {
            assert!(!finished.contains(&name.to_string()), "{name} split up");
            finished.extend(current.replace(name.to_string()));
        }
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "{series} twice"
        );
    }
    samples
}

fn metrics(server: &Server) -> Samples {
    let (head, body) = get(server, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    parse(&body)
}

fn value(samples: &Samples, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:?}"))
}

fn stomp(url: &str) -> StompClient {
    StompClient::connect(url, &StompOptions::default()).unwrap()
}

#[test]
fn metrics_parse_and_move_with_traffic() {
    let server = start();
    let before = metrics(&server);
    for series in [
        "sockwire_sessions{transport=\"websocket\"}",
        "sockwire_stomp_messages_published_total",
        "sockwire_sent_bytes_total{transport=\"websocket\"}",
    ] {
        assert_eq!(value(&before, series), 0.0, "{series} before any traffic");
    }

    let mut echo = WsClient::connect(&format!("ws://{}/echo", server.local_addr())).unwrap();
    echo.send_text("counted").unwrap();
    assert_eq!(echo.read().unwrap(), Message::Text("counted".into()));
    let mut subscriber = stomp(&format!("stomp://{}", server.stomp_addr().unwrap()));
    subscriber
        .subscribe("/topic/m", "1", AckMode::Auto, &[], true)
        .unwrap();
    let mut publisher = stomp(&format!("ws://{}/ws", server.local_addr()));
    publisher.send("/topic/m", &[], b"hi", None, true).unwrap();
    match subscriber.next_event(Duration::from_secs(5)).unwrap() {
        Some(StompEvent::Message(m)) => assert_eq!(m.body, b"hi"),
        other => panic!("expected a MESSAGE, got {other:?}"),
    }

    // A connection's counts are brought up to date after its turn, which may end just
    // after the client has its answer: read until they settle (5 s at most).
    let expected = [
        ("sockwire_sessions{transport=\"websocket\"}", 1.0),
        ("sockwire_sessions{transport=\"stomp_tcp\"}", 1.0),
        ("sockwire_sessions{transport=\"stomp_websocket\"}", 1.0),
        ("sockwire_stomp_sessions_connected", 2.0),
        ("sockwire_stomp_messages_published_total", 1.0),
        ("sockwire_stomp_messages_delivered_total", 1.0),
        (
            "sockwire_websocket_messages_received_total{transport=\"websocket\"}",
            1.0,
        ),
    ];
    let mut now = metrics(&server);
    for _ in 0..100 {
        if expected.iter().all(|(series, v)| value(&now, series) == *v) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        now = metrics(&server);
    }
    for (series, expected) in expected {
        assert_eq!(value(&now, series), expected, "{series}");
    }
    for kind in ["websocket", "stomp_tcp", "stomp_websocket", "http"] {
        for dir in ["received", "sent"] {
            let series = format!("sockwire_{dir}_bytes_total{{transport=\"{kind}\"}}");
            assert!(value(&now, &series) > 0.0, "{series} did not move");
        }
    }
    // The echo's frame in and out: a 7-byte text, masked (6 bytes of header) and not (2).
    assert!(
        value(
            &now,
            "sockwire_received_bytes_total{transport=\"websocket\"}"
        ) >= 13.0
    );
    assert!(value(&now, "sockwire_sent_bytes_total{transport=\"websocket\"}") >= 9.0);

    drop((echo, subscriber, publisher));
    server.stop();
    server.join();
}

#[test]
fn a_refused_handshake_is_counted() {
    let server = start();
    let series = "sockwire_handshakes_refused_total";
    assert_eq!(value(&metrics(&server), series), 0.0);
    // An upgrade without Sec-WebSocket-Key.
    let answer = common::exchange(
        server.local_addr(),
        b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(value(&metrics(&server), series), 1.0);
    server.stop();
    server.join();
}

#[test]
fn health_is_ok_while_serving() {
    let server = start();
    let (head, body) = get(&server, "/health");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("Content-Type: application/json"), "{head}");
    assert_eq!(body, r#"{"status":"ok"}"#);
    server.stop();
    server.join();
}

#[test]
#[should_panic(expected = "not _total")]
fn the_parser_refuses_a_counter_not_named_total() {
    parse("# TYPE sockwire_things counter\nsockwire_things 1\n");
}

#[test]
#[should_panic(expected = "before its TYPE")]
fn the_parser_refuses_a_sample_without_a_type() {
    parse("sockwire_things 1\n");
}
