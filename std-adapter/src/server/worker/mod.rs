//! One event loop: a thread that owns a share of the connections. The first worker also
//! owns the hub (the broker and every STOMP and SockJS session); the others hand those
//! connections to it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use sockwire_core::time::Instant;

use super::admission::Gate;
use super::config::ServerConfig;
use super::conn::{Conn, Ctx, HubCtx, Next};
use super::hub::Hub;
use super::publisher::Outgoing;
use super::sockjs::Registry;
use super::stats::Stats;
use super::stream::Stream;
use super::tls::TlsConfigs;
use super::trim::Trim;
use crate::clock::Clock;
use crate::pool::BytePool;

mod turns;

const HTTP_LISTENER: Token = Token(usize::MAX - 1);
const STOMP_LISTENER: Token = Token(usize::MAX - 3);
const STOMP_TLS_LISTENER: Token = Token(usize::MAX - 4);
/// The token of the waker that asks a worker to stop or to adopt connections.
pub const WAKER: Token = Token(usize::MAX - 2);

/// How long a graceful shutdown waits for sessions to finish.
const DRAIN_MILLIS: u64 = 5000;

/// State shared by the workers of one server.
pub struct Shared {
    /// Set to stop every worker.
    pub stop: AtomicBool,
    /// Set to close every session gracefully and then stop.
    pub draining: AtomicBool,
    /// The server's settings.
    pub config: ServerConfig,
    /// The server's clock.
    pub clock: Clock,
    /// Numbers STOMP sessions.
    pub next_session: AtomicU32,
    /// Hands connections to the hub worker.
    pub to_hub: Mutex<Sender<Conn>>,
    /// Wakes the hub worker.
    pub hub_waker: Arc<Waker>,
    /// The counters.
    pub stats: Stats,
    /// What every connection's incoming messages draw from.
    pub incoming: Arc<BytePool>,
    /// Admits connections up to the caps.
    pub connections: Arc<Gate>,
    /// TLS for the HTTP listener and the STOMP-over-TLS one, when configured.
    pub tls: Option<Arc<TlsConfigs>>,
    /// Who clients are and what they may do.
    pub gatekeeper: Arc<crate::auth::Gatekeeper>,
}

/// Which listener a connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    /// HTTP, WebSocket and SockJS (TLS when the server has a certificate).
    Http,
    /// STOMP over TCP.
    Stomp,
    /// STOMP over TLS.
    StompTls,
}

/// The hub worker's extra state.
pub struct HubRole {
    hub: Hub,
    registry: Registry,
    /// The STOMP listeners: plain TCP, then TLS.
    stomp_listeners: [Option<TcpListener>; 2],
    inbox: Receiver<Conn>,
    published: Receiver<Outgoing>,
}

impl HubRole {
    /// The hub, its STOMP listeners (TCP, TLS), the inbox of handed-over connections
    /// and the queue of what [`Publisher`](super::publisher::Publisher)s send.
    pub fn new(
        hub: Hub,
        stomp_listeners: [Option<TcpListener>; 2],
        inbox: Receiver<Conn>,
        published: Receiver<Outgoing>,
        caps: super::admission::Caps,
    ) -> HubRole {
        HubRole {
            hub,
            registry: Registry::new(caps),
            stomp_listeners,
            inbox,
            published,
        }
    }
}

/// A worker's event loop and its connections.
pub struct Worker {
    poll: Poll,
    listener: TcpListener,
    shared: Arc<Shared>,
    hub: Option<HubRole>,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Deadlines by connection; stale entries are skipped when they fire.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    scratch: Vec<u8>,
    dirty: Vec<usize>,
    drain_deadline: Option<Instant>,
    /// Readers paused by the server-wide output budget.
    blocked: Vec<usize>,
    /// While the budget is spent: when to look again for connections to shed.
    next_shed: Option<Instant>,
    /// Connections that stopped reading to let the others run, with more to read.
    ready: Vec<usize>,
    /// When to give the memory of ended sessions back to the system.
    trim: Trim,
}

impl Worker {
    /// A worker accepting from its own handle on the shared listening socket.
    pub fn new(
        poll: Poll,
        mut listener: TcpListener,
        shared: Arc<Shared>,
        mut hub: Option<HubRole>,
    ) -> io::Result<Worker> {
        poll.registry()
            .register(&mut listener, HTTP_LISTENER, Interest::READABLE)?;
        if let Some(h) = hub.as_mut() {
            let [tcp, tls] = &mut h.stomp_listeners;
            for (l, token) in [(tcp, STOMP_LISTENER), (tls, STOMP_TLS_LISTENER)] {
                if let Some(l) = l {
                    poll.registry().register(l, token, Interest::READABLE)?;
                }
            }
        }
        Ok(Worker {
            poll,
            listener,
            shared,
            hub,
            conns: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            scratch: vec![0; 64 * 1024],
            dirty: Vec::new(),
            drain_deadline: None,
            blocked: Vec::new(),
            next_shed: None,
            ready: Vec::new(),
            trim: Trim::default(),
        })
    }

