//! The STOMP over WebSocket session of one upgraded connection, driven by one task: the
//! core's `BrokerSession` on a `StompStack` on a `WebSocketCarrier`, fed from the
//! socket, the session's mailbox and its timers.

use std::io;
use std::sync::Arc;

use sockwire_core::broker::{HeaderLines, Message, SessionId};
use sockwire_core::machine::{Machine, Status};
use sockwire_core::stack::{
    BrokerSession, DeliverError, SessionEvent, StompStack, WebSocketCarrier, SLOW_CONSUMER,
};
use sockwire_core::stomp::{Escaping, Id, ServerSession, ServerSessionConfig};
use sockwire_core::time::Instant;
use sockwire_core::ws::{Config as WsConfig, Connection, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::clock::{sleep_until, Clock};
use crate::hub::{lock, Hub, OwnedDelivery, SharedHub};
use crate::store::VecBytes;
use crate::transmit::collect;

/// The byte store of every part of the stack.
pub type Store = VecBytes;

/// One client's session: STOMP over WebSocket, fed to the shared broker.
pub type Session = BrokerSession<StompStack<WebSocketCarrier<Store>, Store>, Store>;

/// Client STOMP bytes not yet decoded: the largest frame accepted (64 KiB bodies and
/// 32 header lines of 1 KiB, the session's default limits, fit).
const INBOUND: usize = 128 * 1024;
/// Frames waiting for the socket; past this a client is a slow consumer.
const OUTBOUND: usize = 1024 * 1024;
/// The copy of the frame being applied to the broker.
const SCRATCH: usize = 128 * 1024;
/// Bytes taken from the session for one round of socket writes.
const WRITE: usize = 64 * 1024;
/// Socket bytes the session has not consumed yet; the core consumes all but a partial
/// frame header, so reading stops past this only while it is paused.
const INPUT: usize = 64 * 1024;

/// The session `id` of a connection upgraded at `now`.
pub fn new_session(id: SessionId, now: Instant) -> Session {
    let ws = Connection::new(Role::Server, WsConfig::default(), 0);
    let carrier = WebSocketCarrier::new(ws, Store::new(OUTBOUND));
    let config = ServerSessionConfig::default();
    let stomp = ServerSession::new(config, Id::from_decimal(u64::from(id.0)), now);
    let stack = StompStack::new(carrier, stomp, Store::new(INBOUND));
    BrokerSession::new(stack, id, Store::new(SCRATCH))
}

/// What one read of the session asks of the driver, copied out of the session.
enum Step {
    /// A `CONNECT`, with its `login`.
    Connect(Option<String>),
    /// A `SEND` to an application destination.
    Application(Application),
    /// Something the core handled (a terminal report): read on.
    Again,
    /// All input used: read the socket.
    NeedMore,
    /// The session takes no input until its output drains.
    Paused,
    /// The session has ended.
    Closed,
}

/// A `SEND` to `/app/...`, copied.
struct Application {
    destination: String,
    headers: Vec<u8>,
    escaping: Escaping,
    body: Vec<u8>,
}

impl Step {
    fn of(status: Status<SessionEvent<'_>>) -> Step {
        match status {
            Status::Event(SessionEvent::Connect { login, .. }) => {
                Step::Connect(login.map(str::to_owned))
            }
            Status::Event(SessionEvent::Application {
                destination,
                headers,
                body,
            }) => Step::Application(Application {
                destination: destination.to_owned(),
                headers: headers.as_bytes().to_vec(),
                escaping: headers.escaping(),
                body: body.to_vec(),
            }),
            Status::Event(
                SessionEvent::Closed(_)
                | SessionEvent::Subscribed { .. }
                | SessionEvent::Unsubscribed { .. },
            ) => Step::Again,
            Status::NeedMore => Step::NeedMore,
            Status::Paused(_) => Step::Paused,
            Status::Closed => Step::Closed,
        }
    }
}

/// Serves the session of an upgraded connection until it closes; `input` holds what the
/// client sent after the handshake.
pub async fn serve(
    mut stream: TcpStream,
    input: Vec<u8>,
    hub: SharedHub,
    clock: Clock,
) -> io::Result<()> {
    let (id, mailbox) = lock(&hub).register();
    let mut driver = Driver {
        session: new_session(id, clock.now()),
        hub,
        clock,
        input,
        out: Vec::new(),
        written: 0,
        paused: false,
        mailbox,
        evicted: false,
    };
    driver.run(&mut stream).await
}

/// The session and what its task keeps around it.
struct Driver {
    session: Session,
    hub: SharedHub,
    clock: Clock,
    /// Socket bytes not consumed yet.
    input: Vec<u8>,
    /// Bytes taken from the session, written up to `written`.
    out: Vec<u8>,
    written: usize,
    /// The session last said it takes no input for now.
    paused: bool,
    /// Deliveries from other sessions.
    mailbox: mpsc::Receiver<OwnedDelivery>,
    /// The hub dropped the mailbox's sender: the session is a slow consumer.
    evicted: bool,
}

impl Driver {
    /// Reads, writes, delivers and runs timers until the session is closed and its last
    /// bytes are written, or the client goes away.
    async fn run(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        let (mut rd, mut wr) = stream.split();
        let mut eof = false;
        loop {
            let now = self.clock.now();
            self.pump(now);
            if self.written >= self.out.len() {
                self.out.clear();
                self.written = 0;
                collect(&mut self.session, now, &mut self.out, WRITE);
            }
            let idle = self.out.is_empty();
            if idle && (eof || self.session.is_closed()) {
                return Ok(());
            }
            let deadline = self.session.poll_timeout();
            let reading = !eof && !self.paused && self.input.len() < INPUT;
            let pending = self.out.get(self.written..).unwrap_or_default();
            tokio::select! {
                n = rd.read_buf(&mut self.input), if reading => eof = n? == 0,
                n = wr.write(pending), if !idle => match n? {
                    0 => return Err(io::ErrorKind::WriteZero.into()),
                    n => self.written = self.written.saturating_add(n),
                },
                d = self.mailbox.recv(), if !self.evicted => self.receive(d),
                () = sleep_until(&self.clock, deadline) => {
                    // A terminal timeout is reported, and the broker told, by the next read.
                    let _ = self.session.handle_timeout(self.clock.now());
                }
            }
        }
    }

    /// Feeds the input to the session until it needs more, pauses or closes, and answers
    /// what it reports.
    fn pump(&mut self, now: Instant) {
        let hub = Arc::clone(&self.hub);
        let mut hub = lock(&hub);
        let mut at = 0;
        loop {
            let rest = self.input.get_mut(at..).unwrap_or_default();
            let session = &mut self.session;
            let (consumed, step) = hub.with(|broker, sink| {
                let read = session.read(rest, now, broker, sink);
                (read.consumed, Step::of(read.status))
            });
            at = at.saturating_add(consumed);
            self.paused = matches!(step, Step::Paused);
            match step {
                Step::Connect(login) => self.connect(now, login),
                Step::Application(app) => self.application(now, &mut hub, app),
                Step::Again => {}
                Step::NeedMore | Step::Paused | Step::Closed => break,
            }
        }
        self.input.drain(..at.min(self.input.len()));
    }

    /// Accepts every `CONNECT`: the user is its `login`, or `session-N` without one.
    fn connect(&mut self, now: Instant, login: Option<String>) {
        let user = login.unwrap_or_else(|| format!("session-{}", self.session.id().0));
        // Refused only when the session is already ending (or the name is too long,
        // which the core answers with an ERROR itself).
        let _ = self.session.accept(now, &user);
    }

    /// The application: `/app/echo` answers the sender on `/user/{user}/queue/echo`,
    /// `/app/broadcast` republishes to `/topic/broadcast`; other application
    /// destinations have no handler and are ignored.
    fn application(&mut self, now: Instant, hub: &mut Hub, app: Application) {
        let destination = match app.destination.as_str() {
            "/app/echo" => format!("/user/{}/queue/echo", self.session.user()),
            "/app/broadcast" => String::from("/topic/broadcast"),
            _ => return,
        };
        let message = Message {
            destination: &destination,
            headers: HeaderLines::with_escaping(&app.headers, app.escaping),
            body: &app.body,
        };
        let session = &mut self.session;
        let published = hub.with(|broker, sink| session.publish(now, broker, message, sink));
        if let Err(e) = published {
            // The answer cannot be routed (a user name that makes no destination): say
            // so the STOMP way and end the session.
            let _ = self.session.close(now, e.message());
        }
    }

    /// A delivery from another session's publish, or the mailbox closed by the hub.
    fn receive(&mut self, delivery: Option<OwnedDelivery>) {
        let now = self.clock.now();
        let Some(d) = delivery else {
            self.evicted = true;
            let _ = self.session.close(now, SLOW_CONSUMER);
            return;
        };
        match self.session.deliver(now, &d.as_delivery()) {
            // Refused: the subscription ended (or the session closed) after the broker
            // routed the message; there is no one to deliver it to.
            Ok(()) | Err(DeliverError::Refused(_)) => {}
            // The session ends itself with an ERROR (`Full` is only for queue messages
            // the broker still holds, which mailbox deliveries are not).
            Err(DeliverError::SlowConsumer | DeliverError::Full) => {}
        }
    }
}

impl Drop for Driver {
    /// Whatever ended the task (a close, a network error, a panic), the broker forgets
    /// the session and the hub its mailbox.
    fn drop(&mut self) {
        let now = self.clock.now();
        let hub = Arc::clone(&self.hub);
        let mut hub = lock(&hub);
        hub.unregister(self.session.id());
        let session = &mut self.session;
        hub.with(|broker, sink| session.disconnect(now, broker, sink));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockwire_core::broker::Delivery;
    use sockwire_core::ws::{DataKind, Event, Fragment};

    /// A client frame carrying `payload`.
    fn frame(client: &mut Connection, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; payload.len() + 14];
        let whole = Fragment::Whole(DataKind::Text);
        let n = client.send(Instant(0), whole, payload, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// Feeds `wire` to `s` until it needs more; accepts a CONNECT as "u".
    fn feed(s: &mut Session, hub: &mut Hub, mut wire: Vec<u8>) {
        let mut none = |_: Delivery<'_>| panic!("no other session");
        loop {
            let read = hub.with(|b, _| s.read(&mut wire, Instant(0), b, &mut none));
            let step = (read.consumed, Step::of(read.status));
            wire.drain(..step.0);
            match step.1 {
                Step::Connect(_) => s.accept(Instant(0), "u").unwrap(),
                Step::Application(_) | Step::Again => {}
                Step::NeedMore | Step::Paused | Step::Closed => return,
            }
        }
    }

    /// What the server wrote, as the client reads it: messages and the close code.
    fn received(client: &mut Connection, s: &mut Session) -> Vec<String> {
        let mut wire = Vec::new();
        collect(s, Instant(0), &mut wire, usize::MAX);
        let mut seen = Vec::new();
        loop {
            let read = client.read(&mut wire, Instant(0));
            let consumed = read.consumed;
            match read.status {
                Status::Event(Event::Data { payload, .. }) => {
                    seen.push(String::from_utf8_lossy(payload).into_owned())
                }
                Status::Event(Event::Closed { code, .. }) => {
                    seen.push(format!("close {:?}", code.map(|c| c.as_u16())))
                }
                Status::Event(_) => {}
                _ => return seen,
            }
            wire.drain(..consumed);
        }
    }

    /// A session that was sent CONNECT and DISCONNECT (receipt "bye"), its answer read
    /// by `client`, and the client's close echo.
    fn disconnected(hub: &mut Hub) -> (Session, Connection, Vec<String>, Vec<u8>) {
        let (id, _mailbox) = hub.register();
        let mut s = new_session(id, Instant(0));
        let mut client = Connection::new(Role::Client, WsConfig::default(), 7);
        let mut wire = frame(&mut client, b"CONNECT\naccept-version:1.2\nhost:h\n\n\0");
        wire.extend(frame(&mut client, b"DISCONNECT\nreceipt:bye\n\n\0"));
        feed(&mut s, hub, wire);
        let seen = received(&mut client, &mut s);
        let mut echo = vec![0u8; 16];
        let n = client
            .poll_transmit(Instant(0), &mut echo)
            .unwrap()
            .unwrap();
        echo.truncate(n);
        (s, client, seen, echo)
    }

    /// A DISCONNECT ends the session from the server's side: RECEIPT, close 1000, the
    /// broker told at once; nothing is owed after the client's close echo.
    #[test]
    fn disconnect_answers_receipt_and_close_then_times_out() {
        let mut hub = Hub::new();
        let (mut s, mut client, seen, echo) = disconnected(&mut hub);
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen[0].starts_with("CONNECTED\nversion:1.2\n"), "{seen:?}");
        assert!(seen[1].starts_with("RECEIPT\nreceipt-id:bye\n"), "{seen:?}");
        assert_eq!(seen[2], "close Some(1000)");
        assert!(s.is_released());
        feed(&mut s, &mut hub, echo);
        assert!(s.is_closed());
        assert_eq!(s.poll_timeout(), None);
        assert!(received(&mut client, &mut s).is_empty());
    }

    /// The client's close echo should complete the closing handshake at once.
    #[test]
    fn the_clients_close_echo_closes_the_session_at_once() {
        let mut hub = Hub::new();
        let (mut s, _client, _seen, echo) = disconnected(&mut hub);
        assert!(!s.is_closed(), "waits for the client's close");
        feed(&mut s, &mut hub, echo);
        assert!(s.is_closed(), "the close handshake is complete");
    }
}
