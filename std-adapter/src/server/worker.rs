//! One event loop: a thread that owns a share of the connections. The first worker also
//! owns the hub (the broker and every STOMP session); the others hand STOMP sessions to it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use sockwire_core::broker::SessionId;
use sockwire_core::time::Instant;

use super::config::ServerConfig;
use super::connection::{Counters, Ctx, Next, ServerConnection};
use super::hub::{Hub, HubStats, Outputs, Target};
use super::sockjs::Registry;
use super::stomp::Action;
use crate::clock::Clock;

const HTTP_LISTENER: Token = Token(usize::MAX - 1);
const STOMP_LISTENER: Token = Token(usize::MAX - 3);
/// The token of the waker that asks a worker to stop or to adopt connections.
pub const WAKER: Token = Token(usize::MAX - 2);

/// State shared by the workers of one server.
pub struct Shared {
    /// Set to stop every worker.
    pub stop: AtomicBool,
    /// The server's settings.
    pub config: ServerConfig,
    /// The server's clock.
    pub clock: Clock,
    /// Numbers STOMP sessions across workers.
    pub next_session: AtomicU32,
    /// Hands STOMP connections to the hub worker.
    pub to_hub: Mutex<Sender<ServerConnection>>,
    /// Wakes the hub worker.
    pub hub_waker: Arc<Waker>,
    /// The hub's counters, refreshed by the hub worker.
    pub stats: Mutex<HubStats>,
    /// Connections by kind, kept by every worker.
    pub counters: Counters,
    /// Set to close every session gracefully and then stop.
    pub draining: AtomicBool,
}

impl Shared {
    /// The statistics as a JSON object.
    pub fn stats_json(&self) -> String {
        let hub = self.stats.lock().map(|s| *s).unwrap_or_default();
        let c = &self.counters;
        format!(
            concat!(
                "{{\"sessions\":{{\"websocket\":{},\"stomp_websocket\":{},\"stomp_tcp\":{}}},",
                "\"stomp_sessions_connected\":{},\"messages_published\":{},",
                "\"messages_delivered\":{},\"queued_bytes\":{},\"closed_for_slowness\":{}}}"
            ),
            c.websocket.load(Ordering::Relaxed),
            c.stomp_websocket.load(Ordering::Relaxed),
            c.stomp_tcp.load(Ordering::Relaxed),
            hub.sessions,
            hub.published,
            hub.delivered,
            c.queued_bytes.load(Ordering::Relaxed),
            hub.closed_for_slowness,
        )
    }
}

/// The hub worker's extra state.
pub struct HubRole {
    hub: Hub,
    sockjs: Registry,
    stomp_listener: Option<TcpListener>,
    inbox: Receiver<ServerConnection>,
}

impl HubRole {
    /// The hub, its STOMP listener and the inbox of handed-over connections.
    pub fn new(
        hub: Hub,
        stomp_listener: Option<TcpListener>,
        inbox: Receiver<ServerConnection>,
    ) -> HubRole {
        HubRole {
            hub,
            sockjs: Registry::default(),
            stomp_listener,
            inbox,
        }
    }
}

/// A worker's event loop and its connections.
pub struct Worker {
    poll: Poll,
    listener: TcpListener,
    shared: Arc<Shared>,
    hub: Option<HubRole>,
    connections: Vec<Option<ServerConnection>>,
    free: Vec<usize>,
    /// Deadlines by connection; stale entries are skipped when they fire.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    scratch: Vec<u8>,
    actions: Vec<Action>,
    dirty: Vec<usize>,
    /// When a graceful shutdown gives up on connections that have not finished.
    drain_deadline: Option<Instant>,
    /// Readers paused by backpressure, to resume when output drains.
    blocked: Vec<usize>,
}

