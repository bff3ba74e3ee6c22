//! SockJS in the server: the session registry and the answers to each kind of request.
//!
//! Every SockJS request runs on the hub worker, so that the requests of one session (a
//! long poll here, a send there) meet the same [`SockJsSession`] without a lock. The
//! core decides what each answer says; this module keeps sessions by id and moves bytes.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sockwire_core::sockjs::{
    callback_from_query, write_send_accepted, write_server_error, write_transport_head, Attach,
    BodyEncoding, BodyLength, CloseFrame, Config, Frame, Framing, RequestContext, SendBody,
    SockJsSession, Transport,
};
use sockwire_core::time::Instant;
use sockwire_core::ws::DataKind;

use super::handler::{Outbox, WsHandler};
use super::stomp::{Action, Carrier, Outgoing, StompSession};
use crate::outbound::write_into;
use crate::store::VecBytes;
use sockwire_core::broker::SessionId;
use sockwire_core::machine::Machine;
use sockwire_core::stomp::MessageError;

/// Bytes of messages a session may hold for a receiver that is not there.
pub const QUEUE_BYTES: usize = 256 * 1024;

/// The session type the server runs: its queue grows with what waits, up to
/// [`QUEUE_BYTES`].
pub type Session = SockJsSession<VecBytes>;

/// SockJS settings of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockJsSettings {
    /// Heart-beat interval, ms (25 000).
    pub heartbeat_ms: u64,
    /// How long a session without a receiving request lives, ms (5 000).
    pub disconnect_delay_ms: u64,
    /// Bytes after which a streaming response ends so that the client reconnects (128 KiB).
    pub response_limit: usize,
    /// Whether `/info` says a `JSESSIONID` cookie is needed (for sticky load balancers).
    pub cookie_needed: bool,
    /// The sockjs-client script the iframe page loads.
    pub client_library_url: String,
    /// Whether the `websocket` transport is offered (behind proxies that break
    /// WebSocket, turning it off sends clients straight to the HTTP transports).
    pub websocket_enabled: bool,
}

impl Default for SockJsSettings {
    fn default() -> Self {
        let core = Config::DEFAULT;
        SockJsSettings {
            heartbeat_ms: core.heartbeat_ms,
            disconnect_delay_ms: core.disconnect_delay_ms,
            response_limit: core.response_limit,
            cookie_needed: core.cookie_needed,
            client_library_url: core.client_library_url.to_string(),
            websocket_enabled: core.websocket_enabled,
        }
    }
}

impl SockJsSettings {
    /// The core's view of these settings.
    pub fn core(&self) -> Config<'_> {
        Config {
            heartbeat_ms: self.heartbeat_ms,
            disconnect_delay_ms: self.disconnect_delay_ms,
            response_limit: self.response_limit,
            cookie_needed: self.cookie_needed,
            websocket_enabled: self.websocket_enabled,
            client_library_url: &self.client_library_url,
        }
    }
}

/// What a SockJS endpoint does with messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockJsApp {
    /// Every message comes back to its sender.
    Echo,
    /// Each message carries STOMP bytes for a session of the server's broker.
    Stomp,
}

/// The parts of a request a later answer still needs.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    origin: Option<String>,
    jsessionid: Option<String>,
}

impl RequestFacts {
    /// Keeps what the answer needs from the request's context.
    pub fn keep(ctx: &RequestContext<'_>) -> Self {
        RequestFacts {
            origin: ctx.origin.map(str::to_string),
            jsessionid: ctx.jsessionid.map(str::to_string),
        }
    }

    /// The context again.
    pub fn context(&self) -> RequestContext<'_> {
        RequestContext {
            origin: self.origin.as_deref(),
            request_headers: None,
            jsessionid: self.jsessionid.as_deref(),
            if_none_match: None,
        }
    }
}

/// A receiving request (xhr, xhr_streaming, eventsource, htmlfile, jsonp) in progress.
#[derive(Debug)]
pub struct Receiver {
    /// The session's key in the registry.
    pub key: String,
    transport: Transport,
    callback: String,
    facts: RequestFacts,
    /// Whether the response head (and the streaming prelude) went out.
    head_written: bool,
    /// When the session next needs its timers run.
    pub wake: Option<Instant>,
}

