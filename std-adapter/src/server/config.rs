//! Server settings and routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sockwire_core::broker::QueueLimits;
use sockwire_core::http::RequestLimits;
use sockwire_core::sockjs::Config as SockJsConfig;
use sockwire_core::stomp::{Limits, ServerSessionConfig};
use sockwire_core::ws::{CloseCode, Config as WsConfig};

use super::admission::Caps;
use super::app::{AppHandler, DefaultApp};
use super::handler::{EchoHandler, HandlerFactory};
use super::tls::TlsSettings;

/// SockJS settings of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockJsSettings {
    /// Heart-beat interval, ms (25 000).
    pub heartbeat_ms: u64,
    /// How long a session without a receiving request lives, ms (5 000).
    pub disconnect_delay_ms: u64,
    /// Bytes after which a streaming response ends so that the client reconnects (128 KiB).
    pub response_limit: usize,
    /// Whether `/info` says a `JSESSIONID` cookie is needed (for sticky load balancers).
    pub cookie_needed: bool,
    /// The sockjs-client script the iframe page loads.
    pub client_library_url: String,
    /// Whether the `websocket` transport is offered (behind proxies that break
    /// WebSocket, turning it off sends clients straight to the HTTP transports).
    pub websocket_enabled: bool,
}

impl Default for SockJsSettings {
    fn default() -> Self {
        let core = SockJsConfig::DEFAULT;
        SockJsSettings {
            heartbeat_ms: core.heartbeat_ms,
            disconnect_delay_ms: core.disconnect_delay_ms,
            response_limit: core.response_limit,
            cookie_needed: core.cookie_needed,
            client_library_url: core.client_library_url.to_string(),
            websocket_enabled: core.websocket_enabled,
        }
    }
}

impl SockJsSettings {
    /// The core's view of these settings.
    pub fn core(&self) -> SockJsConfig<'_> {
        SockJsConfig {
            heartbeat_ms: self.heartbeat_ms,
            disconnect_delay_ms: self.disconnect_delay_ms,
            response_limit: self.response_limit,
            cookie_needed: self.cookie_needed,
            websocket_enabled: self.websocket_enabled,
            client_library_url: &self.client_library_url,
        }
    }
}

/// What a SockJS endpoint does with messages.
#[derive(Clone)]
pub enum SockJsApp {
    /// Every message comes back to its sender.
    Echo,
    /// Each message carries STOMP bytes for a session of the server's broker.
    Stomp,
    /// An application's handler, the same as on a raw WebSocket endpoint, on every
    /// transport (SockJS messages are text: a binary send fails).
    Handler(super::handler::HandlerFactory),
}

impl std::fmt::Debug for SockJsApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SockJsApp::Echo => "Echo",
            SockJsApp::Stomp => "Stomp",
            SockJsApp::Handler(_) => "Handler",
        })
    }
}

/// An endpoint served at a path.
#[derive(Clone)]
pub enum Endpoint {
    /// A WebSocket endpoint: upgrades requests and hands sessions to a handler.
    WebSocket {
        /// Subprotocols the endpoint speaks, in order of preference.
        subprotocols: Vec<String>,
        /// Creates the handler of each session.
        handler: HandlerFactory,
    },
    /// STOMP over WebSocket (subprotocols `v12.stomp`, `v11.stomp`, `v10.stomp`), served
    /// by the server's broker.
    Stomp,
    /// Counters as JSON, like Spring's `WebSocketMessageBrokerStats`.
    Stats,
    /// Counters in the Prometheus text exposition format (version 0.0.4).
    Metrics,
    /// `200 {"status":"ok"}` while serving, `503` once a graceful shutdown began.
    Health,
    /// The page (at `/`, its script, style sheet and icon at `/page.js`, `/page.css`
    /// and `/favicon.svg`): what the server
    /// offers, a publish/subscribe demo through `/ws` (or SockJS at `/stomp`), and a chart
    /// of `/metrics`.
    Page,
    /// A SockJS service under the path as prefix (`/sockjs/info`, `/sockjs/{server}/
    /// {session}/xhr`, ...).
    SockJs {
        /// What the service does with messages.
        app: SockJsApp,
    },
}

impl Endpoint {
    /// Whether requests to it run on the hub worker.
    pub fn needs_hub(&self) -> bool {
        matches!(self, Endpoint::Stomp | Endpoint::SockJs { .. })
    }
}

