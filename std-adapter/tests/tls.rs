//! TLS: `sockwire serve --tls-cert --tls-key` serving https and wss on its HTTP listener
//! and STOMP on a TLS port of its own, with certificates made in the test (rcgen), and
//! the clients over TLS.

mod common;
mod pki;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Serve;
use pki::Pki;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sockwire_core::stomp::AckMode;
use sockwire_std::client::{ClientOptions, WsClient};
use sockwire_std::connector::Connector;
use sockwire_std::message::Message;
use sockwire_std::server::{Server, ServerConfig, TlsSettings};
use sockwire_std::sockjs_client::{SockJsClient, SockJsTransport};
use sockwire_std::stomp::{StompClient, StompEvent, StompOptions};

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

/// Whether the server closes `stream` (EOF or a reset) before its 5 s read timeout,
/// with what it sent.
fn closed_by_server(mut stream: TcpStream) -> (bool, Vec<u8>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (true, got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (false, got)
            }
            Err(_) => return (true, got),
        }
    }
}

#[test]
fn plain_http_to_the_tls_port_is_refused() {
    let pki = Pki::new("plain");
    let server = serve(&pki, &["--no-stomp-tcp"]);
    let mut plain = TcpStream::connect(&server.http).unwrap();
    plain
        .write_all(b"GET /sockjs/info HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    // A TLS alert and the close, not an HTTP answer, and no hang.
    let (closed, answer) = closed_by_server(plain);
    assert!(closed, "the connection stays open");
    assert!(!String::from_utf8_lossy(&answer).contains("HTTP/1.1"));
    // The server is still up for TLS clients.
    let answer = tls_exchange(
        &server.http,
        &pki.ca,
        b"GET /stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn a_handshake_that_never_ends_is_closed_by_the_handshake_timeout() {
    let pki = Pki::new("slow-hello");
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        handshake_timeout: Duration::from_millis(300),
        tls: Some(TlsSettings {
            cert: pki.path("cert.pem"),
            key: pki.path("key.pem"),
        }),
        ..ServerConfig::default()
    })
    .unwrap();
    // Silent, and half a ClientHello record.
    for start in [&b""[..], &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01][..]] {
        let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
        tcp.write_all(start).unwrap();
        let (closed, _) = closed_by_server(tcp);
        assert!(closed, "an unfinished handshake is kept open");
    }
    server.stop();
    server.join();
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

/// A connector trusting the test CA (and the system's roots).
fn trusting(pki: &Pki) -> Connector {
    Connector::default().with_ca(pki.ca.clone())
}

fn ws_options(connector: Connector) -> ClientOptions {
    ClientOptions {
        connector,
        ..ClientOptions::default()
    }
}

#[test]
fn wss_echo() {
    let pki = Pki::new("wss");
    let server = serve(&pki, &["--no-stomp-tcp"]);
    let url = format!("wss://localhost:{}/echo", port(&server.http));
    let mut ws = WsClient::connect_with(&url, &ws_options(trusting(&pki))).unwrap();
    // Larger than a TLS record, so that it spans several.
    let big = "x".repeat(100_000);
    for text in ["hello over TLS", big.as_str()] {
        ws.send_text(text).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text(text.to_string()));
    }
    ws.close(1000, "").unwrap();
    assert!(matches!(ws.read().unwrap(), Message::Close { .. }));
}

#[test]
fn a_server_whose_certificate_is_not_trusted_is_refused() {
    let pki = Pki::new("untrusted");
    let other = Pki::new("other-ca");
    let server = serve(&pki, &["--no-stomp-tcp"]);
    let url = format!("wss://localhost:{}/echo", port(&server.http));
    for connector in [Connector::default(), trusting(&other)] {
        let err = WsClient::connect_with(&url, &ws_options(connector))
            .err()
            .expect("connected to an untrusted server");
        assert!(
            err.to_string().contains("certificate"),
            "not a certificate error: {err}"
        );
    }
}

