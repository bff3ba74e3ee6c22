//! SockJS peers: [`SockJsWebSocket`] against a WebSocket client that reads SockJS
//! frames, and a [`SockJsSession`] on HTTP transports against a scripted receiver.

extern crate std;

use super::outbox::Outbox;
use super::ws::WsPeer;
use super::{Pair, Peer};
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Read, Status};
use crate::sockjs::{
    Attach, BodyEncoding, CloseFrame, Expired, Frame, Framing, QueueError, SendBody, SendBodyError,
    SockJsSession, Transport,
};
use crate::stack::{SockJsEvent, SockJsStores, SockJsWebSocket, TransportClosed};
use crate::store::ByteStore;
use crate::time::Instant;
use crate::ws::{CloseCode, Connection, DataKind, Event, ProtocolError, SendError};
use core::convert::Infallible;
use std::collections::VecDeque;
use std::string::String;
use std::vec;
use std::vec::Vec;

/// The `jsonp`/`htmlfile` callback the HTTP peers use.
const CALLBACK: &str = "cb";

/// A frame from a SockJS server, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockJsFrame {
    /// A streaming transport's prelude.
    Prelude,
    /// `o`.
    Open,
    /// `h`.
    Heartbeat,
    /// `a[...]`.
    Messages(Vec<String>),
    /// `c[code,"reason"]`.
    Close {
        /// The code.
        code: u16,
        /// The reason.
        reason: String,
    },
}

/// Decodes a JSON array of strings (a SockJS send body, or what follows `a`).
fn json_strings(array: &[u8]) -> Vec<String> {
    let body = SendBody::parse(array, BodyEncoding::Json)
        .unwrap_or_else(|e| panic!("not a JSON array of strings ({e:?}): {array:?}"));
    let mut messages = body.messages();
    let mut buf = vec![0u8; array.len() + 16];
    let mut all = Vec::new();
    while let Some(m) = messages.next_into(&mut buf) {
        all.push(String::from(m.expect("a message longer than its JSON")));
    }
    all
}

/// Parses one bare SockJS frame; anything else fails the test.
pub fn parse_sockjs_frame(bytes: &[u8]) -> SockJsFrame {
    match bytes {
        b"o" => SockJsFrame::Open,
        b"h" => SockJsFrame::Heartbeat,
        [b'a', array @ ..] => SockJsFrame::Messages(json_strings(array)),
        [b'c', b'[', rest @ .., b']'] => {
            let comma = rest
                .iter()
                .position(|&b| b == b',')
                .expect("a close frame without a reason");
            let code = core::str::from_utf8(&rest[..comma])
                .ok()
                .and_then(|c| c.parse().ok())
                .expect("a close code");
            let mut reason = vec![b'['];
            reason.extend_from_slice(&rest[comma + 1..]);
            reason.push(b']');
            let reason = json_strings(&reason).pop().expect("a close reason");
            SockJsFrame::Close { code, reason }
        }
        _ => panic!("not a SockJS frame: {:?}", String::from_utf8_lossy(bytes)),
    }
}

/// `messages` as a JSON array of strings, the way a SockJS client sends them.
pub fn json_array(messages: &[&str]) -> Vec<u8> {
    let mut out = vec![b'['];
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        for c in m.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                c if (c as u32) < 0x20 => {
                    out.extend_from_slice(std::format!("\\u{:04x}", c as u32).as_bytes())
                }
                c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        out.push(b'"');
    }
    out.push(b']');
    out
}

/// Stores for a [`SockJsWebSocket`], each empty.
pub fn sockjs_stores<S: Default>() -> SockJsStores<S> {
    SockJsStores {
        incoming: S::default(),
        decoded: S::default(),
        queue: S::default(),
        out: S::default(),
    }
}

/// What a [`SockJsWebSocket`] server saw, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockJsWsServerRecord {
    /// A client message.
    Message(String),
    /// The session is over (terminal).
    Closed,
}

