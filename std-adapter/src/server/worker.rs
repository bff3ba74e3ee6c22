//! One event loop: a thread that owns a share of the connections.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use sockwire_core::time::Instant;

use super::config::ServerConfig;
use super::connection::{Next, ServerConnection};
use crate::clock::Clock;

const LISTENER: Token = Token(usize::MAX - 1);
/// The token of the waker that asks a worker to stop.
pub const WAKER: Token = Token(usize::MAX - 2);

/// State shared by the workers of one server.
pub struct Shared {
    /// Set to stop every worker.
    pub stop: AtomicBool,
    /// The server's settings.
    pub config: ServerConfig,
    /// The server's clock.
    pub clock: Clock,
}

/// A worker's event loop and its connections.
pub struct Worker {
    poll: Poll,
    listener: TcpListener,
    shared: Arc<Shared>,
    connections: Vec<Option<ServerConnection>>,
    free: Vec<usize>,
    /// Deadlines by connection; stale entries are skipped when they fire.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    scratch: Vec<u8>,
}

impl Worker {
    /// A worker accepting from its own handle on the shared listening socket.
    pub fn new(poll: Poll, mut listener: TcpListener, shared: Arc<Shared>) -> io::Result<Worker> {
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Worker {
            poll,
            listener,
            shared,
            connections: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            scratch: vec![0; 64 * 1024],
        })
    }

    /// Runs until the server is stopped.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        while !self.shared.stop.load(Ordering::Acquire) {
            let timeout = self
                .timers
                .peek()
                .map(|Reverse((t, _))| self.shared.clock.until(*t));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(slot) => {
                        let now = self.shared.clock.now();
                        self.ready(
                            slot,
                            event.is_readable() || event.is_read_closed(),
                            event.is_writable(),
                            now,
                        )
                    }
                }
            }
            self.fire_timers();
        }
        Ok(())
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let slot = self.free.pop().unwrap_or_else(|| {
                        self.connections.push(None);
                        self.connections.len() - 1
                    });
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(e) =
                        self.poll
                            .registry()
                            .register(&mut stream, Token(slot), interest)
                    {
                        log::warn!("cannot register {peer}: {e}");
                        self.free.push(slot);
                        continue;
                    }
                    let now = self.shared.clock.now();
                    let conn = ServerConnection::new(stream, peer, &self.shared.config, now);
                    self.schedule(slot, conn.deadline());
                    if let Some(entry) = self.connections.get_mut(slot) {
                        *entry = Some(conn);
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

    fn ready(&mut self, slot: usize, readable: bool, writable: bool, now: Instant) {
        let config = &self.shared.config;
        let Some(Some(conn)) = self.connections.get_mut(slot) else {
            return;
        };
        let before = conn.deadline();
        let mut next = Next::Keep;
        if writable {
            next = conn.on_writable(&mut self.scratch, config, now);
        }
        if readable && next == Next::Keep {
            next = conn.on_readable(&mut self.scratch, config, now);
        }
        self.settle(slot, next, before);
    }

    fn fire_timers(&mut self) {
        let now = self.shared.clock.now();
        while let Some(Reverse((deadline, slot))) = self.timers.peek().copied() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            let Some(Some(conn)) = self.connections.get_mut(slot) else {
                continue;
            };
            // Skip entries for deadlines that moved.
            if conn.deadline().is_none_or(|d| d > now) {
                continue;
            }
            let before = conn.deadline();
            let next = conn.on_timeout(now);
            self.settle(slot, next, before);
        }
    }

    /// Drops a finished connection, or re-arms its timer when its deadline changed.
    fn settle(&mut self, slot: usize, next: Next, before: Option<Instant>) {
        let Some(entry) = self.connections.get_mut(slot) else {
            return;
        };
        match next {
            Next::Drop => {
                if let Some(mut conn) = entry.take() {
                    let _ = self.poll.registry().deregister(&mut conn.stream);
                }
                self.free.push(slot);
            }
            Next::Keep => {
                let after = entry.as_ref().and_then(ServerConnection::deadline);
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
