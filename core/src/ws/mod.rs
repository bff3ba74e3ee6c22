//! WebSocket (RFC 6455): the frame codec and the connection rules, sans-IO.
//!
//! [`Connection`] is the machine: bytes in through [`Connection::read`], [`Event`]s out,
//! owed control frames out through
//! [`Machine::poll_transmit`](crate::machine::Machine::poll_transmit), data out through
//! [`Connection::send`]. [`MessageAssembler`] joins data chunks into whole messages for
//! callers that prefer them.

pub mod close;
pub mod config;
pub mod connection;
pub mod error;
pub mod event;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod message;
pub mod utf8;

pub use close::CloseCode;
pub use config::{Config, Role};
pub use connection::{Connection, Fragment, FrameHead, State};
pub use error::{ProtocolError, SendError};
pub use event::{ControlPayload, DataKind, Event};
pub use frame::{FrameHeader, OpCode};
pub use message::{AssembleError, Message, MessageAssembler};
