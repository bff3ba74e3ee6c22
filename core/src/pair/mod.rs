//! A deterministic two-peer harness: a client machine wired to a server machine over
//! in-memory byte pipes, with a virtual clock. Compiled for tests and fuzzers only.
//!
//! Modelled on quinn-proto's `tests/util.rs` `Pair` and h11's `ConnectionPair`:
//!
//! - [`Pair::step`]: each side drains [`Machine::poll_transmit`] into its [`Link`], bytes
//!   that are due arrive, and each side reads what arrived (in the pieces its link's
//!   [`Cut`] says), every event going to the side's log and optional hook, its owed
//!   output drained after every event;
//! - [`Pair::drive`]: steps until neither side has anything left to do at this instant
//!   (bounded: a pair that never settles fails the test);
//! - [`Pair::advance`] and [`Pair::advance_to_next_timeout`]: move the virtual clock,
//!   stopping at every deadline on the way to call [`Machine::handle_timeout`] on both sides
//!   at the instant it is due, then drive.
//!
//! Each direction is a [`Link`]: open, [dropping](Flow::Drop) everything (a silent peer),
//! or [holding](Flow::Hold) bytes until it opens again, with an optional delay, cut into
//! small pieces on arrival. Nothing is reordered: TCP is ordered.
//!
//! The harness checks the [machine contract](crate::machine) as it goes: no read
//! consumes more than it was given, [`Status::Closed`] consumes everything,
//! `poll_transmit` never writes an empty unit and asks for a larger buffer only when it
//! needs one, no event follows a terminal one, [`Machine::is_closed`] is final, handled
//! deadlines move on, and every byte written is dropped, in flight, waiting or consumed.
//!
//! The machines are wrapped in [`Peer`] adapters that own their events (events borrow
//! the machine or its input otherwise): [`StompClient`] and [`StompServer`] (STOMP over
//! a byte stream, or any [`StompStack`](crate::stack::StompStack)), [`WsPeer`] (a bare
//! WebSocket [`Connection`](crate::ws::Connection)), [`StompWsClient`] (STOMP over a
//! client WebSocket), [`MessagesServer`], [`SockJsWsServer`] and [`SockJsWsClient`]
//! (SockJS over WebSocket), [`SockJsHttp`] and [`SockJsReceiver`] (a SockJS session on
//! HTTP transports, against a scripted receiver) and [`BrokerPeer`] (broker sessions on
//! one shared [`SimpleBroker`](crate::broker::SimpleBroker)); [`RawPeer`] writes arbitrary
//! bytes (a fuzzer's) at a machine and keeps what comes back. Each adapter is itself a
//! [`Machine`]; what its builder methods encode into caller buffers waits in an
//! [`Outbox`] ahead of the machine's own output.
//!
//! ```text
//! let mut pair = Pair::new(StompClient::new(), StompServer::new(session));
//! pair.client_mut().connect(Instant(0), beats)?;    // local actions queue their frames
//! pair.drive();                                      // both sides, until idle
//! pair.link(Dir::ToClient).flow = Flow::Drop;        // a silent server
//! pair.advance(10_000);                              // every timer at its instant
//! assert_eq!(pair.client_log()[0].at, Instant(1500)); // HeartbeatLost, exactly
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test harness: it asserts the contract and fails loudly"
)]

extern crate std;

/// Implements [`Machine`] for an adapter around the machine in field `$field`: the
/// units waiting in the [`Outbox`] `$outbox` (if named) go out first, the timers are the
/// machine's, and its timer events become `$event` through `Into`. Generic parameters
/// follow `for`: `machine_of!(for [S: ByteStore] MessagesServer<S>, machine, MessageRecord)`.
macro_rules! machine_of {
    (for [$($generics:tt)*] $adapter:ty, $field:ident, $event:ty $(, $outbox:ident)?) => {
        impl<$($generics)*> crate::machine::Machine for $adapter {
            type TimeoutEvent = $event;

            fn poll_transmit(
                &mut self,
                now: crate::time::Instant,
                out: &mut [u8],
            ) -> Result<Option<usize>, crate::buf::BufferTooSmall> {
                $(
                    if let Some(written) = self.$outbox.pop(out) {
                        return written.map(Some);
                    }
                )?
                crate::machine::Machine::poll_transmit(&mut self.$field, now, out)
            }

            fn poll_timeout(&self) -> Option<crate::time::Instant> {
                crate::machine::Machine::poll_timeout(&self.$field)
            }

            fn handle_timeout(&mut self, now: crate::time::Instant) -> Option<$event> {
                crate::machine::Machine::handle_timeout(&mut self.$field, now).map(Into::into)
            }

            fn is_closed(&self) -> bool {
                crate::machine::Machine::is_closed(&self.$field) $(&& self.$outbox.is_empty())?
            }
        }
    };
    ($adapter:ty, $field:ident, $event:ty $(, $outbox:ident)?) => {
        machine_of!(for [] $adapter, $field, $event $(, $outbox)?);
    };
}

