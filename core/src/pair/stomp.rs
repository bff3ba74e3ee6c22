//! STOMP peers: a client session over a byte stream or a client WebSocket, and a server
//! session or any STOMP stack, with their events owned.

extern crate std;

use super::outbox::Outbox;
use super::Peer;
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Read, Status};
use crate::stack::{StackEvent, StompEndpoint};
use crate::stomp::SessionStorage;
use crate::stomp::{
    AckFrame, AckMode, ActionError, ClientError, ClientEvent, ClientSession, ConnectOptions,
    EncodeError, HeaderLines, HeaderText, HeartBeat, HeartBeatIntervals, OutgoingMessage,
    SendFrame, ServerEvent, ServerSession, ServerViolation, SessionError, SubscribeFrame, Version,
};
use crate::time::Instant;
use crate::ws::{CloseCode, Connection, DataKind, Event, Fragment, State};
use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec;

/// A header value as text (lossy for what is not UTF-8).
pub(super) fn owned(text: HeaderText<'_>) -> String {
    String::from_utf8_lossy(&text.bytes().collect::<Vec<u8>>()).into_owned()
}

/// What a STOMP client saw of its server, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRecord {
    /// `CONNECTED`.
    Connected {
        /// The version agreed on.
        version: Version,
        /// The heart-beats in force.
        heart_beat: HeartBeatIntervals,
    },
    /// `MESSAGE`.
    Message {
        /// The `subscription` header.
        subscription: Option<String>,
        /// The `message-id` header.
        message_id: String,
        /// The `destination` header.
        destination: String,
        /// The id to acknowledge it with.
        ack_id: String,
        /// The body.
        body: Vec<u8>,
    },
    /// `RECEIPT` of an outstanding receipt.
    Receipt(String),
    /// `ERROR` (terminal).
    Error {
        /// The `message` header.
        message: Option<String>,
        /// The `receipt-id` header.
        receipt_id: Option<String>,
    },
    /// The server went silent (terminal).
    HeartbeatLost,
    /// The server broke the protocol (terminal).
    Failed(ServerViolation),
    /// The WebSocket under the session ended first (terminal), with the server's code.
    TransportClosed {
        /// The server's close code.
        code: Option<u16>,
    },
    /// The WebSocket close handshake under the session timed out (terminal).
    TransportTimedOut,
}

impl From<ClientEvent<'_>> for ClientRecord {
    fn from(e: ClientEvent<'_>) -> Self {
        match e {
            ClientEvent::Connected {
                version,
                heart_beat,
                ..
            } => ClientRecord::Connected {
                version,
                heart_beat,
            },
            ClientEvent::Message {
                subscription,
                message_id,
                destination,
                body,
                ..
            } => ClientRecord::Message {
                subscription: subscription.map(owned),
                message_id: owned(message_id),
                destination: owned(destination),
                ack_id: e.ack_id().map(owned).unwrap_or_default(),
                body: body.to_vec(),
            },
            ClientEvent::Receipt { id } => ClientRecord::Receipt(owned(id)),
            ClientEvent::Error {
                message,
                receipt_id,
                ..
            } => ClientRecord::Error {
                message: message.map(owned),
                receipt_id: receipt_id.map(owned),
            },
            ClientEvent::HeartbeatLost => ClientRecord::HeartbeatLost,
            ClientEvent::Failed(v) => ClientRecord::Failed(v),
        }
    }
}

