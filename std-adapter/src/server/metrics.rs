//! The counters in the Prometheus text exposition format (version 0.0.4), for
//! `GET /metrics`: a `# HELP` and a `# TYPE` line per metric, then its samples.

use std::fmt::{Display, Write};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use super::stats::{Kind, Stats, KINDS};

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics: the counters, the bytes of incoming messages held, and the uptime.
pub fn render(stats: &Stats, incoming_bytes: usize, uptime_ms: u64) -> String {
    let mut m = Exposition::default();
    let sessions = "sockwire_sessions";
    m.family(sessions, "gauge", "Sessions open now, by transport.");
    for kind in Kind::ALL.into_iter().filter(|&k| k != Kind::Other) {
        m.sample(sessions, Some(kind.label()), stats.sessions_of(kind));
    }
    m.sample(
        sessions,
        Some("sockjs_http"),
        stats.sockjs_sessions.load(Relaxed),
    );
    let hub = stats.hub();
    m.single(
        "sockwire_stomp_sessions_connected",
        "gauge",
        "STOMP sessions past CONNECT.",
        hub.sessions,
    );
    m.per_kind(
        "sockwire_received_bytes_total",
        "Bytes read from sockets, by what the connection carried.",
        &stats.bytes_read,
        &Kind::ALL,
    );
    m.per_kind(
        "sockwire_sent_bytes_total",
        "Bytes written to sockets, by what the connection carried.",
        &stats.bytes_written,
        &Kind::ALL,
    );
    m.per_kind(
        "sockwire_websocket_messages_received_total",
        "WebSocket messages received by the WebSocket handlers and the SockJS echo.",
        &stats.messages_received,
        &[Kind::WebSocket, Kind::SockJsWebSocket],
    );
    m.single(
        "sockwire_stomp_messages_published_total",
        "counter",
        "STOMP messages published (SEND frames routed).",
        hub.published,
    );
    m.single(
        "sockwire_stomp_messages_delivered_total",
        "counter",
        "STOMP MESSAGE frames written to sessions.",
        hub.delivered,
    );
    m.single(
        "sockwire_queued_output_bytes",
        "gauge",
        "Output held for peers and not yet written.",
        stats.output_bytes(),
    );
    m.single(
        "sockwire_incoming_held_bytes",
        "gauge",
        "Bytes of incoming messages held while they are assembled.",
        incoming_bytes,
    );
    m.single(
        "sockwire_slow_consumers_closed_total",
        "counter",
        "Sessions and connections closed because they did not keep up.",
        hub.closed_for_slowness,
    );
    m.single(
        "sockwire_connections_refused_total",
        "counter",
        "Connections and SockJS sessions refused for being over a cap.",
        stats.refused_connections.load(Relaxed),
    );
    m.single(
        "sockwire_handshakes_refused_total",
        "counter",
        "WebSocket handshakes refused.",
        stats.refused_handshakes.load(Relaxed),
    );
    m.single(
        "sockwire_authentication_failures_total",
        "counter",
        "Credentials refused at a handshake, and STOMP CONNECTs refused.",
        stats.auth_failures.load(Relaxed),
    );
    m.single(
        "sockwire_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        format_args!("{}.{:03}", uptime_ms / 1000, uptime_ms % 1000),
    );
    m.out
}

/// The text being written.
#[derive(Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    /// The `# HELP` and `# TYPE` lines of a metric.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample, labelled with a `transport` when given.
    fn sample(&mut self, name: &str, transport: Option<&str>, value: impl Display) {
        let _ = match transport {
            Some(t) => writeln!(self.out, "{name}{{transport=\"{t}\"}} {value}"),
            None => writeln!(self.out, "{name} {value}"),
        };
    }

    /// A metric with one sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, None, value);
    }

    /// A counter with a sample per kind of connection in `kinds`.
    fn per_kind(&mut self, name: &str, help: &str, counters: &[AtomicU64; KINDS], kinds: &[Kind]) {
        self.family(name, "counter", help);
        for &kind in kinds {
            let value = counters.get(kind.index()).map_or(0, |c| c.load(Relaxed));
            self.sample(name, Some(kind.label()), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_appear_under_their_labels() {
        let stats = Stats::default();
        stats.count_read(Kind::StompTcp, 42);
        stats.published.fetch_add(3, Relaxed);
        let text = render(&stats, 7, 1_500);
        assert!(text.contains("sockwire_received_bytes_total{transport=\"stomp_tcp\"} 42\n"));
        assert!(text.contains("sockwire_stomp_messages_published_total 3\n"));
        assert!(text.contains("sockwire_incoming_held_bytes 7\n"));
        assert!(text.contains("sockwire_uptime_seconds 1.500\n"));
        assert!(text.contains("# TYPE sockwire_sessions gauge\n"));
    }
}
