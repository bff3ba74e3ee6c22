//! TLS: `sockwire serve --tls-cert --tls-key` serving https and wss on its HTTP listener
//! and STOMP on a TLS port of its own, with certificates made in the test (rcgen), and
//! the clients over TLS.

mod common;
mod pki;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Serve;
use pki::Pki;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A TLS client trusting `ca` only, connected to `addr` for `localhost`.
fn tls_to(addr: &str, ca: &CertificateDer<'static>) -> Tls {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    StreamOwned::new(conn, tcp)
}

/// Sends `request` over TLS and reads until the server closes: the answer as text.
fn tls_exchange(addr: &str, ca: &CertificateDer<'static>, request: &[u8]) -> String {
    let mut tls = tls_to(addr, ca);
    tls.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(pki: &Pki, extra: &[&str]) -> Serve {
    let tls = pki.serve_args();
    let mut args: Vec<&str> = tls.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    Serve::start(&args)
}

#[test]
fn https_serves_the_http_listener() {
    let pki = Pki::new("https");
    let server = serve(&pki, &["--no-stomp-tcp"]);
    let answer = tls_exchange(
        &server.http,
        &pki.ca,
        b"GET /sockjs/info HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"websocket\":true"), "{answer}");
}

#[test]
fn plain_http_to_the_tls_port_is_refused_at_once() {
    let pki = Pki::new("plain");
    let server = serve(&pki, &["--no-stomp-tcp"]);
    let started = Instant::now();
    let answer = common::exchange(
        server.http.parse().unwrap(),
        b"GET /sockjs/info HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    // A TLS alert and the close, not an HTTP answer, and not the 5 s read timeout.
    assert!(!answer.contains("HTTP/1.1"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(4));
    // The server is still up for TLS clients.
    let answer = tls_exchange(
        &server.http,
        &pki.ca,
        b"GET /stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn stomp_over_the_tls_port() {
    let pki = Pki::new("stomp-port");
    let server = serve(&pki, &["--stomp-tls", "127.0.0.1:0"]);
    let addr = server.stomp_tls.clone().unwrap();
    let mut tls = tls_to(&addr, &pki.ca);
    tls.write_all(b"CONNECT\naccept-version:1.2\nhost:localhost\n\n\0")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.contains(&0) {
        let n = tls.read(&mut buf).unwrap();
        assert!(n > 0, "closed before CONNECTED");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"CONNECTED\n"), "{got:?}");
}

/// The certificate a new TLS connection to `addr` is shown.
fn presented(addr: &str, ca: &CertificateDer<'static>) -> Option<CertificateDer<'static>> {
    let mut tls = tls_to(addr, ca);
    // The handshake runs on the first write.
    tls.write_all(b"GET /stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    tls.flush().ok()?;
    let mut sink = Vec::new();
    let _ = tls.read_to_end(&mut sink);
    tls.conn.peer_certificates()?.first().cloned()
}

#[test]
fn sighup_reloads_the_certificate_for_new_connections() {
    let mut pki = Pki::new("reload");
    let server = serve(&pki, &["--no-stomp-tcp"]);
    let first = pki.server.clone();
    assert_eq!(presented(&server.http, &pki.ca).as_ref(), Some(&first));
    pki.issue();
    let second = pki.server.clone();
    assert_ne!(first, second);
    let hup = || {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &server.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    hup();
    let give_up = Instant::now() + Duration::from_secs(10);
    while presented(&server.http, &pki.ca).as_ref() != Some(&second) {
        assert!(
            Instant::now() < give_up,
            "the new certificate is never served"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A reload of broken files keeps the certificate in use.
    std::fs::write(pki.path("cert.pem"), "not a certificate").unwrap();
    hup();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(presented(&server.http, &pki.ca).as_ref(), Some(&second));
}