/// What became of a receiving request after it was served.
#[derive(Debug, PartialEq, Eq)]
pub enum ReceiverState {
    /// It stays attached, waiting for more.
    Waiting,
    /// A polling response is complete: the connection can take the next request.
    Done,
    /// A streaming response is complete: close the connection.
    Closed,
}

/// A session and the connection of its receiving request, if any.
struct Entry {
    session: Box<Session>,
    receiver: Option<usize>,
    /// The STOMP session this SockJS session carries, for the STOMP application.
    stomp: Option<(Box<StompSession>, SessionId)>,
}

impl Entry {
    /// Moves the frames the STOMP session wrote into the SockJS queue; closes the SockJS
    /// session once the STOMP one is over. Returns the receiver to wake.
    fn flush_stomp(&mut self) -> Option<usize> {
        let (stomp, _) = self.stomp.as_mut()?;
        if let Carrier::SockJs(outbox) = &mut stomp.carrier {
            for frame in outbox.drain(..) {
                if self.session.send(Instant(0), &frame).is_err() {
                    log::debug!("SockJS queue full: STOMP frame dropped");
                }
            }
        }
        if stomp.session.is_closed() && !self.session.is_ending() {
            self.session.close(Instant(0), 3000, "Go away!");
        }
        self.receiver
    }
}

/// STOMP actions of SockJS sessions, for the hub: (session key, STOMP session, action).
pub type PendingActions = Vec<(String, SessionId, Action)>;

/// The SockJS sessions of a server, by endpoint and id.
#[derive(Default)]
pub struct Registry {
    sessions: HashMap<String, Entry>,
    next_sweep: Option<Instant>,
    pending: PendingActions,
}

/// An HTTP date a year from now, for `Expires`.
pub fn expires_in_a_year() -> String {
    let secs = SystemTime::now()
        .checked_add(Duration::from_secs(365 * 24 * 3600))
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    http_date(secs)
}

