//! `sockwire serve`: the server with its embedded defaults, tuned by flags or a file.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use std::sync::Arc;

use clap::Args;
use sockwire_core::stomp::HeartBeat;
use sockwire_std::auth::{AttemptLimit, Security, UsersFile};
use sockwire_std::server::{Server, ServerConfig, TlsSettings};

/// The server's settings; any flag may also come from `--config FILE`.
#[derive(Args)]
pub struct ServeArgs {
    /// Where HTTP, WebSocket and SockJS clients connect (HOST:PORT).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = address)]
    http: SocketAddr,
    /// Where STOMP over TCP listens (HOST:PORT).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:61613", value_parser = address)]
    stomp_tcp: SocketAddr,
    /// Serves no STOMP over TCP.
    #[arg(long)]
    no_stomp_tcp: bool,
    /// Worker threads, each with its own event loop [default: the number of cores].
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// A browser origin allowed to connect (repeat for more; `*` allows any)
    /// [default: same origin only].
    #[arg(long = "origin", value_name = "ORIGIN")]
    origins: Vec<String>,
    /// A name the server is reached at, HOST or HOST:PORT (repeat for more): an Origin naming
    /// one is the server's own, and a page on any other name is refused (DNS rebinding)
    /// [default: the --http address, and localhost on loopback].
    #[arg(long = "public-name", value_name = "HOST[:PORT]")]
    public_names: Vec<String>,
    /// A proxy (IP address) whose Forwarded / X-Forwarded-For headers name the client
    /// (repeat for more) [default: none, the headers are ignored].
    #[arg(long = "trusted-proxy", value_name = "IP")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// The largest WebSocket message accepted, in bytes [default: 1 MiB].
    #[arg(long, value_name = "BYTES")]
    max_message: Option<u64>,
    /// The largest WebSocket frame accepted, in bytes [default: 1 MiB].
    #[arg(long, value_name = "BYTES")]
    max_frame: Option<u64>,
    /// Milliseconds of silence after which a WebSocket peer is pinged (keeps proxies that
    /// drop quiet connections from cutting it); 0 for never [default: 30000].
    #[arg(long, value_name = "MS")]
    ws_ping_interval: Option<u64>,
    /// Milliseconds of silence (pongs included) after which a WebSocket peer is closed
    /// with 1001; 0 for never [default: 120000].
    #[arg(long, value_name = "MS")]
    ws_idle_timeout: Option<u64>,
    /// The largest STOMP frame body accepted, in bytes; a larger one gets an ERROR naming
    /// the limit. WebSocket and HTTP limits of the STOMP endpoints grow to fit it
    /// [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    max_stomp_body: Option<usize>,
    /// STOMP heart-beats the server offers, in milliseconds [default: 10000,10000].
    #[arg(long, value_name = "CX,CY", value_parser = heart_beat)]
    heart_beat: Option<HeartBeat>,
    /// Prefix of publish-subscribe destinations [default: /topic].
    #[arg(long, value_name = "P")]
    topic_prefix: Option<String>,
    /// Prefix of point-to-point destinations [default: /queue].
    #[arg(long, value_name = "P")]
    queue_prefix: Option<String>,
    /// Prefix of destinations handled by the application [default: /app].
    #[arg(long, value_name = "P")]
    app_prefix: Option<String>,
    /// Prefix of user destinations [default: /user].
    #[arg(long, value_name = "P")]
    user_prefix: Option<String>,
    /// Separator of destination segments for wildcards [default: /].
    #[arg(long, value_name = "C", value_parser = ["/", "."])]
    separator: Option<String>,
    /// Output queued per STOMP session before it is closed as a slow consumer, in bytes
    /// [default: 524288].
    #[arg(long, value_name = "BYTES")]
    max_queued: Option<usize>,
    /// How long a session's output may make no progress before it is closed, in
    /// milliseconds [default: 10000].
    #[arg(long, value_name = "MS")]
    send_time_limit: Option<u64>,
    /// Output queued server-wide above which publishers wait and peers that do not read
    /// their share are dropped, in bytes [default: 16 MiB].
    #[arg(long, value_name = "BYTES")]
    max_total_queued: Option<usize>,
    /// Bytes of incoming messages all connections together may hold while they arrive;
    /// a message over what is left is refused with close 1009 [default: 64 MiB].
    #[arg(long, value_name = "BYTES")]
    max_total_incoming: Option<usize>,
    /// Messages one queue may have waiting before a SEND to it is refused
    /// [default: 100000].
    #[arg(long, value_name = "N")]
    max_queue_messages: Option<usize>,
    /// Bytes one queue may have waiting before a SEND to it is refused
    /// [default: 64 MiB].
    #[arg(long, value_name = "BYTES")]
    max_queue_bytes: Option<usize>,
    /// Bytes all queues may hold (waiting or unacknowledged) before a SEND to any is
    /// refused [default: 256 MiB].
    #[arg(long, value_name = "BYTES")]
    max_held_bytes: Option<usize>,
    /// Connections held at once; more are closed as soon as accepted [default: 10000].
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Connections held at once from one client address [default: 1000].
    #[arg(long, value_name = "N")]
    max_connections_per_address: Option<usize>,
    /// SockJS sessions held at once; a new one over it is refused [default: 10000].
    #[arg(long, value_name = "N")]
    max_sockjs_sessions: Option<usize>,
    /// SockJS sessions held at once for one client address [default: 1000].
    #[arg(long, value_name = "N")]
    max_sockjs_sessions_per_address: Option<usize>,
    /// Authenticates clients against the users in FILE (TOML, entries written by
    /// `sockwire passwd`): HTTP Basic at the handshake or login/passcode at CONNECT
    /// [default: authentication is off, every session is an anonymous user of its own].
    #[arg(long, value_name = "FILE")]
    users: Option<std::path::PathBuf>,
    /// With --users: accepts a CONNECT without a login as an anonymous session
    /// [default: refused with an ERROR].
    #[arg(long, requires = "users")]
    allow_anonymous: bool,
    /// Lets a CONNECT's login header name its user, unchecked (development only: any
    /// client may then be anyone) [default: every session is an anonymous user of its
    /// own].
    #[arg(long, conflicts_with = "users")]
    trust_login: bool,
    /// Authentication attempts (CONNECT logins, handshakes with credentials) one client
    /// address may make at once; they come back at the same number a minute
    /// [default: 30].
    #[arg(long, value_name = "N")]
    max_auth_attempts: Option<u32>,
    /// Lets clients subscribe to queues by pattern (/queue/**), taking a share of every
    /// queue's messages [default: refused with an ERROR].
    #[arg(long)]
    allow_queue_wildcards: bool,
    /// Journals queue messages in DIR: what is not acknowledged survives a crash or a
    /// restart, and a SEND to a /queue gets its RECEIPT once the message is on disk
    /// [default: in memory only].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// PEM file of the certificate chain: the HTTP listener then serves https:// and
    /// wss:// only (SIGHUP reads the files again for new connections).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// PEM file of the certificate's private key.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Where STOMP over TLS listens (HOST:PORT) [default: nowhere]; needs --tls-cert.
    #[arg(long, value_name = "ADDR", value_parser = address, requires = "tls_cert")]
    stomp_tls: Option<SocketAddr>,
    /// Reads settings from FILE first (TOML): keys are the flags' names (`http =
    /// "127.0.0.1:9000"`, `no-stomp-tcp = true`), `[[access]]` tables are access rules.
    /// Flags on the command line win.
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
}

