//! The hub: the broker, the map of STOMP sessions to where they live, and the
//! application handler, on the hub worker's thread.
//!
//! A STOMP session's input runs through [`run`]; what the broker delivers to other
//! sessions is written straight into them through [`Route`].

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sockwire_core::broker::{
    AckMode, BrokerConfig, Delivery, DestinationText, Handoff, HeaderLines, Message, SessionId,
    SimpleBroker,
};
use sockwire_core::machine::Status;
use sockwire_core::stack::{
    handoff, AnyCarrier, BrokerSession, CloseReason, DeliverError, SessionEvent, SockJsStomp,
    StompEndpoint, StompStack, APPLICATION_FAILED,
};
use sockwire_core::time::Instant;

use super::app::{Answer, AppHandler, AppMessage, AppSession, AppSubscription, Publish};
use super::config::ServerConfig;
use super::conn::{Conn, Phase};
use super::contain::contain;
use super::sockjs::Registry;
use super::stats::Stats;
use crate::auth::{Admission, Gatekeeper, Principal, Verdict};
use crate::broker::{DurableInFlight, VecStore};
use crate::store::VecBytes;
use crate::table::GrowableStorage;

/// A STOMP session over TCP, WebSocket or SockJS over WebSocket: room for 32
/// subscriptions, 4 open transactions, 128 unacknowledged messages and 8 KiB of
/// transactional frames, in tables that hold only what is in them.
pub type StompConn = BrokerSession<
    StompStack<AnyCarrier<VecBytes>, VecBytes, 32, 4, 128, 8192, GrowableStorage>,
    VecBytes,
>;

/// A STOMP session over SockJS's HTTP transports.
pub type SockJsStompSession =
    BrokerSession<SockJsStomp<VecBytes, 32, 4, 128, 8192, GrowableStorage>, VecBytes>;

/// The publisher of what the server itself sends (a
/// [`Publisher`](super::publisher::Publisher)'s messages): no session has this number.
pub const SERVER: SessionId = SessionId(0);

/// The broker the server runs.
pub type Broker = SimpleBroker<'static, VecStore, DurableInFlight>;

/// Where a STOMP session lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// In the connection at this slot of the hub worker.
    Slot(usize),
    /// In the SockJS session with this key.
    SockJs(String),
}

/// A STOMP session as the hub knows it: where it lives and who it is.
#[derive(Debug, Clone)]
pub struct Seat {
    /// Where it lives.
    pub at: Where,
    /// The client's address.
    pub peer: IpAddr,
    /// What the handshake interceptor established for its request.
    pub admission: Arc<Admission>,
    /// Its authenticated user, once accepted (`None`: anonymous or not yet connected).
    pub principal: Option<Arc<Principal>>,
    /// Its subscriptions (id, destination), for [`Answer::ToSession`].
    pub subscriptions: Vec<(String, String)>,
}

impl Seat {
    /// A session not yet connected, at `at`.
    pub fn new(at: Where, peer: IpAddr, admission: Arc<Admission>) -> Seat {
        Seat {
            at,
            peer,
            admission,
            principal: None,
            subscriptions: Vec::new(),
        }
    }
}

