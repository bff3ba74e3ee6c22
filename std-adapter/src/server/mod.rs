//! An event-driven server: one readiness loop per core, each owning its connections.
//!
//! ```no_run
//! use sockwire_std::server::{Server, ServerConfig};
//! let server = Server::start(ServerConfig::default())?;
//! println!("echo at ws://{}/echo", server.local_addr());
//! server.join();
//! # Ok::<(), std::io::Error>(())
//! ```

mod config;
mod connection;
mod handler;
mod worker;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::{Poll, Waker};

pub use config::{Endpoint, ServerConfig};
pub use handler::{EchoHandler, HandlerFactory, Outbox, SessionInfo, WsHandler};

use crate::clock::Clock;
use worker::{Shared, Worker, WAKER};

/// A running server.
pub struct Server {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    wakers: Vec<Waker>,
    threads: Vec<JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Binds the listener and starts the workers.
    pub fn start(config: ServerConfig) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(config.http)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let workers = config.workers.max(1);
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            config,
            clock: Clock::new(),
        });
        let mut wakers = Vec::new();
        let mut threads = Vec::new();
        for i in 0..workers {
            let poll = Poll::new()?;
            wakers.push(Waker::new(poll.registry(), WAKER)?);
            let worker = Worker::new(
                poll,
                mio::net::TcpListener::from_std(listener.try_clone()?),
                shared.clone(),
            )?;
            let thread = std::thread::Builder::new()
                .name(format!("sockwire-worker-{i}"))
                .spawn(move || worker.run())?;
            threads.push(thread);
        }
        Ok(Server {
            local_addr,
            shared,
            wakers,
            threads,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Asks every worker to stop; connections are dropped.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        for w in &self.wakers {
            let _ = w.wake();
        }
    }

    /// Waits for the workers to end.
    pub fn join(self) {
        for t in self.threads {
            match t.join() {
                Ok(Err(e)) => log::error!("worker failed: {e}"),
                Err(_) => log::error!("worker panicked"),
                Ok(Ok(())) => {}
            }
        }
    }
}
