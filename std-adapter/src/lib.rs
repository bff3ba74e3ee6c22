//! sockwire-std: binds the sans-IO core to std sockets.
//!
//! - [`server`]: an event-driven server (one readiness loop per core) with WebSocket
//!   endpoints routed by path.
//! - [`client::WsClient`]: a blocking WebSocket client.
#![warn(missing_docs)]

pub mod auth;
pub mod broker;
pub mod client;
pub mod clock;
pub mod connector;
pub mod http_client;
pub mod message;
pub mod pem;
pub mod pool;
pub mod server;
pub mod sockjs_client;
pub mod stomp;
pub mod store;
pub mod table;
pub mod url;