/// The broker side of the server.
pub struct Hub {
    /// The broker.
    pub broker: Broker,
    /// Where each STOMP session lives and who it is.
    pub sessions: HashMap<SessionId, Seat>,
    /// The application's handler of `/app` destinations.
    pub app: Box<dyn AppHandler>,
    /// Numbers the messages the application sends to one session.
    pub next_message: u64,
    /// Connections whose output waits for the journal's next sync.
    pub awaiting_sync: Vec<usize>,
    /// Who sessions are and what they may do.
    pub gatekeeper: Arc<Gatekeeper>,
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

impl Hub {
    /// A hub with the server's prefixes and application handler, and the queue messages
    /// its data directory (if any) holds.
    pub fn new(config: &ServerConfig, gatekeeper: Arc<Gatekeeper>) -> io::Result<Hub> {
        // The broker borrows its prefixes for the life of the server.
        let prefixes = BrokerConfig {
            topic_prefix: leak(&config.prefixes.topic),
            queue_prefix: leak(&config.prefixes.queue),
            app_prefix: leak(&config.prefixes.app),
            user_prefix: leak(&config.prefixes.user),
            separator: config.prefixes.separator,
            limits: config.queue_limits,
            // The guard decides on queue patterns (refused unless a rule or
            // `queue_wildcards` allows them), per user.
            queue_wildcards: true,
        };
        let in_flight = match &config.data_dir {
            Some(dir) => DurableInFlight::open(dir)?,
            None => DurableInFlight::in_memory(),
        };
        Ok(Hub {
            broker: SimpleBroker::recovered(prefixes, VecStore::new(), in_flight),
            sessions: HashMap::new(),
            app: (config.app)(),
            next_message: 0,
            awaiting_sync: Vec::new(),
            gatekeeper,
        })
    }

    /// Whether the journal has records not yet on disk: output must wait for
    /// [`Hub::sync_journal`].
    pub fn journal_dirty(&self) -> bool {
        self.broker.in_flight().is_dirty()
    }

    /// Makes the journal's new records durable; then the output that waited for them
    /// may go (no receipt leaves for a message the disk does not have). Should the disk
    /// fail, the server stops rather than acknowledge what it cannot keep.
    pub fn sync_journal(&mut self) {
        let in_flight = self.broker.in_flight_mut();
        if !in_flight.is_dirty() {
            return;
        }
        if let Err(e) = in_flight.sync() {
            log::error!("queue journal: {e}: stopping, as receipts can no longer be kept");
            std::process::exit(1);
        }
    }
}

/// Where deliveries for sessions other than the one being run go.
pub struct Route<'a> {
    /// Where each session lives and who it is.
    pub sessions: &'a mut HashMap<SessionId, Seat>,
    /// The hub worker's connections (the one being run is out of its slot).
    pub conns: &'a mut [Option<Conn>],
    /// The SockJS sessions (the one being run, if any, is out of the map).
    pub registry: &'a mut Registry,
    /// Connections that got output, to flush.
    pub dirty: &'a mut Vec<usize>,
    /// The counters.
    pub stats: &'a Stats,
    /// The time now.
    pub now: Instant,
    /// Who sessions are and what they may do.
    pub gatekeeper: &'a Gatekeeper,
    /// Numbers the messages the application sends to one session.
    pub next_message: &'a mut u64,
}

impl Route<'_> {
    /// Writes one delivery into the session it is for, and tells the broker whether
    /// the session took it (a queue message it refuses stays in the queue).
    pub fn deliver(&mut self, d: &Delivery<'_>) -> Handoff {
        let result = match self.sessions.get(&d.session).map(|s| &s.at) {
            Some(Where::Slot(slot)) => match self.conns.get_mut(*slot) {
                Some(Some(Conn {
                    phase: Phase::Stomp(s),
                    ..
                })) => {
                    self.dirty.push(*slot);
                    s.deliver(self.now, d)
                }
                _ => return Handoff::Refused,
            },
            Some(Where::SockJs(key)) => match self.registry.stomp_mut(key) {
                Some((s, receiver)) => {
                    self.dirty.extend(receiver);
                    s.deliver(self.now, d)
                }
                None => return Handoff::Refused,
            },
            None => return Handoff::Refused,
        };
        match &result {
            Ok(()) => {
                self.stats.delivered.fetch_add(1, Relaxed);
            }
            Err(DeliverError::SlowConsumer) => {
                log::warn!("session {}: closed as a slow consumer", d.session.0);
                self.stats.count_slow_consumer();
            }
            Err(e) => log::debug!("delivery to session {} refused: {e}", d.session.0),
        }
        handoff(&result)
    }
}

