//! The server's counters, in the spirit of Spring's `WebSocketMessageBrokerStats`, and
//! their JSON for `GET /stats`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// What a connection counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A raw WebSocket session (the echo endpoint or an application's).
    WebSocket,
    /// STOMP over WebSocket or SockJS.
    StompWebSocket,
    /// STOMP over TCP.
    StompTcp,
    /// Reading a request, or finishing.
    Other,
    /// A SockJS session on its `websocket` transport (the SockJS echo).
    SockJsWebSocket,
}

impl Kind {
    /// Every kind, in the order of [`Kind::index`].
    pub const ALL: [Kind; KINDS] = [
        Kind::WebSocket,
        Kind::StompWebSocket,
        Kind::StompTcp,
        Kind::Other,
        Kind::SockJsWebSocket,
    ];

    /// Its place in per-kind counters.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Its name as a metric label (`http` for connections reading requests).
    pub const fn label(self) -> &'static str {
        match self {
            Kind::WebSocket => "websocket",
            Kind::StompWebSocket => "stomp_websocket",
            Kind::StompTcp => "stomp_tcp",
            Kind::Other => "http",
            Kind::SockJsWebSocket => "sockjs_websocket",
        }
    }
}

/// How many kinds of connection there are.
pub const KINDS: usize = 5;

/// Counters shared by the workers.
#[derive(Debug, Default)]
pub struct Stats {
    /// Raw WebSocket sessions.
    pub websocket: AtomicUsize,
    /// STOMP over WebSocket (and SockJS over WebSocket) sessions.
    pub stomp_websocket: AtomicUsize,
    /// STOMP over TCP sessions.
    pub stomp_tcp: AtomicUsize,
    /// Output bytes queued and not yet written, across connections.
    pub queued_bytes: AtomicUsize,
    /// Bytes queued in SockJS sessions for their next receiving request (summed once a
    /// second).
    pub sockjs_queued_bytes: AtomicUsize,
    /// STOMP sessions connected now.
    pub stomp_sessions: AtomicUsize,
    /// Messages published (SEND frames routed).
    pub published: AtomicU64,
    /// MESSAGE frames written to sessions.
    pub delivered: AtomicU64,
    /// Sessions and connections (STOMP, SockJS, WebSocket) closed because they did not
    /// keep up.
    pub closed_for_slowness: AtomicU64,
    /// Connections and SockJS sessions refused for being over a cap.
    pub refused_connections: AtomicU64,
    /// SockJS sessions on their `websocket` transport (the echo; STOMP over it counts as
    /// `stomp_websocket`).
    pub sockjs_websocket: AtomicUsize,
    /// SockJS sessions on the HTTP transports (counted once a second).
    pub sockjs_sessions: AtomicUsize,
    /// WebSocket handshakes refused (bad request, origin, interceptor).
    pub refused_handshakes: AtomicU64,
    /// Credentials refused at a handshake, and `CONNECT`s refused.
    pub auth_failures: AtomicU64,
    /// Bytes read from sockets, by [`Kind::index`].
    pub bytes_read: [AtomicU64; KINDS],
    /// Bytes written to sockets, by [`Kind::index`].
    pub bytes_written: [AtomicU64; KINDS],
    /// WebSocket messages received by handlers and the SockJS echo, by [`Kind::index`].
    pub messages_received: [AtomicU64; KINDS],
    /// Sessions open when the graceful shutdown began.
    pub open_at_shutdown: AtomicUsize,
}

/// A copy of the STOMP counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HubStats {
    /// STOMP sessions connected now.
    pub sessions: usize,
    /// Messages published (SEND frames routed).
    pub published: u64,
    /// MESSAGE frames written to sessions.
    pub delivered: u64,
    /// Sessions and connections (STOMP, SockJS, WebSocket) closed because they did not
    /// keep up.
    pub closed_for_slowness: u64,
}

impl Stats {
    /// Output held for peers, in connections and in SockJS sessions: what the
    /// server-wide output budget bounds.
    pub fn output_bytes(&self) -> usize {
        self.queued_bytes
            .load(Relaxed)
            .saturating_add(self.sockjs_queued_bytes.load(Relaxed))
    }

