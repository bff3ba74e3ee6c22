//! The SockJS sessions of the HTTP transports, by key, on the hub worker: the requests
//! of one session (a long poll here, a send there) meet the same session without a lock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sockwire_core::broker::SessionId;
use sockwire_core::machine::Machine;
use sockwire_core::sockjs::{
    write_not_found, write_send_accepted, write_server_error, Attach, CloseFrame, ReceiverResponse,
    RequestContext, SendBody, SockJsSession, Transport,
};
use sockwire_core::stack::{BodyError, BrokerSession, SockJsStomp};
use sockwire_core::stomp::{Id, ServerSession};
use sockwire_core::store::ByteStore;
use sockwire_core::time::Instant;
use sockwire_core::ws::DataKind;

use super::admission::{Admitted, Caps, Gate};
use super::config::ServerConfig;
use super::config::SockJsApp;
use super::conn::HubCtx;
use super::handler::{Outbox, SessionInfo, To, WsHandler};
use super::http::SockJsSend;
use super::hub::{self, Seat, SockJsStompSession, Where};
use super::stats::Stats;
use crate::store::VecBytes;

/// A SockJS session of the HTTP transports.
enum Session {
    /// Its messages go to an application's handler.
    Handler(Box<SockJsSession<VecBytes>>, Box<dyn WsHandler>),
    /// It carries a STOMP session of the broker.
    Stomp(Box<SockJsStompSession>),
}

struct Entry {
    /// Its place under the session caps.
    _admitted: Admitted,
    session: Session,
    /// The slot of the connection of its receiving request.
    receiver: Option<usize>,
    /// Whose it is: other clients that learn its id are refused.
    owner: Owner,
}

/// Who a SockJS session belongs to: the user its first request was authenticated as,
/// and, when the `JSESSIONID` cookie is needed, the first cookie it presented.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    principal: Option<String>,
    jsessionid: Option<String>,
}

impl Owner {
    /// Whether a request from `principal` with the cookie `jsessionid` is the owner's;
    /// the first cookie a session sees binds it.
    fn admits(&mut self, principal: Option<&str>, jsessionid: Option<&str>, cookies: bool) -> bool {
        if self.principal.as_deref() != principal {
            return false;
        }
        if !cookies {
            return true;
        }
        match (&self.jsessionid, jsessionid) {
            (Some(bound), Some(given)) => bound == given,
            (Some(_), None) => false,
            (None, given) => {
                self.jsessionid = given.map(str::to_string);
                true
            }
        }
    }
}

/// The SockJS sessions of a server.
pub struct Registry {
    sessions: HashMap<String, Entry>,
    next_sweep: Option<Instant>,
    gate: Arc<Gate>,
}

/// What became of a receiving request.
pub enum Received {
    /// It is attached to its session: the response goes on.
    Attached(Box<ReceiverResponse>),
    /// Answered at once: another request is attached to the session.
    Answered,
    /// Answered at once: a new session would have gone over the caps.
    Refused,
}

/// A new SockJS session for the request `r`: for the endpoint's handler, or carrying
/// STOMP (numbered from `numbers`).
fn new_session(
    config: &ServerConfig,
    numbers: &AtomicU32,
    sessions: &mut HashMap<SessionId, Seat>,
    r: &Attaching<'_>,
    now: Instant,
) -> Session {
    match super::handler::for_sockjs(r.app, r.info) {
        None => {
            let s = new_stomp(config, numbers, now);
            let seat = Seat::new(
                Where::SockJs(r.key.to_string()),
                r.peer,
                r.info.admission.clone(),
            );
            sessions.insert(s.id(), seat);
            Session::Stomp(s)
        }
        Some(mut handler) => {
            let mut s = Box::new(SockJsSession::new(
                &config.sockjs.core(),
                VecBytes::new(config.max_queued_bytes),
                now,
            ));
            let mut out = Outbox {
                to: To::SockJs(s.as_mut(), now),
            };
            super::handler::call(&mut handler, &mut out, |h, out| h.on_open(out));
            Session::Handler(s, handler)
        }
    }
}

/// A receiving request about to attach.
pub struct Attaching<'a> {
    /// The session's key.
    pub key: &'a str,
    /// Its transport.
    pub transport: Transport,
    /// Its callback (`jsonp`, `htmlfile`).
    pub callback: &'a str,
    /// The request's context.
    pub ctx: &'a RequestContext<'a>,
    /// The slot of its connection.
    pub slot: usize,
    /// The client's address.
    pub peer: IpAddr,
    /// The request, for the handler of a new session (and who the handshake
    /// interceptor said the client is).
    pub info: &'a SessionInfo,
    /// What the endpoint does with messages.
    pub app: &'a SockJsApp,
    /// The connection takes another request after the response.
    pub keep_alive: bool,
}

