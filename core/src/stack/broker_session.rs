//! [`BrokerSession`]: a client's STOMP session connected to a [`Broker`], whichever
//! backend and transport.

use super::endpoint::StompEndpoint;
use super::stomp_stack::StackEvent;
use super::stomp_stack::WhenFull;
use crate::broker::access::{AllowAll, Attempt, Command, Guard};
use crate::broker::{
    AckMode, Broker, Delivery, Handoff, Message, Routed, SessionId, Sink, Subscribe, Subscribed,
};
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Read, Status};
use crate::stomp::{
    Escaping, HeaderLines, HeaderText, Id, OutgoingMessage, ServerEvent, SessionError,
};
use crate::store::ByteStore;
use crate::time::Instant;

/// The longest user name a session keeps.
pub const MAX_USER: usize = 64;

/// Why a [`BrokerSession`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CloseReason {
    /// The client sent `DISCONNECT`.
    Disconnected,
    /// The client broke a STOMP rule (answered with an `ERROR`).
    ProtocolError(SessionError),
    /// The server refused a frame or ended the session (an `ERROR` was sent).
    Refused,
    /// The client went silent past the heart-beat tolerance.
    HeartbeatTimeout,
    /// The client did not connect in time.
    ConnectTimeout,
    /// The transport ended under the session.
    TransportClosed,
}

/// What a client did that the application decides or handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent<'a> {
    /// `CONNECT`: call [`BrokerSession::accept`] with the user the client is (after
    /// checking its credentials) or [`BrokerSession::reject`]. Values that are not UTF-8
    /// are `None`.
    Connect {
        /// The `login` header.
        login: Option<&'a str>,
        /// The `passcode` header.
        passcode: Option<&'a str>,
        /// The `host` header (the virtual host).
        host: Option<&'a str>,
    },
    /// A message sent to an application destination (under the broker's application
    /// prefix), for the application's handler; what it answers, it publishes with
    /// [`BrokerSession::publish`].
    Application {
        /// The destination.
        destination: &'a str,
        /// The message's headers.
        headers: HeaderLines<'a>,
        /// The body.
        body: &'a [u8],
    },
    /// A `SUBSCRIBE` was taken: by the broker, or (`application`) for an application
    /// destination, which the broker keeps nothing of and the application may answer
    /// once (as Spring's `@SubscribeMapping`) with a delivery to this subscription.
    Subscribed {
        /// The subscription id.
        id: &'a str,
        /// The destination or pattern.
        destination: &'a str,
        /// The destination is under the application prefix.
        application: bool,
    },
    /// An `UNSUBSCRIBE` was taken.
    Unsubscribed {
        /// The subscription id.
        id: &'a str,
    },
    /// The session is over (terminal); the broker has forgotten it.
    Closed(CloseReason),
}

type Span = (usize, usize);

/// What a STOMP event asks for, with its text copied into the scratch store.
enum Action {
    Connect {
        login: Option<Span>,
        passcode: Option<Span>,
        host: Option<Span>,
    },
    Subscribe {
        id: Span,
        destination: Span,
        ack: AckMode,
        selector: Option<Span>,
    },
    Unsubscribe(Span),
    Send {
        destination: Span,
        headers: Span,
        escaping: Escaping,
        body: Span,
    },
    Ack(Id),
    Nack(Id),
    End(CloseReason),
    TooLarge,
    Nothing,
}

/// What [`BrokerSession::read`] reports, with spans into the scratch store.
enum Report {
    Connect {
        login: Option<Span>,
        passcode: Option<Span>,
        host: Option<Span>,
    },
    Application {
        destination: Span,
        headers: Span,
        escaping: Escaping,
        body: Span,
    },
    Subscribed {
        id: Span,
        destination: Span,
        application: bool,
    },
    Unsubscribed(Span),
    Closed(CloseReason),
}

