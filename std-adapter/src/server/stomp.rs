//! One STOMP session inside the server: the core's [`ServerSession`] over TCP or
//! WebSocket, turning client frames into [`Action`]s for the hub and writing frames out.

use sockwire_core::broker::DestinationText;
use sockwire_core::machine::{Machine, Status};
use sockwire_core::stomp::{
    AckMode, Escaping, HeaderLines, HeaderText, Id, MessageError, OutgoingMessage, ServerEvent,
    ServerSession, ServerSessionConfig,
};
use sockwire_core::time::Instant;
use sockwire_core::ws::{Connection, DataKind};

use crate::message::MessageBuffer;
use crate::outbound::{push_frame, write_into};
use sockwire_core::sockjs::Frame;

/// The session type the server runs: room for 32 subscriptions, 4 open transactions, 128
/// unacknowledged messages and 8 KiB of transactional frames per session (31 KiB in all,
/// so that 1,000 sessions stay well under 64 MiB).
pub type Session = ServerSession<32, 4, 128, 8192>;

/// What a session asks of the hub, in owned form so that it outlives the input buffer.
#[derive(Debug)]
pub enum Action {
    /// The client connected as `user` (its login, when it gave one).
    Connected { user: Option<String> },
    /// `SUBSCRIBE`.
    Subscribe {
        id: String,
        destination: String,
        ack: AckMode,
        selector: Option<String>,
    },
    /// `UNSUBSCRIBE`.
    Unsubscribe { id: String },
    /// `SEND`, outside a transaction or committed.
    Publish {
        destination: String,
        /// The frame's header lines, escaped under `escaping`.
        headers: Vec<u8>,
        escaping: Escaping,
        body: Vec<u8>,
    },
    /// `ACK` of a message id.
    Ack { message_id: String },
    /// `NACK` of a message id.
    Nack { message_id: String },
    /// The session ended: its subscriptions go, its unacknowledged messages are redelivered.
    Gone,
}

/// How the session's frames travel.
pub enum Carrier {
    /// Raw STOMP over TCP.
    Tcp,
    /// One STOMP frame per WebSocket message; with `sockjs`, each message is a SockJS
    /// frame (`a["..."]` out, a JSON array of strings in).
    WebSocket {
        /// The WebSocket machine.
        conn: Box<Connection>,
        /// Whether SockJS framing wraps the STOMP frames.
        sockjs: bool,
    },
    /// SockJS over HTTP: frames become SockJS messages, collected here for the session.
    SockJs(Vec<String>),
}

/// A MESSAGE to write, as the broker delivered it.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The subscription id.
    pub subscription: &'a [u8],
    /// The broker's message id.
    pub message_id: &'a [u8],
    /// The destination.
    pub destination: DestinationText<'a>,
    /// The message's headers.
    pub headers: HeaderLines<'a>,
    /// The body.
    pub body: &'a [u8],
}

/// A STOMP session with its unconsumed input.
pub struct StompSession {
    pub(crate) session: Box<Session>,
    pub(crate) carrier: Carrier,
    /// STOMP bytes received and not yet consumed (a partial frame).
    input: Vec<u8>,
    /// Set once [`Action::Gone`] has been reported.
    gone: bool,
    /// Frames encoded but not yet framed for the carrier.
    scratch: Vec<u8>,
    /// A SockJS WebSocket message being assembled from its chunks.
    pub(crate) message: MessageBuffer,
}