mod broker;
mod link;
mod outbox;
mod raw;
mod sockjs;
mod sockjs_stomp;
mod stomp;
mod ws;

#[cfg(test)]
mod tests;

pub use broker::{drive_all, BrokerHub, BrokerPeer, BrokerRecord, OwnedDelivery, SharedHub};
pub use link::{Cut, Flow, Link};
pub use outbox::Outbox;
pub use raw::RawPeer;
pub use sockjs::{
    json_array, parse_sockjs_frame, sockjs_stores, HttpClient, HttpServer, SockJsFrame, SockJsHttp,
    SockJsHttpRecord, SockJsReceiver, SockJsWsClient, SockJsWsRecord, SockJsWsServer,
    SockJsWsServerRecord,
};
pub use sockjs_stomp::{SockJsStompHttp, StompSockJsClient};
pub use stomp::{ClientRecord, Decide, ServerRecord, ServerSide, StompClient, StompServer};
pub use stomp::{StompClientOps, StompWsClient, WsChunking};
pub use ws::{MessageRecord, MessagesServer, WsPeer, WsRecord};

use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Pause, Read, Status};
use crate::time::Instant;
use core::fmt::Debug;
use std::boxed::Box;
use std::vec;
use std::vec::Vec;

/// The most steps [`Pair::drive`] takes before it decides the pair never settles.
pub const MAX_STEPS: usize = 10_000;

/// The most units one `poll_transmit` drain or reads one receive may take.
const MAX_UNITS: usize = 100_000;

/// A machine as the harness drives it: the [machine contract](crate::machine), its
/// events owned so that they can be logged. Its reads report the same type as its
/// timers ([`Event`]).
pub trait Peer: Machine<TimeoutEvent: Debug + Clone> {
    /// Consumes bytes from the front of `input` and reports at most one event.
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<Event<Self>>;

    /// Whether `event` ends the machine: nothing may follow it.
    fn is_terminal(event: &Event<Self>) -> bool;
}

/// The events of peer `P`, read or timed.
pub type Event<P> = <P as Machine>::TimeoutEvent;

/// What produced a logged event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// [`Peer::read`].
    Read,
    /// [`Machine::handle_timeout`].
    Timer,
}

/// An event in a side's log: when, from what, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged<E> {
    /// The virtual instant it was reported at.
    pub at: Instant,
    /// Read or timer.
    pub cause: Cause,
    /// The event.
    pub event: E,
}

/// Called with every event a side reports, to act on it as an application would.
pub type Hook<P> = Box<dyn FnMut(&mut P, &Event<P>, Instant)>;

/// One side of a [`Pair`]: its peer, its log, and what the harness knows of it.
struct End<P: Peer> {
    peer: P,
    log: Vec<Logged<Event<P>>>,
    hook: Option<Hook<P>>,
    /// A terminal event was reported.
    ended: bool,
    /// `is_closed` was true once.
    was_closed: bool,
    /// The machine may have more to say: new bytes, or its last read was an event or a
    /// pause, or the test acted on it.
    needs_read: bool,
}

impl<P: Peer> End<P> {
    fn new(peer: P) -> Self {
        End {
            peer,
            log: Vec::new(),
            hook: None,
            ended: false,
            was_closed: false,
            needs_read: true,
        }
    }

    fn record(&mut self, now: Instant, cause: Cause, event: Event<P>) {
        assert!(
            !self.ended,
            "{event:?} reported after a terminal event (log: {:?})",
            self.log
        );
        self.ended = P::is_terminal(&event);
        if let Some(hook) = self.hook.as_mut() {
            hook(&mut self.peer, &event, now);
        }
        self.log.push(Logged {
            at: now,
            cause,
            event,
        });
        self.needs_read = true;
    }