/// Formats seconds since the epoch as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Registry {
    /// Whether there are sessions to sweep.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Starts a receiving request for session `key`, creating the session when new
    /// (with `new_stomp` making its STOMP session for the STOMP application).
    #[allow(clippy::too_many_arguments)]
    pub fn attach(
        &mut self,
        new_stomp: impl FnOnce() -> Option<(Box<StompSession>, SessionId)>,
        key: String,
        transport: Transport,
        query: &str,
        ctx: &RequestContext<'_>,
        settings: &SockJsSettings,
        slot: usize,
        now: Instant,
        wbuf: &mut Vec<u8>,
    ) -> Result<Receiver, ReceiverState> {
        let mut callback = [0u8; 256];
        let callback = if transport.needs_callback() {
            match callback_from_query(query, &mut callback) {
                Ok(c) => c.to_string(),
                Err(e) => {
                    let _ = write_into(wbuf, |out| write_server_error(e.message(), ctx, out));
                    return Err(ReceiverState::Done);
                }
            }
        } else {
            String::new()
        };
        let core = settings.core();
        let entry = self.sessions.entry(key.clone()).or_insert_with(|| Entry {
            session: Box::new(Session::new(&core, VecBytes::new(QUEUE_BYTES), now)),
            receiver: None,
            stomp: new_stomp(),
        });
        let mut receiver = Receiver {
            key,
            transport,
            callback,
            facts: RequestFacts::keep(ctx),
            head_written: false,
            wake: None,
        };
        match entry
            .session
            .attach_receiver(now, transport, &receiver.callback)
        {
            Attach::AnotherConnectionStillOpen => {
                let framing = Framing::with_callback(transport, &receiver.callback);
                let mut frame = Vec::new();
                let _ = write_into(&mut frame, |out| {
                    framing.write_frame(
                        &Frame::Close(CloseFrame::ANOTHER_CONNECTION_STILL_OPEN),
                        out,
                    )
                });
                write_whole(&receiver, &core, &frame, wbuf);
                Err(ReceiverState::Done)
            }
            Attach::Opened | Attach::Resumed | Attach::Closed => {
                entry.receiver = Some(slot);
                receiver.wake = entry.session.poll_timeout();
                Ok(receiver)
            }
        }
    }

    /// Writes what the session owes its receiving request; tells whether the response ended.
    pub fn pump(
        &mut self,
        r: &mut Receiver,
        settings: &SockJsSettings,
        now: Instant,
        wbuf: &mut Vec<u8>,
    ) -> ReceiverState {
        let core = settings.core();
        let Some(entry) = self.sessions.get_mut(&r.key) else {
            return ReceiverState::Closed;
        };
        let _ = entry.session.handle_timeout(now);
        entry.flush_stomp();
        let framing = Framing::with_callback(r.transport, &r.callback);
        let streaming = r.transport.is_streaming();
        if streaming && !r.head_written {
            let ctx = r.facts.context();
            let _ = write_into(wbuf, |out| {
                write_transport_head(r.transport, &core, &ctx, BodyLength::UntilClose, out)
            });
            let _ = write_into(wbuf, |out| framing.write_prelude(out));
            r.head_written = true;
        }
        let mut frame = Vec::new();
        let state = loop {
            frame.clear();
            let polled = write_into(&mut frame, |out| {
                Ok::<usize, sockwire_core::buf::BufferTooSmall>(
                    entry.session.poll_transmit(now, out)?.unwrap_or(0),
                )
            });
            let end = !entry.session.has_receiver();
            if polled.is_err() || frame.is_empty() {
                break ReceiverState::Waiting;
            }
            if streaming {
                wbuf.extend_from_slice(&frame);
            } else {
                write_whole(r, &core, &frame, wbuf);
            }
            if end {
                break if streaming {
                    ReceiverState::Closed
                } else {
                    ReceiverState::Done
                };
            }
            if !streaming {
                break ReceiverState::Done;
            }
        };
        if state != ReceiverState::Waiting {
            entry.receiver = None;
        }
        r.wake = entry.session.poll_timeout();
        state
    }

    /// The receiving request's connection went away before its response ended.
    pub fn interrupted(&mut self, r: &Receiver, now: Instant) {
        if let Some(entry) = self.sessions.get_mut(&r.key) {
            entry.receiver = None;
            entry.session.receiver_interrupted(now);
        }
    }

    /// An `xhr_send` or `jsonp_send` body arrived for session `key`: hands its messages
    /// to the application and answers. Returns the slot of a receiver to wake.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        key: &str,
        transport: Transport,
        app: SockJsApp,
        body: &[u8],
        content_type: Option<&[u8]>,
        ctx: &RequestContext<'_>,
        settings: &SockJsSettings,
        now: Instant,
        wbuf: &mut Vec<u8>,
    ) -> Option<usize> {
        let Some(entry) = self.sessions.get_mut(key) else {
            let _ = write_into(wbuf, sockwire_core::sockjs::write_not_found);
            return None;
        };
        let encoding = if transport == Transport::JsonpSend {
            BodyEncoding::from_content_type(content_type)
        } else {
            BodyEncoding::Json
        };
        let parsed = match SendBody::parse(body, encoding) {
            Ok(p) => p,
            Err(e) => {
                let _ = write_into(wbuf, |out| write_server_error(e.message(), ctx, out));
                return None;
            }
        };
        let mut buf = vec![0u8; parsed.max_message_len().max(16)];
        let mut messages = parsed.messages();
        while let Some(Ok(message)) = messages.next_into(&mut buf) {
            match (app, entry.stomp.as_mut()) {
                (SockJsApp::Stomp, Some((stomp, id))) => {
                    let mut actions = Vec::new();
                    stomp.receive(message.as_bytes(), now, &mut actions, &mut Vec::new());
                    if stomp.session.is_closed() {
                        stomp.gone(&mut actions);
                    }
                    let id = *id;
                    self.pending
                        .extend(actions.into_iter().map(|a| (key.to_string(), id, a)));
                }
                _ => {
                    if entry.session.send(now, message).is_err() {
                        log::debug!("SockJS session {key}: queue full, message dropped");
                    }
                }
            }
        }
        entry.flush_stomp();
        let core = settings.core();
        let _ = write_into(wbuf, |out| write_send_accepted(transport, &core, ctx, out));
        entry.receiver
    }

    /// Runs the timers of sessions without a receiving request (at most once a second) and
    /// forgets the ones whose disconnect delay has passed.
    pub fn sweep(&mut self, now: Instant) {
        if self.next_sweep.is_some_and(|t| t > now) {
            return;
        }
        self.next_sweep = Some(now.add_millis(1000));
        let pending = &mut self.pending;
        self.sessions.retain(|key, e| {
            if e.receiver.is_none() {
                let _ = e.session.handle_timeout(now);
            }
            if let Some((stomp, id)) = e.stomp.as_mut() {
                let mut actions = Vec::new();
                let _ = stomp.session.handle_timeout(now);
                stomp.transmit(now, &mut Vec::new());
                if stomp.session.is_closed() || e.session.is_closed() {
                    stomp.gone(&mut actions);
                }
                pending.extend(actions.into_iter().map(|a| (key.clone(), *id, a)));
            }
            e.flush_stomp();
            !e.session.is_closed()
        });
    }

    /// Takes the STOMP actions waiting for the hub.
    pub fn take_pending(&mut self) -> PendingActions {
        std::mem::take(&mut self.pending)
    }

    /// Writes a MESSAGE into the STOMP session carried by SockJS session `key`; returns
    /// the receiver to wake.
    pub fn deliver(
        &mut self,
        key: &str,
        message: Outgoing<'_>,
        now: Instant,
    ) -> Result<Option<usize>, MessageError> {
        let entry = self
            .sessions
            .get_mut(key)
            .ok_or(MessageError::NotConnected)?;
        let (stomp, _) = entry.stomp.as_mut().ok_or(MessageError::NotConnected)?;
        stomp.deliver(message, now, &mut Vec::new())?;
        Ok(entry.flush_stomp())
    }

    /// Answers a refused STOMP frame with an ERROR; returns the receiver to wake.
    pub fn refuse(&mut self, key: &str, message: &str, now: Instant) -> Option<usize> {
        let entry = self.sessions.get_mut(key)?;
        let (stomp, _) = entry.stomp.as_mut()?;
        let _ = stomp.session.close(now, message);
        stomp.transmit(now, &mut Vec::new());
        entry.flush_stomp()
    }
}

