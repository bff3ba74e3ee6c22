//! One accepted connection: a socket (plain or TLS, [`Stream`]), what it carries now
//! ([`Phase`]), and the pumps that move bytes between the socket and the core's machines.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use sockwire_core::http::RequestReader;
use sockwire_core::machine::Machine;
use sockwire_core::stack::{Carrier, CloseReason};
use sockwire_core::store::ByteStore;
use sockwire_core::time::Instant;

use super::config::ServerConfig;
pub use super::ctx::{Ctx, HubCtx};
use super::phase::outbound;
pub use super::phase::Phase;
use super::stats::{Kind, Stats};
use super::stream::Stream;
use crate::store::VecBytes;

/// How long a finished connection waits for the peer to close before it is dropped.
const LINGER_MILLIS: u64 = 2000;
/// Bytes read from one connection before the worker turns to the others: a peer that
/// sends without pause must not starve them.
const READ_BUDGET: usize = 256 * 1024;
/// How long a connection over its share of a spent output budget may make no progress
/// before it is closed.
const SHED_AFTER_MILLIS: u64 = 1000;

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
    pub(crate) stream: Stream,
    pub(crate) peer: SocketAddr,
    /// The client of the request being served: the peer, or the address a trusted proxy
    /// says it forwarded for.
    pub(crate) client: std::net::IpAddr,
    pub(crate) phase: Phase,
    /// Bytes read and not yet consumed.
    pub(super) pending: Vec<u8>,
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
    /// Its place under the connection caps, given back when it is dropped.
    pub(crate) admitted: Option<super::admission::Admitted>,
    /// It is in the worker's list of readers that yielded their turn.
    pub(crate) yielded: bool,
    /// It is in the hub's list of output waiting for the journal's sync.
    pub(crate) awaiting_sync: bool,
}

/// A reader of the next HTTP request, with the server's limits.
pub(crate) fn request_reader(config: &ServerConfig, now: Instant) -> Box<RequestReader<VecBytes>> {
    let limits = config.request_limits();
    let body = usize::try_from(limits.max_body).unwrap_or(usize::MAX);
    Box::new(RequestReader::new(limits, VecBytes::new(body), now))
}

impl Conn {
    /// A connection accepted on the HTTP listener at `now`.
    pub fn http(stream: Stream, peer: SocketAddr, config: &ServerConfig, now: Instant) -> Conn {
        Conn::with(stream, peer, Phase::Http(request_reader(config, now), None))
    }

    /// A connection carrying `phase`.
    pub fn with(stream: Stream, peer: SocketAddr, phase: Phase) -> Conn {
        Conn {
            stream,
            peer,
            client: peer.ip(),
            phase,
            pending: Vec::new(),
            out: VecBytes::new(usize::MAX),
            paused: false,
            shut_write: false,
            stalled_since: None,
            more_to_read: false,
            counted: (Kind::Other, 0),
            wants_hub: false,
            admitted: None,
            yielded: false,
            awaiting_sync: false,
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
            Phase::SockJs(s, _) => Carrier::outbound(s.as_ref()).len(),
            Phase::Stomp(s) => Carrier::outbound(s.endpoint().carrier()).len(),
            _ => 0,
        };
        self.out.len() + phase
    }

