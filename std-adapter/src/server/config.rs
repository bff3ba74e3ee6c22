//! Server settings and routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sockwire_core::ws::Config as WsConfig;

use super::handler::{EchoHandler, HandlerFactory};

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

/// Everything a server needs to run.
#[derive(Clone)]
pub struct ServerConfig {
    /// Where the HTTP/WebSocket listener binds.
    pub http: SocketAddr,
    /// Worker threads, each with its own event loop; defaults to the number of cores.
    pub workers: usize,
    /// WebSocket limits and timers.
    pub ws: WsConfig,
    /// Allowed `Origin`s: empty means same-origin only, `*` allows any.
    pub allowed_origins: Vec<String>,
    /// Longest time a client may take to send its request head.
    pub handshake_timeout: Duration,
    /// Queued output above which a connection stops being read until it drains.
    pub max_write_buffer: usize,
    /// Endpoints by exact path (query excluded).
    pub routes: Vec<(String, Endpoint)>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ws: WsConfig::default(),
            allowed_origins: Vec::new(),
            handshake_timeout: Duration::from_secs(10),
            max_write_buffer: 4 * 1024 * 1024,
            routes: vec![("/echo".to_string(), Endpoint::echo())],
        }
    }
}

impl ServerConfig {
    /// The endpoint serving `target`'s path, if any.
    pub fn route(&self, target: &str) -> Option<&Endpoint> {
        let path = target.split('?').next().unwrap_or(target);
        self.routes.iter().find(|(p, _)| p == path).map(|(_, e)| e)
    }
}