    /// One more session closed because it did not keep up.
    pub fn count_slow_consumer(&self) {
        self.closed_for_slowness.fetch_add(1, Relaxed);
    }

    fn of(&self, kind: Kind) -> Option<&AtomicUsize> {
        match kind {
            Kind::WebSocket => Some(&self.websocket),
            Kind::StompWebSocket => Some(&self.stomp_websocket),
            Kind::StompTcp => Some(&self.stomp_tcp),
            Kind::SockJsWebSocket => Some(&self.sockjs_websocket),
            Kind::Other => None,
        }
    }

    /// Sessions open now, of every transport.
    pub fn sessions(&self) -> usize {
        Kind::ALL
            .iter()
            .filter_map(|&k| self.of(k))
            .chain([&self.sockjs_sessions])
            .fold(0, |n, c| n.saturating_add(c.load(Relaxed)))
    }

    /// Sessions of `kind` open now (none for [`Kind::Other`]).
    pub fn sessions_of(&self, kind: Kind) -> usize {
        self.of(kind).map_or(0, |c| c.load(Relaxed))
    }

    /// `n` bytes read from a connection of `kind`.
    pub fn count_read(&self, kind: Kind, n: usize) {
        add(&self.bytes_read, kind, n as u64);
    }

    /// `n` bytes written to a connection of `kind`.
    pub fn count_written(&self, kind: Kind, n: usize) {
        add(&self.bytes_written, kind, n as u64);
    }

    /// One WebSocket message received on a connection of `kind`.
    pub fn count_message(&self, kind: Kind) {
        add(&self.messages_received, kind, 1);
    }

    /// The line logged when a graceful shutdown is over, `uptime_ms` after the start.
    pub fn summary(&self, uptime_ms: u64) -> String {
        let hub = self.hub();
        format!(
            "shut down after {}.{:03} s: {} sessions closed, {} messages published, {} delivered",
            uptime_ms / 1000,
            uptime_ms % 1000,
            self.open_at_shutdown.load(Relaxed),
            hub.published,
            hub.delivered,
        )
    }

    /// Moves one connection's count from `(kind, queued)` to `now`.
    pub fn recount(&self, was: (Kind, usize), now: (Kind, usize)) {
        if was.0 != now.0 {
            self.of(was.0).map(|c| c.fetch_sub(1, Relaxed));
            self.of(now.0).map(|c| c.fetch_add(1, Relaxed));
        }
        if was.1 != now.1 {
            self.queued_bytes.fetch_add(now.1, Relaxed);
            self.queued_bytes.fetch_sub(was.1, Relaxed);
        }
    }

    /// The STOMP counters.
    pub fn hub(&self) -> HubStats {
        HubStats {
            sessions: self.stomp_sessions.load(Relaxed),
            published: self.published.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            closed_for_slowness: self.closed_for_slowness.load(Relaxed),
        }
    }

    /// The counters as a JSON object, with the bytes of incoming messages held.
    pub fn json(&self, incoming_bytes: usize) -> String {
        let hub = self.hub();
        format!(
            concat!(
                "{{\"sessions\":{{\"websocket\":{},\"stomp_websocket\":{},\"stomp_tcp\":{},",
                "\"sockjs_websocket\":{},\"sockjs\":{}}},",
                "\"stomp_sessions_connected\":{},\"messages_published\":{},",
                "\"messages_delivered\":{},\"queued_bytes\":{},\"incoming_bytes\":{},",
                "\"closed_for_slowness\":{},\"refused_over_caps\":{}}}"
            ),
            self.websocket.load(Relaxed),
            self.stomp_websocket.load(Relaxed),
            self.stomp_tcp.load(Relaxed),
            self.sockjs_websocket.load(Relaxed),
            self.sockjs_sessions.load(Relaxed),
            hub.sessions,
            hub.published,
            hub.delivered,
            self.output_bytes(),
            incoming_bytes,
            hub.closed_for_slowness,
            self.refused_connections.load(Relaxed),
        )
    }
}

/// Adds `n` to the counter of `kind`.
fn add(counters: &[AtomicU64; KINDS], kind: Kind, n: u64) {
    if let Some(c) = counters.get(kind.index()) {
        c.fetch_add(n, Relaxed);
    }
}
