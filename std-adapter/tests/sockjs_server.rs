//! The SockJS endpoint of the server over loopback, transport by transport.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sockwire_std::client::WsClient;
use sockwire_std::message::Message;
use sockwire_std::server::{Server, ServerConfig, SockJsSettings};

mod common;
use common::http::{open_stream, read_response, read_until, request, serde_like_array};

fn start(sockjs: SockJsSettings) -> Server {
    Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        sockjs,
        ..ServerConfig::default()
    })
    .unwrap()
}

const UNICODE: &str = "ünï ☃ 😀 \u{2028} \u{200c} \u{fff0} \\ \" \n";

#[test]
fn greeting_info_iframe_preflight_and_errors() {
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        allowed_origins: vec!["*".into()],
        ..ServerConfig::default()
    })
    .unwrap();
    let a = server.local_addr();
    let (status, _, body) = request(a, "GET", "/sockjs", &[], b"");
    assert_eq!(
        (status, body.as_slice()),
        (200, &b"Welcome to SockJS!\n"[..])
    );
    let (status, head, body) = request(
        a,
        "GET",
        "/sockjs/info",
        &[("Origin", "http://app.example")],
        b"",
    );
    assert_eq!(status, 200);
    assert!(
        head.contains("Access-Control-Allow-Origin: http://app.example"),
        "{head}"
    );
    assert!(head.contains("no-store, no-cache"), "{head}");
    let info = String::from_utf8(body).unwrap();
    assert!(
        info.contains("\"websocket\":true") && info.contains("\"entropy\":"),
        "{info}"
    );
    let (status, head, _) = request(a, "GET", "/sockjs/iframe.html", &[], b"");
    assert_eq!(status, 200);
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("ETag: "))
        .unwrap()
        .to_string();
    let (status, _, body) = request(
        a,
        "GET",
        "/sockjs/iframe-x.html",
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!((status, body.len()), (304, 0));
    let (status, head, _) = request(
        a,
        "OPTIONS",
        "/sockjs/000/abc/xhr",
        &[("Origin", "http://o")],
        b"",
    );
    assert_eq!(status, 204);
    assert!(
        head.contains("Access-Control-Allow-Methods: OPTIONS, POST"),
        "{head}"
    );
    assert!(head.contains("Access-Control-Max-Age: 31536000"), "{head}");
    assert_eq!(request(a, "GET", "/sockjs/000/a.b/xhr", &[], b"").0, 404);
    assert_eq!(request(a, "GET", "/sockjs/000/abc/xhr", &[], b"").0, 405);
    assert_eq!(
        request(a, "POST", "/sockjs/000/unknown/xhr_send", &[], b"[\"x\"]").0,
        404
    );
    server.stop();
    server.join();
}

#[test]
fn xhr_polling_and_send_with_unicode_and_bad_bodies() {
    let server = start(SockJsSettings::default());
    let a = server.local_addr();
    assert_eq!(request(a, "POST", "/sockjs/1/s/xhr", &[], b"").2, b"o\n");
    let body = serde_like_array(&["first", UNICODE]);
    assert_eq!(
        request(a, "POST", "/sockjs/1/s/xhr_send", &[], body.as_bytes()).0,
        204
    );
    // Bad sends answer 500 and lose nothing already queued.
    let (status, _, text) = request(a, "POST", "/sockjs/1/s/xhr_send", &[], b"");
    assert_eq!((status, text.as_slice()), (500, &b"Payload expected."[..]));
    let (status, _, text) = request(a, "POST", "/sockjs/1/s/xhr_send", &[], b"[\"x\"");
    assert_eq!(
        (status, text.as_slice()),
        (500, &b"Broken JSON encoding."[..])
    );
    let (_, _, polled) = request(a, "POST", "/sockjs/1/s/xhr", &[], b"");
    let polled = String::from_utf8(polled).unwrap();
    assert!(polled.starts_with("a[\"first\",\""), "{polled}");
    // The characters browsers and proxies mangle go out as \u escapes.
    assert!(
        polled.contains("\\u2028") && polled.contains("\\u200c") && polled.contains("\\ufff0"),
        "{polled}"
    );
    assert!(!polled.contains('\u{2028}'), "{polled}");
    server.stop();
    server.join();
}

