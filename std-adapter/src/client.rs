//! A blocking WebSocket client over `std::net::TcpStream`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sockwire_core::http::{Header, Response, WriteError};
use sockwire_core::machine::{Machine, Status};
use sockwire_core::ws::handshake::{ClientHandshake, ClientRequest};
use sockwire_core::ws::{CloseCode, Config, Connection, DataKind, Event, Role};

use crate::clock::Clock;
use crate::message::{owned_message, Message, MessageBuffer};
use crate::outbound::{drain_transmit, push_frame};
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
}

/// How many response headers the client accepts.
const MAX_RESPONSE_HEADERS: usize = 64;
/// Size of the read buffer; larger messages arrive in several reads.
const READ_BUFFER: usize = 64 * 1024;

/// A connected WebSocket client. Reads and writes block.
pub struct WsClient {
    stream: TcpStream,
    conn: Connection,
    clock: Clock,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    wbuf: Vec<u8>,
    message: MessageBuffer,
    subprotocol: Option<String>,
}

fn invalid(e: impl std::fmt::Debug) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{e:?}"))
}

fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(b)
}

impl WsClient {
    /// Connects to `url` (`ws://host:port/path`) with default options.
    pub fn connect(url: &str) -> io::Result<WsClient> {
        WsClient::connect_with(url, &ClientOptions::default())
    }

    /// Connects to `url` and performs the opening handshake.
    pub fn connect_with(url: &str, options: &ClientOptions) -> io::Result<WsClient> {
        let url = WsUrl::parse(url).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let stream = TcpStream::connect((url.host.as_str(), url.port))?;
        stream.set_nodelay(true)?;
        WsClient::handshake(stream, &url, options)
    }

    /// Performs the opening handshake over an already connected stream.
    pub fn handshake(
        mut stream: TcpStream,
        url: &WsUrl,
        options: &ClientOptions,
    ) -> io::Result<WsClient> {
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
        let mut out = vec![0u8; 1024];
        let n = loop {
            match handshake.write_request(&request, &mut out) {
                Ok(n) => break n,
                Err(WriteError::BufferTooSmall(e)) if e.needed > out.len() => {
                    out.resize(e.needed, 0)
                }
                Err(e) => return Err(invalid(e)),
            }
        };
        stream.write_all(&out[..n])?;

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
        Ok(WsClient {
            stream,
            conn: Connection::new(Role::Client, config, seed),
            clock: Clock::new(),
            rbuf,
            rstart: head_len,
            rend,
            wbuf: Vec::new(),
            message: MessageBuffer::default(),
            subprotocol,
        })
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
        push_frame(&mut self.conn, now, kind, data, &mut self.wbuf).map_err(invalid)?;
        self.flush()
    }

    /// Sends a ping.
    pub fn ping(&mut self, payload: &[u8]) -> io::Result<()> {
        self.conn.ping(self.clock.now(), payload).map_err(invalid)?;
        self.flush()
    }

    /// Starts the closing handshake; keep calling [`WsClient::read`] until it reports the close.
    pub fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        let code = CloseCode(code);
        self.conn
            .close(self.clock.now(), code, reason)
            .map_err(invalid)?;
        self.flush()
    }

    /// Whether the connection has finished closing.
    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
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
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(())
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        drain_transmit(&mut self.conn, self.clock.now(), &mut self.wbuf);
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf)?;
            self.wbuf.clear();
        }
        Ok(())
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
            if let Some(message) = self.next_event()? {
                self.flush()?;
                return Ok(Some(message));
            }
            self.flush()?;
            if self.conn.is_closed() {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "connection closed",
                ));
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
        if self.rstart > 0 {
            self.rbuf.copy_within(self.rstart..self.rend, 0);
            self.rend -= self.rstart;
            self.rstart = 0;
        }
        if self.rend == self.rbuf.len() {
            self.rbuf.resize(self.rbuf.len() * 2, 0);
        }
        let timer = self.conn.poll_timeout().map(|t| self.clock.until(t));
        let timeout = match (timer, wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // A zero timeout would mean "block forever" to std.
        self.stream
            .set_read_timeout(timeout.map(|t| t.max(Duration::from_millis(1))))?;
        match self.stream.read(&mut self.rbuf[self.rend..]) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "peer closed the TCP connection",
            )),
            Ok(n) => {
                self.rend += n;
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if self.conn.handle_timeout(self.clock.now()).is_some() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no close from the server in time",
                    ));
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Feeds buffered bytes to the connection until one reportable event appears.
    fn next_event(&mut self) -> io::Result<Option<Message>> {
        let now = self.clock.now();
        loop {
            let read = self.conn.read(&mut self.rbuf[self.rstart..self.rend], now);
            self.rstart += read.consumed;
            let event = match read.status {
                Status::Event(event) => event,
                Status::NeedMore | Status::Paused(_) | Status::Closed => return Ok(None),
            };
            match event {
                Event::Data {
                    kind,
                    payload,
                    first,
                    fin,
                    ..
                } => {
                    if let Some((kind, whole)) = self.message.push(kind, payload, first, fin) {
                        let message = owned_message(kind, whole);
                        self.message.recycle();
                        return Ok(Some(message));
                    }
                }
                Event::Ping(p) => return Ok(Some(Message::Ping(p.as_bytes().to_vec()))),
                Event::Pong(p) => return Ok(Some(Message::Pong(p.as_bytes().to_vec()))),
                Event::Closed { code, reason } => {
                    return Ok(Some(Message::Close {
                        code: code.map(|c| c.as_u16()),
                        reason: String::from_utf8_lossy(reason.as_bytes()).into_owned(),
                    }))
                }
                Event::Failed(e) => {
                    self.flush()?;
                    return Err(invalid(e));
                }
                Event::TimedOut => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "close timed out"))
                }
            }
        }
    }
}
