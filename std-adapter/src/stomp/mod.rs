//! A blocking STOMP client over TCP or WebSocket, driving the core's
//! [`StompClientStack`](sockwire_core::stack::StompClientStack).

mod client;
mod event;
mod options;
mod transport;

pub use client::StompClient;
pub use event::{StompEvent, StompMessage};
pub use options::StompOptions;
pub use transport::{open, Opened, StompUrl};