#[test]
fn an_xhr_poll_drains_the_queue_and_honours_connection_close() {
    let server = start(SockJsSettings::default());
    let a = server.local_addr();
    assert_eq!(request(a, "POST", "/sockjs/1/d/xhr", &[], b"").2, b"o\n");
    let items: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let body = serde_like_array(&refs);
    assert_eq!(
        request(a, "POST", "/sockjs/1/d/xhr_send", &[], body.as_bytes()).0,
        204
    );
    // One poll answers all 100 echoes, on a connection that then closes as asked.
    let mut s = TcpStream::connect(a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let head = format!(
        "POST /sockjs/1/d/xhr HTTP/1.1\r\nHost: {a}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let (status, _, polled) = read_response(&mut s);
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8(polled).unwrap(), format!("a{body}\n"));
    let mut rest = Vec::new();
    assert_eq!(
        s.read_to_end(&mut rest).unwrap(),
        0,
        "the connection closes"
    );
    server.stop();
    server.join();
}

/// A JSON array of strings, escaped the simple way (what a client would send).
#[test]
fn streaming_transports_open_and_deliver() {
    let server = start(SockJsSettings::default());
    let a = server.local_addr();
    for (transport, open) in [
        ("xhr_streaming", &b"o\n"[..]),
        ("eventsource", &b"data: o\r\n\r\n"[..]),
        ("htmlfile?c=cb", &b"<script>\np(\"o\");\n</script>\r\n"[..]),
    ] {
        let session = format!("s-{}", &transport[..3]);
        let mut s = open_stream(a, &format!("/sockjs/1/{session}/{transport}"));
        let got = read_until(&mut s, open);
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        if transport == "xhr_streaming" {
            assert!(text.contains(&"h".repeat(2048)), "the 2 KiB prelude");
        }
        let body = serde_like_array(&[UNICODE]);
        assert_eq!(
            request(
                a,
                "POST",
                &format!("/sockjs/1/{session}/xhr_send"),
                &[],
                body.as_bytes()
            )
            .0,
            204
        );
        read_until(&mut s, b"\\u2028");
    }
    // jsonp: the callback wraps the frame; jsonp_send takes a form-encoded body.
    let (_, _, body) = request(a, "GET", "/sockjs/1/j/jsonp?c=cb", &[], b"");
    assert_eq!(body, b"/**/cb(\"o\");\r\n");
    let form = "d=%5B%22hi%20there%22%5D";
    let (status, _, body) = request(
        a,
        "POST",
        "/sockjs/1/j/jsonp_send",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));
    let (_, _, body) = request(a, "GET", "/sockjs/1/j/jsonp?c=cb", &[], b"");
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "/**/cb(\"a[\\\"hi there\\\"]\");\r\n"
    );
    assert_eq!(
        request(a, "GET", "/sockjs/1/k/jsonp", &[], b"").0,
        500,
        "callback required"
    );
    server.stop();
    server.join();
}

#[test]
fn websocket_transports() {
    let server = start(SockJsSettings::default());
    let mut c = WsClient::connect(&format!(
        "ws://{}/sockjs/1/w/websocket",
        server.local_addr()
    ))
    .unwrap();
    assert_eq!(c.read().unwrap(), Message::Text("o".into()));
    c.send_text(&serde_like_array(&["a", UNICODE])).unwrap();
    // The echoes come in one frame or one each.
    let mut frames = String::new();
    while !frames.contains("\\u2028") {
        match c.read().unwrap() {
            Message::Text(t) => frames.push_str(&t),
            other => panic!("{other:?}"),
        }
    }
    assert!(frames.starts_with("a[\"a\""), "{frames}");
    let mut raw =
        WsClient::connect(&format!("ws://{}/sockjs/websocket", server.local_addr())).unwrap();
    raw.send_text(UNICODE).unwrap();
    assert_eq!(raw.read().unwrap(), Message::Text(UNICODE.into()));
    server.stop();
    server.join();
}