    fn check_closed(&mut self, who: &str) {
        let closed = self.peer.is_closed();
        assert!(closed || !self.was_closed, "{who}: is_closed is final");
        self.was_closed = closed;
    }
}

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// A client peer wired to a server peer, with a virtual clock; see the
/// [module documentation](self).
pub struct Pair<C: Peer, S: Peer> {
    client: End<C>,
    server: End<S>,
    to_server: Link,
    to_client: Link,
    now: Instant,
}

impl<C: Peer, S: Peer> Pair<C, S> {
    /// `client` and `server` over open links, at instant 0.
    pub fn new(client: C, server: S) -> Self {
        Pair {
            client: End::new(client),
            server: End::new(server),
            to_server: Link::default(),
            to_client: Link::default(),
            now: Instant(0),
        }
    }

    /// The virtual instant.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The client.
    pub fn client(&self) -> &C {
        &self.client.peer
    }

    /// The client, to act on it (what it owes goes out at the next step).
    pub fn client_mut(&mut self) -> &mut C {
        self.client.needs_read = true;
        &mut self.client.peer
    }

    /// The server.
    pub fn server(&self) -> &S {
        &self.server.peer
    }

    /// The server, to act on it (what it owes goes out at the next step).
    pub fn server_mut(&mut self) -> &mut S {
        self.server.needs_read = true;
        &mut self.server.peer
    }

    /// The link bytes take in direction `dir`, to read or change its options.
    pub fn link(&mut self, dir: Dir) -> &mut Link {
        match dir {
            Dir::ToServer => &mut self.to_server,
            Dir::ToClient => &mut self.to_client,
        }
    }

    /// Calls `hook` with every event the client reports from now on.
    pub fn on_client(&mut self, hook: impl FnMut(&mut C, &Event<C>, Instant) + 'static) {
        self.client.hook = Some(Box::new(hook));
    }

    /// Calls `hook` with every event the server reports from now on.
    pub fn on_server(&mut self, hook: impl FnMut(&mut S, &Event<S>, Instant) + 'static) {
        self.server.hook = Some(Box::new(hook));
    }

    /// Everything the client reported, oldest first.
    pub fn client_log(&self) -> &[Logged<Event<C>>] {
        &self.client.log
    }

    /// Everything the server reported, oldest first.
    pub fn server_log(&self) -> &[Logged<Event<S>>] {
        &self.server.log
    }

    /// The client's events, oldest first.
    pub fn client_events(&self) -> Vec<Event<C>> {
        self.client.log.iter().map(|l| l.event.clone()).collect()
    }

    /// The server's events, oldest first.
    pub fn server_events(&self) -> Vec<Event<S>> {
        self.server.log.iter().map(|l| l.event.clone()).collect()
    }

    /// Takes the client's log, leaving it empty.
    pub fn take_client_events(&mut self) -> Vec<Event<C>> {
        core::mem::take(&mut self.client.log)
            .into_iter()
            .map(|l| l.event)
            .collect()
    }

    /// Takes the server's log, leaving it empty.
    pub fn take_server_events(&mut self) -> Vec<Event<S>> {
        core::mem::take(&mut self.server.log)
            .into_iter()
            .map(|l| l.event)
            .collect()
    }

    /// Whether the client reported a terminal event.
    pub fn client_ended(&self) -> bool {
        self.client.ended
    }

    /// Whether the server reported a terminal event.
    pub fn server_ended(&self) -> bool {
        self.server.ended
    }

    /// One round: both sides transmit, due bytes arrive, both sides read. Whether
    /// anything happened.
    pub fn step(&mut self) -> bool {
        let now = self.now;
        let mut progress = false;
        progress |= transmit(&mut self.client.peer, &mut self.to_server, now);
        progress |= transmit(&mut self.server.peer, &mut self.to_client, now);
        progress |= self.to_server.arrive(now);
        progress |= self.to_client.arrive(now);
        progress |= receive(
            &mut self.server,
            &mut self.to_server,
            &mut self.to_client,
            now,
        );
        progress |= receive(
            &mut self.client,
            &mut self.to_client,
            &mut self.to_server,
            now,
        );
        self.check();
        progress
    }

    /// Steps until nothing happens any more at this instant; the number of steps that
    /// did something. Fails after [`MAX_STEPS`].
    pub fn drive(&mut self) -> usize {
        for done in 0..MAX_STEPS {
            if !self.step() {
                return done;
            }
        }
        panic!("the pair did not settle within {MAX_STEPS} steps");
    }

