//! Application handlers: what happens to messages sent to the application prefix (`/app`),
//! to subscriptions of application destinations, and when STOMP sessions come and go.

use std::collections::HashMap;

use sockwire_core::stomp::{Escaping, HeaderLines};

/// The STOMP session an application hears from.
#[derive(Debug, Clone, Copy)]
pub struct AppSession<'a> {
    /// The session's number, unique in the server's life.
    pub id: u32,
    /// Its user name (its authenticated user, or `session-N` for an anonymous session).
    pub user: &'a str,
    /// The attributes the handshake interceptor attached to the session.
    pub attributes: &'a HashMap<String, String>,
}

/// A message a client sent to an application destination.
#[derive(Debug)]
pub struct AppMessage<'a> {
    /// The sending session.
    pub session: AppSession<'a>,
    /// The destination, application prefix included (`/app/echo`).
    pub destination: &'a str,
    /// The sender's headers.
    pub headers: HeaderLines<'a>,
    /// The body.
    pub body: &'a [u8],
}

/// A subscription a client made.
#[derive(Debug, Clone, Copy)]
pub struct AppSubscription<'a> {
    /// The subscribing session.
    pub session: AppSession<'a>,
    /// The subscription id.
    pub id: &'a str,
    /// The destination or pattern.
    pub destination: &'a str,
}

/// A message the application sends.
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

impl Publish {
    /// A message without headers of its own.
    pub fn new(destination: impl Into<String>, body: impl Into<Vec<u8>>) -> Publish {
        Publish {
            destination: destination.into(),
            headers: Vec::new(),
            escaping: Escaping::V1_2,
            body: body.into(),
        }
    }
}

/// What the application does with a message or a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Publishes through the broker, as the session that sent or subscribed.
    Publish(Publish),
    /// Sends to the one session that sent or subscribed (as Spring's `@SendToUser`
    /// with `broadcast = false`): a `MESSAGE` to each of its subscriptions whose
    /// destination is exactly `destination` (`/user/queue/reply`, or the
    /// `/app/...` destination just subscribed to, for a `@SubscribeMapping` reply).
    /// Nothing goes out when it holds none.
    ToSession(Publish),
}

/// Handles application destinations, like a Spring `@Controller` with
/// `@MessageMapping` and `@SubscribeMapping` methods, and hears session events. Runs
/// on the broker's thread: keep each call short. A call that panics ends the session
/// it was handling with an `ERROR` (`internal error`); the server goes on.
pub trait AppHandler: Send {
    /// Answers one message sent to an application destination.
    fn on_message(&mut self, message: &AppMessage<'_>) -> Vec<Answer>;

    /// Answers a `SUBSCRIBE` to an application destination (the broker keeps no
    /// subscription for it): typically once, with [`Answer::ToSession`] to the
    /// subscribed destination. Nothing by default.
    fn on_subscribe(&mut self, _subscription: &AppSubscription<'_>) -> Vec<Answer> {
        Vec::new()
    }

    /// A session was accepted (its `CONNECTED` is queued).
    fn on_connected(&mut self, _session: &AppSession<'_>) {}

    /// A session subscribed (to a broker or an application destination).
    fn on_subscribed(&mut self, _subscription: &AppSubscription<'_>) {}

    /// An accepted session ended, however it ended.
    fn on_disconnected(&mut self, _session: &AppSession<'_>) {}
}

/// The built-in handler: `/app/echo` answers the sender on `/user/queue/echo` (every
/// session of its user), `/app/broadcast` publishes to `/topic/broadcast`.
#[derive(Debug, Default)]
pub struct DefaultApp;

impl AppHandler for DefaultApp {
    fn on_message(&mut self, message: &AppMessage<'_>) -> Vec<Answer> {
        let to = match message.destination {
            "/app/echo" => format!("/user/{}/queue/echo", message.session.user),
            "/app/broadcast" => "/topic/broadcast".to_string(),
            _ => return Vec::new(),
        };
        vec![Answer::Publish(Publish {
            destination: to,
            headers: message.headers.as_bytes().to_vec(),
            escaping: message.headers.escaping(),
            body: message.body.to_vec(),
        })]
    }
}