/// One client's STOMP session (on any [`StompEndpoint`]) fed to a [`Broker`]:
/// subscriptions, publishes, acknowledgements and disconnects go to the broker, and the
/// broker's deliveries come back as `MESSAGE` frames, their headers copied from the
/// publisher's frame as they were escaped.
///
/// Deliveries for other sessions go to the caller's sink, which hands each to the
/// receiving session's [`BrokerSession::deliver`]; deliveries for this session are
/// written by it directly. `scratch` holds a copy of the frame being applied (its limit
/// is the largest frame the broker takes).
#[derive(Debug, Clone)]
pub struct BrokerSession<E, S> {
    endpoint: E,
    id: SessionId,
    user: heapless::String<MAX_USER>,
    /// The user was authenticated (not an anonymous session's generated name).
    authenticated: bool,
    scratch: S,
    /// The broker has been told the session ended.
    released: bool,
    /// A timer ended the session (its terminal event was reported by `handle_timeout`):
    /// the broker forgets it at the next read.
    timed_out: bool,
    /// Messages published by the client (SEND frames routed).
    published: u64,
    /// What happened to deliveries written by this session itself.
    intake: Intake,
}

/// Deliveries a session wrote into its own endpoint (its own publishes to what it is
/// subscribed to, resumed queue messages): the caller's sink never sees them.
#[derive(Debug, Clone, Copy, Default)]
struct Intake {
    /// A queue message was refused for want of room: offer the waiting ones again once
    /// the output drains.
    starved: bool,
    /// Deliveries taken.
    taken: u64,
}

impl<E: StompEndpoint, S: ByteStore> BrokerSession<E, S> {
    /// The session `id` on `endpoint`.
    pub fn new(endpoint: E, id: SessionId, scratch: S) -> Self {
        BrokerSession {
            endpoint,
            id,
            user: heapless::String::new(),
            authenticated: false,
            scratch,
            released: false,
            timed_out: false,
            published: 0,
            intake: Intake::default(),
        }
    }

    /// The session's number.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The user the session was accepted as (empty before).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Whether the session's user was authenticated (not an anonymous session).
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &E {
        &self.endpoint
    }

    /// The endpoint, to write its output or read its state.
    pub fn endpoint_mut(&mut self) -> &mut E {
        &mut self.endpoint
    }

    /// Turns one endpoint event into what it asks of the broker, its text copied into
    /// `scratch`.
    fn action(scratch: &mut S, event: StackEvent<'_>) -> Action {
        let ev = match event {
            StackEvent::TransportClosed => return Action::End(CloseReason::TransportClosed),
            StackEvent::Stomp(ev) => ev,
        };
        let kept = match ev {
            ServerEvent::Connect {
                login,
                passcode,
                host,
                ..
            } => Some(Action::Connect {
                login: login.and_then(|t| keep(scratch, t)),
                passcode: passcode.and_then(|t| keep(scratch, t)),
                host: host.and_then(|t| keep(scratch, t)),
            }),
            ServerEvent::Subscribe {
                id,
                destination,
                ack,
                selector,
                ..
            } => (|| {
                let id = keep(scratch, id)?;
                let destination = keep(scratch, destination)?;
                let selector = match selector {
                    Some(s) => Some(keep(scratch, s)?),
                    None => None,
                };
                Some(Action::Subscribe {
                    id,
                    destination,
                    ack,
                    selector,
                })
            })(),
            ServerEvent::Unsubscribe { id, .. } => {
                keep_raw(scratch, id.as_bytes()).map(Action::Unsubscribe)
            }
            ServerEvent::Send {
                destination, frame, ..
            } => (|| {
                let destination = keep(scratch, destination)?;
                let headers = keep_raw(scratch, frame.head())?;
                let body = keep_raw(scratch, frame.body())?;
                Some(Action::Send {
                    destination,
                    headers,
                    escaping: frame.escaping(),
                    body,
                })
            })(),
            ServerEvent::Ack { message_id, .. } => Some(Action::Ack(message_id)),
            ServerEvent::Nack { message_id, .. } => Some(Action::Nack(message_id)),
            ServerEvent::Begin { .. } | ServerEvent::Commit { .. } | ServerEvent::Abort { .. } => {
                Some(Action::Nothing)
            }
            ServerEvent::Disconnect { .. } => Some(Action::End(CloseReason::Disconnected)),
            ServerEvent::HeartbeatTimeout => Some(Action::End(CloseReason::HeartbeatTimeout)),
            ServerEvent::ConnectTimeout => Some(Action::End(CloseReason::ConnectTimeout)),
            ServerEvent::ProtocolError(e) => Some(Action::End(CloseReason::ProtocolError(e))),
        };
        kept.unwrap_or(Action::TooLarge)
    }

