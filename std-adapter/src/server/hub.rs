//! The hub: the broker and the registry of STOMP sessions, on the hub worker's thread.
//!
//! Sessions report [`Action`]s; the hub applies them to the core's [`SimpleBroker`] and
//! writes each resulting delivery into the receiving session's connection directly, with
//! no lock and no copy of the body per subscriber beyond its MESSAGE frame.

use std::collections::HashMap;

use sockwire_core::broker::{
    Broker, BrokerConfig, Delivery, HeaderLines, Message, Routed, SessionId, SimpleBroker,
    Subscribe,
};
use sockwire_core::time::Instant;

use super::app::{AppHandler, AppMessage, Publish};
use super::config::ServerConfig;
use super::connection::ServerConnection;
use super::sockjs::Registry;
use super::stomp::{Action, Outgoing};
use crate::broker::{VecInFlight, VecStore};

/// Counters in the spirit of Spring's `WebSocketMessageBrokerStats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HubStats {
    /// STOMP sessions connected now.
    pub sessions: usize,
    /// Messages published (SEND frames routed).
    pub published: u64,
    /// MESSAGE frames written to sessions.
    pub delivered: u64,
    /// Sessions closed because they did not keep up.
    pub closed_for_slowness: u64,
}

/// The broker side of the server.
pub struct Hub {
    broker: SimpleBroker<'static, VecStore, VecInFlight>,
    sessions: HashMap<SessionId, (Target, String)>,
    app: Box<dyn AppHandler>,
    stats: HubStats,
}

/// Where a STOMP session's frames go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The connection in this slot of the hub worker (TCP or WebSocket).
    Connection(usize),
    /// The SockJS session with this key (HTTP transports).
    SockJs(String),
}

/// What the hub writes deliveries into.
pub struct Outputs<'a> {
    /// The hub worker's connections.
    pub conns: &'a mut [Option<ServerConnection>],
    /// The SockJS sessions.
    pub sockjs: &'a mut Registry,
    /// Connections that got output.
    pub dirty: &'a mut Vec<usize>,
}

impl Outputs<'_> {
    fn deliver(&mut self, target: &Target, message: Outgoing<'_>, now: Instant) -> bool {
        let woken = match target {
            Target::Connection(slot) => match self.conns.get_mut(*slot) {
                Some(Some(conn)) => conn.deliver(message, now).ok().map(|_| *slot),
                _ => None,
            },
            Target::SockJs(key) => match self.sockjs.deliver(key, message, now) {
                Ok(receiver) => {
                    if let Some(r) = receiver {
                        self.dirty.push(r);
                    }
                    return true;
                }
                Err(_) => None,
            },
        };
        woken.map(|slot| self.dirty.push(slot)).is_some()
    }

    fn refuse(&mut self, target: &Target, message: &str, now: Instant) {
        match target {
            Target::Connection(slot) => {
                if let Some(Some(conn)) = self.conns.get_mut(*slot) {
                    conn.refuse(message, now);
                    self.dirty.push(*slot);
                }
            }
            Target::SockJs(key) => {
                if let Some(r) = self.sockjs.refuse(key, message, now) {
                    self.dirty.push(r);
                }
            }
        }
    }
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

