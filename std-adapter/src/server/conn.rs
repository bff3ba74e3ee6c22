//! One accepted TCP connection: a socket, what it carries now ([`Phase`]), and the pumps
//! that move bytes between the socket and the core's machines.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::net::TcpStream;
use sockwire_core::http::RequestReader;
use sockwire_core::machine::{Machine, Status};
use sockwire_core::sockjs::{Progress, ReceiverResponse};
use sockwire_core::stack::{MessageEvent, SockJsEvent, SockJsWebSocket, WebSocketMessages};
use sockwire_core::store::ByteStore;
use sockwire_core::time::Instant;

use super::app::AppHandler;
use super::config::ServerConfig;
use super::handler::{Outbox, WsHandler};
use super::http::SockJsSend;
use super::hub::{self, Broker, Hub, Route, StompConn};
use super::sockjs::Registry;
use super::stats::{Kind, Stats};
use crate::store::VecBytes;
use sockwire_core::broker::Delivery;
use sockwire_core::stack::{BrokerSession, CloseReason, StompEndpoint};

/// How long a finished connection waits for the peer to close before it is dropped.
const LINGER_MILLIS: u64 = 2000;

/// What a connection carries.
pub enum Phase {
    /// HTTP requests, and the SockJS send whose body is being read.
    Http(Box<RequestReader<VecBytes>>, Option<Box<SockJsSend>>),
    /// A WebSocket session with an application's handler.
    Ws(Box<WebSocketMessages<VecBytes>>, Box<dyn WsHandler>),
    /// A SockJS session on its `websocket` transport, echoing.
    SockJsEcho(Box<SockJsWebSocket<VecBytes>>),
    /// A STOMP session (TCP, WebSocket, SockJS over WebSocket).
    Stomp(Box<StompConn>),
    /// A receiving request of the SockJS session with this key.
    Receiving(String, Box<ReceiverResponse>),
    /// Everything is said; the write side shuts once it is written.
    Finishing {
        /// When to give up waiting for the peer to close.
        deadline: Option<Instant>,
    },
}

/// What the worker gives a connection while it runs.
pub struct Ctx<'a> {
    /// The time now.
    pub now: Instant,
    /// The server's settings.
    pub config: &'a ServerConfig,
    /// The counters.
    pub stats: &'a Stats,
    /// Numbers STOMP sessions across workers.
    pub next_session: &'a std::sync::atomic::AtomicU32,
    /// This connection's slot.
    pub slot: usize,
    /// The hub, on the hub worker.
    pub hub: Option<HubCtx<'a>>,
}

/// The hub worker's shared state, lent to the connection it runs.
pub struct HubCtx<'a> {
    /// The broker side.
    pub hub: &'a mut Hub,
    /// The SockJS sessions.
    pub registry: &'a mut Registry,
    /// The other connections of the worker.
    pub conns: &'a mut [Option<Conn>],
    /// Connections that got output.
    pub dirty: &'a mut Vec<usize>,
}

impl HubCtx<'_> {
    /// Runs `f` with the broker, the application handler, and where deliveries for
    /// other sessions go at `now`.
    pub fn with_route<R>(
        &mut self,
        stats: &Stats,
        now: Instant,
        f: impl FnOnce(&mut Broker, &mut dyn AppHandler, &mut Route<'_>) -> R,
    ) -> R {
        let Hub {
            broker,
            sessions,
            app,
        } = &mut *self.hub;
        let mut route = Route {
            sessions,
            conns: &mut *self.conns,
            registry: &mut *self.registry,
            dirty: &mut *self.dirty,
            stats,
            now,
        };
        f(broker, app.as_mut(), &mut route)
    }

    /// A STOMP session ended: forget it, telling the broker first when it was not told.
    pub fn end<E: StompEndpoint>(
        &mut self,
        session: &mut BrokerSession<E, VecBytes>,
        stats: &Stats,
        now: Instant,
        reason: CloseReason,
    ) {
        self.with_route(stats, now, |broker, _, route| {
            let mut sink = |d: Delivery<'_>| route.deliver(&d);
            session.disconnect(now, broker, &mut sink);
        });
        let connected = !session.user().is_empty();
        hub::forget(
            &mut self.hub.sessions,
            stats,
            session.id(),
            connected,
            reason,
        );
    }
}

