//! Application handlers: what happens to messages sent to the application prefix (`/app`).

use sockwire_core::stomp::{Escaping, HeaderLines};

/// A message a client sent to an application destination.
#[derive(Debug)]
pub struct AppMessage<'a> {
    /// The destination, application prefix included (`/app/echo`).
    pub destination: &'a str,
    /// The sender's user name (its authenticated user, or `session-N` for an anonymous
    /// session).
    pub user: &'a str,
    /// The attributes the handshake interceptor attached to the sender's session.
    pub attributes: &'a std::collections::HashMap<String, String>,
    /// The sender's headers.
    pub headers: HeaderLines<'a>,
    /// The body.
    pub body: &'a [u8],
}

/// A message the application publishes through the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// Where it goes (`/topic/...`, `/queue/...`, `/user/{name}/...`).
    pub destination: String,
    /// Header lines (`name:value\n`), escaped under `escaping`.
    pub headers: Vec<u8>,
    /// How `headers` are escaped (STOMP 1.2 rules for headers the application writes).
    pub escaping: Escaping,
    /// The body.
    pub body: Vec<u8>,
}

/// Handles messages sent to application destinations, like a Spring `@MessageMapping`
/// controller. Runs on the broker's thread: keep it short.
pub trait AppHandler: Send {
    /// Answers one message with the messages to publish.
    fn on_message(&mut self, message: &AppMessage<'_>) -> Vec<Publish>;
}

/// The built-in handler: `/app/echo` answers the sender on `/user/queue/echo` (every
/// session of its user), `/app/broadcast` publishes to `/topic/broadcast`.
#[derive(Debug, Default)]
pub struct DefaultApp;

impl AppHandler for DefaultApp {
    fn on_message(&mut self, message: &AppMessage<'_>) -> Vec<Publish> {
        let to = match message.destination {
            "/app/echo" => format!("/user/{}/queue/echo", message.user),
            "/app/broadcast" => "/topic/broadcast".to_string(),
            _ => return Vec::new(),
        };
        vec![Publish {
            destination: to,
            headers: message.headers.as_bytes().to_vec(),
            escaping: message.headers.escaping(),
            body: message.body.to_vec(),
        }]
    }
}
