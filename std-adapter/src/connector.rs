//! How the clients reach a server: a TCP connection, directly or through an HTTP proxy
//! (`CONNECT host:port`), with TLS on it (rustls) for `wss://`, `https://` and
//! `stomp+ssl://`. The clients run over any [`ClientStream`], so a caller may also bring
//! a stream of their own.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sockwire_core::http::{HeadScanner, Header, Response};

/// A byte stream a client runs over: reads and writes block, reads up to a timeout.
pub trait ClientStream: Read + Write + Send {
    /// Sets how long a read may block (`None`: as long as it takes). A read that runs
    /// out of time fails with `WouldBlock` or `TimedOut`, and may be tried again.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl ClientStream for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

impl<S: ClientStream> ClientStream for StreamOwned<ClientConnection, S> {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }
}

/// The stream type the clients hold.
pub type BoxStream = Box<dyn ClientStream>;

/// Where the TLS client's trust comes from, and the proxy to go through. The default
/// trusts the system's roots (`rustls-native-certs`) and connects directly.
#[derive(Clone, Default)]
pub struct Connector {
    /// CA certificates trusted besides the system's roots.
    extra_roots: Vec<CertificateDer<'static>>,
    /// `host:port` of an HTTP proxy tunnelling with `CONNECT`.
    proxy: Option<String>,
    /// The TLS configuration, made at the first TLS connection.
    tls: Arc<OnceLock<Arc<ClientConfig>>>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("extra_roots", &self.extra_roots.len())
            .field("proxy", &self.proxy)
            .finish()
    }
}

fn invalid(what: impl fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl Connector {
    /// Also trusts the CA certificates in the PEM file at `path` (a private CA).
    pub fn with_ca_file(mut self, path: &Path) -> io::Result<Connector> {
        self.extra_roots.extend(crate::pem::certificates(path)?);
        self.tls = Arc::default();
        Ok(self)
    }

    /// Also trusts `ca`.
    pub fn with_ca(mut self, ca: CertificateDer<'static>) -> Connector {
        self.extra_roots.push(ca);
        self.tls = Arc::default();
        self
    }

    /// Goes through the HTTP proxy at `url` (`http://host:port`), which tunnels each
    /// connection with `CONNECT`.
    pub fn with_proxy(mut self, url: &str) -> io::Result<Connector> {
        let proxy = crate::url::WsUrl::parse(url)
            .ok()
            .filter(|u| url.starts_with("http://") && matches!(u.path.as_str(), "/" | ""))
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "expected http://HOST:PORT")
            })?;
        self.proxy = Some(authority(&proxy.host, proxy.port));
        Ok(self)
    }

    /// A connection to `host:port`, through the proxy if there is one, with TLS for
    /// `host` when `tls` (the handshake done, so an untrusted certificate fails here).
    pub fn connect(&self, host: &str, port: u16, tls: bool) -> io::Result<BoxStream> {
        let tcp = match &self.proxy {
            None => TcpStream::connect((host, port))?,
            Some(proxy) => tunnel(proxy, host, port)?,
        };
        tcp.set_nodelay(true)?;
        if !tls {
            return Ok(Box::new(tcp));
        }
        let name = match host.parse::<IpAddr>() {
            Ok(ip) => ServerName::from(ip),
            Err(_) => ServerName::try_from(host.to_string())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad host name"))?,
        };
        let conn = ClientConnection::new(self.tls_config()?, name).map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Box::new(stream))
    }

    fn tls_config(&self) -> io::Result<Arc<ClientConfig>> {
        if let Some(config) = self.tls.get() {
            return Ok(config.clone());
        }
        let mut roots = RootCertStore::empty();
        let system = rustls_native_certs::load_native_certs();
        for e in &system.errors {
            log::debug!("system roots: {e}");
        }
        let (added, _) = roots.add_parsable_certificates(system.certs);
        for ca in &self.extra_roots {
            roots.add(ca.clone()).map_err(invalid)?;
        }
        if roots.is_empty() {
            return Err(invalid("no trusted CA: none in the system, and no --ca"));
        }
        log::debug!(
            "TLS trusts {added} system roots and {} more",
            self.extra_roots.len()
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(self.tls.get_or_init(|| Arc::new(config)).clone())
    }
}

/// `host:port`, with brackets around an IPv6 address.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A TCP connection to `host:port` through the HTTP proxy at `proxy`, once it answered
/// 200 to `CONNECT`.
fn tunnel(proxy: &str, host: &str, port: u16) -> io::Result<TcpStream> {
    let mut tcp = TcpStream::connect(proxy)?;
    // A proxy that never answers must not hang the client.
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let authority = authority(host, port);
    let request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    tcp.write_all(request.as_bytes())?;
    // Byte by byte: what follows the answer's head is the server's, not the proxy's.
    let mut scanner = HeadScanner::new(Default::default());
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if tcp.read(&mut byte)? == 0 {
            return Err(invalid("the proxy closed before answering CONNECT"));
        }
        head.push(byte[0]);
        if scanner.scan(&head).map_err(invalid)?.is_some() {
            break;
        }
    }
    let mut headers = [Header::EMPTY; 64];
    let status = Response::parse(&head, &mut headers)
        .map_err(invalid)?
        .map(|(r, _)| r.status);
    match status {
        Some(200) => {
            tcp.set_read_timeout(None)?;
            Ok(tcp)
        }
        Some(s) => Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("the proxy answered CONNECT {authority} with {s}"),
        )),
        None => Err(invalid("incomplete answer from the proxy")),
    }
}
