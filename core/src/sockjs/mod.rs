//! SockJS 0.3.3: WebSocket emulation over HTTP.
pub mod config;
mod form;
pub mod frame;
pub mod json_escape;
pub mod route;
pub mod transport;

pub use config::Config;
pub use frame::{CloseFrame, Frame};
pub use route::{Route, Router};
pub use transport::{
    callback_from_query, CallbackError, Framing, Transport, ALL_TRANSPORTS, MAX_CALLBACK_LEN,
};
pub mod send_body;
pub use send_body::{BodyEncoding, Messages, SendBody, SendBodyError};
pub mod session;
pub use session::{Attach, Polled, QueueError, SockJsSession};

#[cfg(test)]
mod tests;
