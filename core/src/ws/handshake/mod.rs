//! The WebSocket opening handshake (RFC 6455 §4), for servers and clients.
//!
//! Server side: a [`ServerHandshake`] finds the end of the request head in the bytes read
//! so far, the caller parses it with [`Request::parse`](crate::http::Request::parse) into a
//! header array it owns, may route on [`Request::target`](crate::http::Request), then calls
//! [`accept`] with a [`ServerConfig`]. The answer is an [`Accepted`] (write the 101 with
//! [`Accepted::write_response`]) or a [`Rejection`] (write the error with
//! [`Rejection::write_response`]). Bytes after the head already belong to the WebSocket
//! connection.
//!
//! Client side: a [`ClientHandshake`] built from 16 random bytes writes the request
//! ([`ClientHandshake::write_request`]), finds the end of the response head
//! ([`ClientHandshake::feed`]) and checks the parsed response
//! ([`ClientHandshake::validate`]).
//!
//! Extensions (`Sec-WebSocket-Extensions`) are not negotiated yet: the server accepts none
//! and the client offers none and refuses any in the response. [`Extensions`] is where
//! permessage-deflate (RFC 7692) will plug in.

mod accept;
mod client;
mod extensions;
mod origin;
mod server;

#[cfg(test)]
mod round_trip;

pub use accept::{accept_key, decode_key, GUID};
pub use client::{ClientHandshake, ClientHandshakeError, ClientRequest, Negotiated};
pub use extensions::Extensions;
pub use origin::AllowedOrigins;
pub use server::{accept, Accepted, RejectReason, Rejection, ServerConfig, ServerHandshake};