fn round_trip(url: &str, connector: Connector) {
    let options = StompOptions {
        connector,
        ..StompOptions::default()
    };
    let mut sub = StompClient::connect(url, &options).unwrap();
    sub.subscribe("/topic/tls", "0", AckMode::Auto, &[], true)
        .unwrap();
    let mut publisher = StompClient::connect(url, &options).unwrap();
    publisher
        .send("/topic/tls", &[], b"secret", None, true)
        .unwrap();
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < give_up, "no MESSAGE over {url}");
        if let Some(StompEvent::Message(m)) = sub.next_event(Duration::from_millis(200)).unwrap() {
            assert_eq!(m.body, b"secret");
            break;
        }
    }
    publisher.disconnect().unwrap();
    sub.disconnect().unwrap();
}

#[test]
fn stomp_over_wss_and_over_the_tls_port() {
    let pki = Pki::new("stomp");
    let server = serve(&pki, &["--stomp-tls", "127.0.0.1:0"]);
    round_trip(
        &format!("wss://localhost:{}/ws", port(&server.http)),
        trusting(&pki),
    );
    let tls = server.stomp_tls.clone().unwrap();
    round_trip(
        &format!("stomp+ssl://localhost:{}", port(&tls)),
        trusting(&pki),
    );
    // The plain STOMP port stays plain.
    let plain = server.stomp.clone().unwrap();
    round_trip(&format!("stomp://{plain}"), Connector::default());
}

#[test]
fn sockjs_over_https() {
    let pki = Pki::new("sockjs");
    let server = serve(&pki, &["--no-stomp-tcp"]);
    let url = format!("https://localhost:{}/sockjs", port(&server.http));
    for transport in [SockJsTransport::XhrPolling, SockJsTransport::XhrStreaming] {
        let mut c = SockJsClient::connect_via(&url, &[transport], &trusting(&pki)).unwrap();
        assert_eq!(c.transport(), transport);
        c.send_text("over https").unwrap();
        assert_eq!(c.read().unwrap(), Message::Text("over https".into()));
        c.close().unwrap();
    }
}

/// A CONNECT proxy on loopback: tunnels to 127.0.0.1 only, answers 403 for anything
/// else, and counts the tunnels it opened.
fn proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let tunnels = Arc::new(AtomicUsize::new(0));
    let count = tunnels.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let count = count.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.split(' ').next())
                    .unwrap_or_default()
                    .to_string();
                let port = target.strip_prefix("localhost:");
                let Some(server) = port
                    .and_then(|p| TcpStream::connect(("127.0.0.1", p.parse::<u16>().ok()?)).ok())
                else {
                    let _ =
                        client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let (mut up, mut down) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut client, mut server) = (client, server);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut up, &mut server);
                    let _ = server.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut down, &mut client);
                let _ = client.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (addr, tunnels)
}

#[test]
fn clients_go_through_an_http_proxy() {
    let pki = Pki::new("proxy");
    let server = serve(&pki, &["--stomp-tls", "127.0.0.1:0"]);
    let (proxy, tunnels) = proxy();
    let connector = trusting(&pki)
        .with_proxy(&format!("http://{proxy}"))
        .unwrap();
    let url = format!("wss://localhost:{}/echo", port(&server.http));
    let mut ws = WsClient::connect_with(&url, &ws_options(connector.clone())).unwrap();
    ws.send_text("through the proxy").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        Message::Text("through the proxy".into())
    );
    assert_eq!(tunnels.load(Ordering::SeqCst), 1);
    let tls = server.stomp_tls.clone().unwrap();
    round_trip(
        &format!("stomp+ssl://localhost:{}", port(&tls)),
        connector.clone(),
    );
    assert_eq!(tunnels.load(Ordering::SeqCst), 3);
    // A proxy's refusal is an error that says so.
    let err = WsClient::connect_with(
        &format!("wss://127.0.0.1:{}/echo", port(&server.http)),
        &ws_options(connector),
    )
    .err()
    .expect("the proxy refuses other hosts");
    assert!(err.to_string().contains("403"), "{err}");
}

#[test]
fn the_command_connects_over_wss_with_ca() {
    let pki = Pki::new("cli");
    let server = serve(&pki, &["--no-stomp-tcp"]);
    let url = format!("wss://localhost:{}/echo", port(&server.http));
    let ca = pki.path("ca.pem");
    let run = |extra: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sockwire"))
            .args(["connect", &url])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"hi\n").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(&["--ca", ca.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    let out = run(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("certificate"));
}

fn port(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}