#[test]
fn heartbeat_second_receiver_and_disconnect_delay() {
    let server = start(SockJsSettings {
        heartbeat_ms: 200,
        disconnect_delay_ms: 300,
        ..SockJsSettings::default()
    });
    let a = server.local_addr();
    // A streaming receiver gets heart-beats while nothing else is owed.
    let mut s = open_stream(a, "/sockjs/1/hb/xhr_streaming");
    read_until(&mut s, b"o\n");
    let started = Instant::now();
    read_until(&mut s, b"h\n");
    assert!(started.elapsed() < Duration::from_secs(3));
    // A second receiving request for the same session is told so and ended.
    let (_, _, body) = request(a, "POST", "/sockjs/1/hb/xhr", &[], b"");
    assert_eq!(body, b"c[2010,\"Another connection still open\"]\n");
    // Without a receiver, the session goes after the disconnect delay.
    drop(s);
    assert_eq!(request(a, "POST", "/sockjs/1/gone/xhr", &[], b"").2, b"o\n");
    std::thread::sleep(Duration::from_millis(1800));
    assert_eq!(
        request(a, "POST", "/sockjs/1/gone/xhr_send", &[], b"[\"x\"]").0,
        404
    );
    server.stop();
    server.join();
}

#[test]
fn streaming_response_ends_at_the_byte_limit() {
    let server = start(SockJsSettings {
        response_limit: 4096,
        ..SockJsSettings::default()
    });
    let a = server.local_addr();
    let mut s = open_stream(a, "/sockjs/1/lim/xhr_streaming");
    read_until(&mut s, b"o\n");
    let big = "y".repeat(1000);
    for _ in 0..5 {
        let body = serde_like_array(&[&big]);
        assert_eq!(
            request(a, "POST", "/sockjs/1/lim/xhr_send", &[], body.as_bytes()).0,
            204
        );
    }
    // The server ends the response (the client then reconnects).
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    let bytes = rest.iter().filter(|&&b| b == b'y').count();
    assert!(bytes >= 4000, "{bytes}");
    // The session lives on: a new streaming request resumes it.
    let mut again = open_stream(a, "/sockjs/1/lim/xhr_streaming");
    read_until(&mut again, b"\n");
    server.stop();
    server.join();
}

#[test]
fn origins_are_checked_for_sockjs_requests_too() {
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        allowed_origins: vec!["http://good.example".into()],
        ..ServerConfig::default()
    })
    .unwrap();
    let a = server.local_addr();
    assert_eq!(
        request(
            a,
            "POST",
            "/sockjs/1/o/xhr",
            &[("Origin", "http://evil.example")],
            b""
        )
        .0,
        403
    );
    let (status, head, body) = request(
        a,
        "POST",
        "/sockjs/1/o/xhr",
        &[("Origin", "http://good.example")],
        b"",
    );
    assert_eq!((status, body.as_slice()), (200, &b"o\n"[..]));
    assert!(
        head.contains("Access-Control-Allow-Origin: http://good.example"),
        "{head}"
    );
    server.stop();
    server.join();
}

#[test]
fn stomp_over_sockjs_xhr_and_go_away_after_disconnect() {
    let server = start(SockJsSettings::default());
    let a = server.local_addr();
    assert_eq!(request(a, "POST", "/stomp/1/t/xhr", &[], b"").2, b"o\n");
    let connect = serde_like_array(&["CONNECT\naccept-version:1.2\nhost:x\n\n\0"]);
    assert_eq!(
        request(a, "POST", "/stomp/1/t/xhr_send", &[], connect.as_bytes()).0,
        204
    );
    let (_, _, polled) = request(a, "POST", "/stomp/1/t/xhr", &[], b"");
    let polled = String::from_utf8(polled).unwrap();
    assert!(
        polled.starts_with("a[\"CONNECTED\\nversion:1.2\\n"),
        "{polled}"
    );
    let frames = serde_like_array(&[
        "SUBSCRIBE\nid:0\ndestination:/topic/t\n\n\0",
        "SEND\ndestination:/topic/t\n\nthrough sockjs\0",
    ]);
    assert_eq!(
        request(a, "POST", "/stomp/1/t/xhr_send", &[], frames.as_bytes()).0,
        204
    );
    let (_, _, polled) = request(a, "POST", "/stomp/1/t/xhr", &[], b"");
    let polled = String::from_utf8(polled).unwrap();
    assert!(
        polled.contains("MESSAGE\\n") && polled.contains("through sockjs"),
        "{polled}"
    );
    let bye = serde_like_array(&["DISCONNECT\nreceipt:bye\n\n\0"]);
    assert_eq!(
        request(a, "POST", "/stomp/1/t/xhr_send", &[], bye.as_bytes()).0,
        204
    );
    // Poll until the RECEIPT and the close frame have come.
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !seen.contains("c[3000,\"Go away!\"]") {
        assert!(Instant::now() < deadline, "{seen}");
        let (_, _, polled) = request(a, "POST", "/stomp/1/t/xhr", &[], b"");
        seen.push_str(&String::from_utf8(polled).unwrap());
    }
    assert!(seen.contains("RECEIPT\\nreceipt-id:bye"), "{seen}");
    server.stop();
    server.join();
}

