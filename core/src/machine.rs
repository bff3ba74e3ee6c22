//! The contract every machine in sockwire follows, so that a runtime writes one driver.
//!
//! The machines are the HTTP request reader, the WebSocket [`Connection`], the STOMP
//! client and server sessions, the SockJS session, and the stacks built from them in
//! [`crate::stack`]. Each one:
//!
//! 1. **Takes input from a buffer the caller owns, together with `now`**, and answers with
//!    a [`Read`]: how many bytes it consumed from the front, and a [`Status`]:
//!    - [`Status::Event`]: something happened; one event per call. Drop the consumed bytes
//!      and call again with the rest.
//!    - [`Status::NeedMore`]: everything usable was consumed; the bytes left (if any) are
//!      an incomplete unit. Read more bytes, append them to the rest, and call again.
//!    - [`Status::Paused`]: the machine takes no input until the [`Pause`] is resolved
//!      (its output drained, a decision made). Reading more now would only buffer
//!      without bound: stop reading until then.
//!    - [`Status::Closed`]: the machine has ended; input is consumed and ignored.
//!
//!    Bytes not consumed must be passed again, unchanged, at the front of the next input.
//!    Need-more and paused are never the same value.
//! 2. **Owes output it drains with one call**, [`Machine::poll_transmit`]`(now, out)`,
//!    after every input, local action and timeout: a pong, a close echo, a STOMP
//!    `RECEIPT` or heart-beat, an HTTP error answer. Each call writes at most one unit
//!    into `out` and returns its length; `Ok(None)` when nothing is owed.
//! 3. **Reads no clock**: [`Machine::poll_timeout`] says when it next needs
//!    [`Machine::handle_timeout`]`(now)`; every local action that changes state takes
//!    `now` too.
//! 4. **Ends every failure in one terminal event** (the peer broke a rule, went silent,
//!    or closed) with the protocol's reply (close code, `ERROR` frame, HTTP status)
//!    already queued for `poll_transmit`; afterwards [`Status::Closed`], and
//!    [`Machine::is_closed`] once the reply is out.
//! 5. **Reports one [`BufferTooSmall`] with the size needed** when `out` cannot hold what
//!    is owed; nothing is half-written and nothing is lost: call again with a larger
//!    buffer.
//! 6. **Bounds every queue**: when one fills, its producer is paused ([`Pause::Transmit`])
//!    or that one session ends with the protocol's error. Nothing is dropped silently.
//!
//! Options are passed as structs and enums, not positional booleans.
//!
//! [`Connection`]: crate::ws::Connection
//!
//! A driver, whatever the machine:
//!
//! ```
//! use sockwire_core::machine::{Machine, Status};
//! use sockwire_core::time::Instant;
//! use sockwire_core::ws::{Config, Connection, Event, Role};
//!
//! let mut conn = Connection::new(Role::Server, Config::default(), 0);
//! let now = Instant(0);
//! // What one socket read brought: a masked ping "hi", then half a frame header.
//! let mut input = vec![0x89, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2, 0x81];
//! let mut wire = Vec::new(); // what the driver writes to the socket
//! let mut out = [0u8; 256];
//! loop {
//!     let read = conn.read(&mut input, now);
//!     let consumed = read.consumed;
//!     let go_on = match read.status {
//!         Status::Event(Event::Ping(_)) => true, // the pong is owed: see below
//!         Status::Event(_) => true,
//!         Status::NeedMore => false,  // read the socket again
//!         Status::Paused(_) => false, // stop reading until the output drains
//!         Status::Closed => false,    // close once the output is written
//!     };
//!     input.drain(..consumed);
//!     while let Some(n) = conn.poll_transmit(now, &mut out)? {
//!         wire.extend_from_slice(&out[..n]);
//!     }
//!     if !go_on {
//!         break;
//!     }
//! }
//! assert_eq!(wire, b"\x8a\x02hi"); // the pong
//! assert_eq!(input, [0x81]); // the partial header waits for more bytes
//! # Ok::<(), sockwire_core::buf::BufferTooSmall>(())
//! ```
pub use crate::buf::BufferTooSmall;
use crate::time::Instant;

