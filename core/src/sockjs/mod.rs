//! SockJS 0.3.3: WebSocket emulation over HTTP, sans-IO.
//!
//! The pieces, in the order a server uses them:
//!
//! - [`Router`] turns a method and target into a [`Route`] (greeting, `/info`, iframe
//!   page, session URL with its [`Transport`], raw WebSocket, preflight, 404, 405).
//! - [`response`] writes the answers: [`write_info_response`], [`write_iframe_response`]
//!   (ETag and 304), [`write_preflight`], [`write_transport_head`] with CORS, no-cache and
//!   the `JSESSIONID` cookie, [`write_send_accepted`] and [`write_server_error`].
//! - [`SockJsSession`] is the session: [`attach_receiver`](SockJsSession::attach_receiver)
//!   when a receiving request arrives,
//!   [`poll_transmit`](crate::machine::Machine::poll_transmit) for the frames it owes
//!   (`o`, `a[...]`, `h`, `c[...]`) wrapped for the receiver's transport,
//!   [`handle_timeout`](crate::machine::Machine::handle_timeout) for heart-beats and the
//!   disconnect delay.
//! - [`SendBody`] checks and decodes what clients send (`xhr_send`, `jsonp_send`,
//!   `websocket` messages) into caller buffers.
//! - For clients, [`ReceivedFrame`] checks what a server sent and [`next_line_frame`]
//!   finds frame ends in `xhr` and `xhr_streaming` bodies.
//!
//! An `xhr` session, from the polling request to the echo of a sent message:
//!
//! ```
//! use sockwire_core::machine::Machine;
//! use sockwire_core::sockjs::*;
//! use sockwire_core::store::FixedBytes;
//! use sockwire_core::time::Instant;
//!
//! let config = Config::default();
//! let router = Router::new("/echo", config.websocket_enabled);
//! let Route::Session { transport, .. } = router.route("POST", "/echo/000/abc/xhr") else {
//!     panic!("a session URL");
//! };
//! let mut session = SockJsSession::new(&config, FixedBytes::<4096>::new(), Instant(0));
//! let mut head = [0u8; 512];
//! let mut out = [0u8; 512];
//!
//! // The receiving request: a head, then the open frame; polling ends the response.
//! assert_eq!(session.attach_receiver(Instant(0), transport, ""), Attach::Opened);
//! let n = session.poll_transmit(Instant(0), &mut out)?.unwrap();
//! let ctx = RequestContext::default();
//! write_transport_head(transport, &config, &ctx, BodyLength::Fixed(n as u64), &mut head)?;
//! assert_eq!(&out[..n], b"o\n");
//!
//! // xhr_send: the body's messages go to the application, which echoes them.
//! let body = SendBody::parse(br#"["hi"]"#, BodyEncoding::Json)?;
//! let mut messages = body.messages();
//! let mut buf = [0u8; 64];
//! while let Some(message) = messages.next_into(&mut buf) {
//!     session.send(Instant(3), message?)?;
//! }
//! write_send_accepted(Transport::XhrSend, &config, &ctx, &mut head)?;
//!
//! // The next poll gets the queued message.
//! assert_eq!(session.attach_receiver(Instant(5), transport, ""), Attach::Resumed);
//! let n = session.poll_transmit(Instant(5), &mut out)?.unwrap();
//! assert_eq!(&out[..n], b"a[\"hi\"]\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
pub mod config;
mod form;
pub mod frame;
pub mod iframe;
pub mod info;
pub mod json_escape;
mod received;
mod receiver;
pub mod response;
pub mod route;
pub mod send_body;
mod service;
pub mod session;
pub mod transport;

pub use config::Config;
pub use frame::{CloseFrame, Frame};
pub use iframe::IframePage;
pub use info::write_info;
pub use received::{next_line_frame, ReceivedFrame, ReceivedFrameError};
pub use receiver::{Progress, ReceiverResponse, Receiving, MAX_KEPT_HEADER};
pub use response::{
    write_greeting, write_iframe_response, write_info_response, write_method_not_allowed,
    write_not_found, write_preflight, write_send_accepted, write_server_error,
    write_transport_head, BodyLength, RequestContext,
};
pub use route::{Route, Router};
pub use send_body::{BodyEncoding, Messages, SendBody, SendBodyError};
pub use service::{answer, Answer, Callback, Service};
pub use session::{Attach, Expired, QueueError, SendWithError, SockJsSession};
pub use transport::{
    callback_from_query, CallbackError, Framing, Transport, ALL_TRANSPORTS, MAX_CALLBACK_LEN,
};

#[cfg(test)]
mod tests;
