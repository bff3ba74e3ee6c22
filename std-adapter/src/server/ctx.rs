//! What the worker lends a connection while it runs it: the time, the settings, and on
//! the hub worker the broker side and the other connections.

use sockwire_core::broker::{Broker as _, Delivery, HeaderLines, Message, SessionId};
use sockwire_core::stack::{BrokerSession, CloseReason, StompEndpoint};
use sockwire_core::time::Instant;

use super::app::{AppHandler, AppSession};
use super::config::ServerConfig;
use super::conn::Conn;
use super::hub::{self, Broker, Hub, Route};
use super::publisher::Outgoing;
use super::sockjs::Registry;
use super::stats::Stats;
use crate::store::VecBytes;

/// What the worker gives a connection while it runs.
pub struct Ctx<'a> {
    /// The time now.
    pub now: Instant,
    /// The server's settings.
    pub config: &'a ServerConfig,
    /// The counters.
    pub stats: &'a Stats,
    /// Set once a graceful shutdown began.
    pub draining: &'a std::sync::atomic::AtomicBool,
    /// What every connection's incoming messages draw from.
    pub incoming: &'a std::sync::Arc<crate::pool::BytePool>,
    /// Who clients are and what they may do.
    pub gatekeeper: &'a crate::auth::Gatekeeper,
    /// Numbers STOMP sessions across workers.
    pub next_session: &'a std::sync::atomic::AtomicU32,
    /// This connection's slot.
    pub slot: usize,
    /// The hub, on the hub worker.
    pub hub: Option<HubCtx<'a>>,
}

/// The hub worker's shared state, lent to the connection it runs.
pub struct HubCtx<'a> {
    /// The broker side.
    pub hub: &'a mut Hub,
    /// The SockJS sessions.
    pub registry: &'a mut Registry,
    /// The other connections of the worker.
    pub conns: &'a mut [Option<Conn>],
    /// Connections that got output.
    pub dirty: &'a mut Vec<usize>,
}

impl HubCtx<'_> {
    /// Runs `f` with the broker, the application handler, and where deliveries for
    /// other sessions go at `now`.
    pub fn with_route<R>(
        &mut self,
        stats: &Stats,
        now: Instant,
        f: impl FnOnce(&mut Broker, &mut dyn AppHandler, &mut Route<'_>) -> R,
    ) -> R {
        let Hub {
            broker,
            sessions,
            app,
            gatekeeper,
            next_message,
            ..
        } = &mut *self.hub;
        let mut route = Route {
            sessions,
            conns: &mut *self.conns,
            registry: &mut *self.registry,
            dirty: &mut *self.dirty,
            stats,
            now,
            gatekeeper,
            next_message,
        };
        f(broker, app.as_mut(), &mut route)
    }

    /// Sends what a [`Publisher`](super::publisher::Publisher) queued, as the server.
    pub fn publish(&mut self, outgoing: Outgoing, stats: &Stats, now: Instant) {
        self.with_route(stats, now, |broker, _, route| match outgoing {
            Outgoing::Publish(p) => {
                let message = Message {
                    destination: &p.destination,
                    headers: HeaderLines::with_escaping(&p.headers, p.escaping),
                    body: &p.body,
                };
                let mut sink = |d: Delivery<'_>| route.deliver(&d);
                if let Err(e) = broker.publish(hub::SERVER, message, &mut sink) {
                    log::debug!("server message to {} not routed: {e}", p.destination);
                }
            }
            Outgoing::ToSession(id, p) => {
                hub::session_deliveries(route, SessionId(id), &p, |route, d| {
                    route.deliver(d);
                });
            }
        });
    }

    /// A STOMP session that refused queue messages for want of room has written what it
    /// had: the waiting messages are offered again.
    pub fn resume<E: StompEndpoint>(
        &mut self,
        session: &mut BrokerSession<E, VecBytes>,
        stats: &Stats,
        now: Instant,
    ) {
        let before = session.self_delivered();
        self.with_route(stats, now, |broker, _, route| {
            let mut sink = |d: Delivery<'_>| route.deliver(&d);
            session.resume(now, broker, &mut sink);
        });
        let own = session.self_delivered().saturating_sub(before);
        stats
            .delivered
            .fetch_add(own, std::sync::atomic::Ordering::Relaxed);
    }

    /// A STOMP session ended: forget it, telling the broker first when it was not told.
    pub fn end<E: StompEndpoint>(
        &mut self,
        session: &mut BrokerSession<E, VecBytes>,
        stats: &Stats,
        now: Instant,
        reason: CloseReason,
    ) {
        self.with_route(stats, now, |broker, _, route| {
            let mut sink = |d: Delivery<'_>| route.deliver(&d);
            session.disconnect(now, broker, &mut sink);
        });
        let connected = !session.user().is_empty();
        if let (true, Some(seat)) = (connected, self.hub.sessions.get(&session.id())) {
            let gone = AppSession {
                id: session.id().0,
                user: session.user(),
                attributes: &seat.admission.attributes,
            };
            let app = &mut self.hub.app;
            let _ = super::contain::contain("application handler", || app.on_disconnected(&gone));
        }
        hub::forget(
            &mut self.hub.sessions,
            stats,
            session.id(),
            connected,
            reason,
        );
    }
}
