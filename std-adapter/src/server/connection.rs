//! One accepted TCP connection: from request head to WebSocket session to close.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::net::TcpStream;
use sockwire_core::buf::BufferTooSmall;
use sockwire_core::http::{write_error_response, Header, Request, WriteError};
use sockwire_core::time::Instant;
use sockwire_core::ws::handshake::{
    accept, AllowedOrigins, ServerConfig as HandshakeConfig, ServerHandshake,
};
use sockwire_core::ws::{Connection, Event, Role};

use super::config::{Endpoint, ServerConfig};
use super::handler::{Outbox, SessionInfo, WsHandler};
use crate::message::MessageBuffer;
use crate::outbound::drain_transmit;

/// Request headers accepted at most.
const MAX_REQUEST_HEADERS: usize = 64;
/// How long a closed connection waits for the peer's FIN before it is dropped.
const LINGER_MILLIS: u64 = 2000;

/// Where a connection stands.
enum Phase {
    /// Reading the HTTP request head.
    Head {
        scanner: ServerHandshake,
        deadline: Instant,
    },
    /// An open WebSocket session.
    WebSocket(Box<Session>),
    /// The answer is written; the write side is shut once it is flushed, then reads are
    /// discarded until the peer closes or the linger time passes.
    Finishing { deadline: Option<Instant> },
}

/// A WebSocket session: the core's machine plus the application's handler.
struct Session {
    conn: Connection,
    handler: Box<dyn WsHandler>,
    message: MessageBuffer,
}

/// What the worker should do with a connection after it ran.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Keep it.
    Keep,
    /// Drop it.
    Drop,
}

/// An accepted connection and its buffers.
pub struct ServerConnection {
    pub(crate) stream: TcpStream,
    peer: SocketAddr,
    phase: Phase,
    /// Bytes read but not yet consumed (a partial head or frame header).
    pending: Vec<u8>,
    /// Output not yet written, from `wpos`.
    wbuf: Vec<u8>,
    wpos: usize,
    /// Reading stopped because too much output is queued.
    paused: bool,
    shut_write: bool,
}

impl ServerConnection {
    /// A connection that has just been accepted.
    pub fn new(stream: TcpStream, peer: SocketAddr, config: &ServerConfig, now: Instant) -> Self {
        let timeout = u64::try_from(config.handshake_timeout.as_millis()).unwrap_or(u64::MAX);
        ServerConnection {
            stream,
            peer,
            phase: Phase::Head {
                scanner: ServerHandshake::new(Default::default()),
                deadline: now.add_millis(timeout),
            },
            pending: Vec::new(),
            wbuf: Vec::new(),
            wpos: 0,
            paused: false,
            shut_write: false,
        }
    }