/// What a call that takes input did: bytes consumed from the front, and what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Read<E> {
    /// Bytes consumed from the front of the input: drop them before the next call.
    pub consumed: usize,
    /// What happened.
    pub status: Status<E>,
}

/// The outcome of a call that takes input; see the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<E> {
    /// Something happened; call again with the rest of the input.
    Event(E),
    /// Everything usable was consumed: read more bytes and call again.
    NeedMore,
    /// No input is taken until the reason is resolved: do not read more until then.
    Paused(Pause),
    /// The machine has ended; input is consumed and ignored.
    Closed,
}

/// The [`Status`] without its event, to compare or log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StatusKind {
    /// [`Status::Event`].
    Event,
    /// [`Status::NeedMore`].
    NeedMore,
    /// [`Status::Paused`] with its reason.
    Paused(Pause),
    /// [`Status::Closed`].
    Closed,
}

/// Why a machine takes no input for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Pause {
    /// Owed output fills a bounded queue: drain [`Machine::poll_transmit`] first.
    Transmit,
    /// The application must decide first (accept or reject a STOMP `CONNECT`).
    Decision,
}

impl<E> Read<E> {
    /// An event, after consuming `consumed` bytes.
    pub const fn event(consumed: usize, event: E) -> Self {
        Read {
            consumed,
            status: Status::Event(event),
        }
    }

    /// Need-more, after consuming `consumed` bytes.
    pub const fn need_more(consumed: usize) -> Self {
        Read {
            consumed,
            status: Status::NeedMore,
        }
    }

    /// Paused for `why`, after consuming `consumed` bytes.
    pub const fn paused(consumed: usize, why: Pause) -> Self {
        Read {
            consumed,
            status: Status::Paused(why),
        }
    }

    /// Closed, after consuming (and ignoring) `consumed` bytes.
    pub const fn closed(consumed: usize) -> Self {
        Read {
            consumed,
            status: Status::Closed,
        }
    }

    /// The same outcome with the event mapped.
    pub fn map<F, T>(self, f: F) -> Read<T>
    where
        F: FnOnce(E) -> T,
    {
        Read {
            consumed: self.consumed,
            status: self.status.map(f),
        }
    }
}

impl<E> Status<E> {
    /// The same status with the event mapped.
    pub fn map<F, T>(self, f: F) -> Status<T>
    where
        F: FnOnce(E) -> T,
    {
        match self {
            Status::Event(e) => Status::Event(f(e)),
            Status::NeedMore => Status::NeedMore,
            Status::Paused(p) => Status::Paused(p),
            Status::Closed => Status::Closed,
        }
    }

    /// The status without its event.
    pub const fn kind(&self) -> StatusKind {
        match self {
            Status::Event(_) => StatusKind::Event,
            Status::NeedMore => StatusKind::NeedMore,
            Status::Paused(p) => StatusKind::Paused(*p),
            Status::Closed => StatusKind::Closed,
        }
    }

    /// The event, if there is one.
    pub fn event(self) -> Option<E> {
        match self {
            Status::Event(e) => Some(e),
            _ => None,
        }
    }
}

/// The output and timer half of the contract, the same for every machine.
///
/// Input is read by each machine's own `read`, whose events differ; everything else a
/// driver needs is here, so that one loop (write what `poll_transmit` gives, sleep until
/// `poll_timeout`, call `handle_timeout`, close the transport once `is_closed`) serves
/// every machine.
pub trait Machine {
    /// What the passage of time can do to the peer (a heart-beat or close timeout).
    type TimeoutEvent;

    /// Writes the next unit of owed output into `out` and returns its length;
    /// `Ok(None)` when nothing is owed. Nothing is written on `Err`, and the unit stays
    /// owed.
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall>;

    /// When [`Machine::handle_timeout`] must next be called; `None` when no timer runs.
    fn poll_timeout(&self) -> Option<Instant>;

    /// Runs the timers due at `now`. `Some` is a terminal event: the session ended
    /// because of time (its reply, if any, is queued for [`Machine::poll_transmit`]).
    fn handle_timeout(&mut self, now: Instant) -> Option<Self::TimeoutEvent>;

    /// Whether the machine is done and its last output was drained: close the transport.
    fn is_closed(&self) -> bool;
}
