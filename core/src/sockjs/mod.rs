//! SockJS 0.3.3: WebSocket emulation over HTTP.
pub mod config;
mod form;
pub mod frame;
pub mod iframe;
pub mod info;
pub mod json_escape;
pub mod response;
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
pub use iframe::IframePage;
pub use info::write_info;
pub use response::{
    write_greeting, write_iframe_response, write_info_response, write_method_not_allowed,
    write_not_found, write_preflight, write_send_accepted, write_server_error,
    write_transport_head, BodyLength, RequestContext,
};
