//! A blocking STOMP client over TCP or WebSocket, driving the core's
//! [`StompClientStack`](sockwire_core::stack::StompClientStack).

mod client;
mod transport;

pub use client::{StompClient, StompEvent, StompMessage, StompOptions};
pub use transport::{open, Opened, StompUrl};