impl Endpoint {
    /// The echo endpoint: every message comes back to its sender.
    pub fn echo() -> Endpoint {
        Endpoint::WebSocket {
            subprotocols: Vec::new(),
            handler: Arc::new(|_| Box::new(EchoHandler)),
        }
    }
}

/// Destination prefixes of the broker (Spring's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefixes {
    /// Publish-subscribe destinations.
    pub topic: String,
    /// Point-to-point destinations.
    pub queue: String,
    /// Destinations handled by the application handler.
    pub app: String,
    /// User destinations.
    pub user: String,
    /// Separator of destination segments for wildcards (`/` or `.`).
    pub separator: u8,
}

impl Default for Prefixes {
    fn default() -> Self {
        Prefixes {
            topic: "/topic".into(),
            queue: "/queue".into(),
            app: "/app".into(),
            user: "/user".into(),
            separator: b'/',
        }
    }
}

/// Creates the application handler of a server.
pub type AppFactory = Arc<dyn Fn() -> Box<dyn AppHandler> + Send + Sync>;

/// Everything a server needs to run.
#[derive(Clone)]
pub struct ServerConfig {
    /// Where the HTTP/WebSocket listener binds.
    pub http: SocketAddr,
    /// Worker threads, each with its own event loop; defaults to the number of cores.
    pub workers: usize,
    /// WebSocket limits and timers.
    pub ws: WsConfig,
    /// `Origin`s allowed besides the server's own: exact (`https://app.example`),
    /// patterns (`https://*.example.com`), or `*` for any.
    pub allowed_origins: Vec<String>,
    /// The authorities (`host[:port]`) the server is reached at: an `Origin` naming one of
    /// them is the server's own, whatever `Host` the request carries (a page on a rebound
    /// DNS name is refused). Empty: the listen address, and `localhost` when it is a
    /// loopback one; when listening on every interface or behind trusted proxies with none
    /// given, the request's `Host` (through a trusted proxy, the host it forwarded) is
    /// trusted instead (no defence against DNS rebinding: give the names).
    pub public_names: Vec<String>,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` are believed: behind them, the
    /// client's address (for the SockJS session caps per address, the authentication
    /// attempt limit, logs) is the one they say they forwarded for. Empty: headers are
    /// ignored and the connection's peer is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Longest time a client may take to send its request head.
    pub handshake_timeout: Duration,
    /// Queued output above which a connection stops being read until it drains.
    pub max_write_buffer: usize,
    /// Endpoints by exact path (query excluded).
    pub routes: Vec<(String, Endpoint)>,
    /// Where STOMP over TCP listens, if anywhere.
    pub stomp_tcp: Option<SocketAddr>,
    /// STOMP sessions: versions, heart-beats (10000,10000 by default), frame limits
    /// (bodies of 1 MiB by default). The WebSocket and HTTP limits of the endpoints that
    /// carry STOMP are raised to let a frame with the largest body through
    /// ([`ServerConfig::stomp_ws`], [`ServerConfig::request_limits`]).
    pub stomp: ServerSessionConfig,
    /// The broker's destination prefixes.
    pub prefixes: Prefixes,
    /// Output a STOMP session may have queued before it is closed as a slow consumer.
    pub max_queued_bytes: usize,
    /// How long a STOMP session's output may make no progress before it is closed as a
    /// slow consumer.
    pub send_time_limit: Duration,
    /// Output queued across all connections above which publishers are not read until
    /// it halves (backpressure instead of unbounded memory), and connections that hold
    /// more than `max_queued_bytes` without reading it for a second are dropped.
    pub max_total_queued_bytes: usize,
    /// How much queue messages may wait, per queue and in all; a `SEND` over a limit is
    /// refused with an `ERROR` naming its receipt.
    pub queue_limits: QueueLimits,
    /// Bytes of incoming messages all connections together may hold while they arrive;
    /// a message that does not fit what is left is refused (close 1009).
    pub max_total_incoming_bytes: usize,
    /// Connections held at once, in all and per client address; one over a cap is closed
    /// as soon as it is accepted.
    pub connections: Caps,
    /// SockJS sessions held at once, in all and per client address; a new one over a
    /// cap is answered `c[1013,"Try again later: too many sessions"]`.
    pub sockjs_sessions: Caps,
    /// Who clients are and what they may do: the authenticator, the handshake and
    /// message interceptors, access rules, the attempt limit. By default authentication
    /// is off: every session is an anonymous user of its own (`session-N`), told in
    /// `CONNECTED`'s `user-name`.
    pub security: crate::auth::Security,
    /// Whether clients may subscribe to queues by pattern (`/queue/**`), which takes a
    /// share of every queue's messages; off by default (the SUBSCRIBE gets an ERROR).
    pub queue_wildcards: bool,
    /// Where queue messages are journaled, so that what is not acknowledged survives a
    /// crash or restart; `None`: in memory only. With it, a `SEND` to a `/queue` gets its
    /// `RECEIPT` only once the message is on disk.
    pub data_dir: Option<std::path::PathBuf>,
    /// The handler of messages sent to the application prefix.
    pub app: AppFactory,
    /// SockJS heart-beats, disconnect delay, streaming limit, cookie, client URL.
    pub sockjs: SockJsSettings,
    /// The certificate and key: with them the HTTP listener speaks TLS only (`https://`,
    /// `wss://`), and so does the STOMP listener at `stomp_tls`.
    pub tls: Option<TlsSettings>,
    /// Where STOMP over TLS listens, if anywhere (it needs `tls`).
    pub stomp_tls: Option<SocketAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            // 1 MiB messages: what browsers' applications send, without letting each peer
            // make the server hold the 64 MiB the core allows.
            // Pings after 30 s of silence keep proxies (nginx drops a connection quiet for
            // 60 s) from cutting sessions; a peer silent for 2 minutes, pongs included, is
            // gone and let go.
            ws: WsConfig {
                max_frame_size: 1 << 20,
                max_message_size: 1 << 20,
                ping_interval_ms: Some(30_000),
                idle_timeout_ms: Some(120_000),
                ..WsConfig::default()
            },
            allowed_origins: Vec::new(),
            public_names: Vec::new(),
            trusted_proxies: Vec::new(),
            handshake_timeout: Duration::from_secs(10),
            max_write_buffer: 4 * 1024 * 1024,
            routes: vec![
                ("/echo".to_string(), Endpoint::echo()),
                ("/ws".to_string(), Endpoint::Stomp),
                ("/stats".to_string(), Endpoint::Stats),
                ("/metrics".to_string(), Endpoint::Metrics),
                ("/health".to_string(), Endpoint::Health),
                ("/".to_string(), Endpoint::Page),
                ("/page.js".to_string(), Endpoint::Page),
                ("/page.css".to_string(), Endpoint::Page),
                ("/favicon.svg".to_string(), Endpoint::Page),
                (
                    "/sockjs".to_string(),
                    Endpoint::SockJs {
                        app: SockJsApp::Echo,
                    },
                ),
                (
                    "/stomp".to_string(),
                    Endpoint::SockJs {
                        app: SockJsApp::Stomp,
                    },
                ),
            ],
            stomp_tcp: None,
            // Bodies as large as WebSocket messages, and no larger: what a browser's
            // application sends, without letting each peer hold more.
            stomp: ServerSessionConfig {
                limits: Limits {
                    max_body: 1 << 20,
                    ..Limits::DEFAULT
                },
                ..ServerSessionConfig::default()
            },
            prefixes: Prefixes::default(),
            max_queued_bytes: 512 * 1024,
            send_time_limit: Duration::from_secs(10),
            max_total_queued_bytes: 16 * 1024 * 1024,
            max_total_incoming_bytes: 64 * 1024 * 1024,
            data_dir: None,
            queue_wildcards: false,
            security: crate::auth::Security::default(),
            connections: Caps {
                total: 10_000,
                per_address: 1_000,
            },
            sockjs_sessions: Caps {
                total: 10_000,
                per_address: 1_000,
            },
            queue_limits: QueueLimits {
                messages_per_queue: 100_000,
                bytes_per_queue: 64 * 1024 * 1024,
                held_bytes: 256 * 1024 * 1024,
            },
            app: Arc::new(|| Box::new(DefaultApp)),
            sockjs: SockJsSettings::default(),
            tls: None,
            stomp_tls: None,
        }
    }
}

impl ServerConfig {
    /// [`ServerConfig::public_names`], or the names a server listening at `addr` has.
    pub fn names_at(&self, addr: SocketAddr) -> Vec<String> {
        if !self.public_names.is_empty()
            || addr.ip().is_unspecified()
            || !self.trusted_proxies.is_empty()
        {
            return self.public_names.clone();
        }
        let mut names = vec![addr.to_string()];
        if addr.ip().is_loopback() {
            names.push(format!("localhost:{}", addr.port()));
        }
        names
    }

    /// Limits of the HTTP requests the server reads: bodies of 1 MiB, or what a SockJS
    /// `xhr_send` needs for a STOMP frame with the largest body ([`ServerConfig::stomp`]).
    pub fn request_limits(&self) -> RequestLimits {
        let sockjs = u64::try_from(self.max_sockjs_stomp_message()).unwrap_or(u64::MAX);
        let defaults = RequestLimits::default();
        RequestLimits {
            timeout_ms: millis(self.handshake_timeout),
            max_body: defaults.max_body.max(sockjs),
            ..defaults
        }
    }

    /// The longest STOMP frame a client may send: the body limit and room for the
    /// command and headers.
    pub fn max_stomp_frame(&self) -> usize {
        let limits = &self.stomp.limits;
        let head = limits
            .max_headers
            .saturating_add(2)
            .saturating_mul(limits.max_header_line.saturating_add(2));
        limits.max_body.saturating_add(head)
    }

    /// The longest SockJS message carrying a STOMP frame: the frame quoted in JSON, which
    /// escapes quotes, backslashes and control characters (text rarely grows by half;
    /// a body of control characters grows six-fold and is refused earlier).
    pub fn max_sockjs_stomp_message(&self) -> usize {
        self.max_stomp_frame().saturating_mul(2)
    }

    /// The output a session may hold: [`ServerConfig::max_queued_bytes`], or one
    /// `MESSAGE` with the largest body (quoted for SockJS) if that is more, so that a
    /// message the server accepts from a publisher can reach every subscriber.
    pub fn session_output_limit(&self) -> usize {
        let message = self.max_sockjs_stomp_message().saturating_add(16 * 1024);
        self.max_queued_bytes.max(message)
    }

    /// The WebSocket limits of a connection carrying STOMP: [`ServerConfig::ws`], raised
    /// where needed so that a frame with the largest body fits in one message, as
    /// stomp.js sends it (`sockjs`: in a SockJS message, quoted in JSON).
    pub fn stomp_ws(&self, sockjs: bool) -> WsConfig {
        let needed = if sockjs {
            self.max_sockjs_stomp_message()
        } else {
            self.max_stomp_frame()
        };
        let needed = u64::try_from(needed).unwrap_or(u64::MAX);
        WsConfig {
            max_frame_size: self.ws.max_frame_size.max(needed),
            max_message_size: self.ws.max_message_size.max(needed),
            ..self.ws
        }
    }

    /// The STOMP session settings, with the handshake timeout as the CONNECT deadline.
    pub fn stomp_session(&self) -> ServerSessionConfig {
        ServerSessionConfig {
            connect_timeout_ms: Some(millis(self.handshake_timeout)),
            ..self.stomp
        }
    }

    /// The endpoint serving `target`'s path, if any: an exact path, or a path under a
    /// SockJS prefix.
    pub fn route(&self, target: &str) -> Option<&Endpoint> {
        self.route_entry(target).map(|(_, e)| e)
    }

    /// The path of the endpoint serving `target` (the SockJS prefix).
    pub fn route_prefix(&self, target: &str) -> Option<&str> {
        self.route_entry(target).map(|(p, _)| p.as_str())
    }

    fn route_entry(&self, target: &str) -> Option<&(String, Endpoint)> {
        let path = target.split('?').next().unwrap_or(target);
        self.routes.iter().find(|(p, e)| {
            p == path
                || matches!(e, Endpoint::SockJs { .. })
                    && path
                        .strip_prefix(p.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

/// The reason sessions are given when the server shuts down.
pub const SHUTDOWN: &str = "server shutting down";
/// The WebSocket close code of a shutdown: the server is going away.
pub const SHUTDOWN_CLOSE: CloseCode = CloseCode::GOING_AWAY;
/// The SockJS close code of a shutdown.
pub const SHUTDOWN_SOCKJS: u16 = CloseCode::GOING_AWAY.as_u16();

/// A duration in milliseconds, as the core counts time.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
