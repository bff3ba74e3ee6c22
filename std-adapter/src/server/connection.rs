//! One accepted TCP connection: from request head to WebSocket or STOMP session to close.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::net::TcpStream;
use sockwire_core::broker::SessionId;
use sockwire_core::buf::BufferTooSmall;
use sockwire_core::http::{write_error_response, write_response_head, Header, Request, WriteError};
use sockwire_core::stomp::MessageError;
use sockwire_core::time::Instant;
use sockwire_core::ws::handshake::{
    accept, AllowedOrigins, ServerConfig as HandshakeConfig, ServerHandshake,
};
use sockwire_core::ws::{CloseCode, Connection, Event, Role};

use super::config::{Endpoint, ServerConfig};
use super::handler::{Outbox, SessionInfo, WsHandler};
use super::stomp::{Action, Carrier, Outgoing, StompSession};
use crate::message::MessageBuffer;
use crate::outbound::drain_transmit;

/// Request headers accepted at most.
const MAX_REQUEST_HEADERS: usize = 64;
/// How long a closed connection waits for the peer's FIN before it is dropped.
const LINGER_MILLIS: u64 = 2000;
/// The STOMP-over-WebSocket subprotocols, in order of preference.
const STOMP_SUBPROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];

/// What a connection needs from its worker while it runs.
pub struct Ctx<'a> {
    /// A read buffer shared by the worker's connections.
    pub scratch: &'a mut Vec<u8>,
    /// The server's settings.
    pub config: &'a ServerConfig,
    /// The time now.
    pub now: Instant,
    /// Where STOMP sessions report what they ask of the hub; `None` on a worker without
    /// the hub, where a STOMP session waits to be handed over.
    pub actions: Option<&'a mut Vec<Action>>,
    /// Numbers STOMP sessions.
    pub next_session: &'a std::sync::atomic::AtomicU32,
    /// The server's shared state, for the statistics.
    pub shared: &'a super::worker::Shared,
}

/// Where a connection stands.
enum Phase {
    /// Reading the HTTP request head.
    Head {
        scanner: ServerHandshake,
        deadline: Instant,
    },
    /// An open WebSocket session.
    WebSocket(Box<Session>),
    /// A STOMP session, over TCP or WebSocket.
    Stomp(Box<StompSession>),
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

/// The kinds of connection counted in the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    /// A raw WebSocket session (the echo endpoint or an application's).
    WebSocket,
    /// STOMP over WebSocket.
    StompWebSocket,
    /// STOMP over TCP.
    StompTcp,
    /// Reading a head, or finishing.
    Other,
}

/// Connections by kind and their queued output, across workers.
#[derive(Debug, Default)]
pub struct Counters {
    /// Raw WebSocket sessions.
    pub websocket: std::sync::atomic::AtomicUsize,
    /// STOMP over WebSocket sessions.
    pub stomp_websocket: std::sync::atomic::AtomicUsize,
    /// STOMP over TCP sessions.
    pub stomp_tcp: std::sync::atomic::AtomicUsize,
    /// Output bytes queued and not yet written.
    pub queued_bytes: std::sync::atomic::AtomicUsize,
}

impl Counters {
    fn of(&self, kind: ConnectionKind) -> Option<&std::sync::atomic::AtomicUsize> {
        match kind {
            ConnectionKind::WebSocket => Some(&self.websocket),
            ConnectionKind::StompWebSocket => Some(&self.stomp_websocket),
            ConnectionKind::StompTcp => Some(&self.stomp_tcp),
            ConnectionKind::Other => None,
        }
    }
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
    /// The STOMP session's number, once it has one.
    session_id: Option<SessionId>,
    /// Bytes read but not yet consumed (a partial head or frame header).
    pending: Vec<u8>,
    /// Output not yet written, from `wpos`.
    wbuf: Vec<u8>,
    wpos: usize,
    /// Reading stopped because too much output is queued.
    paused: bool,
    shut_write: bool,
    /// Since when queued output has made no progress.
    stalled_since: Option<Instant>,
    /// Reading stopped so that the hub could apply what the last read asked for; the
    /// socket may hold more.
    more_to_read: bool,
    /// What the statistics count this connection as, and its queued bytes.
    counted: (ConnectionKind, usize),
}

