//! The client side of a STOMP session: builds the client's frames into caller buffers,
//! reads the server's frames into events, and keeps the heart-beat timers.

use heapless::{String, Vec};

use super::{
    encode, Command, Decoded, Decoder, Frame, HeaderText, HeartBeat, HeartBeatIntervals, Limits,
    Version, VersionSet,
};
use super::{
    AckFrame, AckMode, ClientError, ClientEvent, SendFrame, ServerViolation, SubscribeFrame,
};
use crate::buf::{BufferTooSmall, Writer};
use crate::machine::{Machine, Read};
use crate::time::Instant;

/// The most header lines one frame built by a [`ClientSession`] may carry, the
/// caller's extra headers included.
pub const MAX_FRAME_HEADERS: usize = 32;

/// What the client puts in its `CONNECT` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConnectOptions<'a> {
    /// The `host` header: the virtual host to connect to (required from STOMP 1.1 on).
    pub host: &'a str,
    /// The `login` header, if any.
    pub login: Option<&'a str>,
    /// The `passcode` header, if any.
    pub passcode: Option<&'a str>,
    /// The versions offered in `accept-version`.
    pub accept_version: VersionSet,
    /// The `heart-beat` header: what this client can send and wants to receive.
    pub heart_beat: HeartBeat,
}

impl Default for ConnectOptions<'_> {
    fn default() -> Self {
        ConnectOptions {
            host: "/",
            login: None,
            passcode: None,
            accept_version: VersionSet::ALL,
            heart_beat: HeartBeat::NONE,
        }
    }
}

/// Where a client session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SessionState {
    /// Nothing sent yet: build `CONNECT` first.
    Idle,
    /// `CONNECT` built; waiting for `CONNECTED`.
    Connecting,
    /// `CONNECTED` received: every client frame may be built.
    Connected,
    /// `DISCONNECT` built; waiting for its receipt (if one was asked for).
    Disconnecting,
    /// Done (the disconnect receipt or an `ERROR` arrived, or the server broke the
    /// protocol): close the transport.
    Closed,
}

/// A subscription the session knows about.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Subscription<const ID_LEN: usize> {
    id: String<ID_LEN>,
    ack: AckMode,
}

/// The client half of a STOMP session, sans IO, following the
/// [machine contract](crate::machine).
///
/// Builder methods ([`connect`](Self::connect), [`subscribe`](Self::subscribe),
/// [`send`](Self::send), ...) write one frame into the caller's buffer and return its
/// length; when the buffer is too small they fail with the size needed and change
/// nothing. [`read`](Self::read) decodes the server's bytes into [`ClientEvent`]s.
/// [`Machine::poll_timeout`], [`Machine::handle_timeout`] and
/// [`Machine::poll_transmit`] keep the heart-beats.
///
/// Capacities: `SUBSCRIPTIONS` tracked subscriptions, `RECEIPTS` outstanding receipts,
/// ids of up to `ID_LEN` bytes.
///
/// ```
/// use sockwire_core::machine::Status;
/// use sockwire_core::stomp::{ClientEvent, ClientSession, ConnectOptions, Limits};
/// use sockwire_core::time::Instant;
///
/// let mut s: ClientSession = ClientSession::new(Limits::default());
/// let mut out = [0u8; 512];
/// let n = s.connect(Instant(0), &ConnectOptions::default(), &mut out)?;
/// assert!(out[..n].starts_with(b"CONNECT\n"));
///
/// let input = b"CONNECTED\nversion:1.2\n\n\0";
/// let read = s.read(input, Instant(0));
/// assert_eq!(read.consumed, input.len());
/// assert!(matches!(read.status, Status::Event(ClientEvent::Connected { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientSession<
    const SUBSCRIPTIONS: usize = 16,
    const RECEIPTS: usize = 16,
    const ID_LEN: usize = 64,