/// A polling response: head with the length, then the frame.
fn write_whole(r: &Receiver, core: &Config<'_>, frame: &[u8], wbuf: &mut Vec<u8>) {
    let ctx = r.facts.context();
    let _ = write_into(wbuf, |out| {
        write_transport_head(
            r.transport,
            core,
            &ctx,
            BodyLength::Fixed(frame.len() as u64),
            out,
        )
    });
    wbuf.extend_from_slice(frame);
}

/// The SockJS `websocket` transport for the echo application: `o` on open, each message
/// of an incoming array echoed in an `a[...]` frame.
#[derive(Debug, Default)]
pub struct SockJsWebSocketEcho;

impl WsHandler for SockJsWebSocketEcho {
    fn on_open(&mut self, out: &mut Outbox<'_>) {
        let _ = out.send_text("o");
    }

    fn on_message(&mut self, _kind: DataKind, data: &[u8], out: &mut Outbox<'_>) {
        let body = match SendBody::parse_websocket(data) {
            Ok(Some(body)) => body,
            Ok(None) => return,
            Err(_) => {
                let _ = out.close(sockwire_core::ws::CloseCode(1002), "Broken framing.");
                return;
            }
        };
        let mut buf = vec![0u8; body.max_message_len().max(16)];
        let mut owned = Vec::new();
        let mut messages = body.messages();
        while let Some(Ok(m)) = messages.next_into(&mut buf) {
            owned.push(m.to_string());
        }
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        let mut frame = Vec::new();
        if write_into(&mut frame, |o| Frame::Messages(&refs).write(o)).is_ok() {
            let _ = out.send(DataKind::Text, &frame);
        }
    }
}
