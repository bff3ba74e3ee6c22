//! sockwire-core: sans-IO protocol machines for WebSocket (RFC 6455), SockJS and STOMP.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod buf;
pub mod http;
pub mod stomp;
pub mod time;
pub mod ws;