    /// Consumes client input, applies what it asks of `broker`, and reports what the
    /// application decides or handles, following the [machine contract](crate::machine).
    /// Deliveries the broker makes meanwhile for other sessions go to `others`.
    pub fn read<B: Broker + ?Sized>(
        &mut self,
        input: &mut [u8],
        now: Instant,
        broker: &mut B,
        others: &mut Sink<'_>,
    ) -> Read<SessionEvent<'_>> {
        self.read_guarded(input, now, broker, &AllowAll, others)
    }

    /// [`BrokerSession::read`], every `SUBSCRIBE` and `SEND` checked by `guard` first: a
    /// frame it refuses gets an `ERROR` with the frame's `receipt-id` and ends the session.
    pub fn read_guarded<B: Broker + ?Sized>(
        &mut self,
        input: &mut [u8],
        now: Instant,
        broker: &mut B,
        guard: &dyn Guard,
        others: &mut Sink<'_>,
    ) -> Read<SessionEvent<'_>> {
        let mut consumed = 0;
        let report = loop {
            if core::mem::take(&mut self.timed_out) {
                self.release(now, broker, others);
            }
            if self.released {
                self.finish_endpoint(input.get_mut(consumed..).unwrap_or_default(), now);
                return Read::closed(input.len());
            }
            let all = self.scratch.len();
            self.scratch.discard(all);
            let rest = input.get_mut(consumed..).unwrap_or_default();
            let read = self.endpoint.read(rest, now);
            consumed += read.consumed;
            let action = match read.status {
                // The event borrows the endpoint: keep what it asks for.
                Status::Event(ev) => Self::action(&mut self.scratch, ev),
                Status::NeedMore => return Read::need_more(consumed),
                Status::Paused(p) => return Read::paused(consumed, p),
                Status::Closed => {
                    self.release(now, broker, others);
                    return Read::closed(input.len());
                }
            };
            if let Some(report) = self.apply(action, now, broker, guard, others) {
                break report;
            }
        };
        let event = match report {
            Report::Connect {
                login,
                passcode,
                host,
            } => SessionEvent::Connect {
                login: login.and_then(|s| text(&self.scratch, s)),
                passcode: passcode.and_then(|s| text(&self.scratch, s)),
                host: host.and_then(|s| text(&self.scratch, s)),
            },
            Report::Application {
                destination,
                headers,
                escaping,
                body,
            } => SessionEvent::Application {
                destination: text(&self.scratch, destination).unwrap_or_default(),
                headers: HeaderLines::with_escaping(bytes(&self.scratch, headers), escaping),
                body: bytes(&self.scratch, body),
            },
            Report::Subscribed {
                id,
                destination,
                application,
            } => SessionEvent::Subscribed {
                id: text(&self.scratch, id).unwrap_or_default(),
                destination: text(&self.scratch, destination).unwrap_or_default(),
                application,
            },
            Report::Unsubscribed(id) => SessionEvent::Unsubscribed {
                id: text(&self.scratch, id).unwrap_or_default(),
            },
            Report::Closed(reason) => SessionEvent::Closed(reason),
        };
        Read::event(consumed, event)
    }

    /// After the session was released, its transport may still be closing (a WebSocket
    /// waits for the client's close): the input goes to the endpoint, whose events are
    /// no longer reported.
    fn finish_endpoint(&mut self, input: &mut [u8], now: Instant) {
        let mut pos = 0;
        loop {
            let rest = input.get_mut(pos..).unwrap_or_default();
            let read = self.endpoint.read(rest, now);
            pos += read.consumed;
            if read.consumed == 0 || !matches!(read.status, Status::Event(_)) {
                return;
            }
        }
    }

    /// Applies one action; `Some` when the caller must hear of it.
    fn apply<B: Broker + ?Sized>(
        &mut self,
        action: Action,
        now: Instant,
        broker: &mut B,
        guard: &dyn Guard,
        others: &mut Sink<'_>,
    ) -> Option<Report> {
        let me = self.id;
        match action {
            Action::Nothing => None,
            Action::Connect {
                login,
                passcode,
                host,
            } => Some(Report::Connect {
                login,
                passcode,
                host,
            }),
            Action::TooLarge => self.refused(now, "frame too large for the broker", broker, others),
            Action::End(reason) => {
                self.release(now, broker, others);
                Some(Report::Closed(reason))
            }
            Action::Subscribe {
                id,
                destination,
                ack,
                selector,
            } => {
                let (span_id, span_destination) = (id, destination);
                let scratch = &self.scratch;
                let (Some(id), Some(destination)) = (text(scratch, id), text(scratch, destination))
                else {
                    return self.refused(now, "destination is not UTF-8", broker, others);
                };
                let selector = match selector.map(|s| text(scratch, s)) {
                    Some(None) => {
                        return self.refused(now, "selector is not UTF-8", broker, others);
                    }
                    Some(Some(s)) => Some(s),
                    None => None,
                };
                if let Err(why) = guard.check(&self.attempt(Command::Subscribe, destination, b"")) {
                    return self.refused(now, why, broker, others);
                }
                let user = (!self.user.is_empty()).then_some(self.user.as_str());
                let request = Subscribe {
                    session: me,
                    id,
                    destination,
                    ack,
                    selector,
                    user,
                };
                let result = broker.subscribe(
                    request,
                    &mut route(&mut self.endpoint, &mut self.intake, me, now, others),
                );
                match result {
                    Err(e) => self.refused(now, e.message(), broker, others),
                    Ok(subscribed) => Some(Report::Subscribed {
                        id: span_id,
                        destination: span_destination,
                        application: subscribed == Subscribed::Application,
                    }),
                }
            }
            Action::Unsubscribe(span) => {
                let result = match text(&self.scratch, span) {
                    Some(id) => broker.unsubscribe(
                        me,
                        id,
                        &mut route(&mut self.endpoint, &mut self.intake, me, now, others),
                    ),
                    None => Err(crate::broker::BrokerError::NotSubscribed),
                };
                match result {
                    Err(e) => self.refused(now, e.message(), broker, others),
                    Ok(()) => Some(Report::Unsubscribed(span)),
                }
            }
            Action::Ack(message_id) => {
                // Topic and auto-acknowledged messages are not held: nothing to settle.
                if let Ok(m) = core::str::from_utf8(message_id.as_bytes()) {
                    let _ = broker.ack(
                        me,
                        m,
                        &mut route(&mut self.endpoint, &mut self.intake, me, now, others),
                    );
                }
                None
            }
            Action::Nack(message_id) => {
                if let Ok(m) = core::str::from_utf8(message_id.as_bytes()) {
                    let _ = broker.nack(
                        me,
                        m,
                        &mut route(&mut self.endpoint, &mut self.intake, me, now, others),
                    );
                }
                None
            }
            Action::Send {
                destination,
                headers,
                escaping,
                body,
            } => {
                let scratch = &self.scratch;
                let Some(dest) = text(scratch, destination) else {
                    return self.refused(now, "destination is not UTF-8", broker, others);
                };
                let body_bytes = bytes(scratch, body);
                if let Err(why) = guard.check(&self.attempt(Command::Send, dest, body_bytes)) {
                    return self.refused(now, why, broker, others);
                }
                let message = Message {
                    destination: dest,
                    headers: HeaderLines::with_escaping(bytes(scratch, headers), escaping),
                    body: bytes(scratch, body),
                };
                self.published = self.published.saturating_add(1);
                let routed = broker.publish(
                    me,
                    message,
                    &mut route(&mut self.endpoint, &mut self.intake, me, now, others),
                );
                match routed {
                    Ok(Routed::Application) => Some(Report::Application {
                        destination,
                        headers,
                        escaping,
                        body,
                    }),
                    Ok(_) => None,
                    Err(e) => self.refused(now, e.message(), broker, others),
                }
            }
        }
    }

    /// The frame just read, as a guard sees it.
    fn attempt<'a>(
        &'a self,
        command: Command,
        destination: &'a str,
        body: &'a [u8],
    ) -> Attempt<'a> {
        Attempt {
            user: &self.user,
            authenticated: self.authenticated,
            command,
            destination,
            body,
        }
    }

    /// Refuses the frame just read: the `ERROR` goes out, the broker forgets the session.
    fn refused<B: Broker + ?Sized>(
        &mut self,
        now: Instant,
        message: &str,
        broker: &mut B,
        others: &mut Sink<'_>,
    ) -> Option<Report> {
        let _ = self.endpoint.refuse(now, message);
        self.release(now, broker, others);
        Some(Report::Closed(CloseReason::Refused))
    }

    /// Tells the broker the session is gone (once): its subscriptions end and its
    /// unacknowledged queue messages go to other subscribers.
    fn release<B: Broker + ?Sized>(&mut self, now: Instant, broker: &mut B, others: &mut Sink<'_>) {
        if self.released {
            return;
        }
        self.released = true;
        let _ = now;
        broker.disconnect(self.id, others);
    }

    /// Accepts the `CONNECT` as the authenticated `user` (a session of that user receives
    /// its user destinations). A name longer than [`MAX_USER`] refuses the session instead.
    pub fn accept(&mut self, now: Instant, user: &str) -> Result<(), crate::stomp::ActionError> {
        self.accept_as(now, user, true)
    }

    /// Accepts the `CONNECT` as an anonymous session named `name` (generated by the
    /// server, unique to the session): guards see it as not authenticated.
    pub fn accept_anonymous(
        &mut self,
        now: Instant,
        name: &str,
    ) -> Result<(), crate::stomp::ActionError> {
        self.accept_as(now, name, false)
    }

    fn accept_as(
        &mut self,
        now: Instant,
        user: &str,
        authenticated: bool,
    ) -> Result<(), crate::stomp::ActionError> {
        self.authenticated = authenticated;
        self.user.clear();
        if self.user.push_str(user).is_err() {
            return self.endpoint.reject_connect(now, "user name too long");
        }
        self.endpoint.accept_connect_as(now, user)
    }

    /// Refuses the `CONNECT` with an `ERROR` carrying `message` (bad credentials, an
    /// unknown virtual host).
    pub fn reject(&mut self, now: Instant, message: &str) -> Result<(), crate::stomp::ActionError> {
        self.endpoint.reject_connect(now, message)
    }

    /// Publishes `message` as this session (an application's answer to a
    /// [`SessionEvent::Application`]): deliveries for this session are written here, the
    /// others go to `others`.
    pub fn publish<B: Broker + ?Sized>(
        &mut self,
        now: Instant,
        broker: &mut B,
        message: Message<'_>,
        others: &mut Sink<'_>,
    ) -> Result<Routed, crate::broker::BrokerError> {
        let me = self.id;
        broker.publish(
            me,
            message,
            &mut route(&mut self.endpoint, &mut self.intake, me, now, others),
        )
    }

    /// Writes a delivery the broker made for this session as a `MESSAGE`.
    /// A full outbound queue ends the session as a slow consumer for a topic message;
    /// a queue message is refused ([`DeliverError::Full`](super::DeliverError::Full))
    /// and [`BrokerSession::wants_resume`] tells when to offer it again.
    pub fn deliver(
        &mut self,
        now: Instant,
        delivery: &Delivery<'_>,
    ) -> Result<(), super::DeliverError> {
        deliver_to(&mut self.endpoint, &mut self.intake.starved, now, delivery)
    }

    /// Whether the session refused queue messages for want of room and has room again
    /// (its outbound queue is drained): call [`BrokerSession::resume`].
    pub fn wants_resume(&mut self, now: Instant) -> bool {
        self.intake.starved && self.endpoint.outbound_is_drained(now)
    }

    /// Offers the queue messages waiting for a taker again (see
    /// [`Broker::resume`]), once [`BrokerSession::wants_resume`].
    pub fn resume<B: Broker + ?Sized>(
        &mut self,
        now: Instant,
        broker: &mut B,
        others: &mut Sink<'_>,
    ) {
        self.intake.starved = false;
        let me = self.id;
        let mut sink = route(&mut self.endpoint, &mut self.intake, me, now, others);
        broker.resume(me, &mut sink);
    }

    /// Ends the session from the server's side with an `ERROR` carrying `message` (a
    /// shutdown); the broker forgets it at the next read.
    pub fn close(&mut self, now: Instant, message: &str) -> Result<(), crate::stomp::ActionError> {
        self.endpoint.close(now, message)
    }

    /// The connection is gone without a terminal event (a network error): tells the
    /// broker.
    pub fn disconnect<B: Broker + ?Sized>(
        &mut self,
        now: Instant,
        broker: &mut B,
        others: &mut Sink<'_>,
    ) {
        self.release(now, broker, others);
    }

    /// How many messages the client published (SEND frames given to the broker).
    pub fn published(&self) -> u64 {
        self.published
    }

    /// How many deliveries the session wrote into its own endpoint while it ran (its own
    /// publishes coming back to its subscriptions, resumed queue messages): those never
    /// reach the caller's sink, so a caller counting deliveries adds these.
    pub fn self_delivered(&self) -> u64 {
        self.intake.taken
    }

    /// Whether the broker has been told the session is gone.
    pub fn is_released(&self) -> bool {
        self.released
    }
}