/// What the worker does with a connection after it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep it.
    Keep,
    /// Drop it.
    Drop,
}

/// An accepted connection.
pub struct Conn {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    pub(crate) phase: Phase,
    /// Bytes read and not yet consumed.
    pending: Vec<u8>,
    /// HTTP answers and other bytes written outside the phase's machine.
    pub(crate) out: VecBytes,
    pub(crate) paused: bool,
    shut_write: bool,
    /// Since when queued output makes no progress.
    stalled_since: Option<Instant>,
    /// Reading stopped early; the socket may hold more.
    pub(crate) more_to_read: bool,
    counted: (Kind, usize),
    /// The request it carries is for the hub worker.
    pub(crate) wants_hub: bool,
}

impl Conn {
    /// A connection accepted on the HTTP listener at `now`.
    pub fn http(stream: TcpStream, peer: SocketAddr, config: &ServerConfig, now: Instant) -> Conn {
        let reader = RequestReader::new(config.request_limits(), VecBytes::new(1 << 20), now);
        Conn::with(stream, peer, Phase::Http(Box::new(reader), None))
    }

    /// A connection carrying `phase`.
    pub fn with(stream: TcpStream, peer: SocketAddr, phase: Phase) -> Conn {
        Conn {
            stream,
            peer,
            phase,
            pending: Vec::new(),
            out: VecBytes::new(usize::MAX),
            paused: false,
            shut_write: false,
            stalled_since: None,
            more_to_read: false,
            counted: (Kind::Other, 0),
            wants_hub: false,
        }
    }

    /// Whether the connection must move to the hub worker.
    pub fn needs_hub(&self) -> bool {
        self.wants_hub || matches!(self.phase, Phase::Stomp(_) | Phase::Receiving(..))
    }

    /// Output queued and not yet written.
    pub fn queued(&self) -> usize {
        let phase = match &self.phase {
            Phase::Ws(m, _) => m.outbound().len(),
            Phase::SockJsEcho(s) => sockwire_core::stack::Carrier::outbound(s.as_ref()).len(),
            Phase::Stomp(s) => {
                sockwire_core::stack::Carrier::outbound(s.endpoint().carrier()).len()
            }
            _ => 0,
        };
        self.out.len() + phase
    }

    fn advance_phase(&mut self, now: Instant, n: usize) {
        match &mut self.phase {
            Phase::Ws(m, _) => m.advance(now, n),
            Phase::SockJsEcho(s) => sockwire_core::stack::Carrier::advance(s.as_mut(), now, n),
            Phase::Stomp(s) => s.endpoint_mut().advance(now, n),
            _ => {}
        }
    }

