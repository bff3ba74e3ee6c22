//! What a [`StompClient`](super::StompClient) hands over: owned copies of the session's
//! events.

use sockwire_core::stomp::{ClientEvent, HeaderText};

/// A message delivered to a subscription, copied out of the session's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StompMessage {
    /// `subscription` header.
    pub subscription: Option<String>,
    /// `message-id` header.
    pub message_id: String,
    /// `destination` header.
    pub destination: String,
    /// The id to pass to [`StompClient::ack`](super::StompClient::ack)/[`StompClient::nack`](super::StompClient::nack).
    pub ack_id: String,
    /// Every header, unescaped, in wire order.
    pub headers: Vec<(String, String)>,
    /// The body, byte-exact.
    pub body: Vec<u8>,
}

impl StompMessage {
    /// The first header called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StompEvent {
    /// A `MESSAGE`.
    Message(StompMessage),
    /// A `RECEIPT` the client asked for.
    Receipt(String),
    /// An `ERROR`; the session is over.
    Error {
        /// `message` header.
        message: Option<String>,
        /// `receipt-id` header.
        receipt_id: Option<String>,
        /// The body.
        body: Vec<u8>,
    },
    /// The server stopped heart-beating.
    HeartbeatLost,
}

pub(super) fn text(h: HeaderText<'_>) -> String {
    String::from_utf8_lossy(&h.bytes().collect::<Vec<u8>>()).into_owned()
}

pub(super) fn owned(event: ClientEvent<'_>) -> Option<StompEvent> {
    Some(match event {
        ClientEvent::Connected { .. } => return None,
        ClientEvent::Message {
            subscription,
            message_id,
            destination,
            ack,
            frame,
            body,
        } => StompEvent::Message(StompMessage {
            subscription: subscription.map(text),
            message_id: text(message_id),
            destination: text(destination),
            ack_id: text(ack.unwrap_or(message_id)),
            headers: frame.headers().map(|(n, v)| (text(n), text(v))).collect(),
            body: body.to_vec(),
        }),
        ClientEvent::Receipt { id } => StompEvent::Receipt(text(id)),
        ClientEvent::Error {
            message,
            receipt_id,
            body,
        } => StompEvent::Error {
            message: message.map(text),
            receipt_id: receipt_id.map(text),
            body: body.to_vec(),
        },
        ClientEvent::HeartbeatLost => StompEvent::HeartbeatLost,
        ClientEvent::Failed(_) => return None,
    })
}
