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
}

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
            Kind::Other => None,
        }
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
                "{{\"sessions\":{{\"websocket\":{},\"stomp_websocket\":{},\"stomp_tcp\":{}}},",
                "\"stomp_sessions_connected\":{},\"messages_published\":{},",
                "\"messages_delivered\":{},\"queued_bytes\":{},\"incoming_bytes\":{},",
                "\"closed_for_slowness\":{},\"refused_over_caps\":{}}}"
            ),
            self.websocket.load(Relaxed),
            self.stomp_websocket.load(Relaxed),
            self.stomp_tcp.load(Relaxed),
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