    /// When the connection next needs [`Conn::on_timeout`].
    pub fn deadline(&self, config: &ServerConfig) -> Option<Instant> {
        let own = match &self.phase {
            Phase::Http(r, _) => r.poll_timeout(),
            Phase::Ws(m, _) => m.poll_timeout(),
            Phase::SockJsEcho(s) => s.poll_timeout(),
            Phase::Stomp(s) => s.poll_timeout(),
            Phase::Receiving(..) => None,
            Phase::Finishing { deadline } => *deadline,
        };
        let limit = super::config::millis(config.send_time_limit);
        let stall = self.stalled_since.map(|t| t.add_millis(limit));
        match (own, stall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The socket is readable: read and run until it would block, the phase pauses, or
    /// the output is over its limit.
    pub fn on_readable(&mut self, scratch: &mut Vec<u8>, ctx: &mut Ctx<'_>) -> Next {
        self.more_to_read = false;
        loop {
            if self.queued() > ctx.config.max_write_buffer
                || (self.needs_hub() && ctx.hub.is_none())
            {
                self.paused = true;
                return Next::Keep;
            }
            let carried = self.pending.len();
            if scratch.len() < carried + 4096 {
                scratch.resize(carried + 64 * 1024, 0);
            }
            scratch[..carried].copy_from_slice(&self.pending);
            // A STOMP publisher is read a little at a time so that the deliveries of one
            // read stay small before they are written out.
            let room = if matches!(self.phase, Phase::Stomp(_)) {
                8 * 1024
            } else {
                scratch.len() - carried
            };
            let end = carried + room.min(scratch.len() - carried);
            let got = match self.stream.read(&mut scratch[carried..end]) {
                Ok(0) => return self.on_eof(ctx),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Keep,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.on_eof(ctx),
            };
            self.pending.clear();
            let input = &mut scratch[..carried + got];
            let (used, read_on) = self.process(input, ctx);
            if let Some(rest) = input.get(used..) {
                self.pending.extend_from_slice(rest);
            }
            if let Some(next) = self.after_io(ctx) {
                return next;
            }
            if !read_on {
                self.paused = true;
                return Next::Keep;
            }
            if matches!(self.phase, Phase::Stomp(_))
                && ctx.hub.as_ref().is_some_and(|h| !h.dirty.is_empty())
            {
                // Let the worker flush the subscribers before reading more.
                self.more_to_read = true;
                return Next::Keep;
            }
        }
    }

    /// Runs input already read (a connection handed over from another worker).
    pub fn resume(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.paused = false;
        if self.wants_hub {
            self.wants_hub = false;
            let reader =
                RequestReader::new(ctx.config.request_limits(), VecBytes::new(1 << 20), ctx.now);
            self.phase = Phase::Http(Box::new(reader), None);
        }
        let mut input = std::mem::take(&mut self.pending);
        let (used, _) = self.process(&mut input, ctx);
        if let Some(rest) = input.get(used..) {
            self.pending.extend_from_slice(rest);
        }
        self.after_io(ctx).unwrap_or(Next::Keep)
    }

    /// Runs the input through the phase; returns the bytes consumed and whether to read
    /// more now (`false` while the phase is paused).
    fn process(&mut self, input: &mut [u8], ctx: &mut Ctx<'_>) -> (usize, bool) {
        let mut used = 0;
        loop {
            let rest = input.get_mut(used..).unwrap_or_default();
            let now = ctx.now;
            let (took, status) = match &mut self.phase {
                Phase::Http(..) => {
                    let (took, status, reroute) = super::http::step(self, rest, ctx);
                    used += took;
                    if reroute {
                        continue;
                    }
                    if self.wants_hub {
                        return (used, false);
                    }
                    return (used, status == Status::NeedMore);
                }
                Phase::Ws(m, handler) => {
                    let read = m.read_with(rest, now, |ev, reply| {
                        let mut out = Outbox { reply };
                        match ev {
                            MessageEvent::Message { kind, data } => {
                                handler.on_message(kind, data, &mut out);
                                false
                            }
                            MessageEvent::Closed { code } => {
                                handler.on_close(code);
                                true
                            }
                        }
                    });
                    (read.consumed, read.status.map(|_| ()))
                }
                Phase::SockJsEcho(s) => {
                    let read = s.read(rest, now);
                    let consumed = read.consumed;
                    let status = match read.status {
                        Status::Event(SockJsEvent::Message(m)) => {
                            let m = m.to_string();
                            if let Err(e) = s.send(now, &m) {
                                log::debug!("SockJS echo not sent: {e}");
                            }
                            Status::Event(())
                        }
                        Status::Event(SockJsEvent::Closed) => Status::Closed,
                        other => other.map(|_| ()),
                    };
                    (consumed, status)
                }
                Phase::Stomp(s) => {
                    let Some(h) = ctx.hub.as_mut() else {
                        return (used, false);
                    };
                    let (took, status, ended) =
                        h.with_route(ctx.stats, now, |b, app, r| hub::run(s, rest, b, app, r));
                    if let Some(reason) = ended {
                        h.end(s, ctx.stats, now, reason);
                    }
                    (took, status)
                }
                Phase::Receiving(..) => {
                    self.pump_receiver(ctx);
                    return (input.len(), true);
                }
                // A finished connection is not expected to send.
                Phase::Finishing { .. } => return (input.len(), true),
            };
            used += took;
            match status {
                Status::Event(()) => continue,
                Status::NeedMore => return (used, true),
                Status::Paused(_) => return (used, false),
                Status::Closed => {
                    // The machine may still be closing its transport: it says when done.
                    if self.phase_is_closed() {
                        self.finish(ctx.now);
                    }
                    return (input.len(), true);
                }
            }
        }
    }

    /// Writes what deliveries queued; a SockJS receiving request takes what its session
    /// owes it.
    pub fn on_output(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.pump_receiver(ctx);
        self.after_io(ctx).unwrap_or(Next::Keep)
    }

    /// A SockJS receiving request takes what its session owes it; a finished polling
    /// response makes way for the next request on the connection.
    fn pump_receiver(&mut self, ctx: &mut Ctx<'_>) {
        let Phase::Receiving(key, response) = &mut self.phase else {
            return;
        };
        let Some(h) = ctx.hub.as_mut() else {
            return;
        };
        match h
            .registry
            .pump(key, response, ctx.config, ctx.now, &mut self.out)
        {
            Progress::Waiting => {}
            Progress::Done => {
                let reader = RequestReader::new(
                    ctx.config.request_limits(),
                    VecBytes::new(1 << 20),
                    ctx.now,
                );
                self.phase = Phase::Http(Box::new(reader), None);
            }
            Progress::Close => self.finish(ctx.now),
        }
    }

    /// Writes what is queued and tells whether the connection is done.
    pub fn after_io(&mut self, ctx: &mut Ctx<'_>) -> Option<Next> {
        if self.flush(ctx.now) == Next::Drop {
            return Some(self.on_eof(ctx));
        }
        if self.phase_is_closed() {
            self.finish(ctx.now);
        }
        if self.finished() {
            return Some(Next::Drop);
        }
        None
    }

    fn phase_is_closed(&self) -> bool {
        match &self.phase {
            Phase::Ws(m, _) => m.is_closed(),
            Phase::SockJsEcho(s) => s.is_closed(),
            Phase::Stomp(s) => s.is_closed(),
            Phase::Http(r, _) => r.is_closed(),
            _ => false,
        }
    }

    /// The socket is writable: write, and read again if reading had paused.
    pub fn on_writable(&mut self, scratch: &mut Vec<u8>, ctx: &mut Ctx<'_>) -> Next {
        if let Some(next) = self.after_io(ctx) {
            return next;
        }
        if self.paused && self.queued() <= ctx.config.max_write_buffer / 2 {
            self.paused = false;
            return self.on_readable(scratch, ctx);
        }
        Next::Keep
    }

    /// A deadline passed.
    pub fn on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let now = ctx.now;
        let limit = super::config::millis(ctx.config.send_time_limit);
        if self
            .stalled_since
            .is_some_and(|t| t.add_millis(limit) <= now)
        {
            log::warn!("{}: no output progress for {limit} ms: dropped", self.peer);
            return self.on_eof(ctx);
        }
        match &mut self.phase {
            Phase::Http(r, _) => {
                if r.handle_timeout(now).is_some() {
                    log::debug!("{}: request not received in time", self.peer);
                    super::http::flush_reader(r, &mut self.out, now);
                }
            }
            Phase::Ws(m, handler) => {
                if m.handle_timeout(now).is_some() {
                    handler.on_close(None);
                }
            }
            Phase::SockJsEcho(s) => {
                let _ = s.handle_timeout(now);
            }
            Phase::Stomp(s) => {
                if let Some(reason) = s.handle_timeout(now) {
                    log::debug!("{}: STOMP session ended: {reason:?}", self.peer);
                    if let Some(h) = ctx.hub.as_mut() {
                        h.end(s, ctx.stats, now, reason);
                    }
                }
            }
            Phase::Finishing { deadline: Some(d) } if *d <= now => return Next::Drop,
            Phase::Receiving(..) | Phase::Finishing { .. } => {}
        }
        self.after_io(ctx).unwrap_or(Next::Keep)
    }

    /// The server is shutting down: sessions are told (an ERROR, a close 1001), requests
    /// in progress are dropped.
    pub fn shut_down(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let now = ctx.now;
        match &mut self.phase {
            Phase::Http(..) => return Next::Drop,
            Phase::Ws(m, _) => {
                let _ = m.close(now, super::config::SHUTDOWN_CLOSE, super::config::SHUTDOWN);
            }
            Phase::SockJsEcho(s) => {
                s.close(now, super::config::SHUTDOWN_SOCKJS, super::config::SHUTDOWN)
            }
            Phase::Stomp(s) => {
                let _ = s.close(now, super::config::SHUTDOWN);
            }
            Phase::Receiving(..) => self.finish(now),
            Phase::Finishing { .. } => {}
        }
        self.after_io(ctx).unwrap_or(Next::Keep)
    }

    /// What the connection counts as.
    pub fn kind(&self) -> Kind {
        match &self.phase {
            Phase::Ws(..) => Kind::WebSocket,
            Phase::Stomp(s) => match s.endpoint().carrier() {
                sockwire_core::stack::AnyCarrier::Tcp(_) => Kind::StompTcp,
                _ => Kind::StompWebSocket,
            },
            _ => Kind::Other,
        }
    }

    /// Brings the counters up to date (`gone` when the connection is dropped).
    pub fn recount(&mut self, stats: &Stats, gone: bool) {
        let now = if gone {
            (Kind::Other, 0)
        } else {
            (self.kind(), self.queued())
        };
        stats.recount(self.counted, now);
        self.counted = now;
    }

    /// Nothing more will be sent: shut the write side once the output is written.
    pub fn finish(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Finishing { .. }) {
            // What the phase still had queued goes out first.
            let rest = outbound(&mut self.phase, now).to_vec();
            let _ = self.out.push(&rest);
            self.phase = Phase::Finishing {
                deadline: Some(now.add_millis(LINGER_MILLIS)),
            };
        }
    }