/// Copies `text` unescaped to the end of `scratch`; `None` when it does not fit.
fn keep<S: ByteStore>(scratch: &mut S, text: HeaderText<'_>) -> Option<Span> {
    let start = scratch.len();
    let spare = scratch.spare(text.len())?;
    let n = text.decode_into(spare).ok()?.len();
    scratch.commit(n);
    Some((start, n))
}

fn keep_raw<S: ByteStore>(scratch: &mut S, raw: &[u8]) -> Option<Span> {
    let start = scratch.len();
    scratch.push(raw).ok()?;
    Some((start, raw.len()))
}

fn bytes<S: ByteStore>(scratch: &S, span: Span) -> &[u8] {
    scratch
        .as_slice()
        .get(span.0..span.0.saturating_add(span.1))
        .unwrap_or_default()
}

fn text<S: ByteStore>(scratch: &S, span: Span) -> Option<&str> {
    core::str::from_utf8(bytes(scratch, span)).ok()
}

/// A delivery as the `MESSAGE` frame it becomes.
fn outgoing<'d>(d: &Delivery<'d>) -> OutgoingMessage<'d, impl Iterator<Item = u8> + Clone + 'd> {
    OutgoingMessage {
        subscription: d.subscription.as_bytes(),
        message_id: d.message_id.as_bytes(),
        destination: d.destination.bytes(),
        headers: d.headers,
        body: d.body,
    }
}