/// `HOST:PORT`, the host a name or an address.
fn address(text: &str) -> Result<SocketAddr, String> {
    let mut addrs = text
        .to_socket_addrs()
        .map_err(|e| format!("expected HOST:PORT ({e})"))?;
    addrs
        .next()
        .ok_or_else(|| format!("{text} resolves to no address"))
}

fn heart_beat(text: &str) -> Result<HeartBeat, String> {
    HeartBeat::parse(text.as_bytes())
        .map_err(|_| "expected CX,CY in milliseconds, like 10000,10000".to_string())
}

impl ServeArgs {
    /// The server configuration these settings make, from the defaults.
    fn config(self) -> Result<ServerConfig, String> {
        let mut security = Security {
            trust_login: self.trust_login,
            allow_anonymous: self.allow_anonymous,
            ..Security::default()
        };
        if let Some(path) = &self.users {
            let users = UsersFile::load(path)?;
            log::info!(
                "authentication is on: {} users from {}",
                users.len(),
                path.display()
            );
            security.authenticator = Some(Arc::new(users));
        }
        if let Some(path) = &self.config {
            security.access = super::config_file::access_rules(path)?;
        }
        if let Some(n) = self.max_auth_attempts {
            security.attempts = AttemptLimit {
                burst: n,
                per_minute: n,
            };
        }
        let mut config = ServerConfig {
            http: self.http,
            stomp_tcp: (!self.no_stomp_tcp).then_some(self.stomp_tcp),
            allowed_origins: self.origins,
            public_names: self.public_names,
            trusted_proxies: self.trusted_proxies,
            data_dir: self.data_dir,
            queue_wildcards: self.allow_queue_wildcards,
            security,
            tls: self
                .tls_cert
                .zip(self.tls_key)
                .map(|(cert, key)| TlsSettings { cert, key }),
            stomp_tls: self.stomp_tls,
            ..ServerConfig::default()
        };
        if let Some(n) = self.workers {
            config.workers = n;
        }
        if let Some(n) = self.max_message {
            config.ws.max_message_size = n;
        }
        if let Some(n) = self.max_frame {
            config.ws.max_frame_size = n;
        }
        for (flag, setting) in [
            (self.ws_ping_interval, &mut config.ws.ping_interval_ms),
            (self.ws_idle_timeout, &mut config.ws.idle_timeout_ms),
        ] {
            if let Some(ms) = flag {
                *setting = (ms > 0).then_some(ms);
            }
        }
        if let Some(n) = self.max_stomp_body {
            config.stomp.limits.max_body = n;
        }
        if let Some(hb) = self.heart_beat {
            config.stomp.heart_beat = hb;
        }
        let prefixes = &mut config.prefixes;
        for (flag, prefix) in [
            (self.topic_prefix, &mut prefixes.topic),
            (self.queue_prefix, &mut prefixes.queue),
            (self.app_prefix, &mut prefixes.app),
            (self.user_prefix, &mut prefixes.user),
        ] {
            if let Some(p) = flag {
                *prefix = p;
            }
        }
        if let Some(s) = self.separator.and_then(|s| s.bytes().next()) {
            prefixes.separator = s;
        }
        if let Some(n) = self.max_queued {
            config.max_queued_bytes = n;
        }
        if let Some(ms) = self.send_time_limit {
            config.send_time_limit = Duration::from_millis(ms);
        }
        if let Some(n) = self.max_total_queued {
            config.max_total_queued_bytes = n;
        }
        if let Some(n) = self.max_total_incoming {
            config.max_total_incoming_bytes = n;
        }
        let limits = &mut config.queue_limits;
        let caps = (&mut config.connections, &mut config.sockjs_sessions);
        for (flag, limit) in [
            (self.max_queue_messages, &mut limits.messages_per_queue),
            (self.max_queue_bytes, &mut limits.bytes_per_queue),
            (self.max_held_bytes, &mut limits.held_bytes),
            (self.max_connections, &mut caps.0.total),
            (self.max_connections_per_address, &mut caps.0.per_address),
            (self.max_sockjs_sessions, &mut caps.1.total),
            (
                self.max_sockjs_sessions_per_address,
                &mut caps.1.per_address,
            ),
        ] {
            if let Some(n) = flag {
                *limit = n;
            }
        }
        Ok(config)
    }
}

