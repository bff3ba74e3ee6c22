//! The blocking STOMP client.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant as StdInstant};

use sockwire_core::machine::{Machine, Status};
use sockwire_core::stomp::{
    AckFrame, AckMode, ClientError, ClientEvent, ClientSession, ConnectOptions, HeaderText,
    HeartBeat, Limits, SendFrame, SubscribeFrame, Version, VersionSet,
};
use sockwire_core::time::Instant;

use super::transport::{StompUrl, Transport};
use crate::clock::Clock;

/// The session type the adapter drives: generous capacities.
type Session = ClientSession<256, 256, 256>;

/// [`Session::ack`] or [`Session::nack`].
type AckBuilder = fn(&mut Session, Instant, &AckFrame<'_>, &mut [u8]) -> Result<usize, ClientError>;

/// Header lines accepted per server frame.
const MAX_HEADERS: usize = 64;

/// How to connect.
#[derive(Debug, Clone)]
pub struct StompOptions {
    /// `login` header.
    pub login: Option<String>,
    /// `passcode` header.
    pub passcode: Option<String>,
    /// `host` header (virtual host); the URL's host when `None`.
    pub host: Option<String>,
    /// Versions offered (all three by default).
    pub accept_version: VersionSet,
    /// Heart-beats offered: (can send, want to receive), 10 s each way by default.
    pub heart_beat: HeartBeat,
    /// How long to wait for `CONNECTED` and for receipts (10 s by default).
    pub timeout: Duration,
    /// Limits on the server's frames.
    pub limits: Limits,
}

impl Default for StompOptions {
    fn default() -> Self {
        StompOptions {
            login: None,
            passcode: None,
            host: None,
            accept_version: VersionSet::ALL,
            heart_beat: HeartBeat {
                send_ms: 10_000,
                receive_ms: 10_000,
            },
            timeout: Duration::from_secs(10),
            limits: Limits {
                max_headers: MAX_HEADERS,
                max_header_line: 64 * 1024,
                max_body: 16 * 1024 * 1024,
            },
        }
    }
}

/// A message delivered to a subscription, copied out of the session's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StompMessage {
    /// `subscription` header.
    pub subscription: Option<String>,
    /// `message-id` header.
    pub message_id: String,
    /// `destination` header.
    pub destination: String,
    /// The id to pass to [`StompClient::ack`]/[`StompClient::nack`].
    pub ack_id: String,
    /// Every header, unescaped, in wire order.
    pub headers: Vec<(String, String)>,
    /// The body, byte-exact.
    pub body: Vec<u8>,
}

impl StompMessage {
    /// The first header called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StompEvent {
    /// A `MESSAGE`.
    Message(StompMessage),
    /// A `RECEIPT` the client asked for.
    Receipt(String),
    /// An `ERROR`; the session is over.
    Error {
        /// `message` header.
        message: Option<String>,
        /// `receipt-id` header.
        receipt_id: Option<String>,
        /// The body.
        body: Vec<u8>,
    },
    /// The server stopped heart-beating.
    HeartbeatLost,
}

fn text(h: HeaderText<'_>) -> String {
    String::from_utf8_lossy(&h.bytes().collect::<Vec<u8>>()).into_owned()
}