    /// When this connection next needs [`ServerConnection::on_timeout`].
    pub fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Head { deadline, .. } => Some(*deadline),
            Phase::WebSocket(s) => s.conn.poll_timeout(),
            Phase::Finishing { deadline } => *deadline,
        }
    }

    /// The socket is readable: read and process until it would block.
    pub fn on_readable(
        &mut self,
        scratch: &mut Vec<u8>,
        config: &ServerConfig,
        now: Instant,
    ) -> Next {
        loop {
            if self.queued() > config.max_write_buffer {
                self.paused = true;
                return Next::Keep;
            }
            let carried = self.pending.len();
            if scratch.len() < carried + 4096 {
                scratch.resize(carried + 64 * 1024, 0);
            }
            scratch[..carried].copy_from_slice(&self.pending);
            let got = match self.stream.read(&mut scratch[carried..]) {
                Ok(0) => return self.on_eof(),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Keep,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.lost(),
            };
            self.pending.clear();
            let input = &mut scratch[..carried + got];
            let used = self.process(input, config, now);
            if let Some(rest) = input.get(used..) {
                self.pending.extend_from_slice(rest);
            }
            if self.flush() == Next::Drop {
                return self.lost();
            }
            if self.finished() {
                return Next::Drop;
            }
        }
    }

    /// The socket is writable: write what is queued, and resume reading if it had paused.
    pub fn on_writable(
        &mut self,
        scratch: &mut Vec<u8>,
        config: &ServerConfig,
        now: Instant,
    ) -> Next {
        if self.flush() == Next::Drop {
            return self.lost();
        }
        if self.finished() {
            return Next::Drop;
        }
        if self.paused && self.queued() <= config.max_write_buffer / 2 {
            self.paused = false;
            return self.on_readable(scratch, config, now);
        }
        Next::Keep
    }

    /// A deadline passed.
    pub fn on_timeout(&mut self, now: Instant) -> Next {
        match &mut self.phase {
            Phase::Head { deadline, .. } if *deadline <= now => {
                self.answer_error(408);
            }
            Phase::WebSocket(s) => {
                s.conn.handle_timeout(now);
                drain_transmit(&mut s.conn, &mut self.wbuf);
                if s.conn.is_closed() {
                    s.handler.on_close(None);
                    self.finish(now);
                }
            }
            Phase::Finishing { deadline: Some(d) } if *d <= now => return Next::Drop,
            _ => {}
        }
        if self.flush() == Next::Drop || self.finished() {
            return Next::Drop;
        }
        Next::Keep
    }

    fn queued(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    /// Runs the input through the current phase; returns the bytes consumed.
    fn process(&mut self, input: &mut [u8], config: &ServerConfig, now: Instant) -> usize {
        let mut used = 0;
        if let Phase::Head { scanner, .. } = &mut self.phase {
            match scanner.feed(input) {
                // Keep the partial head: the scanner resumes where it stopped.
                Ok(None) => return 0,
                Ok(Some(head_len)) => {
                    used = head_len;
                    self.open(&input[..head_len], config, now);
                }
                Err(e) => {
                    self.answer_error(e.status());
                    return input.len();
                }
            }
        }
        match &mut self.phase {
            Phase::WebSocket(session) => {
                let rest = input.get_mut(used..).unwrap_or_default();
                used += session.read(rest, &mut self.wbuf, now);
                if session.conn.is_closed() {
                    self.finish(now);
                }
                used
            }
            _ => input.len(),
        }
    }

    /// The request head is complete: route it, and upgrade or answer.
    fn open(&mut self, head: &[u8], config: &ServerConfig, now: Instant) {
        let mut headers = [Header::EMPTY; MAX_REQUEST_HEADERS];
        let request = match Request::parse(head, &mut headers) {
            Ok(Some((r, _))) => r,
            Ok(None) => return self.answer_error(400),
            Err(e) => return self.answer_error(e.status()),
        };
        let Some(Endpoint::WebSocket {
            subprotocols,
            handler,
        }) = config.route(request.target)
        else {
            return self.answer_error(404);
        };
        let protocols: Vec<&str> = subprotocols.iter().map(String::as_str).collect();
        let origins: Vec<&str> = config.allowed_origins.iter().map(String::as_str).collect();
        let handshake = HandshakeConfig {
            subprotocols: &protocols,
            origins: if origins.contains(&"*") {
                AllowedOrigins::Any
            } else if origins.is_empty() {
                AllowedOrigins::SameOrigin
            } else {
                AllowedOrigins::List(&origins)
            },
            limits: Default::default(),
        };
        let accepted = match accept(&request, &handshake) {
            Ok(a) => a,
            Err(rejection) => {
                log::debug!("{}: handshake refused: {:?}", self.peer, rejection);
                write_into(&mut self.wbuf, |out| rejection.write_response(out));
                return self.finish(now);
            }
        };
        write_into(&mut self.wbuf, |out| accepted.write_response(&[], out));
        let info = SessionInfo {
            target: request.target.to_string(),
            subprotocol: accepted.subprotocol().map(str::to_string),
            peer: self.peer,
        };
        let mut session = Box::new(Session {
            conn: Connection::new(Role::Server, config.ws, 0),
            handler: handler(&info),
            message: MessageBuffer::default(),
        });
        let mut out = Outbox {
            conn: &mut session.conn,
            wbuf: &mut self.wbuf,
        };
        session.handler.on_open(&mut out);
        self.phase = Phase::WebSocket(session);
    }

    /// Queues an HTTP error answer and finishes the connection.
    fn answer_error(&mut self, status: u16) {
        write_into(&mut self.wbuf, |out| write_error_response(status, &[], out));
        self.phase = Phase::Finishing { deadline: None };
    }

    /// Nothing more will be sent: shut the write side once the output is flushed.
    fn finish(&mut self, now: Instant) {
        self.phase = Phase::Finishing {
            deadline: Some(now.add_millis(LINGER_MILLIS)),
        };
    }

    /// The peer closed its side.
    fn on_eof(&mut self) -> Next {
        if let Phase::WebSocket(s) = &mut self.phase {
            s.handler.on_close(None);
        }
        Next::Drop
    }

    /// The connection broke.
    fn lost(&mut self) -> Next {
        self.on_eof()
    }

    /// Whether everything is written and the connection can go.
    fn finished(&mut self) -> bool {
        if !matches!(self.phase, Phase::Finishing { .. }) || self.queued() > 0 {
            return false;
        }
        if !self.shut_write {
            self.shut_write = true;
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        // Drop now when nothing more can arrive; otherwise linger until EOF or deadline.
        matches!(self.phase, Phase::Finishing { deadline: None })
    }

    /// Writes queued output until the socket would block.
    fn flush(&mut self) -> Next {
        while self.wpos < self.wbuf.len() {
            match self.stream.write(&self.wbuf[self.wpos..]) {
                Ok(0) => return Next::Drop,
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Drop,
            }
        }
        if self.wpos == self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
            if self.wbuf.capacity() > 256 * 1024 {
                self.wbuf = Vec::new();
            }
        } else if self.wpos > 64 * 1024 && self.wpos * 2 > self.wbuf.len() {
            self.wbuf.drain(..self.wpos);
            self.wpos = 0;
        }
        Next::Keep
    }
}

