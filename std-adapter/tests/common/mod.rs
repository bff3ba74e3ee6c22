//! Helpers the integration tests share: `sockwire serve` as a process of its own, and a
//! raw HTTP exchange. Each test file uses some of them only.
#![allow(dead_code)]

pub mod http;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `sockwire serve` running as its own process (its resident set and descriptors its
/// own), killed when dropped.
pub struct Serve {
    child: Child,
    /// Where HTTP, WebSocket and SockJS clients connect.
    pub http: String,
    /// Where STOMP over TCP listens, unless `--no-stomp-tcp` was given.
    pub stomp: Option<String>,
    /// Where STOMP over TLS listens, when `--stomp-tls` was given.
    pub stomp_tls: Option<String>,
}

impl Serve {
    /// Starts `sockwire serve --http 127.0.0.1:0` with `args` (`--stomp-tcp 127.0.0.1:0`
    /// unless they say `--no-stomp-tcp`) and waits until it says where it serves (over
    /// TLS too, with `--tls-cert`). Its log
    /// goes on to this test's stderr, prefixed `server: `.
    pub fn start(args: &[&str]) -> Serve {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sockwire"));
        command.args(["serve", "--http", "127.0.0.1:0"]);
        let stomp_tcp = !args.contains(&"--no-stomp-tcp");
        if stomp_tcp {
            command.args(["--stomp-tcp", "127.0.0.1:0"]);
        }
        let mut child = command.args(args).stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let stomp_tls_wanted = args.contains(&"--stomp-tls");
        let (mut http, mut stomp, mut stomp_tls) = (None, None, None);
        while http.is_none()
            || (stomp_tcp && stomp.is_none())
            || (stomp_tls_wanted && stomp_tls.is_none())
        {
            let line = lines.next().expect("server exited").unwrap();
            if let Some(rest) = line.split("stomp+ssl://").nth(1) {
                stomp_tls = Some(rest.trim().to_string());
            }
            let ws = line.split("ws://").nth(1);
            if let Some(rest) = ws.or_else(|| line.split("wss://").nth(1)) {
                http.get_or_insert_with(|| rest.split('/').next().unwrap_or_default().to_string());
            }
            if let Some(rest) = line.split("stomp://").nth(1) {
                stomp = Some(rest.trim().to_string());
            }
        }
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("server: {line}");
            }
        });
        Serve {
            child,
            http: http.unwrap(),
            stomp,
            stomp_tls,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident set (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `request` on a new connection to `addr` and reads until the server closes it
/// (or 5 s pass): the whole answer, as text.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A raw WebSocket on `/echo` of the server at `addr` (`host:port`), its `101` read and
/// checked; reads time out after 10 s.
pub fn echo_upgraded(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}
