//! Smuggling-shaped requests are refused, and the connection closed: every request in
//! `fuzz/seeds/http_request_reader/` (the same files seed the fuzzer) is sent to a server
//! on its own connection, and the status its file name starts with must come back; after
//! a 400 or 501 the server closes the connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sockwire_std::server::{Server, ServerConfig};

fn send(server: &Server, raw: &[u8]) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // A reset after the answer is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (out, true),
            Err(_) => return (out, false),
        }
        if out.starts_with(b"HTTP/1.1 101") && out.windows(4).any(|w| w == b"\r\n\r\n") {
            return (out, false);
        }
    }
}

#[test]
fn every_smuggling_shape_gets_its_status_and_the_connection_closes() {
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        ..ServerConfig::default()
    })
    .unwrap();
    // The session the bodies are sent to exists, so that each body is read.
    let (open, _) = send(
        &server,
        b"POST /sockjs/000/smuggle/xhr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(open.ends_with(b"o\n"), "{}", String::from_utf8_lossy(&open));
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/seeds/http_request_reader"
    );
    let mut cases: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus is in {dir}");
    for path in cases {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let want = format!("HTTP/1.1 {} ", &name[..3]);
        let raw = std::fs::read(&path).unwrap();
        let (answer, closed) = send(&server, &raw);
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with(&want), "{name}: {text}");
        // A framing error leaves the stream unreadable: the connection must end.
        if name.starts_with("400") || name.starts_with("501") {
            assert!(closed, "{name}: the connection stayed open");
            assert!(
                text.matches("HTTP/1.1 ").count() == 1,
                "{name}: more than one answer: {text}"
            );
        }
    }
    server.stop();
    server.join();
}
