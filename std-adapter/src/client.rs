//! A blocking WebSocket client over TCP or TLS (`ws://`, `wss://`), or over any
//! [`ClientStream`] a caller brings.

use std::io::{self, Read, Write};
use std::time::Duration;

use sockwire_core::http::{Header, Response, WriteError};
use sockwire_core::machine::{Machine, Status};
use sockwire_core::ws::handshake::{ClientHandshake, ClientRequest};
use sockwire_core::ws::{CloseCode, Config, Connection, DataKind, Role};

use sockwire_core::stack::{MessageEvent, WebSocketMessages};
use sockwire_core::store::ByteStore;

use crate::clock::Clock;
use crate::connector::{BoxStream, ClientStream, Connector};
use crate::message::Message;
use crate::store::VecBytes;
use crate::url::WsUrl;

/// Options of a client connection.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Subprotocols offered, in order of preference.
    pub subprotocols: Vec<String>,
    /// The `Origin` header to send, if any.
    pub origin: Option<String>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Connection limits and timers; the defaults when `None`.
    pub config: Option<Config>,
    /// How to reach the server: TLS roots, a proxy.
    pub connector: Connector,
}

/// How many response headers the client accepts.
const MAX_RESPONSE_HEADERS: usize = 64;
/// Size of the read buffer; larger messages arrive in several reads.
const READ_BUFFER: usize = 64 * 1024;

/// A connected WebSocket client. Reads and writes block.
pub struct WsClient {
    stream: BoxStream,
    ws: WebSocketMessages<VecBytes>,
    clock: Clock,
    /// Bytes read and not yet consumed.
    rbuf: Vec<u8>,
    subprotocol: Option<String>,
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(b)
}

impl WsClient {
    /// Connects to `url` (`ws://host:port/path`, or `wss://` for TLS) with default
    /// options.
    pub fn connect(url: &str) -> io::Result<WsClient> {
        WsClient::connect_with(url, &ClientOptions::default())
    }

    /// Connects to `url` and performs the opening handshake.
    pub fn connect_with(url: &str, options: &ClientOptions) -> io::Result<WsClient> {
        Handshaken::connect(url, options).map(WsClient::opened)
    }

    /// Performs the opening handshake over an already connected stream (any
    /// [`ClientStream`]: a `TcpStream`, a TLS stream, one of the caller's own).
    pub fn handshake(
        stream: impl ClientStream + 'static,
        url: &WsUrl,
        options: &ClientOptions,
    ) -> io::Result<WsClient> {
        Handshaken::over(Box::new(stream), url, options).map(WsClient::opened)
    }

    /// The client of a finished handshake.
    fn opened(open: Handshaken) -> WsClient {
        let limit =
            usize::try_from(open.connection.config().max_message_size).unwrap_or(usize::MAX);
        WsClient {
            stream: open.stream,
            ws: WebSocketMessages::new(
                open.connection,
                VecBytes::new(limit),
                VecBytes::new(usize::MAX),
            ),
            clock: Clock::new(),
            rbuf: open.rest,
            subprotocol: open.subprotocol,
        }
    }

    /// The subprotocol the server chose, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.send(DataKind::Text, text.as_bytes())
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> io::Result<()> {
        self.send(DataKind::Binary, data)
    }

    /// Sends a message of the given kind as one frame.
    pub fn send(&mut self, kind: DataKind, data: &[u8]) -> io::Result<()> {
        let now = self.clock.now();
        self.ws.send(now, kind, data).map_err(invalid)?;
        self.flush()
    }

    /// Sends a ping.
    pub fn ping(&mut self, payload: &[u8]) -> io::Result<()> {
        self.ws.ping(self.clock.now(), payload).map_err(invalid)?;
        self.flush()
    }