/// A sink that writes deliveries for session `me` into `endpoint` and hands the others
/// to `others`.
fn route<'x, 's: 'x, E: StompEndpoint>(
    endpoint: &'x mut E,
    intake: &'x mut Intake,
    me: SessionId,
    now: Instant,
    others: &'x mut Sink<'s>,
) -> impl FnMut(Delivery<'_>) -> Handoff + use<'x, 's, E> {
    move |d: Delivery<'_>| {
        if d.session == me {
            let delivered = deliver_to(endpoint, &mut intake.starved, now, &d);
            if delivered.is_ok() {
                intake.taken = intake.taken.saturating_add(1);
            }
            handoff(&delivered)
        } else {
            others(d)
        }
    }
}

/// Writes `d` into `endpoint`; a queue message it has no room for is refused and marks
/// the session `starved`.
fn deliver_to<E: StompEndpoint>(
    endpoint: &mut E,
    starved: &mut bool,
    now: Instant,
    d: &Delivery<'_>,
) -> Result<(), super::DeliverError> {
    let when_full = if d.queued {
        WhenFull::Refuse
    } else {
        WhenFull::EndSession
    };
    let delivered = endpoint.deliver(now, outgoing(d), when_full);
    if delivered == Err(super::DeliverError::Full) {
        *starved = true;
    }
    delivered
}