fn text(t: &HeaderText<'_>) -> String {
    let bytes: Vec<u8> = t.bytes().collect();
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn id_text(id: &Id) -> String {
    String::from_utf8_lossy(id.as_bytes()).into_owned()
}

impl StompSession {
    /// A session created at `now` whose CONNECT is still to come.
    pub fn new(config: ServerSessionConfig, number: u64, carrier: Carrier, now: Instant) -> Self {
        StompSession {
            session: Box::new(Session::new(config, Id::from_decimal(number), now)),
            carrier,
            input: Vec::new(),
            gone: false,
            scratch: Vec::new(),
            message: MessageBuffer::default(),
        }
    }

    /// Reports [`Action::Gone`] once.
    pub fn gone(&mut self, actions: &mut Vec<Action>) {
        if !self.gone {
            self.gone = true;
            actions.push(Action::Gone);
        }
    }

    /// Feeds STOMP bytes (a TCP read or a WebSocket message's payload) to the session.
    pub fn receive(
        &mut self,
        bytes: &[u8],
        now: Instant,
        actions: &mut Vec<Action>,
        wbuf: &mut Vec<u8>,
    ) {
        self.input.extend_from_slice(bytes);
        let mut pos = 0;
        loop {
            let rest = self.input.get(pos..).unwrap_or_default();
            let read = self.session.read(rest, now);
            pos += read.consumed;
            let mut connect = false;
            let go_on = match read.status {
                Status::Event(event) => {
                    connect = matches!(event, ServerEvent::Connect { .. });
                    translate(event, actions);
                    true
                }
                Status::Paused(sockwire_core::machine::Pause::Transmit) => true,
                _ => false,
            };
            if connect {
                let _ = self.session.accept_connect(now);
            }
            self.transmit(now, wbuf);
            if !go_on {
                break;
            }
        }
        self.input.drain(..pos.min(self.input.len()));
        if self.session.is_closed() {
            self.gone(actions);
        }
    }

    /// Writes the frames the session owes (CONNECTED, RECEIPT, ERROR, heart-beats).
    pub fn transmit(&mut self, now: Instant, wbuf: &mut Vec<u8>) {
        grow(&mut self.scratch, 4096);
        loop {
            match self.session.poll_transmit(now, &mut self.scratch) {
                Ok(Some(n)) => {
                    carry(
                        &mut self.carrier,
                        now,
                        self.scratch.get(..n).unwrap_or_default(),
                        wbuf,
                    );
                }
                Ok(None) => return,
                Err(e) => grow(&mut self.scratch, e.needed),
            }
        }
    }

    /// Encodes a MESSAGE for one of this session's subscriptions.
    pub fn deliver(
        &mut self,
        m: Outgoing<'_>,
        now: Instant,
        wbuf: &mut Vec<u8>,
    ) -> Result<(), MessageError> {
        grow(
            &mut self.scratch,
            m.body.len() + m.headers.as_bytes().len() + 512,
        );
        loop {
            let message = OutgoingMessage {
                subscription: m.subscription,
                message_id: m.message_id,
                destination: m.destination.bytes(),
                headers: m.headers,
                body: m.body,
            };
            match self.session.write_message(now, message, &mut self.scratch) {
                Ok(n) => {
                    carry(
                        &mut self.carrier,
                        now,
                        self.scratch.get(..n).unwrap_or_default(),
                        wbuf,
                    );
                    return Ok(());
                }
                Err(e) => match e.needed() {
                    Some(needed) if needed > self.scratch.len() => grow(&mut self.scratch, needed),
                    _ => return Err(e),
                },
            }
        }
    }
}

/// Makes the encoding buffer at least `len` long (it only grows: no clearing per frame).
fn grow(buf: &mut Vec<u8>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0);
    }
}

/// Puts one encoded STOMP frame on the carrier.
fn carry(carrier: &mut Carrier, now: Instant, frame: &[u8], wbuf: &mut Vec<u8>) {
    match carrier {
        Carrier::Tcp => wbuf.extend_from_slice(frame),
        Carrier::WebSocket {
            conn,
            sockjs: false,
        } => {
            let kind = if std::str::from_utf8(frame).is_ok() {
                DataKind::Text
            } else {
                DataKind::Binary
            };
            if let Err(e) = push_frame(conn, now, kind, frame, wbuf) {
                log::debug!("STOMP frame not sent over WebSocket: {e:?}");
            }
        }
        Carrier::WebSocket { conn, sockjs: true } => {
            let text = String::from_utf8_lossy(frame);
            let mut wrapped = Vec::new();
            if write_into(&mut wrapped, |out| Frame::Messages(&[&text]).write(out)).is_ok() {
                if let Err(e) = push_frame(conn, now, DataKind::Text, &wrapped, wbuf) {
                    log::debug!("STOMP frame not sent over SockJS WebSocket: {e:?}");
                }
            }
        }
        // SockJS carries text only; a binary body is passed on as lossy UTF-8.
        Carrier::SockJs(outbox) => outbox.push(String::from_utf8_lossy(frame).into_owned()),
    }
}

/// Turns a session event into the hub's action, copying what it needs.
fn translate(event: ServerEvent<'_>, actions: &mut Vec<Action>) {
    match event {
        ServerEvent::Connect { login, .. } => actions.push(Action::Connected {
            user: login.map(|l| text(&l)).filter(|l| !l.is_empty()),
        }),
        ServerEvent::Subscribe {
            id,
            destination,
            ack,
            selector,
            ..
        } => actions.push(Action::Subscribe {
            id: text(&id),
            destination: text(&destination),
            ack,
            selector: selector.map(|s| text(&s)),
        }),
        ServerEvent::Unsubscribe { id, .. } => {
            actions.push(Action::Unsubscribe { id: id_text(&id) })
        }
        ServerEvent::Send {
            destination, frame, ..
        } => actions.push(Action::Publish {
            destination: text(&destination),
            headers: frame.head().to_vec(),
            escaping: frame.escaping(),
            body: frame.body().to_vec(),
        }),
        ServerEvent::Ack { message_id, .. } => actions.push(Action::Ack {
            message_id: id_text(&message_id),
        }),
        ServerEvent::Nack { message_id, .. } => actions.push(Action::Nack {
            message_id: id_text(&message_id),
        }),
        // The session closes after these; `StompSession::gone` reports it once.
        ServerEvent::Disconnect { .. }
        | ServerEvent::HeartbeatTimeout
        | ServerEvent::ConnectTimeout => {}
        ServerEvent::ProtocolError(e) => log::debug!("STOMP client broke a rule: {e:?}"),
        ServerEvent::Begin { .. } | ServerEvent::Commit { .. } | ServerEvent::Abort { .. } => {}
    }
}
