//! The blocking STOMP client.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant as StdInstant};

use sockwire_core::machine::{Machine, Status};
use sockwire_core::stack::{AnyCarrier, ClientStackEvent, FrameError, StompClientStack};
use sockwire_core::stomp::{
    AckFrame, AckMode, ClientError, ClientEvent, ClientSession, ConnectOptions, SendFrame,
    SubscribeFrame, Version,
};
use sockwire_core::time::Instant;

use super::event::{owned, text, StompEvent, StompMessage};
use super::options::StompOptions;
use super::transport::{open, StompUrl};
use crate::clock::Clock;
use crate::connector::BoxStream;
use crate::store::VecBytes;

/// The session type the adapter drives: generous capacities.
type Session = ClientSession<256, 256, 256>;

/// The session on its carrier.
type Stack = StompClientStack<AnyCarrier<VecBytes>, VecBytes, 256, 256, 256>;

/// [`Session::ack`] or [`Session::nack`].
type AckBuilder = fn(&mut Session, Instant, &AckFrame<'_>, &mut [u8]) -> Result<usize, ClientError>;

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
    stream: BoxStream,
    stack: Stack,
    clock: Clock,
    rbuf: Vec<u8>,
    queue: VecDeque<StompEvent>,
    next_receipt: u64,
    timeout: Duration,
    server: Option<String>,
    user_name: Option<String>,
    /// `CONNECTED` arrived.
    connected: bool,
}

fn ended(event: &ClientStackEvent<'_>) -> io::Error {
    match event {
        ClientStackEvent::FrameTooLarge => invalid("a server frame larger than the limit"),
        _ => io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the server closed the connection",
        ),
    }
}

impl StompClient {
    /// Connects to `url` (`stomp://`, `tcp://`, `stomp+ssl://`, `ws://` or `wss://`)
    /// and waits for `CONNECTED`.
    pub fn connect(url: &str, options: &StompOptions) -> io::Result<StompClient> {
        let url = StompUrl::parse(url)?;
        let opened = open(&url, &options.connector)?;
        // Room for the largest frame the limits let through.
        let limits = options.limits;
        let head = limits.max_headers.saturating_mul(limits.max_header_line);
        let inbound = VecBytes::new(limits.max_body.saturating_add(head).saturating_add(1024));
        let mut client = StompClient {
            stream: opened.stream,
            stack: Stack::new(opened.carrier, Session::new(options.limits), inbound),
            clock: Clock::new(),
            rbuf: opened.rest,
            queue: VecDeque::new(),
            next_receipt: 0,
            timeout: options.timeout,
            server: None,
            user_name: None,
            connected: false,
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
        while !client.connected {
            let left = give_up.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no CONNECTED from server",
                ));
            }
            match client.poll_event(left)? {
                Some(StompEvent::Error { message, body, .. }) => {
                    return Err(server_error(message.as_deref(), &body))
                }
                Some(other) => client.queue.push_back(other),
                None => {}
            }
        }
        Ok(client)
    }

    /// The version agreed on.
    pub fn version(&self) -> Version {
        self.stack.session().version()
    }

    /// The server's `server` header, if it sent one.
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// Who the server took this client for (`CONNECTED`'s `user-name`), if it said.
    pub fn user_name(&self) -> Option<&str> {
        self.user_name.as_deref()
    }

    /// The core session, to inspect its state.
    pub fn session(&self) -> &ClientSession<256, 256, 256> {
        self.stack.session()
    }

    /// Builds one frame with the session and sends it.
    fn emit(
        &mut self,
        build: impl FnMut(&mut Session, Instant, &mut [u8]) -> Result<usize, ClientError>,
    ) -> io::Result<()> {
        let now = self.clock.now();
        match self.stack.send(now, build) {
            Ok(()) => self.write_out(),
            Err(FrameError::Encode(e)) => {
                Err(io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
            }
            Err(FrameError::Closed) => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the connection is closing",
            )),
            Err(FrameError::Full(_)) => Err(io::Error::other("outbound queue full")),
        }
    }

    /// Writes everything the stack has queued.
    fn write_out(&mut self) -> io::Result<()> {
        loop {
            let now = self.clock.now();
            let pending = self.stack.outbound(now);
            if pending.is_empty() {
                return Ok(());
            }
            let n = pending.len();
            self.stream.write_all(pending)?;
            self.stream.flush()?;
            self.stack.advance(now, n);
        }
    }

    /// Waits up to `wait` for bytes from the server and appends them to the read buffer.
    fn fill(&mut self, wait: Duration) -> io::Result<()> {
        self.stream
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            )),
            Ok(n) => {
                self.rbuf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
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
        // The session is over: the stack ends the transport (a WebSocket close); give the
        // server a moment to answer it before the TCP connection goes.
        self.write_out()?;
        let give_up = StdInstant::now() + Duration::from_millis(500);
        while !self.stack.is_closed() && StdInstant::now() < give_up {
            let now = self.clock.now();
            let read = self.stack.read(&mut self.rbuf, now);
            self.rbuf.drain(..read.consumed);
            self.write_out()?;
            if !self.stack.is_closed() && self.fill(Duration::from_millis(50)).is_err() {
                break;
            }
        }
        // Dropping the client closes the connection.
        Ok(got)
    }

    /// The next event, waiting up to `timeout`; `None` when nothing came.
    pub fn next_event(&mut self, timeout: Duration) -> io::Result<Option<StompEvent>> {
        if let Some(e) = self.queue.pop_front() {
            return Ok(Some(e));
        }
        self.poll_event(timeout)
    }

    /// Reads the wire (not the queue) for one event, servicing heart-beats; `None` when
    /// `wait` passed, or when `CONNECTED` arrived (see `connected`).
    fn poll_event(&mut self, wait: Duration) -> io::Result<Option<StompEvent>> {
        let give_up = StdInstant::now() + wait;
        loop {
            let now = self.clock.now();
            loop {
                let read = self.stack.read(&mut self.rbuf, now);
                let used = read.consumed;
                let event = match read.status {
                    Status::Event(ClientStackEvent::Stomp(ClientEvent::Failed(e))) => {
                        return Err(invalid(e))
                    }
                    Status::Event(ClientStackEvent::Stomp(ClientEvent::Connected {
                        server,
                        user_name,
                        ..
                    })) => {
                        self.server = server.map(text);
                        self.user_name = user_name.map(text);
                        self.connected = true;
                        self.rbuf.drain(..used);
                        return Ok(None);
                    }
                    Status::Event(ClientStackEvent::Stomp(e)) => owned(e),
                    Status::Event(e) => return Err(ended(&e)),
                    Status::Closed => {
                        return Err(io::Error::new(
                            io::ErrorKind::NotConnected,
                            "the session is over",
                        ))
                    }
                    Status::NeedMore | Status::Paused(_) => {
                        self.rbuf.drain(..used);
                        break;
                    }
                };
                self.rbuf.drain(..used);
                if event.is_some() {
                    self.write_out()?;
                    return Ok(event);
                }
            }
            let lost = match self.stack.handle_timeout(now) {
                Some(ClientStackEvent::Stomp(e)) => owned(e),
                Some(e) => return Err(ended(&e)),
                None => None,
            };
            self.write_out()?;
            if lost.is_some() {
                return Ok(lost);
            }
            let left = give_up.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let timer = self
                .stack
                .poll_timeout()
                .map(|t| self.clock.until(t))
                .unwrap_or(left);
            self.fill(left.min(timer))?;
        }
    }
}
