//! A blocking STOMP client over TCP or WebSocket, driving the core's
//! [`ClientSession`](sockwire_core::stomp::ClientSession).

mod client;
mod transport;

pub use client::{StompClient, StompEvent, StompMessage, StompOptions};
pub use transport::{StompUrl, Transport};