impl ServerConnection {
    /// A connection that has just been accepted on the HTTP listener.
    pub fn new(stream: TcpStream, peer: SocketAddr, config: &ServerConfig, now: Instant) -> Self {
        let timeout = u64::try_from(config.handshake_timeout.as_millis()).unwrap_or(u64::MAX);
        let phase = Phase::Head {
            scanner: ServerHandshake::new(Default::default()),
            deadline: now.add_millis(timeout),
        };
        ServerConnection::with_phase(stream, peer, phase)
    }

    /// A connection that has just been accepted on the STOMP-over-TCP listener.
    pub fn stomp_tcp(stream: TcpStream, peer: SocketAddr, ctx: &Ctx<'_>) -> Self {
        let number = ctx
            .next_session
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = StompSession::new(ctx.config.stomp, u64::from(number), Carrier::Tcp);
        let mut conn = ServerConnection::with_phase(stream, peer, Phase::Stomp(Box::new(session)));
        conn.session_id = Some(SessionId(number));
        conn
    }

    fn with_phase(stream: TcpStream, peer: SocketAddr, phase: Phase) -> Self {
        ServerConnection {
            stream,
            peer,
            phase,
            session_id: None,
            pending: Vec::new(),
            wbuf: Vec::new(),
            wpos: 0,
            paused: false,
            shut_write: false,
            stalled_since: None,
            more_to_read: false,
            counted: (ConnectionKind::Other, 0),
        }
    }

    /// The STOMP session's number, for a STOMP connection.
    pub fn session_id(&self) -> Option<SessionId> {
        self.session_id
    }

    /// Whether this is a STOMP session, which only the hub worker can run.
    pub fn is_stomp(&self) -> bool {
        matches!(self.phase, Phase::Stomp(_))
    }

    /// When this connection next needs [`ServerConnection::on_timeout`].
    pub fn deadline(&self, config: &ServerConfig) -> Option<Instant> {
        let own = match &self.phase {
            Phase::Head { deadline, .. } => Some(*deadline),
            Phase::WebSocket(s) => s.conn.poll_timeout(),
            Phase::Stomp(s) => {
                let ws = match &s.carrier {
                    Carrier::WebSocket(conn) => conn.poll_timeout(),
                    Carrier::Tcp => None,
                };
                earliest(s.session.poll_timeout(), ws)
            }
            Phase::Finishing { deadline } => *deadline,
        };
        let limit = u64::try_from(config.send_time_limit.as_millis()).unwrap_or(u64::MAX);
        let stall = match self.phase {
            Phase::Stomp(_) => self.stalled_since.map(|t| t.add_millis(limit)),
            _ => None,
        };
        earliest(own, stall)
    }

    /// The socket is readable: read and process until it would block.
    pub fn on_readable(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.more_to_read = false;
        loop {
            if self.queued() > ctx.config.max_write_buffer
                || (self.is_stomp() && ctx.actions.is_none())
            {
                // Too much output queued, or a STOMP session waiting for the hub.
                self.paused = true;
                return Next::Keep;
            }
            let carried = self.pending.len();
            if ctx.scratch.len() < carried + 4096 {
                ctx.scratch.resize(carried + 64 * 1024, 0);
            }
            ctx.scratch[..carried].copy_from_slice(&self.pending);
            let got = match self.stream.read(&mut ctx.scratch[carried..]) {
                Ok(0) => return self.on_eof(ctx),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Keep,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.on_eof(ctx),
            };
            self.pending.clear();
            let mut input = std::mem::take(ctx.scratch);
            let used = self.process(&mut input[..carried + got], ctx);
            if let Some(rest) = input.get(used..carried + got) {
                self.pending.extend_from_slice(rest);
            }
            *ctx.scratch = input;
            if let Some(next) = self.after_io(ctx) {
                return next;
            }
            if ctx.actions.as_ref().is_some_and(|a| !a.is_empty()) {
                // Let the hub deliver (and flush) before reading more, so that one fast
                // publisher cannot queue unbounded output on its subscribers.
                self.more_to_read = true;
                return Next::Keep;
            }
        }
    }

    /// Whether reading stopped early with data possibly left in the socket.
    pub fn more_to_read(&self) -> bool {
        self.more_to_read
    }