/// A [`SockJsWebSocket`] server; with `echo`, it sends every message back.
#[derive(Debug, Clone)]
pub struct SockJsWsServer<S> {
    /// The machine.
    pub machine: SockJsWebSocket<S>,
    /// Echo every message.
    pub echo: bool,
    /// Echoes the session refused (its queue full, or closed).
    pub refused: Vec<QueueError>,
}

impl<S: ByteStore> SockJsWsServer<S> {
    /// A server on `machine`, echoing.
    pub fn new(machine: SockJsWebSocket<S>) -> Self {
        SockJsWsServer {
            machine,
            echo: true,
            refused: Vec::new(),
        }
    }
}

impl From<TransportClosed> for SockJsWsServerRecord {
    fn from(_: TransportClosed) -> Self {
        SockJsWsServerRecord::Closed
    }
}

machine_of!(for [S: ByteStore] SockJsWsServer<S>, machine, SockJsWsServerRecord);

impl<S: ByteStore> Peer for SockJsWsServer<S> {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<SockJsWsServerRecord> {
        let read = self.machine.read(input, now).map(|e| match e {
            SockJsEvent::Message(m) => SockJsWsServerRecord::Message(String::from(m)),
            SockJsEvent::Closed => SockJsWsServerRecord::Closed,
        });
        if let (true, Status::Event(SockJsWsServerRecord::Message(m))) = (self.echo, &read.status) {
            if let Err(e) = self.machine.send(now, m) {
                self.refused.push(e);
            }
        }
        read
    }

    fn is_terminal(event: &SockJsWsServerRecord) -> bool {
        *event == SockJsWsServerRecord::Closed
    }
}

/// What a SockJS client over WebSocket saw, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockJsWsRecord {
    /// A SockJS frame (one WebSocket message).
    Frame(SockJsFrame),
    /// The server's WebSocket close (terminal).
    Closed {
        /// Its code.
        code: Option<u16>,
    },
    /// The server broke the WebSocket rules (terminal).
    Failed(ProtocolError),
    /// Our close was not answered in time (terminal).
    TimedOut,
}

/// A SockJS client on a client WebSocket: each message from the server is a frame.
#[derive(Debug, Clone)]
pub struct SockJsWsClient {
    /// The WebSocket.
    pub ws: WsPeer,
    message: Vec<u8>,
}

impl SockJsWsClient {
    /// A client on `conn`.
    pub fn new(conn: Connection) -> Self {
        SockJsWsClient {
            ws: WsPeer::new(conn),
            message: Vec::new(),
        }
    }

    /// Sends `messages` as one WebSocket message (a JSON array).
    pub fn send(&mut self, now: Instant, messages: &[&str]) -> Result<(), SendError> {
        self.ws
            .send_message(now, DataKind::Text, &json_array(messages))
    }

    /// Closes the WebSocket.
    pub fn close(&mut self, now: Instant, code: CloseCode) -> Result<(), SendError> {
        self.ws.close(now, code, "")
    }
}

impl Machine for SockJsWsClient {
    type TimeoutEvent = SockJsWsRecord;

    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.ws.poll_transmit(now, out)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.ws.poll_timeout()
    }

    /// Only the close can time out.
    fn handle_timeout(&mut self, now: Instant) -> Option<SockJsWsRecord> {
        self.ws
            .handle_timeout(now)
            .map(|_| SockJsWsRecord::TimedOut)
    }

    fn is_closed(&self) -> bool {
        self.ws.is_closed()
    }
}

impl Peer for SockJsWsClient {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<SockJsWsRecord> {
        let mut pos = 0;
        loop {
            let read = self.ws.conn.read(&mut input[pos..], now);
            pos += read.consumed;
            let event = match read.status {
                Status::Event(Event::Data { payload, fin, .. }) => {
                    self.message.extend_from_slice(payload);
                    if !fin {
                        continue;
                    }
                    let frame = parse_sockjs_frame(&core::mem::take(&mut self.message));
                    SockJsWsRecord::Frame(frame)
                }
                Status::Event(Event::Ping(_) | Event::Pong(_)) => continue,
                Status::Event(Event::Closed { code, .. }) => SockJsWsRecord::Closed {
                    code: code.map(CloseCode::as_u16),
                },
                Status::Event(Event::Failed(e)) => SockJsWsRecord::Failed(e),
                Status::Event(Event::TimedOut) => SockJsWsRecord::TimedOut,
                Status::NeedMore => return Read::need_more(pos),
                Status::Paused(p) => return Read::paused(pos, p),
                Status::Closed => return Read::closed(input.len()),
            };
            return Read::event(pos, event);
        }
    }