/// Reads WebSocket text messages until one satisfies `done`, within 5 s.
fn read_text_until(c: &mut WsClient, done: impl Fn(&str) -> bool) -> Vec<String> {
    let give_up = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while Instant::now() < give_up {
        match c.read_for(Some(Duration::from_millis(100))) {
            Ok(Some(Message::Text(t))) => {
                let stop = done(&t);
                seen.push(t);
                if stop {
                    return seen;
                }
            }
            Ok(Some(Message::Close { code, .. })) => {
                seen.push(format!("close {code:?}"));
                return seen;
            }
            Ok(_) => {}
            Err(e) => panic!("{e} after {seen:?}"),
        }
    }
    panic!("gave up after {seen:?}")
}

#[test]
fn websocket_transport_heart_beats_and_close_frames() {
    let settings = SockJsSettings {
        heartbeat_ms: 200,
        ..SockJsSettings::default()
    };
    let server = start(settings);
    let addr = server.local_addr();
    // The echo application: `h` every heart-beat interval while nothing else is sent.
    let mut echo = WsClient::connect(&format!("ws://{addr}/sockjs/1/hb/websocket")).unwrap();
    assert_eq!(echo.read().unwrap(), Message::Text("o".into()));
    let seen = read_text_until(&mut echo, |t| t == "h");
    assert_eq!(seen, ["h"]);
    assert_eq!(read_text_until(&mut echo, |t| t == "h"), ["h"]);
    // STOMP: a DISCONNECT gets its receipt, then `c[3000,"Go away!"]`, then the close.
    let mut stomp = WsClient::connect(&format!("ws://{addr}/stomp/1/st/websocket")).unwrap();
    assert_eq!(stomp.read().unwrap(), Message::Text("o".into()));
    stomp
        .send_text(r#"["CONNECT\naccept-version:1.2\nhost:h\n\n\u0000"]"#)
        .unwrap();
    let seen = read_text_until(&mut stomp, |t| t.starts_with("a[\"CONNECTED"));
    assert!(
        seen.last()
            .unwrap()
            .starts_with("a[\"CONNECTED\\nversion:1.2"),
        "{seen:?}"
    );
    stomp
        .send_text(r#"["DISCONNECT\nreceipt:bye\n\n\u0000"]"#)
        .unwrap();
    let seen = read_text_until(&mut stomp, |t| t.starts_with('c'));
    assert!(
        seen.iter().any(|t| t.contains("RECEIPT\\nreceipt-id:bye")),
        "{seen:?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some(r#"c[3000,"Go away!"]"#)
    );
    assert!(matches!(
        stomp.read(),
        Ok(Message::Close {
            code: Some(1000),
            ..
        })
    ));
    // A shutdown closes the echo session with a close frame as well.
    server.shutdown();
    let seen = read_text_until(&mut echo, |t| t.starts_with('c'));
    assert_eq!(
        seen.last().map(String::as_str),
        Some(r#"c[1001,"server shutting down"]"#)
    );
    assert!(matches!(
        echo.read(),
        Ok(Message::Close {
            code: Some(1000),
            ..
        })
    ));
    drop((echo, stomp));
    server.join();
}