    /// Resumes a connection handed over from another worker: runs what it had read.
    pub fn resume(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.paused = false;
        let mut input = std::mem::take(&mut self.pending);
        let used = self.process(&mut input, ctx);
        if let Some(rest) = input.get(used..) {
            self.pending.extend_from_slice(rest);
        }
        if let Some(next) = self.after_io(ctx) {
            return next;
        }
        self.on_readable(ctx)
    }

    /// Flushes, and tells whether the connection is done.
    fn after_io(&mut self, ctx: &mut Ctx<'_>) -> Option<Next> {
        if self.flush(ctx.now) == Next::Drop {
            return Some(self.on_eof(ctx));
        }
        if self.finished() {
            return Some(Next::Drop);
        }
        None
    }

    /// The socket is writable: write what is queued, and resume reading if it had paused.
    pub fn on_writable(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if let Some(next) = self.after_io(ctx) {
            return next;
        }
        if self.paused && self.queued() <= ctx.config.max_write_buffer / 2 {
            self.paused = false;
            return self.on_readable(ctx);
        }
        Next::Keep
    }

    /// Writes what deliveries queued (called by the worker for connections the hub wrote
    /// to). A STOMP session that still has more than `max_queued_bytes` queued after the
    /// write is closed as a slow consumer; the second value tells when that happened.
    pub fn on_output(&mut self, ctx: &mut Ctx<'_>) -> (Next, bool) {
        if let Some(next) = self.after_io(ctx) {
            return (next, false);
        }
        let slow = self.queued() > ctx.config.max_queued_bytes && self.close_slow_consumer(ctx);
        (self.after_io(ctx).unwrap_or(Next::Keep), slow)
    }