    fn is_terminal(event: &SockJsWsRecord) -> bool {
        !matches!(event, SockJsWsRecord::Frame(_))
    }
}

/// Queues the prelude of an attached receiving request of `transport`.
pub(super) fn queue_prelude(outbox: &mut Outbox, attach: Attach, transport: Transport) {
    if attach != Attach::AnotherConnectionStillOpen {
        let mut prelude = vec![0u8; 4096];
        let n = Framing::with_callback(transport, CALLBACK)
            .write_prelude(&mut prelude)
            .expect("a prelude fits 4 KiB");
        prelude.truncate(n);
        outbox.push(prelude);
    }
}

/// What a SockJS session on HTTP transports saw, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockJsHttpRecord {
    /// A message of a send request's body.
    Message(String),
    /// A send request's body that is not a JSON array of strings.
    BrokenBody(SendBodyError),
    /// The disconnect delay passed without a receiver (terminal).
    Expired,
}

/// A [`SockJsSession`] on HTTP transports. The client-to-server pipe carries send
/// requests' bodies, one per line; the server-to-client pipe carries what the receiving
/// request attached with [`SockJsHttp::attach`] gets (the prelude of a streaming
/// transport, then the session's frames). With `echo`, every message is sent back.
#[derive(Debug, Clone)]
pub struct SockJsHttp<Q> {
    /// The session.
    pub session: SockJsSession<Q>,
    /// Echo every message.
    pub echo: bool,
    /// Echoes the session refused (its queue full, or closed).
    pub refused: Vec<QueueError>,
    decoded: VecDeque<String>,
    prelude: Outbox,
}

impl<Q: ByteStore> SockJsHttp<Q> {
    /// A peer on `session`, echoing.
    pub fn new(session: SockJsSession<Q>) -> Self {
        SockJsHttp {
            session,
            echo: true,
            refused: Vec::new(),
            decoded: VecDeque::new(),
            prelude: Outbox::default(),
        }
    }

    /// A receiving request of `transport` arrives: it is attached (its prelude goes out
    /// first), or refused when another one is.
    pub fn attach(&mut self, now: Instant, transport: Transport) -> Attach {
        let attach = self.session.attach_receiver(now, transport, CALLBACK);
        queue_prelude(&mut self.prelude, attach, transport);
        attach
    }

    /// What a refused receiving request of `transport` is answered with (the caller's
    /// job: see [`Attach::AnotherConnectionStillOpen`]).
    pub fn refusal(transport: Transport) -> Vec<u8> {
        let mut out = vec![0u8; 256];
        let frame = Frame::Close(CloseFrame::ANOTHER_CONNECTION_STILL_OPEN);
        let n = Framing::with_callback(transport, CALLBACK)
            .write_frame(&frame, &mut out)
            .expect("a close frame fits");
        out.truncate(n);
        out
    }
}

impl From<Expired> for SockJsHttpRecord {
    fn from(_: Expired) -> Self {
        SockJsHttpRecord::Expired
    }
}

machine_of!(for [Q: ByteStore] SockJsHttp<Q>, session, SockJsHttpRecord, prelude);

