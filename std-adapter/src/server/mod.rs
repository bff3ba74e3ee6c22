//! An event-driven server: one readiness loop per core, each owning its connections.
//!
//! ```no_run
//! use sockwire_std::server::{Server, ServerConfig};
//! let server = Server::start(ServerConfig::default())?;
//! println!("echo at ws://{}/echo", server.local_addr());
//! server.join();
//! # Ok::<(), std::io::Error>(())
//! ```

mod admission;
mod app;
mod config;
mod conn;
mod contain;
mod ctx;
mod handler;
mod health;
mod http;
mod hub;
mod metrics;
mod page;
mod phase;
mod publisher;
mod router;
mod sockjs;
mod stats;
mod stream;
mod tls;
mod trim;
mod worker;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use mio::{Poll, Waker};

pub use admission::Caps;
pub use app::{Answer, AppHandler, AppMessage, AppSession, AppSubscription, DefaultApp, Publish};
pub use config::{AppFactory, Endpoint, Prefixes, ServerConfig, SockJsApp, SockJsSettings};
pub use handler::{EchoHandler, HandlerFactory, Outbox, SessionInfo, WsHandler};
pub use publisher::{PublishError, Publisher, PUBLISH_QUEUE};
pub use router::{AppRouter, Vars};
pub use stats::HubStats;
pub use tls::{TlsConfigs, TlsSettings};

use crate::clock::Clock;
use crate::pool::BytePool;
use admission::Gate;
use hub::Hub;
use worker::{HubRole, Shared, Worker, WAKER};

/// A nonblocking listener bound to `addr`.
fn listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Shuts a server down from another thread; see [`Server::shutdown`].
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
    wakers: Vec<Arc<Waker>>,
}

impl ShutdownHandle {
    /// Starts the graceful shutdown.
    pub fn shutdown(&self) {
        let stats = &self.shared.stats;
        if !self.shared.draining.swap(true, Ordering::AcqRel) {
            stats
                .open_at_shutdown
                .store(stats.sessions(), Ordering::Relaxed);
        }
        for w in &self.wakers {
            let _ = w.wake();
        }
    }
}

/// A running server.
pub struct Server {
    local_addr: SocketAddr,
    stomp_addr: Option<SocketAddr>,
    stomp_tls_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    wakers: Vec<Arc<Waker>>,
    threads: Vec<JoinHandle<io::Result<()>>>,
    publisher: Publisher,
}

