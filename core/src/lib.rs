//! sockwire-core: sans-IO protocol machines for WebSocket (RFC 6455), SockJS and STOMP.
//!
//! `#![no_std]`, no allocator, no IO, no clock. Every machine takes bytes from a buffer
//! the caller owns, reports events that borrow it, and writes what it owes the peer into a
//! buffer the caller provides. Time comes in as [`time::Instant`].
//!
//! Every machine follows one [contract](machine): input from the caller's buffer with
//! `now`, a [`Read`](machine::Read) that says what was consumed and whether an event
//! happened, more bytes are needed or the machine is paused; owed output drained with
//! [`poll_transmit`](machine::Machine::poll_transmit); timers through
//! [`poll_timeout`](machine::Machine::poll_timeout) and
//! [`handle_timeout`](machine::Machine::handle_timeout).
//!
//! A server-side WebSocket connection, from the bytes of a client frame to the echo:
//!
//! ```
//! use sockwire_core::machine::{Machine, Status};
//! use sockwire_core::time::Instant;
//! use sockwire_core::ws::{Config, Connection, DataKind, Event, Fragment, Role};
//!
//! let now = Instant(0);
//! let mut conn = Connection::new(Role::Server, Config::default(), 0);
//! // A masked text frame "Hello" as a browser sends it (RFC 6455 §5.7).
//! let mut input = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let mut out = [0u8; 64];
//! let read = conn.read(&mut input, now);
//! assert_eq!(read.consumed, 11);
//! if let Status::Event(Event::Data { kind: DataKind::Text, payload, first: true, fin: true, .. }) = read.status {
//!     assert_eq!(payload, b"Hello"); // unmasked in place, UTF-8 checked
//!     let n = conn.send(now, Fragment::Whole(DataKind::Text), payload, &mut out)?; // the echo
//!     assert_eq!(&out[..n], b"\x81\x05Hello");
//! }
//! // Owed control frames (pongs, close echoes) come out here after every read.
//! assert_eq!(conn.poll_transmit(now, &mut out)?, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - [`machine`]: the contract every machine follows.
//! - [`http`]: HTTP/1.1 heads, parsed in linear time under byte-at-a-time input.
//! - [`ws`]: the opening handshake, the frame codec and the connection machine.
//! - [`stomp`]: the STOMP 1.0/1.1/1.2 frame codec and the client and server sessions.
//! - [`broker`]: destinations, subscriptions and routing for a STOMP message broker.
//! - [`sockjs`]: SockJS 0.3.3 routing, framing, send bodies and sessions.
//! - [`stack`]: the stacks users run, each one machine: STOMP over TCP, WebSocket or
//!   SockJS, SockJS over WebSocket, whole WebSocket messages, the STOMP client on a
//!   carrier, and the broker session that joins a STOMP session to a broker.
//! - [`store`]: the bounded byte stores the stacks queue in (fixed arrays here; growable
//!   ones in a std binding).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod broker;
pub mod buf;
pub mod http;
pub mod machine;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod pair;
pub mod sockjs;
pub mod stack;
pub mod stomp;
pub mod store;
pub mod table;
pub mod time;
pub mod ws;