/// Runs a STOMP session's input through the broker until it needs more input, pauses or
/// ends: accepts CONNECTs, hands application messages to the handler and publishes its
/// answers, forgets ended sessions. Returns the bytes consumed and the status that
/// stopped it.
pub fn run<E: StompEndpoint>(
    session: &mut BrokerSession<E, VecBytes>,
    input: &mut [u8],
    broker: &mut Broker,
    app: &mut dyn AppHandler,
    route: &mut Route<'_>,
) -> (usize, Status<()>, Option<CloseReason>) {
    let now = route.now;
    let gate = route.gatekeeper;
    let mut consumed = 0;
    loop {
        let rest = input.get_mut(consumed..).unwrap_or_default();
        let user = session.user().to_string();
        let id = session.id();
        let published = session.published();
        let self_delivered = session.self_delivered();
        let seat = route.sessions.get(&id);
        let principal = seat.and_then(|s| s.principal.clone());
        let admission = seat.map_or_else(|| gate.nobody(), |s| s.admission.clone());
        let peer = seat.map(|s| s.peer);
        let guard = gate.guard(principal.as_deref());
        let mut sink = |d: Delivery<'_>| route.deliver(&d);
        let read = session.read_guarded(rest, now, broker, &guard, &mut sink);
        consumed += read.consumed;
        let me = AppSession {
            id: id.0,
            user: &user,
            attributes: &admission.attributes,
        };
        let (mut verdict, mut answers, mut ended, mut failed) = (None, Vec::new(), None, false);
        let mut answer =
            |f: &mut dyn FnMut() -> Vec<Answer>| match contain("application handler", f) {
                Some(a) => answers = a,
                None => failed = true,
            };
        let status = match read.status {
            Status::Event(SessionEvent::Connect {
                login, passcode, ..
            }) => {
                let peer = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
                verdict = Some(gate.connect(&admission, peer, login, passcode, now));
                Status::Event(())
            }
            Status::Event(SessionEvent::Application {
                destination,
                headers,
                body,
            }) => {
                let message = AppMessage {
                    session: me,
                    destination,
                    headers,
                    body,
                };
                answer(&mut || app.on_message(&message));
                Status::Event(())
            }
            Status::Event(SessionEvent::Subscribed {
                id: sub,
                destination,
                application,
            }) => {
                if let Some(seat) = route.sessions.get_mut(&id) {
                    seat.subscriptions
                        .push((sub.to_string(), destination.to_string()));
                }
                let subscription = AppSubscription {
                    session: me,
                    id: sub,
                    destination,
                };
                answer(&mut || {
                    app.on_subscribed(&subscription);
                    match application {
                        true => app.on_subscribe(&subscription),
                        false => Vec::new(),
                    }
                });
                Status::Event(())
            }
            Status::Event(SessionEvent::Unsubscribed { id: sub }) => {
                if let Some(seat) = route.sessions.get_mut(&id) {
                    seat.subscriptions.retain(|(i, _)| i != sub);
                }
                Status::Event(())
            }
            Status::Event(SessionEvent::Closed(reason)) => {
                ended = Some(reason);
                Status::Closed
            }
            other => other.map(|_| ()),
        };
        let sent = session.published().saturating_sub(published);
        route.stats.published.fetch_add(sent, Relaxed);
        if let Some(verdict) = verdict {
            if accept(session, verdict, route) {
                let user = session.user().to_string();
                let connected = AppSession { user: &user, ..me };
                failed |= contain("application handler", || app.on_connected(&connected)).is_none();
            }
        }
        if failed {
            // The session's ERROR goes out; its next read reports it closed.
            let _ = session.close(now, APPLICATION_FAILED);
        }
        for a in answers {
            match a {
                Answer::Publish(p) => publish(session, broker, route, &p),
                Answer::ToSession(p) => to_session(session, route, &p),
            }
        }
        let own = session.self_delivered().saturating_sub(self_delivered);
        route.stats.delivered.fetch_add(own, Relaxed);
        if ended.is_some() || status != Status::Event(()) {
            return (consumed, status, ended);
        }
    }
}