    /// Runs until the server is stopped.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        while !self.shared.stop.load(Ordering::Acquire) {
            let now = self.shared.clock.now();
            if self.shared.draining.load(Ordering::Acquire) {
                match self.drain_deadline {
                    None => self.begin_drain(now),
                    Some(d) if d <= now => break,
                    Some(_) => {}
                }
                if self.conns.iter().all(Option::is_none) {
                    break;
                }
            }
            let mut wake = self.timers.peek().map(|Reverse((t, _))| *t);
            let sweeping = self.hub.as_ref().is_some_and(|h| !h.registry.is_empty());
            for t in [
                self.drain_deadline,
                sweeping.then(|| now.add_millis(1000)),
                self.next_shed,
                self.trim.deadline(now),
            ]
            .into_iter()
            .flatten()
            {
                wake = Some(wake.map_or(t, |w| w.min(t)));
            }
            let awaiting = self
                .hub
                .as_ref()
                .is_some_and(|h| !h.hub.awaiting_sync.is_empty());
            let timeout = if self.ready.is_empty() && !awaiting {
                wake.map(|t| self.shared.clock.until(t))
            } else {
                // Readers wait their turn: look at new events, then serve them.
                Some(std::time::Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    HTTP_LISTENER => self.accept(Listener::Http),
                    STOMP_LISTENER => self.accept(Listener::Stomp),
                    STOMP_TLS_LISTENER => self.accept(Listener::StompTls),
                    WAKER => {
                        self.adopt();
                        self.publish_queued();
                    }
                    Token(slot) => {
                        let (readable, writable) = (
                            event.is_readable() || event.is_read_closed(),
                            event.is_writable(),
                        );
                        self.run_conn(slot, |c, scratch, ctx| {
                            let mut next = if writable {
                                c.on_writable(scratch, ctx)
                            } else {
                                Next::Keep
                            };
                            if readable && next == Next::Keep {
                                next = c.on_readable(scratch, ctx);
                            }
                            next
                        });
                    }
                }
            }
            self.serve_ready();
            self.sync_journal();
            self.fire_timers();
            self.shed();
            self.resume_blocked();
            self.sweep();
            self.trim();
        }
        Ok(())
    }

    fn begin_drain(&mut self, now: Instant) {
        self.drain_deadline = Some(now.add_millis(DRAIN_MILLIS));
        let _ = self.poll.registry().deregister(&mut self.listener);
        if let Some(h) = self.hub.as_mut() {
            for l in h.stomp_listeners.iter_mut().flatten() {
                let _ = self.poll.registry().deregister(l);
            }
        }
        for slot in 0..self.conns.len() {
            self.run_conn(slot, |c, _, ctx| c.shut_down(ctx));
        }
    }

    fn accept(&mut self, from: Listener) {
        loop {
            let stomp = |i: usize| {
                self.hub
                    .as_ref()
                    .and_then(|h| h.stomp_listeners.get(i))
                    .and_then(Option::as_ref)
            };
            let listener = match from {
                Listener::Http => &self.listener,
                Listener::Stomp => match stomp(0) {
                    Some(l) => l,
                    None => return,
                },
                Listener::StompTls => match stomp(1) {
                    Some(l) => l,
                    None => return,
                },
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    let Some(admitted) = self.shared.connections.admit(peer.ip()) else {
                        // Over a cap: closed at once (dropped), counted.
                        log::debug!("{peer}: over the connection caps: closed");
                        self.shared
                            .stats
                            .refused_connections
                            .fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let tls = self.shared.tls.as_ref();
                    let stream = match (from, tls) {
                        (Listener::Http, Some(tls)) => Stream::tls(stream, tls.http()),
                        (Listener::StompTls, Some(tls)) => Stream::tls(stream, tls.stomp()),
                        _ => Ok(Stream::Plain(stream)),
                    };
                    let stream = match stream {
                        Ok(s) => s,
                        Err(e) => {
                            log::warn!("{peer}: cannot start TLS: {e}");
                            continue;
                        }
                    };
                    let now = self.shared.clock.now();
                    let mut conn = Conn::http(stream, peer, &self.shared.config, now);
                    conn.admitted = Some(admitted);
                    if let Some(slot) = self.insert(conn) {
                        if from != Listener::Http {
                            self.run_conn(slot, |c, _, ctx| {
                                super::http::stomp_tcp(c, ctx);
                                Next::Keep
                            });
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors and the like: try again on the next readiness.
                    log::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Registers a connection and returns its slot.
    fn insert(&mut self, mut conn: Conn) -> Option<usize> {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.conns.len() - 1
        });
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut conn.stream, Token(slot), interest)
        {
            log::warn!("cannot register a connection: {e}");
            self.free.push(slot);
            return None;
        }
        self.schedule(slot, conn.deadline(&self.shared.config));
        if let Some(entry) = self.conns.get_mut(slot) {
            *entry = Some(conn);
        }
        Some(slot)
    }

    /// Takes in connections handed over by other workers.
    fn adopt(&mut self) {
        let adopted: Vec<Conn> = match &self.hub {
            Some(h) => h.inbox.try_iter().collect(),
            None => return,
        };
        for conn in adopted {
            if let Some(slot) = self.insert(conn) {
                self.run_conn(slot, |c, _, ctx| c.resume(ctx));
            }
        }
    }

    /// Sends what publishers queued.
    fn publish_queued(&mut self) {
        let shared = self.shared.clone();
        let now = shared.clock.now();
        let Some(h) = self.hub.as_mut() else {
            return;
        };
        let mut ctx = HubCtx {
            hub: &mut h.hub,
            registry: &mut h.registry,
            conns: &mut self.conns,
            dirty: &mut self.dirty,
        };
        for outgoing in h.published.try_iter() {
            ctx.publish(outgoing, &shared.stats, now);
        }
        self.flush_dirty(now);
    }

    fn fire_timers(&mut self) {
        let now = self.shared.clock.now();
        while let Some(Reverse((deadline, slot))) = self.timers.peek().copied() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            let Some(Some(conn)) = self.conns.get(slot) else {
                continue;
            };
            // Skip entries for deadlines that moved.
            if conn.deadline(&self.shared.config).is_none_or(|d| d > now) {
                continue;
            }
            self.run_conn(slot, |c, _, ctx| c.on_timeout(ctx));
        }
    }

    /// One step of a connection and everything it caused; false when the connection left
    /// this worker or was dropped.
    fn step_once(
        &mut self,
        slot: usize,
        step: impl FnOnce(&mut Conn, &mut Vec<u8>, &mut Ctx<'_>) -> Next,
    ) -> bool {
        let shared = self.shared.clone();
        let now = shared.clock.now();
        let Some(Some(mut conn)) = self.conns.get_mut(slot).map(Option::take) else {
            return false;
        };
        let before = conn.deadline(&shared.config);
        let mut scratch = std::mem::take(&mut self.scratch);
        let next = {
            let mut ctx = self.ctx(&shared, now, slot);
            step(&mut conn, &mut scratch, &mut ctx)
        };
        self.scratch = scratch;
        let handoff = self.hub.is_none() && conn.needs_hub() && next == Next::Keep;
        if let Some(entry) = self.conns.get_mut(slot) {
            *entry = Some(conn);
        }
        if handoff {
            self.hand_to_hub(slot);
            return false;
        }
        let keep = next == Next::Keep;
        self.settle(slot, next, before);
        self.flush_dirty(now);
        keep
    }

    fn ctx<'a>(&'a mut self, shared: &'a Shared, now: Instant, slot: usize) -> Ctx<'a> {
        Ctx {
            now,
            config: &shared.config,
            stats: &shared.stats,
            draining: &shared.draining,
            incoming: &shared.incoming,
            gatekeeper: &shared.gatekeeper,
            next_session: &shared.next_session,
            slot,
            hub: self.hub.as_mut().map(|h| HubCtx {
                hub: &mut h.hub,
                registry: &mut h.registry,
                conns: &mut self.conns,
                dirty: &mut self.dirty,
            }),
        }
    }

    /// Writes what deliveries queued on connections, and pumps SockJS receivers.
    fn flush_dirty(&mut self, now: Instant) {
        while !self.dirty.is_empty() {
            let mut dirty = std::mem::take(&mut self.dirty);
            dirty.sort_unstable();
            dirty.dedup();
            for slot in dirty {
                self.run_conn(slot, |c, _, ctx| c.on_output(ctx));
            }
        }
        let _ = now;
    }

    /// Moves a connection to the hub worker.
    fn hand_to_hub(&mut self, slot: usize) {
        let Some(Some(mut conn)) = self.conns.get_mut(slot).map(Option::take) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        conn.recount(&self.shared.stats, true);
        self.free.push(slot);
        let sent = match self.shared.to_hub.lock() {
            Ok(tx) => tx.send(conn).is_ok(),
            Err(_) => false,
        };
        if sent {
            let _ = self.shared.hub_waker.wake();
        }
    }

    /// Drops a finished connection, or re-arms its timer when its deadline changed.
    fn settle(&mut self, slot: usize, next: Next, before: Option<Instant>) {
        let Some(entry) = self.conns.get_mut(slot) else {
            return;
        };
        match next {
            Next::Drop => {
                if let Some(mut conn) = entry.take() {
                    conn.recount(&self.shared.stats, true);
                    let _ = self.poll.registry().deregister(&mut conn.stream);
                    self.trim.ended(1);
                }
                self.free.push(slot);
            }
            Next::Keep => {
                let Some(conn) = entry.as_mut() else {
                    return;
                };
                conn.recount(&self.shared.stats, false);
                let after = conn.deadline(&self.shared.config);
                if after != before || after.is_some_and(|d| d <= self.shared.clock.now()) {
                    self.schedule(slot, after);
                }
            }
        }
    }

    fn schedule(&mut self, slot: usize, deadline: Option<Instant>) {
        if let Some(d) = deadline {
            self.timers.push(Reverse((d, slot)));
        }
    }
}