/// Starts the server, announces what it serves and runs until SIGINT or SIGTERM; SIGHUP
/// reloads the TLS certificate.
pub fn run(args: ServeArgs) -> Result<(), String> {
    // Signals are caught before the server says anything, so that a SIGTERM sent as soon
    // as it has logged a line (or is reachable) still shuts it down gracefully.
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ])
    .map_err(|e| format!("cannot handle signals: {e}"))?;
    let config = args.config()?;
    let http = config.http;
    let security = &config.security;
    if security.trust_login {
        log::warn!(
            "--trust-login: a CONNECT's login names its user unchecked; any client may be anyone"
        );
    } else if security.authenticator.is_some() {
        if security.allow_anonymous {
            log::info!("a CONNECT without a login is an anonymous session (--allow-anonymous)");
        }
    } else {
        log::info!(
            "authentication is off: every STOMP session is an anonymous user of its own \
             (the login header is ignored)"
        );
    }
    let server = Server::start(config).map_err(|e| format!("cannot serve on {http}: {e}"))?;
    let addr = server.local_addr();
    let (ws, web) = if server.tls().is_some() {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    log::info!("serving WebSocket echo at {ws}://{addr}/echo");
    log::info!("serving STOMP over WebSocket at {ws}://{addr}/ws");
    log::info!("serving STOMP over SockJS at {web}://{addr}/stomp");
    log::info!("serving SockJS echo at {web}://{addr}/sockjs");
    log::info!("serving statistics at {web}://{addr}/stats");
    log::info!("serving Prometheus metrics at {web}://{addr}/metrics, health at /health");
    if let Some(addr) = server.stomp_addr() {
        log::info!("serving STOMP over TCP at stomp://{addr}");
    }
    if let Some(addr) = server.stomp_tls_addr() {
        log::info!("serving STOMP over TLS at stomp+ssl://{addr}");
    }
    let handle = server.shutdown_handle();
    let tls = server.tls();
    std::thread::spawn(move || {
        let mut stopping = false;
        for signal in signals.forever() {
            if signal == signal_hook::consts::SIGHUP {
                match tls.as_ref().map(|t| t.reload()) {
                    Some(Ok(())) => log::info!("SIGHUP: TLS certificate reloaded"),
                    Some(Err(e)) => {
                        log::error!("SIGHUP: TLS reload failed, the certificate in use stays: {e}")
                    }
                    None => log::info!("SIGHUP: no TLS certificate to reload"),
                }
            } else if stopping {
                std::process::exit(130);
            } else {
                stopping = true;
                log::info!("shutting down: closing sessions (a second signal exits at once)");
                handle.shutdown();
            }
        }
    });
    server.join();
    Ok(())
}