    /// A deadline passed.
    pub fn on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let now = ctx.now;
        let limit = u64::try_from(ctx.config.send_time_limit.as_millis()).unwrap_or(u64::MAX);
        let stalled = self
            .stalled_since
            .is_some_and(|t| t.add_millis(limit) <= now);
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
            Phase::Stomp(s) if stalled => {
                log::warn!(
                    "{}: STOMP session closed: no output progress for {limit} ms",
                    self.peer
                );
                if let Some(actions) = ctx.actions.as_deref_mut() {
                    s.gone(actions);
                }
                // Nothing more can be written usefully: drop what is queued.
                return Next::Drop;
            }
            Phase::Stomp(s) => {
                if let Carrier::WebSocket(conn) = &mut s.carrier {
                    conn.handle_timeout(now);
                    drain_transmit(conn, &mut self.wbuf);
                }
                if s.session.handle_timeout(now).is_some() {
                    log::debug!("{}: STOMP heart-beat lost", self.peer);
                }
                s.transmit(now, &mut self.wbuf);
                self.settle_stomp(ctx);
            }
            Phase::Finishing { deadline: Some(d) } if *d <= now => return Next::Drop,
            _ => {}
        }
        self.after_io(ctx).unwrap_or(Next::Keep)
    }

    fn queued(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    /// Runs the input through the current phase; returns the bytes consumed.
    fn process(&mut self, input: &mut [u8], ctx: &mut Ctx<'_>) -> usize {
        let mut used = 0;
        if let Phase::Head { scanner, .. } = &mut self.phase {
            match scanner.feed(input) {
                // Keep the partial head: the scanner resumes where it stopped.
                Ok(None) => return 0,
                Ok(Some(head_len)) => {
                    used = head_len;
                    self.open(&input[..head_len], ctx);
                }
                Err(e) => {
                    self.answer_error(e.status());
                    return input.len();
                }
            }
        }
        let rest = input.get_mut(used..).unwrap_or_default();
        match &mut self.phase {
            Phase::WebSocket(session) => {
                used += session.read(rest, &mut self.wbuf, ctx.now);
                if session.conn.is_closed() {
                    self.finish(ctx.now);
                }
                used
            }
            Phase::Stomp(_) if ctx.actions.is_none() => used,
            Phase::Stomp(s) => {
                let Some(actions) = ctx.actions.as_deref_mut() else {
                    return used;
                };
                used += match &mut s.carrier {
                    Carrier::Tcp => {
                        s.receive(rest, ctx.now, actions, &mut self.wbuf);
                        rest.len()
                    }
                    Carrier::WebSocket(_) => {
                        stomp_over_websocket(s, rest, ctx.now, actions, &mut self.wbuf)
                    }
                };
                self.settle_stomp(ctx);
                used
            }
            _ => input.len(),
        }
    }

    /// Closes the transport once the STOMP session has ended and said all it owed.
    fn settle_stomp(&mut self, ctx: &mut Ctx<'_>) {
        let Phase::Stomp(s) = &mut self.phase else {
            return;
        };
        // Over WebSocket the transport is done once the closing handshake is; over TCP,
        // once the session has said its last frame.
        let transport_done = match &mut s.carrier {
            Carrier::WebSocket(conn) => {
                if s.session.is_closed() && conn.state() == sockwire_core::ws::State::Open {
                    let _ = conn.close(CloseCode(1000), "");
                }
                drain_transmit(conn, &mut self.wbuf);
                conn.is_closed()
            }
            Carrier::Tcp => s.session.is_closed(),
        };
        if s.session.is_closed() || transport_done {
            if let Some(actions) = ctx.actions.as_deref_mut() {
                s.gone(actions);
            }
        }
        if transport_done {
            self.finish(ctx.now);
        }
    }

    /// The request head is complete: route it, and upgrade or answer.
    fn open(&mut self, head: &[u8], ctx: &mut Ctx<'_>) {
        let config = ctx.config;
        let mut headers = [Header::EMPTY; MAX_REQUEST_HEADERS];
        let request = match Request::parse(head, &mut headers) {
            Ok(Some((r, _))) => r,
            Ok(None) => return self.answer_error(400),
            Err(e) => return self.answer_error(e.status()),
        };
        let endpoint = config.route(request.target);
        if let Some(Endpoint::Stats) = endpoint {
            let body = ctx.shared.stats_json();
            let headers = [
                ("Content-Type", "application/json"),
                ("Cache-Control", "no-store"),
            ];
            let len = body.len().to_string();
            let mut all = headers.to_vec();
            all.push(("Content-Length", &len));
            all.push(("Connection", "close"));
            write_into(&mut self.wbuf, |out| write_response_head(200, &all, out));
            self.wbuf.extend_from_slice(body.as_bytes());
            self.phase = Phase::Finishing { deadline: None };
            return;
        }
        let protocols: Vec<&str> = match endpoint {
            Some(Endpoint::WebSocket { subprotocols, .. }) => {
                subprotocols.iter().map(String::as_str).collect()
            }
            Some(Endpoint::Stomp) => STOMP_SUBPROTOCOLS.to_vec(),
            Some(Endpoint::Stats) | None => return self.answer_error(404),
        };
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
                return self.finish(ctx.now);
            }
        };
        write_into(&mut self.wbuf, |out| accepted.write_response(&[], out));
        let conn = Connection::new(Role::Server, config.ws, 0);
        match endpoint {
            Some(Endpoint::WebSocket { handler, .. }) => {
                let info = SessionInfo {
                    target: request.target.to_string(),
                    subprotocol: accepted.subprotocol().map(str::to_string),
                    peer: self.peer,
                };
                let mut session = Box::new(Session {
                    conn,
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
            _ => {
                let number = ctx
                    .next_session
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let session = StompSession::new(
                    config.stomp,
                    u64::from(number),
                    Carrier::WebSocket(Box::new(conn)),
                );
                self.session_id = Some(SessionId(number));
                self.phase = Phase::Stomp(Box::new(session));
            }
        }
    }

    /// The server is shutting down: a WebSocket session is closed with 1001, a STOMP
    /// session gets an ERROR after what it already has queued (receipts of a DISCONNECT
    /// included), a connection still sending its head is dropped.
    pub fn shut_down(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match &mut self.phase {
            Phase::Head { .. } => return Next::Drop,
            Phase::WebSocket(s) => {
                let _ = s.conn.close(CloseCode(1001), "server shutting down");
                drain_transmit(&mut s.conn, &mut self.wbuf);
            }
            Phase::Stomp(s) => {
                s.session.close_with_error("server shutting down");
                s.transmit(ctx.now, &mut self.wbuf);
                self.settle_stomp(ctx);
            }
            Phase::Finishing { .. } => {}
        }
        self.after_io(ctx).unwrap_or(Next::Keep)
    }

    /// What kind of session this connection carries, for the statistics.
    pub fn kind(&self) -> ConnectionKind {
        match &self.phase {
            Phase::WebSocket(_) => ConnectionKind::WebSocket,
            Phase::Stomp(s) => match s.carrier {
                Carrier::Tcp => ConnectionKind::StompTcp,
                Carrier::WebSocket(_) => ConnectionKind::StompWebSocket,
            },
            Phase::Head { .. } | Phase::Finishing { .. } => ConnectionKind::Other,
        }
    }

    /// Brings the statistics up to date with this connection (`gone` when it is dropped).
    pub fn recount(&mut self, counters: &Counters, gone: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let now = if gone {
            (ConnectionKind::Other, 0)
        } else {
            (self.kind(), self.queued())
        };
        let (kind, queued) = self.counted;
        if kind != now.0 {
            counters.of(kind).map(|c| c.fetch_sub(1, Relaxed));
            counters.of(now.0).map(|c| c.fetch_add(1, Relaxed));
        }
        if queued != now.1 {
            counters.queued_bytes.fetch_add(now.1, Relaxed);
            counters.queued_bytes.fetch_sub(queued, Relaxed);
        }
        self.counted = now;
    }

    /// Encodes a MESSAGE for this connection's STOMP session; returns the bytes now queued.
    pub fn deliver(&mut self, message: Outgoing<'_>, now: Instant) -> Result<usize, MessageError> {
        let Phase::Stomp(s) = &mut self.phase else {
            return Err(MessageError::NotConnected);
        };
        s.deliver(message, now, &mut self.wbuf)?;
        Ok(self.queued())
    }

    /// Answers a refused frame with an ERROR; the session then closes.
    pub fn refuse(&mut self, message: &str, now: Instant) {
        if let Phase::Stomp(s) = &mut self.phase {
            s.session.close_with_error(message);
            s.transmit(now, &mut self.wbuf);
        }
    }

    /// Closes a STOMP session that cannot keep up: an ERROR follows what is queued, and
    /// the connection goes once that is written or the send time limit passes. Returns
    /// whether it was open until now.
    fn close_slow_consumer(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Phase::Stomp(s) = &mut self.phase else {
            return false;
        };
        if s.session.is_closed() {
            return false;
        }
        log::warn!("{}: STOMP session closed: slow consumer", self.peer);
        s.session
            .close_with_error("slow consumer: too much output queued");
        s.transmit(ctx.now, &mut self.wbuf);
        if let Some(actions) = ctx.actions.as_deref_mut() {
            s.gone(actions);
        }
        self.stalled_since.get_or_insert(ctx.now);
        true
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

    /// The peer closed its side, or the connection broke.
    fn on_eof(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match &mut self.phase {
            Phase::WebSocket(s) => s.handler.on_close(None),
            Phase::Stomp(s) => {
                if let Some(actions) = ctx.actions.as_deref_mut() {
                    s.gone(actions);
                }
            }
            _ => {}
        }
        Next::Drop
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
    fn flush(&mut self, now: Instant) -> Next {
        while self.wpos < self.wbuf.len() {
            match self.stream.write(&self.wbuf[self.wpos..]) {
                Ok(0) => return Next::Drop,
                Ok(n) => {
                    self.wpos += n;
                    self.stalled_since = None;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.stalled_since.get_or_insert(now);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Drop,
            }
        }
        if self.wpos == self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
            self.stalled_since = None;
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

/// Reads WebSocket frames and hands their payload to the STOMP session as a byte stream:
/// a message may hold one frame, several, or part of one.
fn stomp_over_websocket(
    s: &mut StompSession,
    input: &mut [u8],
    now: Instant,
    actions: &mut Vec<Action>,
    wbuf: &mut Vec<u8>,
) -> usize {
    let mut pos = 0;
    while pos < input.len() {
        let Carrier::WebSocket(conn) = &mut s.carrier else {
            break;
        };
        let Some(rest) = input.get_mut(pos..) else {
            break;
        };
        let (used, event) = conn.read(rest, now);
        pos += used;
        match event {
            None if used == 0 => break,
            Some(Event::Data { payload, .. }) => {
                let payload = payload.to_vec();
                s.receive(&payload, now, actions, wbuf);
            }
            Some(Event::Failed(e)) => log::debug!("STOMP WebSocket peer broke the protocol: {e:?}"),
            _ => {}
        }
        if let Carrier::WebSocket(conn) = &mut s.carrier {
            drain_transmit(conn, wbuf);
            if conn.is_closed() {
                break;
            }
        }
    }
    pos
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
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
