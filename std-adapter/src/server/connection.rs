//! One accepted TCP connection: from request head to WebSocket or STOMP session to close.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::net::TcpStream;
use sockwire_core::broker::SessionId;

use sockwire_core::http::{
    write_error_response, write_response_head, ChunkedDecoder, Header, Request,
};
use sockwire_core::machine::{Machine, Status};
use sockwire_core::stomp::{MessageError, ServerSessionConfig};
use sockwire_core::time::Instant;
use sockwire_core::ws::handshake::{
    accept, AllowedOrigins, ServerConfig as HandshakeConfig, ServerHandshake,
};
use sockwire_core::ws::{CloseCode, Connection, DataKind, Event, Role};

use super::config::{Endpoint, ServerConfig};
use super::handler::{EchoHandler, HandlerFactory};
use super::handler::{Outbox, SessionInfo, WsHandler};
use super::sockjs::{
    expires_in_a_year, Receiver, ReceiverState, Registry, RequestFacts, SockJsApp,
    SockJsWebSocketEcho,
};
use super::stomp::{Action, Carrier, Outgoing, StompSession};
use crate::message::MessageBuffer;
use crate::outbound::{drain_transmit, push_frame, write_into};
use sockwire_core::sockjs::{
    write_greeting, write_iframe_response, write_info_response, write_method_not_allowed,
    write_not_found, write_preflight, IframePage, RequestContext, Route, Router, SendBody,
    Transport,
};
use std::sync::Arc;

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
    /// The SockJS sessions (on the hub worker).
    pub sockjs: Option<&'a mut Registry>,
    /// The connection's slot in its worker.
    pub slot: usize,
    /// Connections to run again because they have output waiting (a SockJS receiver).
    pub wake: &'a mut Vec<usize>,
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
    /// Reading the body of a SockJS `xhr_send`/`jsonp_send`.
    SockJsBody(Box<SendRequest>),
    /// A SockJS receiving request (polling or streaming).
    SockJsReceiver(Box<Receiver>),
    /// The answer is written; the write side is shut once it is flushed, then reads are
    /// discarded until the peer closes or the linger time passes.
    Finishing { deadline: Option<Instant> },
}

/// Bytes read from a STOMP connection per step.
const STOMP_READ: usize = 8 * 1024;

/// Largest SockJS send body accepted.
const MAX_SEND_BODY: usize = 1024 * 1024;

/// What a WebSocket handshake leads to.
enum Upgrade<'h> {
    /// A WebSocket session with this handler.
    Handler(&'h HandlerFactory),
    /// A STOMP session; with `sockjs`, inside SockJS framing (which opens with `o`).
    Stomp {
        /// Whether the session speaks SockJS framing.
        sockjs: bool,
    },
}

/// A SockJS send request whose body is being read.
pub struct SendRequest {
    key: String,
    transport: Transport,
    app: SockJsApp,
    framing: BodyFraming,
    body: Vec<u8>,
    content_type: Option<Vec<u8>>,
    facts: RequestFacts,
}

/// How a request body ends.
enum BodyFraming {
    /// After `Content-Length` bytes.
    Length(usize),
    /// After the last chunk (what Node's http client sends).
    Chunked(ChunkedDecoder),
}