/// A SockJS session carrying STOMP, created at `now`.
fn new_stomp(config: &ServerConfig, numbers: &AtomicU32, now: Instant) -> Box<SockJsStompSession> {
    let number = numbers.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let session = ServerSession::new(
        config.stomp_session(),
        Id::from_decimal(u64::from(number)),
        now,
    );
    // Room for the largest frame, and a part of the next behind it.
    let inbound = config.max_stomp_frame().saturating_mul(2);
    let stack = SockJsStomp::new(
        &config.sockjs.core(),
        session,
        VecBytes::new(config.session_output_limit()),
        VecBytes::new(inbound),
        now,
    );
    Box::new(BrokerSession::new(
        stack,
        SessionId(number),
        VecBytes::new(inbound),
    ))
}

impl Registry {
    /// No sessions yet; at most `caps` at once.
    pub fn new(caps: Caps) -> Registry {
        Registry {
            sessions: HashMap::new(),
            next_sweep: None,
            gate: Gate::new(caps),
        }
    }

    /// Whether there are sessions whose timers must run.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Gives back the room of many sessions that have ended.
    pub fn shrink(&mut self) {
        if self.sessions.capacity() > 64 && self.sessions.len() < self.sessions.capacity() / 4 {
            self.sessions.shrink_to(self.sessions.len() * 2);
        }
    }

    /// The STOMP session with `key` and the slot of its receiving request.
    pub fn stomp_mut(&mut self, key: &str) -> Option<(&mut SockJsStompSession, Option<usize>)> {
        match self.sessions.get_mut(key) {
            Some(Entry {
                session: Session::Stomp(s),
                receiver,
                ..
            }) => Some((s, *receiver)),
            _ => None,
        }
    }

    /// A receiving request: finds or creates its session (carrying STOMP when `stomp`
    /// numbers sessions) and attaches it, unless another request is attached or a new
    /// session would go over the caps: then the request is answered at once.
    pub fn receive(
        &mut self,
        r: &Attaching<'_>,
        numbers: &AtomicU32,
        sessions: &mut HashMap<SessionId, Seat>,
        now: Instant,
        config: &ServerConfig,
        out: &mut VecBytes,
    ) -> Received {
        let core = config.sockjs.core();
        let principal = r.info.admission.principal.as_ref().map(|p| p.name.as_str());
        let response =
            ReceiverResponse::new(r.transport, r.callback, r.ctx).with_keep_alive(r.keep_alive);
        let entry = match self.sessions.entry(r.key.to_string()) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let entry = e.into_mut();
                if !entry
                    .owner
                    .admits(principal, r.ctx.jsessionid, core.cookie_needed)
                {
                    log::info!("{}: SockJS session {} is another client's", r.peer, r.key);
                    let _ = out.write_with(128, write_not_found, |e| e.needed());
                    return Received::Answered;
                }
                entry
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                let Some(admitted) = self.gate.admit(r.peer) else {
                    response.write_close(CloseFrame::TOO_MANY_SESSIONS, &core, out);
                    return Received::Refused;
                };
                let owner = Owner {
                    principal: principal.map(str::to_string),
                    jsessionid: r
                        .ctx
                        .jsessionid
                        .filter(|_| core.cookie_needed)
                        .map(str::to_string),
                };
                e.insert(Entry {
                    _admitted: admitted,
                    session: new_session(config, numbers, sessions, r, now),
                    receiver: None,
                    owner,
                })
            }
        };
        let attached = match &mut entry.session {
            Session::Handler(s, _) => s.attach_receiver(now, r.transport, r.callback),
            Session::Stomp(s) => s
                .endpoint_mut()
                .attach_receiver(now, r.transport, r.callback),
        };
        if attached == Attach::AnotherConnectionStillOpen {
            response.write_close(CloseFrame::ANOTHER_CONNECTION_STILL_OPEN, &core, out);
            return Received::Answered;
        }
        entry.receiver = Some(r.slot);
        Received::Attached(Box::new(response))
    }

    /// Writes what the session `key` owes the receiving request `response`; tells
    /// whether the response is over.
    pub fn pump(
        &mut self,
        key: &str,
        response: &mut ReceiverResponse,
        config: &ServerConfig,
        now: Instant,
        out: &mut VecBytes,
    ) -> sockwire_core::sockjs::Progress {
        let core = config.sockjs.core();
        let Some(entry) = self.sessions.get_mut(key) else {
            return sockwire_core::sockjs::Progress::Close;
        };
        let progress = match &mut entry.session {
            Session::Handler(s, _) => response.write(s.as_mut(), &core, now, out),
            Session::Stomp(s) => response.write(s.endpoint_mut(), &core, now, out),
        };
        if progress != sockwire_core::sockjs::Progress::Waiting {
            entry.receiver = None;
        }
        progress
    }

    /// The receiving request of session `key` broke off.
    pub fn interrupted(&mut self, key: &str, now: Instant) {
        if let Some(entry) = self.sessions.get_mut(key) {
            entry.receiver = None;
            match &mut entry.session {
                Session::Handler(s, _) => s.receiver_interrupted(now),
                Session::Stomp(s) => s.endpoint_mut().receiver_interrupted(now),
            }
        }
    }

    /// The earliest timer of the sessions, at most a second away, for the worker's poll.
    pub fn sweep_due(&self, now: Instant) -> bool {
        self.next_sweep.is_none_or(|t| t <= now)
    }

    /// Runs the sessions' timers (at most once a second) and forgets the ones that are
    /// over. Returns the receivers to wake.
    pub fn sweep(h: &mut HubCtx<'_>, stats: &Stats, now: Instant) {
        if !h.registry.sweep_due(now) {
            return;
        }
        h.registry.next_sweep = Some(now.add_millis(1000));
        let keys: Vec<String> = h.registry.sessions.keys().cloned().collect();
        let mut queued = 0usize;
        for key in keys {
            let Some(mut entry) = h.registry.sessions.remove(&key) else {
                continue;
            };
            let over = match &mut entry.session {
                Session::Handler(s, handler) => {
                    let _ = s.handle_timeout(now);
                    let over = s.is_closed();
                    if over {
                        super::handler::closed(handler, None);
                    }
                    over
                }
                Session::Stomp(s) => {
                    if let Some(reason) = s.handle_timeout(now) {
                        h.end(s, stats, now, reason);
                    }
                    s.is_closed()
                }
            };
            h.dirty.extend(entry.receiver);
            if !over {
                queued = queued.saturating_add(match &entry.session {
                    Session::Handler(s, _) => s.queued_bytes(),
                    Session::Stomp(s) => s.endpoint().sockjs().queued_bytes(),
                });
                h.registry.sessions.insert(key, entry);
            }
        }
        stats.sockjs_queued_bytes.store(queued, Relaxed);
        stats.sockjs_sessions.store(h.registry.len(), Relaxed);
    }
}