    /// When the connection next needs [`Conn::on_timeout`].
    pub fn deadline(&self, config: &ServerConfig) -> Option<Instant> {
        let own = match &self.phase {
            Phase::Http(r, _) => r.poll_timeout(),
            Phase::Ws(m, _) => m.poll_timeout(),
            Phase::SockJs(s, _) => s.poll_timeout(),
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
        let mut read = 0;
        loop {
            if read >= READ_BUDGET {
                // Fair to the others: the worker comes back to this one after them.
                self.more_to_read = true;
                return Next::Keep;
            }
            if self.needs_hub() && ctx.hub.is_none() {
                // Handed to the hub worker, which reads on from what TLS decrypted
                // already: the socket will not signal for that.
                self.paused = true;
                self.more_to_read = self.stream.has_buffered_input();
                return Next::Keep;
            }
            if self.queued() > ctx.config.max_write_buffer {
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
            read += got;
            ctx.stats.count_read(self.kind(), got);
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
            self.phase = Phase::Http(request_reader(ctx.config, ctx.now), None);
        }
        let mut input = std::mem::take(&mut self.pending);
        let (used, _) = self.process(&mut input, ctx);
        if let Some(rest) = input.get(used..) {
            self.pending.extend_from_slice(rest);
        }
        self.after_io(ctx).unwrap_or(Next::Keep)
    }

    /// Writes what deliveries queued; a SockJS receiving request takes what its session
    /// owes it.
    pub fn on_output(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.pump_receiver(ctx);
        self.after_io(ctx).unwrap_or(Next::Keep)
    }

    /// Writes what is queued and tells whether the connection is done.
    pub fn after_io(&mut self, ctx: &mut Ctx<'_>) -> Option<Next> {
        if let Some(h) = ctx.hub.as_mut() {
            if h.hub.journal_dirty() {
                // Receipts for durable messages go out only once the disk has them: the
                // worker syncs once for all that read meanwhile, then writes this.
                if !self.awaiting_sync {
                    self.awaiting_sync = true;
                    h.hub.awaiting_sync.push(ctx.slot);
                }
                return None;
            }
        }
        loop {
            if self.flush(ctx.now, ctx.stats) == Next::Drop {
                return Some(self.on_eof(ctx));
            }
            // Until the socket would block or no queue message waits for this session.
            if !self.resume_starved(ctx) {
                break;
            }
        }
        if self.phase_is_closed() {
            self.finish(ctx.now);
        }
        if self.finished() {
            return Some(Next::Drop);
        }
        None
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
            ctx.stats.count_slow_consumer();
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
                    super::handler::closed(handler, None);
                }
            }
            Phase::SockJs(s, handler) => {
                if s.handle_timeout(now).is_some() {
                    super::handler::closed(handler, None);
                }
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

    /// Whether, the server being over its output budget, this connection is one to close:
    /// it holds more than a session's share and has made no progress for a second.
    pub fn hogs(&self, now: Instant, config: &ServerConfig) -> bool {
        self.queued() > config.max_queued_bytes
            && self
                .stalled_since
                .is_some_and(|t| t.add_millis(SHED_AFTER_MILLIS) <= now)
    }

    /// Closes a connection [`Conn::hogs`] picked: what it holds is freed for the others.
    pub fn shed(&mut self, ctx: &mut Ctx<'_>) -> Next {
        log::warn!(
            "{}: {} bytes unread while the server is over its output budget: dropped",
            self.peer,
            self.queued()
        );
        ctx.stats.count_slow_consumer();
        self.on_eof(ctx)
    }

    /// The peer closed its side, or the connection broke.
    pub fn on_eof(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let now = ctx.now;
        match &mut self.phase {
            Phase::Ws(_, handler) | Phase::SockJs(_, handler) => {
                super::handler::closed(handler, None)
            }
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
        if self.queued() > 0 || self.shut_write {
            return false;
        }
        match self.stream.shutdown_write() {
            // TLS's close_notify waits for the socket: tried again when it is writable.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            _ => self.shut_write = true,
        }
        false
    }

    /// Writes queued output (the connection's own first, then the phase's) until the
    /// socket would block.
    fn flush(&mut self, now: Instant, stats: &Stats) -> Next {
        loop {
            let own = !self.out.is_empty();
            let pending = if own {
                self.out.as_slice()
            } else {
                outbound(&mut self.phase, now)
            };
            if pending.is_empty() {
                // What TLS still holds of earlier writes.
                return match self.stream.flush() {
                    Ok(()) => {
                        self.stalled_since = None;
                        Next::Keep
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.stalled_since.get_or_insert(now);
                        Next::Keep
                    }
                    Err(_) => Next::Drop,
                };
            }
            match self.stream.write(pending) {
                Ok(0) => return Next::Drop,
                Ok(n) => {
                    self.stalled_since = None;
                    stats.count_written(self.kind(), n);
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