impl Server {
    /// Binds the listener and starts the workers.
    pub fn start(config: ServerConfig) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(config.http)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let mut config = config;
        config.public_names = config.names_at(local_addr);
        if config.public_names.is_empty() {
            log::warn!(
                "no --public-name while listening on every interface or behind --trusted-proxy: \
                 the Origin check trusts the (forwarded) Host (no defence against DNS \
                 rebinding)"
            );
        }
        let tls = config
            .tls
            .clone()
            .map(TlsConfigs::load)
            .transpose()?
            .map(Arc::new);
        if config.stomp_tls.is_some() && tls.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "STOMP over TLS needs a certificate and key",
            ));
        }
        let stomp_listener = config.stomp_tcp.map(listen).transpose()?;
        let stomp_tls_listener = config.stomp_tls.map(listen).transpose()?;
        let stomp_addr = stomp_listener
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()?;
        let stomp_tls_addr = stomp_tls_listener
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()?;
        let workers = config.workers.max(1);
        let hub_poll = Poll::new()?;
        let hub_waker = Arc::new(Waker::new(hub_poll.registry(), WAKER)?);
        let (to_hub, inbox) = std::sync::mpsc::channel();
        let (publisher, published) = Publisher::new(hub_waker.clone(), &config.prefixes.user);
        let gatekeeper = Arc::new(
            crate::auth::Gatekeeper::new(
                &config.security,
                config.prefixes.separator,
                &config.prefixes.queue,
                config.queue_wildcards,
            )
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        );
        let hub = Hub::new(&config, gatekeeper.clone())?;
        let config_incoming = config.max_total_incoming_bytes;
        let config_connections = config.connections;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            config,
            clock: Clock::new(),
            next_session: AtomicU32::new(1),
            to_hub: Mutex::new(to_hub),
            hub_waker: hub_waker.clone(),
            stats: Default::default(),
            incoming: Arc::new(BytePool::new(config_incoming)),
            connections: Gate::new(config_connections),
            tls,
            gatekeeper,
        });
        let mut wakers = vec![hub_waker];
        let mut threads = Vec::new();
        let mut hub = Some(HubRole::new(
            hub,
            [stomp_listener, stomp_tls_listener].map(|l| l.map(mio::net::TcpListener::from_std)),
            inbox,
            published,
            shared.config.sockjs_sessions,
        ));
        let mut hub_poll = Some(hub_poll);
        for i in 0..workers {
            // The first worker runs the hub and is woken through the hub's waker.
            let poll = match hub_poll.take() {
                Some(p) => p,
                None => {
                    let p = Poll::new()?;
                    wakers.push(Arc::new(Waker::new(p.registry(), WAKER)?));
                    p
                }
            };
            let listener = mio::net::TcpListener::from_std(listener.try_clone()?);
            let worker = Worker::new(poll, listener, shared.clone(), hub.take())?;
            let thread = std::thread::Builder::new()
                .name(format!("sockwire-worker-{i}"))
                .spawn(move || worker.run())?;
            threads.push(thread);
        }
        Ok(Server {
            local_addr,
            stomp_addr,
            stomp_tls_addr,
            shared,
            wakers,
            threads,
            publisher,
        })
    }

    /// A handle that sends to the server's STOMP sessions from any thread: to a
    /// destination, to a user or to one session.
    pub fn publisher(&self) -> Publisher {
        self.publisher.clone()
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the STOMP-over-TCP listener, when there is one.
    pub fn stomp_addr(&self) -> Option<SocketAddr> {
        self.stomp_addr
    }

    /// The address of the STOMP-over-TLS listener, when there is one.
    pub fn stomp_tls_addr(&self) -> Option<SocketAddr> {
        self.stomp_tls_addr
    }

    /// The TLS configurations, when the server has a certificate: call
    /// [`TlsConfigs::reload`] on them to serve new connections a renewed certificate.
    pub fn tls(&self) -> Option<Arc<TlsConfigs>> {
        self.shared.tls.clone()
    }

    /// The broker's counters.
    pub fn stats(&self) -> HubStats {
        self.shared.stats.hub()
    }

    /// A handle that can shut the server down from another thread (a signal handler).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
            wakers: self.wakers.clone(),
        }
    }

    /// Shuts down gracefully: stops accepting, answers what sessions already asked for
    /// (a DISCONNECT's receipt included), then closes every STOMP session with an ERROR
    /// and every WebSocket with 1001, never cutting a frame; connections that have not
    /// finished after 5 s are dropped. [`Server::join`] returns when all is done.
    pub fn shutdown(&self) {
        self.shutdown_handle().shutdown();
    }

    /// The statistics as JSON (what `GET /stats` answers).
    pub fn stats_json(&self) -> String {
        self.shared.stats.json(self.shared.incoming.used())
    }

    /// Asks every worker to stop; connections are dropped.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        for w in &self.wakers {
            let _ = w.wake();
        }
    }

    /// Waits for the workers to end; after a graceful shutdown, logs what the server
    /// did (its uptime, the sessions it closed, the messages it carried).
    pub fn join(self) {
        for t in self.threads {
            match t.join() {
                Ok(Err(e)) => log::error!("worker failed: {e}"),
                Err(_) => log::error!("worker panicked"),
                Ok(Ok(())) => {}
            }
        }
        if self.shared.draining.load(Ordering::Acquire) {
            let uptime = self.shared.clock.now().as_millis();
            log::info!("{}", self.shared.stats.summary(uptime));
        }
    }
}