/// The STOMP session `key`, if it refused queue messages for want of room and its queue
/// has drained, gets the waiting messages offered again. Returns whether it did.
pub fn resume_starved(h: &mut HubCtx<'_>, key: &str, stats: &Stats, now: Instant) -> bool {
    let Some(mut entry) = h.registry.sessions.remove(key) else {
        return false;
    };
    let resumed = match &mut entry.session {
        Session::Stomp(s) => {
            let wants = s.wants_resume(now);
            if wants {
                h.resume(s, stats, now);
            }
            wants
        }
        Session::Handler(..) => false,
    };
    h.registry.sessions.insert(key.to_string(), entry);
    resumed
}

/// A send request's body arrived: hands its messages to the session and writes the
/// answer into `out`.
pub fn send(
    send: &SockJsSend,
    body: &[u8],
    h: &mut HubCtx<'_>,
    stats: &Stats,
    now: Instant,
    config: &ServerConfig,
    out: &mut VecBytes,
) {
    let core = config.sockjs.core();
    let ctx = RequestContext {
        origin: send.origin.as_deref(),
        request_headers: None,
        jsessionid: send.jsessionid.as_deref(),
        if_none_match: None,
    };
    let owned = |entry: &mut Entry| {
        let (principal, cookie) = (send.principal.as_deref(), send.jsessionid.as_deref());
        entry.owner.admits(principal, cookie, core.cookie_needed)
    };
    let Some(mut entry) = h.registry.sessions.remove(&send.key) else {
        let _ = out.write_with(128, write_not_found, |e| e.needed());
        return;
    };
    if !owned(&mut entry) {
        log::info!(
            "SockJS session {}: a send from another client refused",
            send.key
        );
        h.registry.sessions.insert(send.key.clone(), entry);
        let _ = out.write_with(128, write_not_found, |e| e.needed());
        return;
    }
    let result = match &mut entry.session {
        Session::Handler(s, handler) => SendBody::parse(body, send.encoding).map(|parsed| {
            let mut buf = vec![0u8; parsed.max_message_len().max(16)];
            let mut messages = parsed.messages();
            while let Some(Ok(m)) = messages.next_into(&mut buf) {
                if s.is_closed() {
                    break;
                }
                let mut out = Outbox {
                    to: To::SockJs(s.as_mut(), now),
                };
                super::handler::call(handler, &mut out, |h, out| {
                    h.on_message(DataKind::Text, m.as_bytes(), out)
                });
            }
        }),
        Session::Stomp(s) => {
            let received = s.endpoint_mut().receive_body(now, body, send.encoding);
            let (_, _, ended) =
                h.with_route(stats, now, |b, app, r| hub::run(s, &mut [], b, app, r));
            if let Some(reason) = ended {
                h.end(s, stats, now, reason);
            }
            match received {
                Err(BodyError::Broken(e)) => Err(e),
                Err(BodyError::Full) | Ok(()) => Ok(()),
            }
        }
    };
    let _ = match result {
        Ok(()) => out.write_with(
            512,
            |b| write_send_accepted(send.transport, &core, &ctx, b),
            |e| e.needed(),
        ),
        Err(e) => out.write_with(
            512,
            |b| write_server_error(e.message(), &ctx, b),
            |e| e.needed(),
        ),
    };
    h.dirty.extend(entry.receiver);
    h.registry.sessions.insert(send.key.clone(), entry);
}
