//! Raw HTTP requests for the SockJS endpoints: one request per connection, receiving
//! streams, and the JSON bodies of sends.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One request on its own connection; the response read until the server closes or
/// `Content-Length` is reached.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    read_response(&mut s)
}

pub fn read_response(s: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status = head[9..12].parse().unwrap();
    let length = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length:")
            .map(|v| v.trim().parse::<usize>().unwrap())
    });
    let mut body = Vec::new();
    if status == 204 || status == 304 {
        return (status, head, body);
    }
    match length {
        Some(n) => {
            body.resize(n, 0);
            s.read_exact(&mut body).unwrap();
        }
        None => {
            let _ = s.read_to_end(&mut body);
        }
    }
    (status, head, body)
}

/// Reads a streaming response until `pattern` has arrived.
pub fn read_until(s: &mut TcpStream, pattern: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(pattern.len()).any(|w| w == pattern) {
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "stream ended before {:?}: {}",
            String::from_utf8_lossy(pattern),
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// Opens a receiving request on `path` (POST for `xhr_streaming`, GET otherwise) and
/// leaves its response to be read.
pub fn open_stream(addr: SocketAddr, path: &str) -> TcpStream {
    open_stream_with(addr, path, &[])
}

/// [`open_stream`] with extra request headers.
pub fn open_stream_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let method = if path.ends_with("xhr_streaming") {
        "POST"
    } else {
        "GET"
    };
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s
}

/// The JSON array of strings a SockJS send carries.
pub fn serde_like_array(items: &[&str]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|s| {
            let mut o = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    '\n' => o.push_str("\\n"),
                    c if u32::from(c) < 0x20 => o.push_str(&format!("\\u{:04x}", u32::from(c))),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        })
        .collect();
    format!("[{}]", parts.join(","))
}