/// What a delivery's result means to the broker: a session that did not take a message
/// (its window is full, it is closing as a slow consumer) refused it.
pub fn handoff(delivered: &Result<(), super::DeliverError>) -> Handoff {
    match delivered {
        Ok(()) => Handoff::Taken,
        Err(_) => Handoff::Refused,
    }
}

impl<E: StompEndpoint, S: ByteStore> Machine for BrokerSession<E, S> {
    type TimeoutEvent = CloseReason;

    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.endpoint.poll_transmit(now, out)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    /// A heart-beat, CONNECT or close timeout ends the session (the one terminal event:
    /// reads report [`Status::Closed`] afterwards); the broker forgets it at the next
    /// [`BrokerSession::read`] or [`BrokerSession::disconnect`].
    fn handle_timeout(&mut self, now: Instant) -> Option<CloseReason> {
        let reason = match self.endpoint.handle_timeout(now)? {
            StackEvent::TransportClosed => CloseReason::TransportClosed,
            StackEvent::Stomp(ServerEvent::ConnectTimeout) => CloseReason::ConnectTimeout,
            StackEvent::Stomp(_) => CloseReason::HeartbeatTimeout,
        };
        self.timed_out = true;
        Some(reason)
    }

    fn is_closed(&self) -> bool {
        self.endpoint.is_closed()
    }
}