impl SendRequest {
    /// Takes body bytes from `input`; returns how many, and whether the body is complete.
    fn feed(&mut self, input: &[u8]) -> Result<(usize, bool), u16> {
        match &mut self.framing {
            BodyFraming::Length(n) => {
                let take = n.saturating_sub(self.body.len()).min(input.len());
                self.body
                    .extend_from_slice(input.get(..take).unwrap_or_default());
                Ok((take, self.body.len() == *n))
            }
            BodyFraming::Chunked(decoder) => {
                let body = &mut self.body;
                let used = decoder
                    .decode(input, &mut |p| body.extend_from_slice(p))
                    .map_err(|_| 400u16)?;
                if body.len() > MAX_SEND_BODY {
                    return Err(413);
                }
                Ok((used, decoder.is_done()))
            }
        }
    }
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
    /// The request it carries is for the hub worker.
    wants_hub: bool,
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
        let session = StompSession::new(
            stomp_config(ctx.config),
            u64::from(number),
            Carrier::Tcp,
            ctx.now,
        );
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
            wants_hub: false,
        }
    }

    /// The STOMP session's number, for a STOMP connection.
    pub fn session_id(&self) -> Option<SessionId> {
        self.session_id
    }

    /// Whether this connection must move to the hub worker (STOMP and SockJS run there).
    pub fn needs_hub(&self) -> bool {
        self.wants_hub || matches!(self.phase, Phase::Stomp(_))
    }

    /// When this connection next needs [`ServerConnection::on_timeout`].
    pub fn deadline(&self, config: &ServerConfig) -> Option<Instant> {
        let own = match &self.phase {
            Phase::Head { deadline, .. } => Some(*deadline),
            Phase::WebSocket(s) => s.conn.poll_timeout(),
            Phase::Stomp(s) => {
                let ws = match &s.carrier {
                    Carrier::WebSocket { conn, .. } => conn.poll_timeout(),
                    Carrier::Tcp | Carrier::SockJs(_) => None,
                };
                earliest(s.session.poll_timeout(), ws)
            }
            Phase::SockJsReceiver(r) => r.wake,
            Phase::SockJsBody(_) => None,
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
                || (self.needs_hub() && ctx.actions.is_none())
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
            // A STOMP publisher is read a little at a time so that the deliveries of one
            // read stay small before they are written out.
            let room = if self.needs_hub() {
                STOMP_READ
            } else {
                ctx.scratch.len() - carried
            };
            let end = carried + room.min(ctx.scratch.len() - carried);
            let got = match self.stream.read(&mut ctx.scratch[carried..end]) {
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
        if self.wants_hub {
            // The head is read again from the start here.
            self.wants_hub = false;
            self.next_request(ctx.now, ctx.config);
        }
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
        self.pump_receiver(ctx);
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
                drain_transmit(&mut s.conn, now, &mut self.wbuf);
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
                if let Carrier::WebSocket { conn, .. } = &mut s.carrier {
                    conn.handle_timeout(now);
                    drain_transmit(conn, now, &mut self.wbuf);
                }
                if let Some(ev) = s.session.handle_timeout(now) {
                    log::debug!("{}: STOMP session timed out: {ev:?}", self.peer);
                    if matches!(ev, sockwire_core::stomp::ServerEvent::ConnectTimeout) {
                        if let Some(actions) = ctx.actions.as_deref_mut() {
                            s.gone(actions);
                        }
                        return Next::Drop;
                    }
                }
                s.transmit(now, &mut self.wbuf);
                self.settle_stomp(ctx);
            }
            Phase::SockJsReceiver(_) => self.pump_receiver(ctx),
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
        loop {
            let rest = input.get_mut(used..).unwrap_or_default();
            match &mut self.phase {
                Phase::Head { scanner, .. } => match scanner.feed(rest) {
                    // Keep the partial head: the scanner resumes where it stopped.
                    Ok(None) => return used,
                    Ok(Some(head_len)) => {
                        if !self.open(&rest[..head_len], ctx) {
                            // Left for the hub worker, which reads the head again.
                            return used;
                        }
                        used += head_len;
                    }
                    Err(e) => {
                        self.answer_error(e.status());
                        return input.len();
                    }
                },
                Phase::WebSocket(session) => {
                    used += session.read(rest, &mut self.wbuf, ctx.now);
                    if session.conn.is_closed() {
                        self.finish(ctx.now);
                    }
                    return used;
                }
                Phase::Stomp(s) => {
                    let Some(actions) = ctx.actions.as_deref_mut() else {
                        return used;
                    };
                    used += match &mut s.carrier {
                        Carrier::Tcp | Carrier::SockJs(_) => {
                            s.receive(rest, ctx.now, actions, &mut self.wbuf);
                            rest.len()
                        }
                        Carrier::WebSocket { .. } => {
                            stomp_over_websocket(s, rest, ctx.now, actions, &mut self.wbuf)
                        }
                    };
                    self.settle_stomp(ctx);
                    return used;
                }
                Phase::SockJsBody(request) => {
                    let (took, complete) = match request.feed(rest) {
                        Ok(r) => r,
                        Err(status) => {
                            self.answer_error(status);
                            return input.len();
                        }
                    };
                    used += took;
                    if !complete {
                        return used;
                    }
                    let request = match std::mem::replace(
                        &mut self.phase,
                        Phase::Finishing { deadline: None },
                    ) {
                        Phase::SockJsBody(r) => r,
                        _ => return used,
                    };
                    self.answer_send(*request, ctx);
                }
                // A receiving request is not expected to send anything more.
                Phase::SockJsReceiver(_) | Phase::Finishing { .. } => return input.len(),
            }
        }
    }

    /// Answers a complete `xhr_send`/`jsonp_send` and waits for the next request.
    fn answer_send(&mut self, request: SendRequest, ctx: &mut Ctx<'_>) {
        let Some(registry) = ctx.sockjs.as_deref_mut() else {
            return;
        };
        let facts = request.facts.context();
        let wake = registry.send(
            &request.key,
            request.transport,
            request.app,
            &request.body,
            request.content_type.as_deref(),
            &facts,
            &ctx.config.sockjs,
            ctx.now,
            &mut self.wbuf,
        );
        if let Some(slot) = wake {
            ctx.wake.push(slot);
        }
        self.next_request(ctx.now, ctx.config);
    }

    /// The response is complete and the connection stays open for the next request.
    fn next_request(&mut self, now: Instant, config: &ServerConfig) {
        let timeout = u64::try_from(config.handshake_timeout.as_millis()).unwrap_or(u64::MAX);
        self.phase = Phase::Head {
            scanner: ServerHandshake::new(Default::default()),
            deadline: now.add_millis(timeout),
        };
    }

    /// Runs a receiving request: writes what its session owes and ends the response
    /// when the transport says so.
    fn pump_receiver(&mut self, ctx: &mut Ctx<'_>) {
        let Phase::SockJsReceiver(r) = &mut self.phase else {
            return;
        };
        let Some(registry) = ctx.sockjs.as_deref_mut() else {
            return;
        };
        match registry.pump(r, &ctx.config.sockjs, ctx.now, &mut self.wbuf) {
            ReceiverState::Waiting => {}
            ReceiverState::Done => self.next_request(ctx.now, ctx.config),
            ReceiverState::Closed => self.finish(ctx.now),
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
            Carrier::WebSocket { conn, .. } => {
                if s.session.is_closed() && conn.state() == sockwire_core::ws::State::Open {
                    let _ = conn.close(ctx.now, CloseCode(1000), "");
                }
                drain_transmit(conn, ctx.now, &mut self.wbuf);
                conn.is_closed()
            }
            Carrier::Tcp | Carrier::SockJs(_) => s.session.is_closed(),
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

    /// The request head is complete: route it, and upgrade or answer. Returns false when
    /// the request is left for the hub worker (STOMP and SockJS live there).
    fn open(&mut self, head: &[u8], ctx: &mut Ctx<'_>) -> bool {
        let config = ctx.config;
        let mut headers = [Header::EMPTY; MAX_REQUEST_HEADERS];
        let request = match Request::parse(head, &mut headers) {
            Ok(Some((r, _))) => r,
            Ok(None) => {
                self.answer_error(400);
                return true;
            }
            Err(e) => {
                self.answer_error(e.status());
                return true;
            }
        };
        let endpoint = config.route(request.target);
        if endpoint.is_some_and(Endpoint::needs_hub) && ctx.actions.is_none() {
            self.wants_hub = true;
            return false;
        }
        match endpoint {
            None => self.answer_error(404),
            Some(Endpoint::Stats) => {
                let body = ctx.shared.stats_json();
                let len = body.len().to_string();
                let all = [
                    ("Content-Type", "application/json"),
                    ("Cache-Control", "no-store"),
                    ("Content-Length", len.as_str()),
                    ("Connection", "close"),
                ];
                let _ = write_into(&mut self.wbuf, |out| write_response_head(200, &all, out));
                self.wbuf.extend_from_slice(body.as_bytes());
                self.phase = Phase::Finishing { deadline: None };
            }
            Some(Endpoint::WebSocket {
                subprotocols,
                handler,
            }) => {
                let protocols: Vec<&str> = subprotocols.iter().map(String::as_str).collect();
                self.upgrade(&request, &protocols, Upgrade::Handler(handler), ctx);
            }
            Some(Endpoint::Stomp) => self.upgrade(
                &request,
                &STOMP_SUBPROTOCOLS,
                Upgrade::Stomp { sockjs: false },
                ctx,
            ),
            Some(Endpoint::SockJs { app }) => {
                let prefix = config.route_prefix(request.target).unwrap_or_default();
                self.open_sockjs(&request, prefix, *app, ctx);
            }
        }
        true
    }

    /// Completes a WebSocket handshake and starts the session it leads to.
    fn upgrade(
        &mut self,
        request: &Request<'_, '_>,
        protocols: &[&str],
        to: Upgrade<'_>,
        ctx: &mut Ctx<'_>,
    ) {
        let config = ctx.config;
        let origins: Vec<&str> = config.allowed_origins.iter().map(String::as_str).collect();
        let handshake = HandshakeConfig {
            subprotocols: protocols,
            origins: allowed_origins(&origins),
            limits: Default::default(),
        };
        let accepted = match accept(request, &handshake) {
            Ok(a) => a,
            Err(rejection) => {
                log::debug!("{}: handshake refused: {:?}", self.peer, rejection);
                let _ = write_into(&mut self.wbuf, |out| rejection.write_response(out));
                return self.finish(ctx.now);
            }
        };
        let _ = write_into(&mut self.wbuf, |out| accepted.write_response(&[], out));
        let conn = Connection::new(Role::Server, config.ws, 0);
        match to {
            Upgrade::Handler(handler) => {
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
                    now: ctx.now,
                };
                session.handler.on_open(&mut out);
                self.phase = Phase::WebSocket(session);
            }
            Upgrade::Stomp { sockjs } => {
                let mut conn = conn;
                if sockjs {
                    let _ = push_frame(&mut conn, ctx.now, DataKind::Text, b"o", &mut self.wbuf);
                }
                self.start_stomp_ws(conn, sockjs, ctx);
            }
        }
    }

    /// Starts a STOMP session over an accepted WebSocket.
    fn start_stomp_ws(&mut self, conn: Connection, sockjs: bool, ctx: &mut Ctx<'_>) {
        let config = ctx.config;
        let number = ctx
            .next_session
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = StompSession::new(
            stomp_config(config),
            u64::from(number),
            Carrier::WebSocket {
                conn: Box::new(conn),
                sockjs,
            },
            ctx.now,
        );
        self.session_id = Some(SessionId(number));
        self.phase = Phase::Stomp(Box::new(session));
    }

    /// Answers a request under a SockJS prefix.
    fn open_sockjs(
        &mut self,
        request: &Request<'_, '_>,
        prefix: &str,
        app: SockJsApp,
        ctx: &mut Ctx<'_>,
    ) {
        let settings = &ctx.config.sockjs;
        let core = settings.core();
        let reqctx = RequestContext::from_headers(&request.headers);
        // The same Origin rule as for WebSocket handshakes, for every SockJS request.
        let origins: Vec<&str> = ctx
            .config
            .allowed_origins
            .iter()
            .map(String::as_str)
            .collect();
        let host = request.headers.get("host").unwrap_or_default();
        if !allowed_origins(&origins).allows(request.headers.get("origin"), host) {
            log::debug!("{}: SockJS request from a refused origin", self.peer);
            return self.answer_error(403);
        }
        let wbuf = &mut self.wbuf;
        match Router::new(prefix, settings.websocket_enabled).route(request.method, request.target)
        {
            Route::Greeting => {
                let _ = write_into(wbuf, write_greeting);
            }
            Route::Info => {
                let mut entropy = [0u8; 4];
                let _ = getrandom::fill(&mut entropy);
                let _ = write_into(wbuf, |out| {
                    write_info_response(&core, &reqctx, u32::from_le_bytes(entropy), out)
                });
            }
            Route::IframePage => {
                let page = IframePage::new(&settings.client_library_url);
                let expires = expires_in_a_year();
                let _ = write_into(wbuf, |out| {
                    write_iframe_response(&page, &reqctx, &expires, out)
                });
            }
            Route::Preflight { allow } => {
                let expires = expires_in_a_year();
                let _ = write_into(wbuf, |out| write_preflight(allow, &reqctx, &expires, out));
            }
            Route::NotFound => {
                let _ = write_into(wbuf, write_not_found);
            }
            Route::MethodNotAllowed { allow } => {
                let _ = write_into(wbuf, |out| write_method_not_allowed(allow, out));
            }
            Route::RawWebSocket if app == SockJsApp::Stomp => {
                return self.upgrade(
                    request,
                    &STOMP_SUBPROTOCOLS,
                    Upgrade::Stomp { sockjs: false },
                    ctx,
                );
            }
            Route::RawWebSocket => {
                let echo: HandlerFactory = Arc::new(|_| Box::new(EchoHandler));
                return self.upgrade(request, &[], Upgrade::Handler(&echo), ctx);
            }
            Route::Session {
                session,
                transport,
                query,
                ..
            } => {
                let key = format!("{prefix}/{session}");
                match transport {
                    Transport::WebSocket if app == SockJsApp::Stomp => {
                        return self.upgrade(request, &[], Upgrade::Stomp { sockjs: true }, ctx);
                    }
                    Transport::WebSocket => {
                        let handler: HandlerFactory = Arc::new(|_| Box::new(SockJsWebSocketEcho));
                        return self.upgrade(request, &[], Upgrade::Handler(&handler), ctx);
                    }
                    Transport::XhrSend | Transport::JsonpSend => {
                        let length = request
                            .headers
                            .get("content-length")
                            .and_then(|v| std::str::from_utf8(v).ok())
                            .and_then(|v| v.trim().parse::<usize>().ok());
                        let framing = if request.headers.has_token("transfer-encoding", "chunked") {
                            Some(BodyFraming::Chunked(ChunkedDecoder::new()))
                        } else {
                            length.map(BodyFraming::Length)
                        };
                        match framing {
                            None => self.answer_error(411),
                            Some(BodyFraming::Length(n)) if n > MAX_SEND_BODY => {
                                self.answer_error(413)
                            }
                            Some(framing) => {
                                self.phase = Phase::SockJsBody(Box::new(SendRequest {
                                    key,
                                    transport,
                                    app,
                                    framing,
                                    body: Vec::new(),
                                    content_type: request
                                        .headers
                                        .get("content-type")
                                        .map(<[u8]>::to_vec),
                                    facts: RequestFacts::keep(&reqctx),
                                }));
                            }
                        }
                        return;
                    }
                    _ => {
                        let Some(registry) = ctx.sockjs.as_deref_mut() else {
                            return;
                        };
                        let (stomp_config, next_session, now) =
                            (stomp_config(ctx.config), ctx.next_session, ctx.now);
                        let new_stomp = || {
                            (app == SockJsApp::Stomp).then(|| {
                                let number =
                                    next_session.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let carrier = Carrier::SockJs(Vec::new());
                                let session = StompSession::new(
                                    stomp_config,
                                    u64::from(number),
                                    carrier,
                                    now,
                                );
                                (Box::new(session), SessionId(number))
                            })
                        };
                        match registry.attach(
                            new_stomp, key, transport, query, &reqctx, settings, ctx.slot, ctx.now,
                            wbuf,
                        ) {
                            Ok(receiver) => {
                                self.phase = Phase::SockJsReceiver(Box::new(receiver));
                                return self.pump_receiver(ctx);
                            }
                            Err(ReceiverState::Closed) => return self.finish(ctx.now),
                            Err(_) => {}
                        }
                    }
                }
            }
        }
        self.next_request(ctx.now, ctx.config);
    }

    /// The server is shutting down: a WebSocket session is closed with 1001, a STOMP
    /// session gets an ERROR after what it already has queued (receipts of a DISCONNECT
    /// included), a connection still sending its head is dropped.
    pub fn shut_down(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match &mut self.phase {
            Phase::Head { .. } => return Next::Drop,
            Phase::WebSocket(s) => {
                let _ = s
                    .conn
                    .close(ctx.now, CloseCode(1001), "server shutting down");
                drain_transmit(&mut s.conn, ctx.now, &mut self.wbuf);
            }
            Phase::Stomp(s) => {
                let _ = s.session.close(ctx.now, "server shutting down");
                s.transmit(ctx.now, &mut self.wbuf);
                self.settle_stomp(ctx);
            }
            Phase::SockJsReceiver(_) | Phase::SockJsBody(_) => self.finish(ctx.now),
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
                Carrier::WebSocket { .. } | Carrier::SockJs(_) => ConnectionKind::StompWebSocket,
            },
            _ => ConnectionKind::Other,
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
            let _ = s.session.close(now, message);
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
        let _ = s
            .session
            .close(ctx.now, "slow consumer: too much output queued");
        s.transmit(ctx.now, &mut self.wbuf);
        if let Some(actions) = ctx.actions.as_deref_mut() {
            s.gone(actions);
        }
        self.stalled_since.get_or_insert(ctx.now);
        true
    }

    /// Queues an HTTP error answer and finishes the connection.
    fn answer_error(&mut self, status: u16) {
        let _ = write_into(&mut self.wbuf, |out| write_error_response(status, &[], out));
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
            Phase::SockJsReceiver(r) => {
                if let Some(registry) = ctx.sockjs.as_deref_mut() {
                    registry.interrupted(r, ctx.now);
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
        let Carrier::WebSocket { conn, sockjs } = &mut s.carrier else {
            break;
        };
        let Some(rest) = input.get_mut(pos..) else {
            break;
        };
        let sockjs = *sockjs;
        let read = conn.read(rest, now);
        pos += read.consumed;
        let Status::Event(event) = read.status else {
            drain_transmit(conn, now, wbuf);
            break;
        };
        match event {
            Event::Data { payload, .. } if !sockjs => {
                let payload = payload.to_vec();
                s.receive(&payload, now, actions, wbuf);
            }
            Event::Data {
                kind,
                payload,
                first,
                fin,
                ..
            } => {
                // SockJS: a whole message is a JSON array of strings, each STOMP bytes.
                let Some((_, whole)) = s.message.push(kind, payload, first, fin) else {
                    continue;
                };
                let whole = whole.to_vec();
                s.message.recycle();
                match SendBody::parse_websocket(&whole) {
                    Ok(Some(body)) => {
                        let mut buf = vec![0u8; body.max_message_len().max(16)];
                        let mut messages = body.messages();
                        while let Some(Ok(m)) = messages.next_into(&mut buf) {
                            let m = m.as_bytes().to_vec();
                            s.receive(&m, now, actions, wbuf);
                        }
                    }
                    Ok(None) => {}
                    Err(_) => {
                        if let Carrier::WebSocket { conn, .. } = &mut s.carrier {
                            let _ = conn.close(now, CloseCode(1002), "Broken framing.");
                        }
                    }
                }
            }
            Event::Failed(e) => log::debug!("STOMP WebSocket peer broke the protocol: {e:?}"),
            _ => {}
        }
        if let Carrier::WebSocket { conn, .. } = &mut s.carrier {
            drain_transmit(conn, now, wbuf);
            if conn.is_closed() {
                break;
            }
        }
    }
    pos
}

/// The server's `--origin` list as the handshake's rule: empty means same origin only,
/// `*` allows any.
fn allowed_origins<'a>(origins: &'a [&'a str]) -> AllowedOrigins<'a> {
    if origins.contains(&"*") {
        AllowedOrigins::Any
    } else if origins.is_empty() {
        AllowedOrigins::SameOrigin
    } else {
        AllowedOrigins::List(origins)
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The STOMP session settings, with the server's handshake timeout as the CONNECT
/// deadline (a client that opens the STOMP port and says nothing is dropped).
fn stomp_config(config: &ServerConfig) -> ServerSessionConfig {
    ServerSessionConfig {
        connect_timeout_ms: Some(millis(config.handshake_timeout)),
        ..config.stomp
    }
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
            let read = self.conn.read(rest, now);
            pos += read.consumed;
            let Status::Event(event) = read.status else {
                break;
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
                        let mut out = Outbox {
                            conn: &mut self.conn,
                            wbuf,
                            now,
                        };
                        self.handler.on_message(kind, whole, &mut out);
                        self.message.recycle();
                    }
                }
                Event::Ping(_) | Event::Pong(_) => {}
                Event::Closed { code, .. } => self.handler.on_close(code.map(|c| c.as_u16())),
                Event::Failed(e) => {
                    log::debug!("peer broke the protocol: {e:?}");
                    self.handler.on_close(None);
                }
                Event::TimedOut => self.handler.on_close(None),
            }
            drain_transmit(&mut self.conn, now, wbuf);
            if self.conn.is_closed() {
                break;
            }
        }
        drain_transmit(&mut self.conn, now, wbuf);
        pos
    }
}