> {
    decoder: Decoder,
    state: SessionState,
    offered: VersionSet,
    version: Version,
    heart_beat: HeartBeat,
    intervals: HeartBeatIntervals,
    subscriptions: Vec<Subscription<ID_LEN>, SUBSCRIPTIONS>,
    receipts: Vec<String<ID_LEN>, RECEIPTS>,
    disconnect_receipt: Option<String<ID_LEN>>,
    last_sent: Instant,
    last_received: Instant,
    /// Length of the input the last `Incomplete` read saw: more means new bytes.
    pending_len: usize,
    heart_beat_owed: bool,
    lost: bool,
}

/// Headers of a frame being built.
type Headers<'x> = Vec<(&'x str, &'x str), MAX_FRAME_HEADERS>;

fn push<'x>(headers: &mut Headers<'x>, name: &'x str, value: &'x str) -> Result<(), ClientError> {
    headers
        .push((name, value))
        .map_err(|_| ClientError::TooManyHeaders)
}

fn extend<'x>(headers: &mut Headers<'x>, extra: &[(&'x str, &'x str)]) -> Result<(), ClientError> {
    for &(n, v) in extra {
        push(headers, n, v)?;
    }
    Ok(())
}

impl<const SUBSCRIPTIONS: usize, const RECEIPTS: usize, const ID_LEN: usize>
    ClientSession<SUBSCRIPTIONS, RECEIPTS, ID_LEN>
{
    /// An idle session whose decoder enforces `limits` on the server's frames.
    pub fn new(limits: Limits) -> Self {
        ClientSession {
            decoder: Decoder::new(limits),
            state: SessionState::Idle,
            offered: VersionSet::ALL,
            version: Version::V1_2,
            heart_beat: HeartBeat::NONE,
            intervals: HeartBeatIntervals::default(),
            subscriptions: Vec::new(),
            receipts: Vec::new(),
            disconnect_receipt: None,
            last_sent: Instant(0),
            last_received: Instant(0),
            pending_len: 0,
            heart_beat_owed: false,
            lost: false,
        }
    }

    /// Where the session stands.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The version agreed on (meaningful once connected).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The heart-beat intervals in force (none before `CONNECTED`).
    pub fn heart_beat(&self) -> HeartBeatIntervals {
        self.intervals
    }

    /// The ids of the active subscriptions, oldest first.
    pub fn subscriptions(&self) -> impl Iterator<Item = &str> {
        self.subscriptions.iter().map(|s| s.id.as_str())
    }

    /// The acknowledgement mode of subscription `id`, if it is active.
    pub fn ack_mode(&self, id: &[u8]) -> Option<AckMode> {
        self.subscriptions
            .iter()
            .find(|s| s.id.as_bytes() == id)
            .map(|s| s.ack)
    }

    /// The receipt ids asked for and not yet received, oldest first.
    pub fn outstanding_receipts(&self) -> impl Iterator<Item = &str> {
        self.receipts.iter().map(|r| r.as_str())
    }

    /// Whether `id` is a receipt still awaited.
    pub fn is_receipt_outstanding(&self, id: &str) -> bool {
        self.receipts.iter().any(|r| r.as_str() == id)
    }

    fn id(text: &str) -> Result<String<ID_LEN>, ClientError> {
        if text.is_empty() {
            return Err(ClientError::InvalidId);
        }
        String::try_from(text).map_err(|_| ClientError::InvalidId)
    }

    /// Checks that `receipt` can be tracked, before anything is encoded.
    fn check_receipt(&self, receipt: Option<&str>) -> Result<Option<String<ID_LEN>>, ClientError> {
        let Some(r) = receipt else { return Ok(None) };
        let id = Self::id(r)?;
        if self.receipts.iter().any(|x| x == &id) {
            return Err(ClientError::DuplicateReceipt);
        }
        if self.receipts.is_full() {
            return Err(ClientError::TooManyReceipts);
        }
        Ok(Some(id))
    }

    fn require_connected(&self) -> Result<(), ClientError> {
        if self.state == SessionState::Connected {
            Ok(())
        } else {
            Err(ClientError::NotConnected)
        }
    }

    /// The headers of a frame of the connected session: `fields`, then `transaction` when
    /// given. `NotConnected` unless the session is connected.
    fn connected_headers<'x>(
        &self,
        fields: &[(&'x str, &'x str)],
        transaction: Option<&'x str>,
    ) -> Result<Headers<'x>, ClientError> {
        self.require_connected()?;
        let mut headers = Headers::new();
        extend(&mut headers, fields)?;
        if let Some(t) = transaction {
            push(&mut headers, "transaction", t)?;
        }
        Ok(headers)
    }

    /// Encodes a frame of the connected session and, once written, tracks its receipt.
    fn emit<'x>(
        &mut self,
        now: Instant,
        command: Command,
        mut headers: Headers<'x>,
        body: &[u8],
        receipt: Option<&'x str>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        let tracked = self.check_receipt(receipt)?;
        if let Some(r) = receipt {
            push(&mut headers, "receipt", r)?;
        }
        let n = encode(command, &headers, body, self.version, out)?;
        if let Some(id) = tracked {
            // Capacity was checked above.
            let _ = self.receipts.push(id);
        }
        self.last_sent = self.last_sent.max(now);
        Ok(n)
    }

    /// Builds the `CONNECT` frame.
    pub fn connect(
        &mut self,
        now: Instant,
        options: &ConnectOptions<'_>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        if self.state != SessionState::Idle {
            return Err(ClientError::AlreadyConnecting);
        }
        if options.accept_version.is_empty() {
            return Err(ClientError::NoVersion);
        }
        let mut hb_buf = [0u8; 48];
        let mut w = Writer::new(&mut hb_buf);
        options.heart_beat.write_value(&mut w);
        let hb_len = w.finish().map_err(ClientError::from_small)?;
        let hb = core::str::from_utf8(hb_buf.get(..hb_len).unwrap_or_default()).unwrap_or("0,0");
        let mut headers = Headers::new();
        push(
            &mut headers,
            "accept-version",
            options.accept_version.as_header_value(),
        )?;
        push(&mut headers, "host", options.host)?;
        if let Some(l) = options.login {
            push(&mut headers, "login", l)?;
        }
        if let Some(p) = options.passcode {
            push(&mut headers, "passcode", p)?;
        }
        push(&mut headers, "heart-beat", hb)?;
        let n = encode(Command::Connect, &headers, b"", Version::V1_0, out)?;
        self.state = SessionState::Connecting;
        self.offered = options.accept_version;
        self.heart_beat = options.heart_beat;
        self.last_sent = now;
        self.last_received = now;
        Ok(n)
    }

    /// Builds `SUBSCRIBE` and tracks the subscription `frame.id`.
    pub fn subscribe(
        &mut self,
        now: Instant,
        frame: &SubscribeFrame<'_>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        self.require_connected()?;
        let sub = Self::id(frame.id)?;
        if self.subscriptions.iter().any(|s| s.id == sub) {
            return Err(ClientError::DuplicateSubscription);
        }
        if self.subscriptions.is_full() {
            return Err(ClientError::TooManySubscriptions);
        }
        let mut headers = Headers::new();
        push(&mut headers, "destination", frame.destination)?;
        push(&mut headers, "id", frame.id)?;
        push(&mut headers, "ack", frame.ack.as_str())?;
        extend(&mut headers, frame.headers)?;
        let n = self.emit(now, Command::Subscribe, headers, b"", frame.receipt, out)?;
        let _ = self.subscriptions.push(Subscription {
            id: sub,
            ack: frame.ack,
        });
        Ok(n)
    }

    /// Builds `UNSUBSCRIBE` and forgets the subscription `id`.
    pub fn unsubscribe(
        &mut self,
        now: Instant,
        id: &str,
        receipt: Option<&str>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        self.require_connected()?;
        let index = self
            .subscriptions
            .iter()
            .position(|s| s.id.as_str() == id)
            .ok_or(ClientError::UnknownSubscription)?;
        let mut headers = Headers::new();
        push(&mut headers, "id", id)?;
        let n = self.emit(now, Command::Unsubscribe, headers, b"", receipt, out)?;
        self.subscriptions.remove(index);
        Ok(n)
    }

    /// Builds `SEND` to `frame.destination`; a `content-length` header is added for a
    /// non-empty body, so bodies may contain NUL octets.
    pub fn send(
        &mut self,
        now: Instant,
        frame: &SendFrame<'_>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        let mut headers =
            self.connected_headers(&[("destination", frame.destination)], frame.transaction)?;
        extend(&mut headers, frame.headers)?;
        self.emit(now, Command::Send, headers, frame.body, frame.receipt, out)
    }

    fn ack_frame(
        &mut self,
        now: Instant,
        command: Command,
        frame: &AckFrame<'_>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        let fields: &[(&str, &str)] = match self.version {
            Version::V1_2 => &[("id", frame.ack_id)],
            Version::V1_1 => &[
                ("message-id", frame.ack_id),
                ("subscription", frame.subscription),
            ],
            Version::V1_0 => &[("message-id", frame.ack_id)],
        };
        let headers = self.connected_headers(fields, frame.transaction)?;
        self.emit(now, command, headers, b"", frame.receipt, out)
    }

    /// Builds `ACK` for a message.
    pub fn ack(
        &mut self,
        now: Instant,
        frame: &AckFrame<'_>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        self.ack_frame(now, Command::Ack, frame, out)
    }

    /// Builds `NACK` (STOMP 1.1 and 1.2) for a message.
    pub fn nack(
        &mut self,
        now: Instant,
        frame: &AckFrame<'_>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        self.ack_frame(now, Command::Nack, frame, out)
    }

    fn transaction_frame(
        &mut self,
        now: Instant,
        command: Command,
        transaction: &str,
        receipt: Option<&str>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        let headers = self.connected_headers(&[("transaction", transaction)], None)?;
        self.emit(now, command, headers, b"", receipt, out)
    }

    /// Builds `BEGIN` of `transaction`.
    pub fn begin(
        &mut self,
        now: Instant,
        transaction: &str,
        receipt: Option<&str>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        self.transaction_frame(now, Command::Begin, transaction, receipt, out)
    }

    /// Builds `COMMIT` of `transaction`.
    pub fn commit(
        &mut self,
        now: Instant,
        transaction: &str,
        receipt: Option<&str>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        self.transaction_frame(now, Command::Commit, transaction, receipt, out)
    }

    /// Builds `ABORT` of `transaction`.
    pub fn abort(
        &mut self,
        now: Instant,
        transaction: &str,
        receipt: Option<&str>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        self.transaction_frame(now, Command::Abort, transaction, receipt, out)
    }

    /// Builds `DISCONNECT`. With a receipt the session waits for it (state
    /// `Disconnecting`) and is `Closed` once it arrives; without one it is `Closed` at
    /// once.
    pub fn disconnect(
        &mut self,
        now: Instant,
        receipt: Option<&str>,
        out: &mut [u8],
    ) -> Result<usize, ClientError> {
        self.require_connected()?;
        let tracked = match receipt {
            Some(r) => Some(Self::id(r)?),
            None => None,
        };
        let n = self.emit(now, Command::Disconnect, Headers::new(), b"", receipt, out)?;
        self.state = if tracked.is_some() {
            SessionState::Disconnecting
        } else {
            SessionState::Closed
        };
        self.disconnect_receipt = tracked;
        Ok(n)
    }

    /// Reads the server's bytes from the start of `input` and reports at most one event,
    /// following the [machine contract](crate::machine): heart-beats and receipts
    /// nobody awaits are consumed without an event. A server that breaks the protocol
    /// ends the session with [`ClientEvent::Failed`]; an `ERROR` frame ends it with
    /// [`ClientEvent::Error`]. Afterwards the session is closed: close the transport.
    pub fn read<'a>(&mut self, input: &'a [u8], now: Instant) -> Read<ClientEvent<'a>> {
        let mut pos = 0;
        loop {
            if self.state == SessionState::Closed {
                return Read::closed(input.len());
            }
            let rest = input.get(pos..).unwrap_or_default();
            match self.decoder.decode(rest) {
                Ok(Decoded::Incomplete) => {
                    if rest.len() > self.pending_len {
                        self.heard(now);
                    }
                    self.pending_len = rest.len();
                    return Read::need_more(pos);
                }
                Ok(Decoded::HeartBeat { consumed }) => {
                    self.pending_len = 0;
                    self.heard(now);
                    pos += consumed;
                }
                Ok(Decoded::Frame { frame, consumed }) => {
                    self.pending_len = 0;
                    self.heard(now);
                    pos += consumed;
                    match self.on_frame(frame, now) {
                        Ok(Some(event)) => return Read::event(pos, event),
                        Ok(None) => {}
                        Err(e) => return Read::event(input.len(), self.fail(e)),
                    }
                }
                Err(e) => return Read::event(input.len(), self.fail(e.into())),
            }
        }
    }

    fn fail(&mut self, violation: ServerViolation) -> ClientEvent<'static> {
        self.state = SessionState::Closed;
        ClientEvent::Failed(violation)
    }

    fn heard(&mut self, now: Instant) {
        self.last_received = now;
        self.lost = false;
    }

    fn on_frame<'a>(
        &mut self,
        frame: Frame<'a>,
        now: Instant,
    ) -> Result<Option<ClientEvent<'a>>, ServerViolation> {
        let command = frame.command();
        let unexpected = ServerViolation::UnexpectedFrame(command);
        match (self.state, command) {
            (SessionState::Closed, _) => Ok(None),
            (_, Command::Error) if self.state != SessionState::Idle => {
                self.state = SessionState::Closed;
                Ok(Some(ClientEvent::Error {
                    message: frame.header("message"),
                    receipt_id: frame.header("receipt-id"),
                    body: frame.body(),
                }))
            }
            (SessionState::Connecting, Command::Connected) => self.on_connected(frame, now),
            (SessionState::Connected | SessionState::Disconnecting, Command::Message) => {
                let required = |name: &'static str| {
                    frame
                        .header(name)
                        .ok_or(ServerViolation::MissingHeader(name))
                };
                let destination = required("destination")?;
                let message_id = required("message-id")?;
                let subscription = frame.header("subscription");
                if subscription.is_none() && self.version != Version::V1_0 {
                    return Err(ServerViolation::MissingHeader("subscription"));
                }
                Ok(Some(ClientEvent::Message {
                    subscription,
                    message_id,
                    destination,
                    ack: frame.header("ack"),
                    frame,
                    body: frame.body(),
                }))
            }
            (SessionState::Connected | SessionState::Disconnecting, Command::Receipt) => {
                let id = frame
                    .header("receipt-id")
                    .ok_or(ServerViolation::MissingHeader("receipt-id"))?;
                Ok(self.on_receipt(id).then_some(ClientEvent::Receipt { id }))
            }
            _ => Err(unexpected),
        }
    }

    /// Whether the receipt was outstanding; forgets it.
    fn on_receipt(&mut self, id: HeaderText<'_>) -> bool {
        let Some(index) = self.receipts.iter().position(|r| id.eq_bytes(r.as_bytes())) else {
            return false;
        };
        self.receipts.remove(index);
        if self.state == SessionState::Disconnecting
            && self
                .disconnect_receipt
                .as_ref()
                .is_some_and(|d| id.eq_bytes(d.as_bytes()))
        {
            self.state = SessionState::Closed;
        }
        true
    }

    fn on_connected<'a>(
        &mut self,
        frame: Frame<'a>,
        now: Instant,
    ) -> Result<Option<ClientEvent<'a>>, ServerViolation> {
        let version = match frame.header("version") {
            None => Version::V1_0,
            Some(v) => {
                Version::parse(v.raw().trim_ascii()).ok_or(ServerViolation::UnsupportedVersion)?
            }
        };
        if !self.offered.contains(version) {
            return Err(ServerViolation::UnsupportedVersion);
        }
        let server_hb = HeartBeat::parse_header(frame.header("heart-beat").map(|h| h.raw()))
            .map_err(|_| ServerViolation::InvalidHeartBeat)?;
        self.version = version;
        self.decoder.set_version(version);
        self.intervals = self.heart_beat.negotiate(server_hb);
        self.state = SessionState::Connected;
        self.last_received = now;
        self.last_sent = self.last_sent.max(now);
        Ok(Some(ClientEvent::Connected {
            version,
            server: frame.header("server"),
            session: frame.header("session"),
            user_name: frame.header("user-name"),
            heart_beat: self.intervals,
        }))
    }

    fn timers_running(&self) -> bool {
        matches!(
            self.state,
            SessionState::Connected | SessionState::Disconnecting
        )
    }

    fn send_deadline(&self) -> Option<Instant> {
        self.intervals
            .send_every_ms
            .map(|ms| self.last_sent.add_millis(ms))
    }

    /// Silence longer than 1.5 times the agreed interval means the server is gone.
    fn receive_deadline(&self) -> Option<Instant> {
        if self.lost {
            return None;
        }
        self.intervals
            .expect_every_ms
            .map(|ms| self.last_received.add_millis(ms.saturating_add(ms / 2)))
    }
}