impl ClientRecord {
    /// The body of a `MESSAGE`.
    pub fn message_body(&self) -> Option<&[u8]> {
        match self {
            ClientRecord::Message { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The id of a `RECEIPT`.
    pub fn receipt_id(&self) -> Option<&str> {
        match self {
            ClientRecord::Receipt(id) => Some(id),
            _ => None,
        }
    }

    fn is_terminal(&self) -> bool {
        !matches!(
            self,
            ClientRecord::Connected { .. }
                | ClientRecord::Message { .. }
                | ClientRecord::Receipt(_)
        )
    }
}

/// The frames a STOMP client peer builds, on whatever transport.
pub trait StompClientOps {
    /// The session.
    fn session(&mut self) -> &mut ClientSession;

    /// Queues one built frame for the wire.
    fn queue_frame(&mut self, now: Instant, frame: Vec<u8>);

    /// Builds one frame with a [`ClientSession`] builder and queues it.
    fn build(
        &mut self,
        now: Instant,
        build: impl Fn(&mut ClientSession, &mut [u8]) -> Result<usize, ClientError>,
    ) -> Result<(), ClientError> {
        let mut out = vec![0u8; 1024];
        loop {
            match build(self.session(), &mut out) {
                Ok(n) => {
                    out.truncate(n);
                    self.queue_frame(now, out);
                    return Ok(());
                }
                Err(ClientError::Encode(EncodeError::BufferTooSmall(e)))
                    if e.needed > out.len() =>
                {
                    out.resize(e.needed, 0);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `CONNECT` offering every version and `heart_beat`.
    fn connect(&mut self, now: Instant, heart_beat: HeartBeat) -> Result<(), ClientError> {
        let options = ConnectOptions {
            heart_beat,
            ..ConnectOptions::default()
        };
        self.build(now, |s, out| s.connect(now, &options, out))
    }

    /// `SUBSCRIBE`.
    fn subscribe(
        &mut self,
        now: Instant,
        id: &str,
        destination: &str,
        ack: AckMode,
        receipt: Option<&str>,
    ) -> Result<(), ClientError> {
        let frame = SubscribeFrame {
            destination,
            id,
            ack,
            headers: &[],
            receipt,
        };
        self.build(now, |s, out| s.subscribe(now, &frame, out))
    }

    /// `SEND`.
    fn send(
        &mut self,
        now: Instant,
        destination: &str,
        body: &[u8],
        transaction: Option<&str>,
        receipt: Option<&str>,
    ) -> Result<(), ClientError> {
        let frame = SendFrame {
            destination,
            headers: &[],
            body,
            transaction,
            receipt,
        };
        self.build(now, |s, out| s.send(now, &frame, out))
    }

    /// `ACK`.
    fn ack(
        &mut self,
        now: Instant,
        ack_id: &str,
        subscription: &str,
        receipt: Option<&str>,
    ) -> Result<(), ClientError> {
        let frame = AckFrame {
            ack_id,
            subscription,
            transaction: None,
            receipt,
        };
        self.build(now, |s, out| s.ack(now, &frame, out))
    }

    /// `BEGIN`.
    fn begin(&mut self, now: Instant, tx: &str, receipt: Option<&str>) -> Result<(), ClientError> {
        self.build(now, |s, out| s.begin(now, tx, receipt, out))
    }

    /// `COMMIT`.
    fn commit(&mut self, now: Instant, tx: &str, receipt: Option<&str>) -> Result<(), ClientError> {
        self.build(now, |s, out| s.commit(now, tx, receipt, out))
    }

    /// `ABORT`.
    fn abort(&mut self, now: Instant, tx: &str, receipt: Option<&str>) -> Result<(), ClientError> {
        self.build(now, |s, out| s.abort(now, tx, receipt, out))
    }

    /// `DISCONNECT`.
    fn disconnect(&mut self, now: Instant, receipt: Option<&str>) -> Result<(), ClientError> {
        self.build(now, |s, out| s.disconnect(now, receipt, out))
    }
}

/// A STOMP client session over a byte stream; the frames it builds wait in a queue.
#[derive(Debug, Clone)]
pub struct StompClient {
    /// The session.
    pub session: ClientSession,
    outbox: Outbox,
}

impl StompClient {
    /// A client session with default limits.
    pub fn new() -> Self {
        StompClient {
            session: ClientSession::new(Default::default()),
            outbox: Outbox::default(),
        }
    }
}

impl Default for StompClient {
    fn default() -> Self {
        StompClient::new()
    }
}

impl StompClientOps for StompClient {
    fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    fn queue_frame(&mut self, _now: Instant, frame: Vec<u8>) {
        self.outbox.push(frame);
    }
}

machine_of!(StompClient, session, ClientRecord, outbox);

impl Peer for StompClient {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<ClientRecord> {
        self.session.read(input, now).map(ClientRecord::from)
    }

    fn is_terminal(event: &ClientRecord) -> bool {
        event.is_terminal()
    }
}

/// How a [`StompWsClient`] puts its STOMP bytes into WebSocket messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsChunking {
    /// One STOMP frame per message.
    Frame,
    /// Each frame cut into messages of at most this many bytes.
    Pieces(usize),
    /// Frames gather until [`StompWsClient::flush_batch`] sends them as one message.
    Batch,
}

/// A STOMP client session over a client WebSocket [`Connection`].
#[derive(Debug, Clone)]
pub struct StompWsClient {
    /// The STOMP session.
    pub session: ClientSession,
    /// The WebSocket.
    pub ws: Connection,
    /// How STOMP bytes become messages.
    pub chunking: WsChunking,
    /// Each message goes out in WebSocket frames of at most this many bytes.
    pub fragment: Option<usize>,
    stomp_in: Vec<u8>,
    batch: Vec<u8>,
    outbox: Outbox,
    /// The WebSocket ended: the session hears nothing more.
    over: bool,
    /// Frames the WebSocket refused (built after it closed).
    pub refused: usize,
}

impl StompWsClient {
    /// A client session over `ws`.
    pub fn new(ws: Connection) -> Self {
        StompWsClient {
            session: ClientSession::new(Default::default()),
            ws,
            chunking: WsChunking::Frame,
            fragment: None,
            stomp_in: Vec::new(),
            batch: Vec::new(),
            outbox: Outbox::default(),
            over: false,
            refused: 0,
        }
    }

    /// Sends the gathered frames as one message.
    pub fn flush_batch(&mut self, now: Instant) {
        let batch = core::mem::take(&mut self.batch);
        if !batch.is_empty() {
            self.message(now, &batch);
        }
    }

    /// Queues one WebSocket message carrying `data`.
    fn message(&mut self, now: Instant, data: &[u8]) {
        let kind = if core::str::from_utf8(data).is_ok() {
            DataKind::Text
        } else {
            DataKind::Binary
        };
        let size = self.fragment.unwrap_or(usize::MAX).max(1);
        let pieces: Vec<&[u8]> = if data.is_empty() {
            vec![data]
        } else {
            data.chunks(size).collect()
        };
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            let fragment = Fragment::new(kind, i == 0, i == last);
            let mut out = vec![0u8; piece.len() + 14];
            match self.ws.send(now, fragment, piece, &mut out) {
                Ok(n) => {
                    out.truncate(n);
                    self.outbox.push(out);
                }
                Err(_) => {
                    self.refused += 1;
                    return;
                }
            }
        }
    }
}

impl StompClientOps for StompWsClient {
    fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    fn queue_frame(&mut self, now: Instant, frame: Vec<u8>) {
        match self.chunking {
            WsChunking::Frame => self.message(now, &frame),
            WsChunking::Pieces(n) => {
                for piece in frame.chunks(n.max(1)) {
                    self.message(now, piece);
                }
            }
            WsChunking::Batch => self.batch.extend_from_slice(&frame),
        }
    }
}

impl Machine for StompWsClient {
    type TimeoutEvent = ClientRecord;

    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        if self.outbox.is_empty() && !self.over {
            let mut beat = [0u8; 8];
            if let Some(n) = self.session.poll_transmit(now, &mut beat)? {
                self.message(now, &beat[..n]);
            }
        }
        if let Some(written) = self.outbox.pop(out) {
            return written.map(Some);
        }
        if self.session.is_closed() && self.ws.state() == State::Open {
            let _ = self.ws.close(now, CloseCode::NORMAL, "");
        }
        self.ws.poll_transmit(now, out)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let session = self.session.poll_timeout().filter(|_| !self.over);
        [session, self.ws.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) -> Option<ClientRecord> {
        if !self.over {
            if let Some(e) = self.session.handle_timeout(now) {
                return Some(e.into());
            }
        }
        self.ws.handle_timeout(now)?;
        let reported = !self.over && !self.session.is_closed();
        self.over = true;
        reported.then_some(ClientRecord::TransportTimedOut)
    }

    fn is_closed(&self) -> bool {
        self.ws.is_closed() && self.outbox.is_empty()
    }
}

impl Peer for StompWsClient {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<ClientRecord> {
        let mut pos = 0;
        loop {
            if !self.over && !self.session.is_closed() {
                let read = self.session.read(&self.stomp_in, now);
                let consumed = read.consumed;
                let status = read.status.map(ClientRecord::from);
                self.stomp_in.drain(..consumed);
                if let Status::Event(e) = status {
                    return Read::event(pos, e);
                }
            } else {
                self.stomp_in.clear();
            }
            let rest = &mut input[pos..];
            let read = self.ws.read(rest, now);
            pos += read.consumed;
            let code = match read.status {
                Status::Event(Event::Data { payload, .. }) => {
                    self.stomp_in.extend_from_slice(payload);
                    continue;
                }
                Status::Event(Event::Ping(_) | Event::Pong(_)) => continue,
                Status::Event(Event::Closed { code, .. }) => code.map(CloseCode::as_u16),
                Status::Event(Event::Failed(_) | Event::TimedOut) => None,
                Status::NeedMore => return Read::need_more(pos),
                Status::Paused(p) => return Read::paused(pos, p),
                Status::Closed => return Read::closed(input.len()),
            };
            let reported = !self.over && !self.session.is_closed();
            self.over = true;
            if reported {
                return Read::event(pos, ClientRecord::TransportClosed { code });
            }
        }
    }

    fn is_terminal(event: &ClientRecord) -> bool {
        event.is_terminal()
    }
}

/// What a STOMP server saw of its client, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerRecord {
    /// `CONNECT`.
    Connect {
        /// The version agreed on.
        version: Version,
        /// The `login` header.
        login: Option<String>,
        /// The client's `heart-beat`.
        heart_beat: HeartBeat,
    },
    /// `SUBSCRIBE`.
    Subscribe {
        /// The subscription id.
        id: String,
        /// The destination.
        destination: String,
        /// The acknowledgement mode.
        ack: AckMode,
    },
    /// `UNSUBSCRIBE`.
    Unsubscribe {
        /// The subscription id.
        id: String,
    },
    /// `SEND`, or one of a committed transaction.
    Send {
        /// The destination.
        destination: String,
        /// The transaction, for a committed `SEND`.
        transaction: Option<String>,
        /// The body.
        body: Vec<u8>,
    },
    /// `ACK`.
    Ack {
        /// The message acknowledged.
        message_id: String,
        /// Messages settled.
        settled: usize,
    },
    /// `NACK`.
    Nack {
        /// The message refused.
        message_id: String,
        /// Messages settled.
        settled: usize,
    },
    /// `BEGIN`.
    Begin {
        /// The transaction.
        transaction: String,
    },
    /// `COMMIT`.
    Commit {
        /// The transaction.
        transaction: String,
        /// `SEND`s held for it.
        held: usize,
    },
    /// `ABORT`.
    Abort {
        /// The transaction.
        transaction: String,
        /// `SEND`s dropped.
        discarded: usize,
    },
    /// `DISCONNECT` (terminal).
    Disconnect {
        /// The receipt it asked for.
        receipt: Option<String>,
    },
    /// The client went silent (terminal).
    HeartbeatTimeout,
    /// The client did not connect in time (terminal).
    ConnectTimeout,
    /// The client broke a rule (terminal).
    ProtocolError(SessionError),
    /// The transport ended under the session (terminal).
    TransportClosed,
}

impl ServerRecord {
    /// The body of a `SEND`.
    pub fn send_body(&self) -> Option<&[u8]> {
        match self {
            ServerRecord::Send { body, .. } => Some(body),
            _ => None,
        }
    }
}

impl From<ServerEvent<'_>> for ServerRecord {
    fn from(e: ServerEvent<'_>) -> Self {
        match e {
            ServerEvent::Connect {
                version,
                login,
                heart_beat,
                ..
            } => ServerRecord::Connect {
                version,
                login: login.map(owned),
                heart_beat,
            },
            ServerEvent::Subscribe {
                id,
                destination,
                ack,
                ..
            } => ServerRecord::Subscribe {
                id: owned(id),
                destination: owned(destination),
                ack,
            },
            ServerEvent::Unsubscribe { id, .. } => ServerRecord::Unsubscribe {
                id: String::from_utf8_lossy(id.as_bytes()).into_owned(),
            },
            ServerEvent::Send {
                destination,
                transaction,
                frame,
            } => ServerRecord::Send {
                destination: owned(destination),
                transaction: transaction.map(owned),
                body: frame.body().to_vec(),
            },
            ServerEvent::Ack {
                message_id,
                settled,
                ..
            } => ServerRecord::Ack {
                message_id: String::from_utf8_lossy(message_id.as_bytes()).into_owned(),
                settled,
            },
            ServerEvent::Nack {
                message_id,
                settled,
                ..
            } => ServerRecord::Nack {
                message_id: String::from_utf8_lossy(message_id.as_bytes()).into_owned(),
                settled,
            },
            ServerEvent::Begin { transaction, .. } => ServerRecord::Begin {
                transaction: owned(transaction),
            },
            ServerEvent::Commit {
                transaction, held, ..
            } => ServerRecord::Commit {
                transaction: owned(transaction),
                held,
            },
            ServerEvent::Abort {
                transaction,
                discarded,
                ..
            } => ServerRecord::Abort {
                transaction: owned(transaction),
                discarded,
            },
            ServerEvent::Disconnect { frame } => ServerRecord::Disconnect {
                receipt: frame.header("receipt").map(owned),
            },
            ServerEvent::HeartbeatTimeout => ServerRecord::HeartbeatTimeout,
            ServerEvent::ConnectTimeout => ServerRecord::ConnectTimeout,
            ServerEvent::ProtocolError(e) => ServerRecord::ProtocolError(e),
        }
    }
}

impl From<StackEvent<'_>> for ServerRecord {
    fn from(e: StackEvent<'_>) -> Self {
        match e {
            StackEvent::Stomp(e) => e.into(),
            StackEvent::TransportClosed => ServerRecord::TransportClosed,
        }
    }
}

/// What a server peer does with a client's `CONNECT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decide {
    /// Accept it at once.
    Accept,
    /// Refuse it with this message.
    Reject(&'static str),
    /// Leave it to the test (the server stays paused until it decides).
    Wait,
}

impl Decide {
    /// Decides for `target` with `accept` or `reject`; a decision the machine refuses
    /// fails the test.
    pub fn apply<T>(
        self,
        target: &mut T,
        accept: impl FnOnce(&mut T) -> Result<(), ActionError>,
        reject: impl FnOnce(&mut T, &str) -> Result<(), ActionError>,
    ) {
        let decided = match self {
            Decide::Accept => accept(target),
            Decide::Reject(message) => reject(target, message),
            Decide::Wait => Ok(()),
        };
        assert_eq!(decided, Ok(()), "a CONNECT could not be decided");
    }
}

/// The message type [`ServerSide::message`] takes.
pub type Message<'m> = OutgoingMessage<'m, core::iter::Copied<core::slice::Iter<'m, u8>>>;

/// A STOMP server machine the [`StompServer`] peer drives: a bare [`ServerSession`] or
/// any [`StompEndpoint`] (a [`StompStack`](crate::stack::StompStack) on any carrier,
/// [`SockJsStomp`](crate::stack::SockJsStomp)).
pub trait ServerSide: Machine<TimeoutEvent: Into<ServerRecord>> {
    /// Reads client bytes, its event owned.
    fn read_record(&mut self, input: &mut [u8], now: Instant) -> Read<ServerRecord>;
    /// Accepts the `CONNECT`.
    fn accept(&mut self, now: Instant) -> Result<(), ActionError>;
    /// Refuses the `CONNECT`.
    fn reject(&mut self, now: Instant, message: &str) -> Result<(), ActionError>;
    /// Ends the session with an `ERROR`.
    fn end(&mut self, now: Instant, message: &str) -> Result<(), ActionError>;
    /// Sends a `MESSAGE`; a bare session hands its bytes to `outbox`.
    fn message(
        &mut self,
        now: Instant,
        message: Message<'_>,
        outbox: &mut Outbox,
    ) -> Result<(), String>;
}

impl<
        const SUBS: usize,
        const TXS: usize,
        const UNACKED: usize,
        const HELD: usize,
        T: SessionStorage,
    > ServerSide for ServerSession<SUBS, TXS, UNACKED, HELD, T>
{
    fn read_record(&mut self, input: &mut [u8], now: Instant) -> Read<ServerRecord> {
        self.read(input, now).map(ServerRecord::from)
    }

    fn accept(&mut self, now: Instant) -> Result<(), ActionError> {
        self.accept_connect(now)
    }

    fn reject(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        self.reject_connect(now, message)
    }

    fn end(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        self.close(now, message)
    }

    fn message(
        &mut self,
        now: Instant,
        message: Message<'_>,
        outbox: &mut Outbox,
    ) -> Result<(), String> {
        let mut out = vec![0u8; 256];
        loop {
            match self.write_message(now, message.clone(), &mut out) {
                Ok(n) => {
                    out.truncate(n);
                    outbox.push(out);
                    return Ok(());
                }
                Err(e) => match e.needed() {
                    Some(needed) if needed > out.len() => out.resize(needed, 0),
                    _ => return Err(format!("{e:?}")),
                },
            }
        }
    }
}

impl<E: StompEndpoint> ServerSide for E {
    fn read_record(&mut self, input: &mut [u8], now: Instant) -> Read<ServerRecord> {
        StompEndpoint::read(self, input, now).map(ServerRecord::from)
    }

    fn accept(&mut self, now: Instant) -> Result<(), ActionError> {
        self.accept_connect(now)
    }

    fn reject(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        self.reject_connect(now, message)
    }

    fn end(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        StompEndpoint::close(self, now, message)
    }

    fn message(
        &mut self,
        now: Instant,
        message: Message<'_>,
        _: &mut Outbox,
    ) -> Result<(), String> {
        self.deliver(now, message, crate::stack::WhenFull::EndSession)
            .map_err(|e| format!("{e:?}"))
    }
}

/// A STOMP server machine as a peer: it decides `CONNECT`s as [`Decide`] says, and
/// sends the messages the test gives it.
#[derive(Debug, Clone)]
pub struct StompServer<T> {
    /// The machine.
    pub machine: T,
    /// What to do with a `CONNECT`.
    pub decide: Decide,
    outbox: Outbox,
}

impl<T: ServerSide> StompServer<T> {
    /// `machine`, accepting `CONNECT`s.
    pub fn new(machine: T) -> Self {
        StompServer {
            machine,
            decide: Decide::Accept,
            outbox: Outbox::default(),
        }
    }

    /// Sends a `MESSAGE` with no extra headers for `subscription`.
    pub fn message(
        &mut self,
        now: Instant,
        subscription: &str,
        message_id: &str,
        destination: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let message = OutgoingMessage {
            subscription: subscription.as_bytes(),
            message_id: message_id.as_bytes(),
            destination: destination.as_bytes().iter().copied(),
            headers: HeaderLines::new(b""),
            body,
        };
        self.machine.message(now, message, &mut self.outbox)
    }

    /// Ends the session with an `ERROR` carrying `message`.
    pub fn close(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        self.machine.end(now, message)
    }
}

machine_of!(for [T: ServerSide] StompServer<T>, machine, ServerRecord, outbox);

impl<T: ServerSide> Peer for StompServer<T> {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<ServerRecord> {
        let read = self.machine.read_record(input, now);
        if let Status::Event(ServerRecord::Connect { .. }) = read.status {
            self.decide.apply(
                &mut self.machine,
                |m| m.accept(now),
                |m, e| m.reject(now, e),
            );
        }
        read
    }

    fn is_terminal(event: &ServerRecord) -> bool {
        matches!(
            event,
            ServerRecord::Disconnect { .. }
                | ServerRecord::HeartbeatTimeout
                | ServerRecord::ConnectTimeout
                | ServerRecord::ProtocolError(_)
                | ServerRecord::TransportClosed
        )
    }
}