fn owned(event: ClientEvent<'_>) -> Option<StompEvent> {
    Some(match event {
        ClientEvent::Connected { .. } => return None,
        ClientEvent::Message {
            subscription,
            message_id,
            destination,
            ack,
            frame,
            body,
        } => StompEvent::Message(StompMessage {
            subscription: subscription.map(text),
            message_id: text(message_id),
            destination: text(destination),
            ack_id: text(ack.unwrap_or(message_id)),
            headers: frame.headers().map(|(n, v)| (text(n), text(v))).collect(),
            body: body.to_vec(),
        }),
        ClientEvent::Receipt { id } => StompEvent::Receipt(text(id)),
        ClientEvent::Error {
            message,
            receipt_id,
            body,
        } => StompEvent::Error {
            message: message.map(text),
            receipt_id: receipt_id.map(text),
            body: body.to_vec(),
        },
        ClientEvent::HeartbeatLost => StompEvent::HeartbeatLost,
        ClientEvent::Failed(_) => return None,
    })
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

fn server_error(message: Option<&str>, body: &[u8]) -> io::Error {
    io::Error::other(format!(
        "STOMP ERROR: {} {}",
        message.unwrap_or(""),
        String::from_utf8_lossy(body)
    ))
}

/// A connected STOMP client. Calls block; heart-beats are serviced while waiting.
pub struct StompClient {
    transport: Transport,
    session: Session,
    clock: Clock,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    queue: VecDeque<StompEvent>,
    next_receipt: u64,
    timeout: Duration,
    server: Option<String>,
}

impl StompClient {
    /// Connects to `url` (`stomp://`, `tcp://` or `ws://`) and waits for `CONNECTED`.
    pub fn connect(url: &str, options: &StompOptions) -> io::Result<StompClient> {
        let url = StompUrl::parse(url)?;
        let transport = Transport::open(&url)?;
        let mut client = StompClient {
            transport,
            session: Session::new(options.limits),
            clock: Clock::new(),
            rbuf: Vec::new(),
            wbuf: vec![0; 4096],
            queue: VecDeque::new(),
            next_receipt: 0,
            timeout: options.timeout,
            server: None,
        };
        let connect = ConnectOptions {
            host: options.host.as_deref().unwrap_or(url.host()),
            login: options.login.as_deref(),
            passcode: options.passcode.as_deref(),
            accept_version: options.accept_version,
            heart_beat: options.heart_beat,
        };
        client.emit(|s, now, out| s.connect(now, &connect, out))?;
        let give_up = StdInstant::now() + options.timeout;
        loop {
            let left = give_up.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no CONNECTED from server",
                ));
            }
            let now = client.clock.now();
            loop {
                let read = client.session.read(&client.rbuf, now);
                let used = read.consumed;
                match read.status {
                    Status::Event(ClientEvent::Connected { server, .. }) => {
                        client.server = server.map(text);
                        client.rbuf.drain(..used);
                        return Ok(client);
                    }
                    Status::Event(ClientEvent::Error { message, body, .. }) => {
                        return Err(server_error(message.map(text).as_deref(), body));
                    }
                    Status::Event(ClientEvent::Failed(e)) => return Err(invalid(e)),
                    Status::Event(_) => {
                        client.rbuf.drain(..used);
                    }
                    _ => {
                        client.rbuf.drain(..used);
                        break;
                    }
                }
            }
            client.transport.read_into(&mut client.rbuf, left)?;
        }
    }

    /// The version agreed on.
    pub fn version(&self) -> Version {
        self.session.version()
    }

    /// The server's `server` header, if it sent one.
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// The core session, to inspect its state.
    pub fn session(&self) -> &ClientSession<256, 256, 256> {
        &self.session
    }

    /// Builds one frame into the write buffer (growing it as needed) and sends it.
    fn emit(
        &mut self,
        mut build: impl FnMut(&mut Session, Instant, &mut [u8]) -> Result<usize, ClientError>,
    ) -> io::Result<()> {
        let now = self.clock.now();
        let n = loop {
            match build(&mut self.session, now, &mut self.wbuf) {
                Ok(n) => break n,
                Err(ClientError::Encode(sockwire_core::stomp::EncodeError::BufferTooSmall(e)))
                    if e.needed > self.wbuf.len() =>
                {
                    self.wbuf.resize(e.needed, 0)
                }
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidInput, e.to_string())),
            }
        };
        let frame = self.wbuf[..n].to_vec();
        self.transport.write(&frame)
    }

    fn receipt_id(&mut self, want: bool) -> Option<String> {
        want.then(|| {
            self.next_receipt += 1;
            format!("rcpt-{}", self.next_receipt)
        })
    }

    /// Sends a frame and, when `receipt` is set, waits for its receipt.
    fn request(
        &mut self,
        receipt: bool,
        mut build: impl FnMut(
            &mut Session,
            Instant,
            Option<&str>,
            &mut [u8],
        ) -> Result<usize, ClientError>,
    ) -> io::Result<()> {
        let id = self.receipt_id(receipt);
        self.emit(|s, now, out| build(s, now, id.as_deref(), out))?;
        match id {
            Some(id) => self.wait_receipt(&id),
            None => Ok(()),
        }
    }

    fn wait_receipt(&mut self, id: &str) -> io::Result<()> {
        let give_up = StdInstant::now() + self.timeout;
        loop {
            let left = give_up.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no receipt {id}"),
                ));
            }
            match self.poll_event(left)? {
                Some(StompEvent::Receipt(r)) if r == id => return Ok(()),
                Some(StompEvent::Error { message, body, .. }) => {
                    return Err(server_error(message.as_deref(), &body))
                }
                Some(other) => self.queue.push_back(other),
                None => {}
            }
        }
    }

    /// Subscribes `id` to `destination`; with `receipt`, waits until the server confirms.
    pub fn subscribe(
        &mut self,
        destination: &str,
        id: &str,
        ack: AckMode,
        headers: &[(&str, &str)],
        receipt: bool,
    ) -> io::Result<()> {
        self.request(receipt, |s, now, r, out| {
            let frame = SubscribeFrame {
                destination,
                id,
                ack,
                headers,
                receipt: r,
            };
            s.subscribe(now, &frame, out)
        })
    }

    /// Ends subscription `id`.
    pub fn unsubscribe(&mut self, id: &str, receipt: bool) -> io::Result<()> {
        self.request(receipt, |s, now, r, out| s.unsubscribe(now, id, r, out))
    }

    /// Sends a message to `destination` (byte-exact body; `content-length` is added).
    pub fn send(
        &mut self,
        destination: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        transaction: Option<&str>,
        receipt: bool,
    ) -> io::Result<()> {
        self.request(receipt, |s, now, r, out| {
            let frame = SendFrame {
                destination,
                headers,
                body,
                transaction,
                receipt: r,
            };
            s.send(now, &frame, out)
        })
    }

    /// Acknowledges `message`.
    pub fn ack(
        &mut self,
        message: &StompMessage,
        transaction: Option<&str>,
        receipt: bool,
    ) -> io::Result<()> {
        self.answer(message, transaction, receipt, Session::ack)
    }

    /// Rejects `message`.
    pub fn nack(
        &mut self,
        message: &StompMessage,
        transaction: Option<&str>,
        receipt: bool,
    ) -> io::Result<()> {
        self.answer(message, transaction, receipt, Session::nack)
    }

    /// Sends `ACK` or `NACK` (`build`) for `message`.
    fn answer(
        &mut self,
        message: &StompMessage,
        transaction: Option<&str>,
        receipt: bool,
        build: AckBuilder,
    ) -> io::Result<()> {
        let sub = message.subscription.clone().unwrap_or_default();
        self.request(receipt, |s, now, r, out| {
            let frame = AckFrame {
                ack_id: &message.ack_id,
                subscription: &sub,
                transaction,
                receipt: r,
            };
            build(s, now, &frame, out)
        })
    }

    /// Starts `transaction`.
    pub fn begin(&mut self, transaction: &str, receipt: bool) -> io::Result<()> {
        self.request(receipt, |s, now, r, out| s.begin(now, transaction, r, out))
    }

    /// Commits `transaction`.
    pub fn commit(&mut self, transaction: &str, receipt: bool) -> io::Result<()> {
        self.request(receipt, |s, now, r, out| s.commit(now, transaction, r, out))
    }

    /// Aborts `transaction`.
    pub fn abort(&mut self, transaction: &str, receipt: bool) -> io::Result<()> {
        self.request(receipt, |s, now, r, out| s.abort(now, transaction, r, out))
    }

    /// Sends `DISCONNECT` with a receipt, waits for it, and closes the transport.
    ///
    /// Returns whether the receipt arrived: `false` when the server closed the transport
    /// right after `DISCONNECT` without sending it (RabbitMQ's Web-STOMP does so).
    pub fn disconnect(mut self) -> io::Result<bool> {
        let id = self.receipt_id(true);
        self.emit(|s, now, out| s.disconnect(now, id.as_deref(), out))?;
        let got = match id {
            Some(id) => match self.wait_receipt(&id) {
                Ok(()) => true,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted | io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    return Ok(false)
                }
                Err(e) => return Err(e),
            },
            None => false,
        };
        self.transport.close()?;
        Ok(got)
    }

    /// The next event, waiting up to `timeout`; `None` when nothing came.
    pub fn next_event(&mut self, timeout: Duration) -> io::Result<Option<StompEvent>> {
        if let Some(e) = self.queue.pop_front() {
            return Ok(Some(e));
        }
        self.poll_event(timeout)
    }

    /// Reads the wire (not the queue) for one event, servicing heart-beats.
    fn poll_event(&mut self, wait: Duration) -> io::Result<Option<StompEvent>> {
        let give_up = StdInstant::now() + wait;
        loop {
            let now = self.clock.now();
            loop {
                let read = self.session.read(&self.rbuf, now);
                let used = read.consumed;
                let event = match read.status {
                    Status::Event(ClientEvent::Failed(e)) => return Err(invalid(e)),
                    Status::Event(e) => owned(e),
                    _ => {
                        self.rbuf.drain(..used);
                        break;
                    }
                };
                self.rbuf.drain(..used);
                if event.is_some() {
                    return Ok(event);
                }
            }
            let lost = self.session.handle_timeout(now).and_then(owned);
            let mut hb = [0u8; 2];
            if let Ok(Some(n)) = self.session.poll_transmit(now, &mut hb) {
                self.transport.write(&hb[..n])?;
            }
            if lost.is_some() {
                return Ok(lost);
            }
            let left = give_up.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let timer = self
                .session
                .poll_timeout()
                .map(|t| self.clock.until(t))
                .unwrap_or(left);
            self.transport.read_into(&mut self.rbuf, left.min(timer))?;
        }
    }
}