/// How long a graceful shutdown waits for sessions to finish.
const DRAIN_MILLIS: u64 = 5000;

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
        if let Some(l) = hub.as_mut().and_then(|h| h.stomp_listener.as_mut()) {
            poll.registry()
                .register(l, STOMP_LISTENER, Interest::READABLE)?;
        }
        Ok(Worker {
            poll,
            listener,
            shared,
            hub,
            connections: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            scratch: vec![0; 64 * 1024],
            actions: Vec::new(),
            dirty: Vec::new(),
            drain_deadline: None,
            blocked: Vec::new(),
        })
    }

    /// Runs until the server is stopped.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        while !self.shared.stop.load(Ordering::Acquire) {
            if self.shared.draining.load(Ordering::Acquire) {
                let now = self.shared.clock.now();
                match self.drain_deadline {
                    None => self.begin_drain(now),
                    Some(d) if d <= now => break,
                    Some(_) => {}
                }
                if self.connections.iter().all(Option::is_none) {
                    break;
                }
            }
            let mut timeout = self
                .timers
                .peek()
                .map(|Reverse((t, _))| self.shared.clock.until(*t));
            if let Some(d) = self.drain_deadline {
                let left = self.shared.clock.until(d);
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            if self.hub.as_ref().is_some_and(|h| !h.sockjs.is_empty()) {
                // SockJS sessions without a receiver are swept once a second.
                let second = std::time::Duration::from_secs(1);
                timeout = Some(timeout.map_or(second, |t| t.min(second)));
            }
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    HTTP_LISTENER => self.accept(false),
                    STOMP_LISTENER => self.accept(true),
                    WAKER => self.adopt(),
                    Token(slot) => self.ready(
                        slot,
                        event.is_readable() || event.is_read_closed(),
                        event.is_writable(),
                    ),
                }
            }
            self.fire_timers();
            self.resume_blocked();
            if let Some(h) = self.hub.as_mut() {
                let now = self.shared.clock.now();
                h.sockjs.sweep(now);
                // Deliver what the sweep made the STOMP sessions say (and forget).
                self.apply_actions(usize::MAX, None, now);
                self.flush_dirty(now);
            }
            if let Some(h) = &self.hub {
                if let Ok(mut stats) = self.shared.stats.lock() {
                    *stats = h.hub.stats();
                }
            }
        }
        Ok(())
    }

    /// Stops accepting and asks every connection to finish.
    fn begin_drain(&mut self, now: Instant) {
        self.drain_deadline = Some(now.add_millis(DRAIN_MILLIS));
        let _ = self.poll.registry().deregister(&mut self.listener);
        if let Some(l) = self.hub.as_mut().and_then(|h| h.stomp_listener.as_mut()) {
            let _ = self.poll.registry().deregister(l);
        }
        for slot in 0..self.connections.len() {
            self.run_connection(slot, |conn, ctx| conn.shut_down(ctx));
        }
    }

    fn accept(&mut self, stomp: bool) {
        loop {
            let listener = if stomp {
                match self.hub.as_ref().and_then(|h| h.stomp_listener.as_ref()) {
                    Some(l) => l,
                    None => return,
                }
            } else {
                &self.listener
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let now = self.shared.clock.now();
                    let conn = if stomp {
                        let shared = self.shared.clone();
                        let mut scratch = Vec::new();
                        let ctx = self.ctx_parts(&shared, &mut scratch, now, usize::MAX);
                        ServerConnection::stomp_tcp(stream, peer, &ctx)
                    } else {
                        ServerConnection::new(stream, peer, &self.shared.config, now)
                    };
                    self.insert(conn);
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

    /// A context for running connections (the hub's action list only on the hub worker).
    fn ctx_parts<'a>(
        &'a mut self,
        shared: &'a Shared,
        scratch: &'a mut Vec<u8>,
        now: Instant,
        slot: usize,
    ) -> Ctx<'a> {
        let hub = self.hub.as_mut();
        let on_hub = hub.is_some();
        Ctx {
            scratch,
            config: &shared.config,
            now,
            actions: on_hub.then_some(&mut self.actions),
            next_session: &shared.next_session,
            shared,
            sockjs: hub.map(|h| &mut h.sockjs),
            slot,
            wake: &mut self.dirty,
        }
    }

    /// Registers a connection and returns its slot.
    fn insert(&mut self, mut conn: ServerConnection) -> Option<usize> {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.connections.push(None);
            self.connections.len() - 1
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
        if let Some(entry) = self.connections.get_mut(slot) {
            *entry = Some(conn);
        }
        Some(slot)
    }

    /// Takes in STOMP connections handed over by other workers.
    fn adopt(&mut self) {
        let adopted: Vec<ServerConnection> = match &self.hub {
            Some(h) => h.inbox.try_iter().collect(),
            None => return,
        };
        for conn in adopted {
            if let Some(slot) = self.insert(conn) {
                self.run_connection(slot, |conn, ctx| conn.resume(ctx));
            }
        }
    }

    fn ready(&mut self, slot: usize, readable: bool, writable: bool) {
        self.run_connection(slot, |conn, ctx| {
            let mut next = Next::Keep;
            if writable {
                next = conn.on_writable(ctx);
            }
            if readable && next == Next::Keep {
                next = conn.on_readable(ctx);
            }
            next
        });
    }

    fn fire_timers(&mut self) {
        let now = self.shared.clock.now();
        while let Some(Reverse((deadline, slot))) = self.timers.peek().copied() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            let Some(Some(conn)) = self.connections.get(slot) else {
                continue;
            };
            // Skip entries for deadlines that moved.
            if conn.deadline(&self.shared.config).is_none_or(|d| d > now) {
                continue;
            }
            self.run_connection(slot, |conn, ctx| conn.on_timeout(ctx));
        }
    }

    /// Runs `step` on a connection, then lets the hub apply what its session asked for,
    /// writes what deliveries queued on other connections, and settles each of them. A
    /// STOMP reader yields after each read that asked something of the hub; it is run
    /// again until its socket is drained.
    fn run_connection(
        &mut self,
        slot: usize,
        step: impl FnOnce(&mut ServerConnection, &mut Ctx<'_>) -> Next,
    ) {
        if !self.step_once(slot, step) {
            return;
        }
        while self
            .connections
            .get(slot)
            .and_then(Option::as_ref)
            .is_some_and(ServerConnection::more_to_read)
        {
            if self.over_budget() {
                // Backpressure: the publisher waits (its TCP window fills) until the
                // subscribers' queued output drains.
                self.blocked.push(slot);
                return;
            }
            if !self.step_once(slot, |conn, ctx| conn.on_readable(ctx)) {
                return;
            }
        }
    }

    /// Whether queued output across all connections is above the server's budget.
    fn over_budget(&self) -> bool {
        self.shared.counters.queued_bytes.load(Ordering::Relaxed)
            > self.shared.config.max_total_queued_bytes
    }

    /// Resumes publishers stopped by backpressure once queued output has halved.
    fn resume_blocked(&mut self) {
        let queued = self.shared.counters.queued_bytes.load(Ordering::Relaxed);
        if self.blocked.is_empty() || queued > self.shared.config.max_total_queued_bytes / 2 {
            return;
        }
        for slot in std::mem::take(&mut self.blocked) {
            self.run_connection(slot, |conn, ctx| conn.on_readable(ctx));
        }
    }

    /// One step of a connection and everything it caused; false when the connection left
    /// this worker.
    fn step_once(
        &mut self,
        slot: usize,
        step: impl FnOnce(&mut ServerConnection, &mut Ctx<'_>) -> Next,
    ) -> bool {
        let shared = self.shared.clone();
        let now = shared.clock.now();
        let mut scratch = std::mem::take(&mut self.scratch);
        let Some(Some(mut conn)) = self.connections.get_mut(slot).map(Option::take) else {
            self.scratch = scratch;
            return false;
        };
        let before = conn.deadline(&shared.config);
        let next = {
            let mut ctx = self.ctx_parts(&shared, &mut scratch, now, slot);
            step(&mut conn, &mut ctx)
        };
        let session = conn.session_id();
        let handoff = self.hub.is_none() && conn.needs_hub() && next == Next::Keep;
        if let Some(entry) = self.connections.get_mut(slot) {
            *entry = Some(conn);
        }
        if handoff {
            self.hand_to_hub(slot);
            self.scratch = scratch;
            return false;
        }
        self.apply_actions(slot, session, now);
        let keep = next == Next::Keep;
        self.settle(slot, next, before);
        self.scratch = scratch;
        self.flush_dirty(now);
        keep
    }

    /// Writes what the hub queued on connections (including the one that just ran);
    /// closing a slow consumer can queue more (redeliveries), hence the loop.
    fn flush_dirty(&mut self, now: Instant) {
        let shared = self.shared.clone();
        let mut scratch = std::mem::take(&mut self.scratch);
        while !self.dirty.is_empty() {
            let mut dirty = std::mem::take(&mut self.dirty);
            dirty.sort_unstable();
            dirty.dedup();
            for other in dirty {
                let Some(Some(conn)) = self.connections.get_mut(other) else {
                    continue;
                };
                let before = conn.deadline(&shared.config);
                let mut ctx = Ctx {
                    scratch: &mut scratch,
                    config: &shared.config,
                    now,
                    actions: Some(&mut self.actions),
                    next_session: &shared.next_session,
                    shared: &shared,
                    sockjs: self.hub.as_mut().map(|h| &mut h.sockjs),
                    slot: other,
                    wake: &mut self.dirty,
                };
                let (next, slow) = conn.on_output(&mut ctx);
                let id = conn.session_id();
                if slow {
                    if let Some(h) = self.hub.as_mut() {
                        h.hub.count_slow_consumer();
                    }
                }
                self.apply_actions(other, id, now);
                self.settle(other, next, before);
            }
        }
        self.scratch = scratch;
    }

    /// Lets the hub apply what the session at `slot` asked for.
    fn apply_actions(&mut self, slot: usize, session: Option<SessionId>, now: Instant) {
        let Some(h) = self.hub.as_mut() else {
            self.actions.clear();
            return;
        };
        let mut out = Outputs {
            conns: &mut self.connections,
            sockjs: &mut h.sockjs,
            dirty: &mut self.dirty,
        };
        if let Some(id) = session {
            if !self.actions.is_empty() {
                h.hub.apply(
                    (Target::Connection(slot), id),
                    &mut self.actions,
                    &mut out,
                    now,
                );
            }
        }
        self.actions.clear();
        // STOMP sessions carried by SockJS over HTTP report theirs through the registry.
        loop {
            let pending = out.sockjs.take_pending();
            if pending.is_empty() {
                break;
            }
            for (key, id, action) in pending {
                h.hub
                    .apply((Target::SockJs(key), id), &mut vec![action], &mut out, now);
            }
        }
    }

    /// Moves a STOMP connection to the hub worker.
    fn hand_to_hub(&mut self, slot: usize) {
        let Some(Some(mut conn)) = self.connections.get_mut(slot).map(Option::take) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
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
        let config = &self.shared.config;
        let Some(entry) = self.connections.get_mut(slot) else {
            return;
        };
        match next {
            Next::Drop => {
                if let Some(mut conn) = entry.take() {
                    conn.recount(&self.shared.counters, true);
                    let _ = self.poll.registry().deregister(&mut conn.stream);
                }
                self.free.push(slot);
            }
            Next::Keep => {
                if let Some(conn) = entry.as_mut() {
                    conn.recount(&self.shared.counters, false);
                }
                let after = entry.as_ref().and_then(|c| c.deadline(config));
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