impl<const SUBSCRIPTIONS: usize, const RECEIPTS: usize, const ID_LEN: usize> Machine
    for ClientSession<SUBSCRIPTIONS, RECEIPTS, ID_LEN>
{
    type TimeoutEvent = ClientEvent<'static>;

    /// Writes an owed heart-beat (an end of line) into `out`.
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        if !self.heart_beat_owed || self.state == SessionState::Closed {
            return Ok(None);
        }
        let n = super::encode_heart_beat(out)?;
        self.heart_beat_owed = false;
        self.last_sent = self.last_sent.max(now);
        Ok(Some(n))
    }

    /// The next heart-beat to send or the deadline for hearing from the server.
    fn poll_timeout(&self) -> Option<Instant> {
        if !self.timers_running() {
            return None;
        }
        let send = self.send_deadline().filter(|_| !self.heart_beat_owed);
        crate::time::earliest(send, self.receive_deadline())
    }

    /// Queues a heart-beat when one is due, and ends the session with
    /// [`ClientEvent::HeartbeatLost`] when the server has been silent too long.
    fn handle_timeout(&mut self, now: Instant) -> Option<ClientEvent<'static>> {
        if !self.timers_running() {
            return None;
        }
        if self.receive_deadline().is_some_and(|d| d <= now) {
            self.lost = true;
            self.state = SessionState::Closed;
            return Some(ClientEvent::HeartbeatLost);
        }
        if self.send_deadline().is_some_and(|d| d <= now) {
            self.heart_beat_owed = true;
        }
        None
    }

    /// Whether the session is over (disconnect receipt, `ERROR`, a broken server, or
    /// a lost heart-beat): close the transport.
    fn is_closed(&self) -> bool {
        self.state == SessionState::Closed
    }
}

impl ClientError {
    fn from_small(e: BufferTooSmall) -> Self {
        ClientError::Encode(e.into())
    }
}