impl Session {
    /// Feeds input to the machine, hands whole messages to the handler, queues output.
    fn read(&mut self, input: &mut [u8], wbuf: &mut Vec<u8>, now: Instant) -> usize {
        let mut pos = 0;
        while pos < input.len() {
            let Some(rest) = input.get_mut(pos..) else {
                break;
            };
            let (used, event) = self.conn.read(rest, now);
            pos += used;
            match event {
                None if used == 0 => break,
                None => {}
                Some(Event::Data {
                    kind,
                    payload,
                    first,
                    fin,
                    ..
                }) => {
                    if let Some((kind, whole)) = self.message.push(kind, payload, first, fin) {
                        let mut out = Outbox {
                            conn: &mut self.conn,
                            wbuf,
                        };
                        self.handler.on_message(kind, whole, &mut out);
                        self.message.recycle();
                    }
                }
                Some(Event::Ping(_)) | Some(Event::Pong(_)) => {}
                Some(Event::Closed { code, .. }) => self.handler.on_close(code.map(|c| c.as_u16())),
                Some(Event::Failed(e)) => {
                    log::debug!("peer broke the protocol: {e:?}");
                    self.handler.on_close(None);
                }
            }
            drain_transmit(&mut self.conn, wbuf);
            if self.conn.is_closed() {
                break;
            }
        }
        drain_transmit(&mut self.conn, wbuf);
        pos
    }
}

/// Appends what `encode` writes to `wbuf`, growing it to the size the encoder asks for.
fn write_into<E>(wbuf: &mut Vec<u8>, mut encode: impl FnMut(&mut [u8]) -> Result<usize, E>)
where
    E: NeededSize,
{
    let start = wbuf.len();
    let mut room = 512;
    loop {
        wbuf.resize(start + room, 0);
        match encode(&mut wbuf[start..]) {
            Ok(n) => {
                wbuf.truncate(start + n);
                return;
            }
            Err(e) => match e.needed() {
                Some(needed) if needed > room => room = needed,
                _ => {
                    wbuf.truncate(start);
                    return;
                }
            },
        }
    }
}

/// Errors that say how large a buffer would have been enough.
trait NeededSize {
    fn needed(&self) -> Option<usize>;
}

impl NeededSize for BufferTooSmall {
    fn needed(&self) -> Option<usize> {
        Some(self.needed)
    }
}

impl NeededSize for WriteError {
    fn needed(&self) -> Option<usize> {
        match self {
            WriteError::BufferTooSmall(e) => Some(e.needed),
            _ => None,
        }
    }
}
