//! The page at `/`: served from the binary with its types, its cache rule and a
//! Content-Security-Policy allowing only the server itself; its script, style sheet and
//! icon served with theirs; unknown paths still 404. (tests/browser/page.js drives the
//! page in Chromium.)

mod common;

use std::time::Duration;

use sockwire_std::server::{Server, ServerConfig};

fn start() -> Server {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(60));
        eprintln!("page test: still running after 60 s");
        std::process::exit(1);
    });
    Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        stomp_tcp: None,
        workers: 1,
        ..ServerConfig::default()
    })
    .unwrap()
}

/// `GET path` on a connection of its own: the status, the header fields (names in lower
/// case) and the body.
fn get(server: &Server, path: &str) -> (u16, Vec<(String, String)>, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let answer = common::exchange(server.local_addr(), request.as_bytes());
    let (head, body) = answer.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let fields = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("a header field");
            (n.to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    (status, fields, body.to_string())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn page_and_assets() {
    let server = start();
    let (status, fields, body) = get(&server, "/");
    assert_eq!(status, 200);
    assert_eq!(
        field(&fields, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(field(&fields, "cache-control"), Some("no-cache"));
    assert_eq!(field(&fields, "x-content-type-options"), Some("nosniff"));
    let csp = field(&fields, "content-security-policy").expect("a policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains('*') && !csp.contains("http"));
    assert_eq!(
        field(&fields, "content-length"),
        Some(body.len().to_string().as_str())
    );
    assert!(body.starts_with("<!doctype html>"));
    for path in [
        "/ws", "/stomp", "/echo", "/sockjs", "/metrics", "/health", "/stats",
    ] {
        assert!(body.contains(&format!("<code>{path}</code>")), "{path}");
    }

    // The query (the transport the page is told to use) does not change what is served.
    let (status, _, forced) = get(&server, "/?transport=sockjs");
    assert_eq!((status, forced.as_str()), (200, body.as_str()));

    for (path, content_type, needle) in [
        (
            "/page.js",
            "text/javascript; charset=utf-8",
            "accept-version",
        ),
        ("/page.css", "text/css; charset=utf-8", ":root"),
        ("/favicon.svg", "image/svg+xml", "<svg"),
    ] {
        let (status, fields, asset) = get(&server, path);
        assert_eq!(status, 200, "{path}");
        assert_eq!(field(&fields, "content-type"), Some(content_type), "{path}");
        assert_eq!(field(&fields, "cache-control"), Some("no-cache"), "{path}");
        assert!(
            field(&fields, "content-security-policy").is_some(),
            "{path}"
        );
        assert!(asset.contains(needle), "{path}");
    }

    for path in ["/index.html", "/page.js/x", "/nope", "/page"] {
        assert_eq!(get(&server, path).0, 404, "{path}");
    }
}