/// Publishes an application's message through the broker as `session`.
fn publish<E: StompEndpoint>(
    session: &mut BrokerSession<E, VecBytes>,
    broker: &mut Broker,
    route: &mut Route<'_>,
    p: &Publish,
) {
    let message = Message {
        destination: &p.destination,
        headers: HeaderLines::with_escaping(&p.headers, p.escaping),
        body: &p.body,
    };
    let now = route.now;
    let mut sink = |d: Delivery<'_>| route.deliver(&d);
    if let Err(e) = session.publish(now, broker, message, &mut sink) {
        log::debug!("application answer to {} not routed: {e}", p.destination);
    }
}

/// Writes an application's message to `session` alone, once per subscription it holds
/// to exactly `p.destination`.
fn to_session<E: StompEndpoint>(
    session: &mut BrokerSession<E, VecBytes>,
    route: &mut Route<'_>,
    p: &Publish,
) {
    let id = session.id();
    session_deliveries(route, id, p, |route, d| {
        match session.deliver(route.now, d) {
            Ok(()) => {
                route.stats.delivered.fetch_add(1, Relaxed);
            }
            Err(e) => log::debug!("application answer to session {} not sent: {e}", id.0),
        }
    });
}

/// Calls `write` with a delivery of `p` for each subscription the session `id` holds to
/// exactly `p.destination` (none when it is gone).
pub fn session_deliveries(
    route: &mut Route<'_>,
    id: SessionId,
    p: &Publish,
    mut write: impl FnMut(&mut Route<'_>, &Delivery<'_>),
) {
    let subscriptions: Vec<String> = route.sessions.get(&id).map_or_else(Vec::new, |seat| {
        let to = |(_, d): &&(String, String)| *d == p.destination;
        seat.subscriptions
            .iter()
            .filter(to)
            .map(|(s, _)| s.clone())
            .collect()
    });
    for subscription in subscriptions {
        *route.next_message = route.next_message.wrapping_add(1);
        let message_id = format!("app-{}", route.next_message);
        let delivery = Delivery {
            session: id,
            subscription: &subscription,
            message_id: &message_id,
            destination: DestinationText::from_parts([&p.destination, "", "", ""]),
            headers: HeaderLines::with_escaping(&p.headers, p.escaping),
            body: &p.body,
            ack: AckMode::Auto,
            redelivered: false,
            queued: false,
        };
        write(route, &delivery);
    }
}

/// Answers a `CONNECT` as the gatekeeper decided: a user, an anonymous session of its
/// own, or an `ERROR` (and the session ends). Returns whether it was accepted.
fn accept<E: StompEndpoint>(
    session: &mut BrokerSession<E, VecBytes>,
    verdict: Verdict,
    route: &mut Route<'_>,
) -> bool {
    let now = route.now;
    let id = session.id();
    let accepted = match verdict {
        Verdict::User(p) => {
            let ok = session.accept(now, &p.name).is_ok();
            if let Some(seat) = route.sessions.get_mut(&id) {
                seat.principal = Some(p);
            }
            ok
        }
        Verdict::Anonymous => session
            .accept_anonymous(now, &format!("session-{}", id.0))
            .is_ok(),
        Verdict::Refused(why) => {
            log::info!("STOMP session {}: CONNECT refused: {why}", id.0);
            route.stats.auth_failures.fetch_add(1, Relaxed);
            let _ = session.reject(now, why);
            false
        }
    };
    if accepted {
        route.stats.stomp_sessions.fetch_add(1, Relaxed);
    }
    accepted
}

/// A session ended: it no longer receives deliveries.
pub fn forget(
    sessions: &mut HashMap<SessionId, Seat>,
    stats: &Stats,
    id: SessionId,
    connected: bool,
    reason: CloseReason,
) {
    if sessions.remove(&id).is_some() && connected {
        stats.stomp_sessions.fetch_sub(1, Relaxed);
    }
    log::debug!("STOMP session {} ended: {reason:?}", id.0);
}