    /// The earliest instant something is due: a timer of either side, or bytes in
    /// flight on an open link.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.client.peer.poll_timeout(),
            self.server.peer.poll_timeout(),
            self.to_server.next_arrival(),
            self.to_client.next_arrival(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs the timers of both sides at the current instant.
    fn fire(&mut self) {
        let now = self.now;
        if let Some(ev) = self.client.peer.handle_timeout(now) {
            self.client.record(now, Cause::Timer, ev);
        }
        if let Some(ev) = self.server.peer.handle_timeout(now) {
            self.server.record(now, Cause::Timer, ev);
        }
        self.check();
    }

    /// Moves the clock `ms` forward, stopping at every deadline on the way (timers run
    /// at the instant they are due, then the pair is driven), and runs the timers once
    /// more at the end.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now.add_millis(ms);
        self.drive();
        let mut stops = 0usize;
        while let Some(t) = self.next_deadline().filter(|t| *t <= target) {
            stops += 1;
            assert!(
                stops < MAX_UNITS,
                "a deadline at {t:?} does not move on (now {:?})",
                self.now
            );
            self.now = self.now.max(t);
            self.fire();
            self.drive();
        }
        self.now = target;
        self.fire();
        self.drive();
    }

    /// Moves the clock to the next deadline (if any), runs the timers and drives; the
    /// new instant.
    pub fn advance_to_next_timeout(&mut self) -> Option<Instant> {
        self.drive();
        let t = self.next_deadline()?;
        self.now = self.now.max(t);
        self.fire();
        self.drive();
        Some(self.now)
    }

    /// Checks what holds after every step.
    fn check(&mut self) {
        self.client.check_closed("client");
        self.server.check_closed("server");
        self.to_server.check_conserved();
        self.to_client.check_conserved();
    }
}

/// Drains `peer`'s owed output into `link`; whether anything was written.
fn transmit<P: Peer>(peer: &mut P, link: &mut Link, now: Instant) -> bool {
    if !link.writable {
        return false;
    }
    let cap = link.out_cap;
    let mut buf = vec![0u8; cap];
    let mut any = false;
    for _ in 0..MAX_UNITS {
        match peer.poll_transmit(now, &mut buf) {
            Ok(Some(n)) => {
                assert!(n > 0, "poll_transmit wrote an empty unit");
                assert!(n <= buf.len(), "poll_transmit wrote past its buffer");
                link.write(now, &buf[..n]);
                any = true;
                buf.resize(cap, 0);
            }
            Ok(None) => return any,
            Err(BufferTooSmall { needed }) => {
                assert!(
                    needed > buf.len(),
                    "BufferTooSmall needs {needed} with {} given",
                    buf.len()
                );
                buf.resize(needed, 0);
            }
        }
    }
    panic!("poll_transmit never ran dry");
}

/// Lets `end` read what arrived on `inbound`, its output going to `outbound` after every
/// event; whether anything happened.
fn receive<P: Peer>(
    end: &mut End<P>,
    inbound: &mut Link,
    outbound: &mut Link,
    now: Instant,
) -> bool {
    let mut progress = false;
    if inbound.expose() {
        end.needs_read = true;
    }
    if !end.needs_read {
        return false;
    }
    let mut stuck = false;
    for _ in 0..MAX_UNITS {
        let given = inbound.exposed;
        let read = end.peer.read(&mut inbound.inbox[..given], now);
        let consumed = read.consumed;
        assert!(
            consumed <= given,
            "read consumed {consumed} of {given} bytes"
        );
        inbound.consume(consumed);
        progress |= consumed > 0;
        match read.status {
            Status::Event(ev) => {
                stuck = false;
                progress = true;
                end.record(now, Cause::Read, ev);
                transmit(&mut end.peer, outbound, now);
            }
            Status::NeedMore => {
                if !inbound.expose() {
                    end.needs_read = false;
                    return progress;
                }
            }
            Status::Paused(Pause::Decision) => {
                // The application decides (a hook or the test), then reads again.
                end.needs_read = true;
                return progress;
            }
            Status::Paused(Pause::Transmit) => {
                let sent = transmit(&mut end.peer, outbound, now);
                if !sent && consumed == 0 {
                    if stuck {
                        // Paused until the peer reads: wait for the next step.
                        return progress;
                    }
                    stuck = true;
                }
                progress |= sent;
            }
            Status::Closed => {
                assert_eq!(consumed, given, "Closed consumes everything it is given");
                if !inbound.expose_all() {
                    end.needs_read = false;
                    return progress;
                }
            }
        }
    }
    panic!("read never settled (log: {:?})", end.log);
}