impl Hub {
    /// A hub with the server's prefixes and application handler.
    pub fn new(config: &ServerConfig) -> Hub {
        // The broker borrows its prefixes for the life of the server.
        let prefixes = BrokerConfig {
            topic_prefix: leak(&config.prefixes.topic),
            queue_prefix: leak(&config.prefixes.queue),
            app_prefix: leak(&config.prefixes.app),
            user_prefix: leak(&config.prefixes.user),
            separator: config.prefixes.separator,
        };
        Hub {
            broker: SimpleBroker::new(prefixes, VecStore::new(), VecInFlight::new()),
            sessions: HashMap::new(),
            app: (config.app)(),
            stats: HubStats::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> HubStats {
        HubStats {
            sessions: self.sessions.len(),
            ..self.stats
        }
    }

    /// Applies what the session at `slot` asked for. Connections that got output are
    /// added to `dirty`.
    pub fn apply(
        &mut self,
        (target, id): (Target, SessionId),
        actions: &mut Vec<Action>,
        out: &mut Outputs<'_>,
        now: Instant,
    ) {
        for action in actions.drain(..) {
            self.apply_one(&target, id, action, out, now);
        }
    }

    /// Counts a session closed for not keeping up.
    pub fn count_slow_consumer(&mut self) {
        self.stats.closed_for_slowness += 1;
    }

    fn apply_one(
        &mut self,
        target: &Target,
        id: SessionId,
        action: Action,
        out: &mut Outputs<'_>,
        now: Instant,
    ) {
        let Hub {
            broker,
            sessions,
            app,
            stats,
        } = self;
        let mut sink = |d: Delivery<'_>| {
            let Some((to, _)) = sessions.get(&d.session) else {
                return;
            };
            let message = Outgoing {
                subscription: d.subscription.as_bytes(),
                message_id: d.message_id.as_bytes(),
                destination: d.destination,
                headers: d.headers,
                body: d.body,
            };
            if out.deliver(to, message, now) {
                stats.delivered += 1;
            } else {
                log::debug!("delivery to session {} refused", d.session.0);
            }
        };
        let refused = match action {
            Action::Connected { user } => {
                let user = user.unwrap_or_else(|| format!("session-{}", id.0));
                sessions.insert(id, (target.clone(), user));
                None
            }
            Action::Subscribe {
                id: sub,
                destination,
                ack,
                selector,
            } => {
                let user = sessions.get(&id).map(|(_, u)| u.as_str());
                let request = Subscribe {
                    session: id,
                    id: &sub,
                    destination: &destination,
                    ack,
                    selector: selector.as_deref(),
                    user,
                };
                broker.subscribe(request, &mut sink).err()
            }
            Action::Unsubscribe { id: sub } => broker.unsubscribe(id, &sub, &mut sink).err(),
            Action::Publish {
                destination,
                headers,
                escaping,
                body,
            } => {
                stats.published += 1;
                let headers = HeaderLines::with_escaping(&headers, escaping);
                let message = Message {
                    destination: &destination,
                    headers,
                    body: &body,
                };
                match broker.publish(id, message, &mut sink) {
                    Ok(Routed::Application) => {
                        let user = sessions
                            .get(&id)
                            .map(|(_, u)| u.clone())
                            .unwrap_or_default();
                        let replies = app.on_message(&AppMessage {
                            destination: &destination,
                            user: &user,
                            headers,
                            body: &body,
                        });
                        publish_all(broker, id, replies, &mut sink);
                        None
                    }
                    Ok(_) => None,
                    Err(e) => Some(e),
                }
            }
            Action::Ack { message_id } => {
                // Auto and topic messages are not held: nothing to settle.
                let _ = broker.ack(id, &message_id);
                None
            }
            Action::Nack { message_id } => {
                let _ = broker.nack(id, &message_id, &mut sink);
                None
            }
            Action::Gone => {
                broker.disconnect(id, &mut sink);
                sessions.remove(&id);
                None
            }
        };
        if let Some(e) = refused {
            out.refuse(target, e.message(), now);
        }
    }
}

/// Publishes what the application handler returned, as if its sender had sent it.
fn publish_all(
    broker: &mut SimpleBroker<'static, VecStore, VecInFlight>,
    from: SessionId,
    replies: Vec<Publish>,
    sink: &mut dyn FnMut(Delivery<'_>),
) {
    for p in replies {
        let message = Message {
            destination: &p.destination,
            headers: HeaderLines::with_escaping(&p.headers, p.escaping),
            body: &p.body,
        };
        if let Err(e) = broker.publish(from, message, sink) {
            log::debug!("application reply to {} not routed: {e}", p.destination);
        }
    }
}