    /// Starts the closing handshake; keep calling [`WsClient::read`] until it reports the close.
    pub fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        let now = self.clock.now();
        self.ws
            .close(now, CloseCode(code), reason)
            .map_err(invalid)?;
        self.flush()
    }

    /// Whether the connection has finished closing.
    pub fn is_closed(&self) -> bool {
        self.ws.connection().is_closed()
    }

    /// After the close: waits up to `wait` for the server to close the TCP connection, as
    /// RFC 6455 §7.1.1 asks of clients, discarding anything that still arrives.
    pub fn wait_for_eof(&mut self, wait: Duration) -> io::Result<()> {
        let give_up = std::time::Instant::now() + wait;
        let mut sink = [0u8; 4096];
        loop {
            let left = give_up.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut sink) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if timed_out(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let now = self.clock.now();
        while let Some(n) = {
            let pending = self.ws.outbound();
            (!pending.is_empty()).then_some(pending.len())
        } {
            self.stream.write_all(&self.ws.outbound()[..n])?;
            self.ws.advance(now, n);
        }
        self.stream.flush()
    }

    /// Reads until a message, a ping, a pong or the close arrives.
    ///
    /// Pongs owed for pings are sent before this returns. After the peer's close (or a
    /// protocol violation, reported as an `InvalidData` error after the close frame was
    /// sent) the connection is finished and further reads fail.
    pub fn read(&mut self) -> io::Result<Message> {
        loop {
            if let Some(message) = self.read_for(None)? {
                return Ok(message);
            }
        }
    }

    /// Like [`WsClient::read`], but gives up with `None` once `wait` has passed with
    /// nothing to report (`None` waits as long as it takes).
    pub fn read_for(&mut self, wait: Option<Duration>) -> io::Result<Option<Message>> {
        let give_up = wait.map(|w| std::time::Instant::now() + w);
        loop {
            let now = self.clock.now();
            let read = self.ws.read(&mut self.rbuf, now);
            let consumed = read.consumed;
            let message = match read.status {
                Status::Event(MessageEvent::Message { kind, data }) => Some(owned(kind, data)),
                Status::Event(MessageEvent::Ping(p)) => Some(Message::Ping(p.as_bytes().to_vec())),
                Status::Event(MessageEvent::Pong(p)) => Some(Message::Pong(p.as_bytes().to_vec())),
                Status::Event(MessageEvent::Closed { code, reason }) => Some(Message::Close {
                    code,
                    reason: String::from_utf8_lossy(reason.as_bytes()).into_owned(),
                }),
                Status::Closed => {
                    self.rbuf.clear();
                    self.flush()?;
                    return Err(io::Error::new(
                        io::ErrorKind::NotConnected,
                        "connection closed",
                    ));
                }
                Status::NeedMore | Status::Paused(_) => None,
            };
            self.rbuf.drain(..consumed);
            self.flush()?;
            if message.is_some() {
                return Ok(message);
            }
            let left = give_up.map(|g| g.saturating_duration_since(std::time::Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(None);
            }
            self.fill(left)?;
        }
    }

    /// Reads more bytes from the socket, waking the connection's timers while waiting.
    fn fill(&mut self, wait: Option<Duration>) -> io::Result<()> {
        let timer = self.ws.poll_timeout().map(|t| self.clock.until(t));
        let timeout = match (timer, wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // A zero timeout would mean "block forever" to std.
        self.stream
            .set_read_timeout(timeout.map(|t| t.max(Duration::from_millis(1))))?;
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "peer closed the TCP connection",
            )),
            Ok(n) => {
                self.rbuf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if timed_out(&e) => {
                if self.ws.handle_timeout(self.clock.now()).is_some() {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "close timed out"));
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// A WebSocket whose opening handshake is done: the stream, the client-role connection,
/// and what the server sent after its response head.
pub struct Handshaken {
    /// The connected stream.
    pub stream: BoxStream,
    /// The connection, in the client role.
    pub connection: Connection,
    /// Bytes read past the response head (the first frames).
    pub rest: Vec<u8>,
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<String>,
}

impl Handshaken {
    /// Connects to `url` (`ws://` or `wss://host:port/path`) through
    /// [`ClientOptions::connector`] and performs the opening handshake.
    pub fn connect(url: &str, options: &ClientOptions) -> io::Result<Handshaken> {
        let url = WsUrl::parse(url).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let stream = options.connector.connect(&url.host, url.port, url.tls)?;
        Handshaken::over(stream, &url, options)
    }

    /// Performs the opening handshake over an already connected stream.
    pub fn over(mut stream: BoxStream, url: &WsUrl, options: &ClientOptions) -> io::Result<Self> {
        let mut handshake = ClientHandshake::new(random_bytes::<16>()?);
        let host = url.host_header();
        let protocols: Vec<&str> = options.subprotocols.iter().map(String::as_str).collect();
        let extra: Vec<(&str, &str)> = options
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let request = ClientRequest {
            host: &host,
            path: &url.path,
            origin: options.origin.as_deref(),
            subprotocols: &protocols,
            extra_headers: &extra,
        };
        let mut out = VecBytes::new(64 * 1024);
        out.write_with(
            1024,
            |b| handshake.write_request(&request, b),
            WriteError::needed,
        )
        .map_err(invalid)?;
        stream.write_all(out.as_slice())?;
        stream.flush()?;
        let mut rbuf = vec![0u8; READ_BUFFER];
        let mut rend = 0;
        let head_len = loop {
            if rend == rbuf.len() {
                return Err(invalid("handshake response head too large"));
            }
            let got = stream.read(&mut rbuf[rend..])?;
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed during handshake",
                ));
            }
            rend += got;
            if let Some(len) = handshake.feed(&rbuf[..rend]).map_err(invalid)? {
                break len;
            }
        };
        let mut headers = [Header::EMPTY; MAX_RESPONSE_HEADERS];
        let response = match Response::parse(&rbuf[..head_len], &mut headers).map_err(invalid)? {
            Some((response, _)) => response,
            None => return Err(invalid("incomplete handshake response")),
        };
        let negotiated = handshake.validate(&response, &protocols).map_err(invalid)?;
        let subprotocol = negotiated.subprotocol.map(str::to_string);
        let seed = u64::from_le_bytes(random_bytes::<8>()?);
        let config = options.config.unwrap_or_default();
        rbuf.truncate(rend);
        rbuf.drain(..head_len);
        Ok(Handshaken {
            stream,
            connection: Connection::new(Role::Client, config, seed),
            rest: rbuf,
            subprotocol,
        })
    }
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A finished message as the owned [`Message`] of its kind.
fn owned(kind: DataKind, bytes: &[u8]) -> Message {
    match kind {
        DataKind::Text => Message::Text(String::from_utf8_lossy(bytes).into_owned()),
        DataKind::Binary => Message::Binary(bytes.to_vec()),
    }
}