    /// The peer closed its side, or the connection broke.
    pub fn on_eof(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let now = ctx.now;
        match &mut self.phase {
            Phase::Ws(_, handler) => handler.on_close(None),
            Phase::Stomp(s) => {
                if let Some(h) = ctx.hub.as_mut() {
                    if !s.is_released() {
                        h.end(s, ctx.stats, now, CloseReason::TransportClosed);
                    }
                }
            }
            Phase::Receiving(key, _) => {
                if let Some(h) = ctx.hub.as_mut() {
                    h.registry.interrupted(key, now);
                }
            }
            _ => {}
        }
        Next::Drop
    }

    /// Whether everything is written and the connection can go.
    fn finished(&mut self) -> bool {
        let Phase::Finishing { .. } = self.phase else {
            return false;
        };
        if self.queued() > 0 {
            return false;
        }
        if !self.shut_write {
            self.shut_write = true;
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        false
    }

    /// Writes queued output (the connection's own first, then the phase's) until the
    /// socket would block.
    fn flush(&mut self, now: Instant) -> Next {
        loop {
            let own = !self.out.is_empty();
            let pending = if own {
                self.out.as_slice()
            } else {
                outbound(&mut self.phase, now)
            };
            if pending.is_empty() {
                self.stalled_since = None;
                return Next::Keep;
            }
            match self.stream.write(pending) {
                Ok(0) => return Next::Drop,
                Ok(n) => {
                    self.stalled_since = None;
                    if own {
                        self.out.discard(n);
                    } else {
                        self.advance_phase(now, n);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.stalled_since.get_or_insert(now);
                    return Next::Keep;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Drop,
            }
        }
    }
}

/// The bytes a phase's machine has waiting to be written at `now`.
fn outbound(phase: &mut Phase, now: Instant) -> &[u8] {
    match phase {
        Phase::Ws(m, _) => m.outbound(),
        Phase::SockJsEcho(s) => sockwire_core::stack::Carrier::outbound(&**s),
        Phase::Stomp(s) => s.endpoint_mut().outbound(now),
        _ => &[],
    }
}
