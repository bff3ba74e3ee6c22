//! What a client asks its session to build: the options of `SUBSCRIBE`, `SEND`, `ACK` and
//! `NACK` frames.

use super::AckMode;

/// A `SUBSCRIBE` for [`ClientSession::subscribe`](super::ClientSession::subscribe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SubscribeFrame<'a> {
    /// The `destination` header.
    pub destination: &'a str,
    /// The subscription id, unique within the session.
    pub id: &'a str,
    /// The acknowledgement mode.
    pub ack: AckMode,
    /// Further headers (a `selector`, broker-specific options).
    pub headers: &'a [(&'a str, &'a str)],
    /// A receipt to ask for.
    pub receipt: Option<&'a str>,
}

/// A `SEND` for [`ClientSession::send`](super::ClientSession::send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SendFrame<'a> {
    /// The `destination` header.
    pub destination: &'a str,
    /// Further headers (`content-type`, application headers).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body, byte-exact (a `content-length` header is added when it is not empty).
    pub body: &'a [u8],
    /// The transaction it belongs to.
    pub transaction: Option<&'a str>,
    /// A receipt to ask for.
    pub receipt: Option<&'a str>,
}

/// An `ACK` or `NACK` for [`ClientSession::ack`](super::ClientSession::ack) and
/// [`ClientSession::nack`](super::ClientSession::nack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AckFrame<'a> {
    /// What [`ClientEvent::ack_id`](super::ClientEvent::ack_id) gives: the 1.2 `ack`
    /// header, else the `message-id`.
    pub ack_id: &'a str,
    /// The message's subscription (STOMP 1.1 names it).
    pub subscription: &'a str,
    /// The transaction it belongs to.
    pub transaction: Option<&'a str>,
    /// A receipt to ask for.
    pub receipt: Option<&'a str>,
}