impl<Q: ByteStore> Peer for SockJsHttp<Q> {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<SockJsHttpRecord> {
        let mut pos = 0;
        loop {
            if let Some(m) = self.decoded.pop_front() {
                return Read::event(pos, SockJsHttpRecord::Message(m));
            }
            let Some(end) = input[pos..].iter().position(|&b| b == b'\n') else {
                return Read::need_more(pos);
            };
            let body = &input[pos..pos + end];
            pos += end + 1;
            let parsed = match SendBody::parse(body, BodyEncoding::Json) {
                Ok(_) => json_strings(body),
                Err(e) => return Read::event(pos, SockJsHttpRecord::BrokenBody(e)),
            };
            for m in parsed {
                if self.echo {
                    if let Err(e) = self.session.send(now, &m) {
                        self.refused.push(e);
                    }
                }
                self.decoded.push_back(m);
            }
        }
    }

    fn is_terminal(event: &SockJsHttpRecord) -> bool {
        *event == SockJsHttpRecord::Expired
    }
}

/// A scripted SockJS client on HTTP transports: it reads the frames of the receiving
/// request the test made (`transport`), and writes send requests' bodies.
#[derive(Debug, Clone, Default)]
pub struct SockJsReceiver {
    /// The transport of the current receiving request.
    pub transport: Option<Transport>,
    bodies: Outbox,
}

impl SockJsReceiver {
    /// Queues a send request carrying `messages`.
    pub fn send(&mut self, messages: &[&str]) {
        let mut body = json_array(messages);
        body.push(b'\n');
        self.bodies.push(body);
    }
}

/// Finds `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl From<Infallible> for SockJsFrame {
    fn from(never: Infallible) -> Self {
        match never {}
    }
}

machine_of!(SockJsReceiver, bodies, SockJsFrame);

impl Peer for SockJsReceiver {
    fn read(&mut self, input: &mut [u8], _now: Instant) -> Read<SockJsFrame> {
        let transport = match self.transport {
            None if input.is_empty() => return Read::need_more(0),
            None => panic!("bytes for no receiving request: {input:?}"),
            Some(t) => t,
        };
        match transport {
            Transport::Xhr | Transport::XhrStreaming => {
                let Some(end) = input.iter().position(|&b| b == b'\n') else {
                    return Read::need_more(0);
                };
                let line = &input[..end];
                let frame = if line.len() == 2048 && line.iter().all(|&b| b == b'h') {
                    SockJsFrame::Prelude
                } else {
                    parse_sockjs_frame(line)
                };
                Read::event(end + 1, frame)
            }
            Transport::EventSource => {
                if input.starts_with(b"\r\n") {
                    return Read::event(2, SockJsFrame::Prelude);
                }
                let Some(end) = find(input, b"\r\n\r\n") else {
                    return Read::need_more(0);
                };
                let line = input[..end]
                    .strip_prefix(b"data: ")
                    .expect("an event-stream frame");
                Read::event(end + 4, parse_sockjs_frame(line))
            }
            other => panic!("the scripted receiver does not read {other:?}"),
        }
    }

    fn is_terminal(_: &SockJsFrame) -> bool {
        false
    }
}

/// A client on SockJS HTTP transports: it makes receiving requests of a transport.
pub trait HttpClient {
    /// Its scripted receiver.
    fn receiver(&mut self) -> &mut SockJsReceiver;
}

/// A server on SockJS HTTP transports: receiving requests attach to it.
pub trait HttpServer {
    /// A receiving request of `transport` arrives at `now`.
    fn attach(&mut self, now: Instant, transport: Transport) -> Attach;
}

impl HttpClient for SockJsReceiver {
    fn receiver(&mut self) -> &mut SockJsReceiver {
        self
    }
}

impl<Q: ByteStore> HttpServer for SockJsHttp<Q> {
    fn attach(&mut self, now: Instant, transport: Transport) -> Attach {
        SockJsHttp::attach(self, now, transport)
    }
}

impl<C: Peer + HttpClient, S: Peer + HttpServer> Pair<C, S> {
    /// The client makes a receiving request of `transport`, and the pair is driven. A
    /// refused request leaves the current one in place.
    pub fn request(&mut self, transport: Transport) -> Attach {
        self.drive();
        let now = self.now();
        let attach = self.server_mut().attach(now, transport);
        if attach != Attach::AnotherConnectionStillOpen {
            self.client_mut().receiver().transport = Some(transport);
        }
        self.drive();
        attach
    }
}
