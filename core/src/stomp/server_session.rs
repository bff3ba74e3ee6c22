//! The server side of one STOMP connection, sans-IO: client bytes in, events out, owed
//! frames (`CONNECTED`, `RECEIPT`, `ERROR`, heart-beats) and `MESSAGE`s to send.

use super::ack::{Pending, Unacked};
use super::storage::{FixedStorage, SessionStorage};
use super::subscription::{Subscription, Subscriptions};
use super::transaction::Transactions;
use super::{
    encode, encode_heart_beat, escape_into, negotiate_version, validate, AckMode, Command,
    DecodeError, Decoded, Decoder, EncodeError, Escaping, Frame, HeaderLines, HeaderPart,
    HeaderText, HeartBeat, HeartBeatIntervals, Id, Limits, SessionError, Version, VersionSet,
    LIMIT_MESSAGE_LEN,
};
use crate::buf::{BufferTooSmall, Writer};
use crate::machine::{Machine, Pause, Read};
use crate::table::Table;
use crate::time::Instant;

/// Receipts that may wait in the session before [`ServerSession::read`] pauses
/// ([`Pause::Transmit`]) until [`ServerSession::poll_transmit`] drains them.
pub const RECEIPT_QUEUE: usize = 4;

/// The longest `message` header of an `ERROR` frame the session writes, in octets; a
/// longer application message is cut at a character boundary.
pub const MAX_ERROR_MESSAGE: usize = 128;

/// The longest `user-name` a `CONNECTED` frame tells.
pub const MAX_USER_NAME: usize = 64;

/// How a [`ServerSession`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServerSessionConfig {
    /// Versions the server speaks. Default: 1.0, 1.1 and 1.2.
    pub versions: VersionSet,
    /// The server's `heart-beat` header: the interval it can send at and the one it wants
    /// to receive at. Default 10 000 ms both ways.
    pub heart_beat: HeartBeat,
    /// How long a client may stay silent, in percent of the agreed receive interval,
    /// before the session gives up on it. Default 200 (twice the interval).
    pub heart_beat_tolerance_percent: u64,
    /// How long a client may take, from the session's creation, to have its `CONNECT`
    /// accepted, in milliseconds; after that it is dropped without an answer (a client
    /// that opens the connection and says nothing). `None`: no limit. Default 10 000.
    pub connect_timeout_ms: Option<u64>,
    /// The `CONNECTED` frame's `server` header. Default `"sockwire"`.
    pub server: &'static str,
    /// Limits on client frames.
    pub limits: Limits,
}

impl Default for ServerSessionConfig {
    fn default() -> Self {
        ServerSessionConfig {
            versions: VersionSet::ALL,
            heart_beat: HeartBeat {
                send_ms: 10_000,
                receive_ms: 10_000,
            },
            heart_beat_tolerance_percent: 200,
            connect_timeout_ms: Some(10_000),
            server: "sockwire",
            limits: Limits::DEFAULT,
        }
    }
}

/// What the client did, as reported by [`ServerSession::read`] and
/// [`ServerSession::handle_timeout`].
///
/// Borrowed parts point into the caller's input, or into the session for the `SEND`s of
/// a committed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent<'a> {
    /// `CONNECT` or `STOMP`: a supported version was found. The session takes no input
    /// ([`Pause::Decision`]) until the application calls
    /// [`ServerSession::accept_connect`] or [`ServerSession::reject_connect`].
    Connect {
        /// The version agreed on.
        version: Version,
        /// The `host` header (the virtual host), when present.
        host: Option<HeaderText<'a>>,
        /// The `login` header, when present.
        login: Option<HeaderText<'a>>,
        /// The `passcode` header, when present.
        passcode: Option<HeaderText<'a>>,
        /// The client's `heart-beat` header ([`HeartBeat::NONE`] when absent or in 1.0).
        heart_beat: HeartBeat,
        /// The whole frame.
        frame: Frame<'a>,
    },
    /// `SUBSCRIBE`.
    Subscribe {
        /// The subscription id (in STOMP 1.0, the destination when `id` is absent).
        id: HeaderText<'a>,
        /// The `destination` header.
        destination: HeaderText<'a>,
        /// The `ack` mode.
        ack: AckMode,
        /// The `selector` header, when present.
        selector: Option<HeaderText<'a>>,
        /// The whole frame.
        frame: Frame<'a>,
    },
    /// `UNSUBSCRIBE` of a current subscription.
    Unsubscribe {
        /// The subscription id.
        id: Id,
        /// The whole frame.
        frame: Frame<'a>,
    },
    /// `SEND` outside a transaction, or one of a committed transaction (reported by the
    /// calls to `read` that follow [`ServerEvent::Commit`], consuming no input).
    Send {
        /// The `destination` header.
        destination: HeaderText<'a>,
        /// The `transaction` header, for a committed `SEND`.
        transaction: Option<HeaderText<'a>>,
        /// The whole frame; the message is its body, its headers
        /// [`HeaderLines::of_frame`].
        frame: Frame<'a>,
    },
    /// `ACK` of a message awaiting acknowledgement: outside a transaction when it is
    /// read, inside one when its transaction commits (reported after
    /// [`ServerEvent::Commit`], in arrival order with the transaction's `SEND`s).
    Ack {
        /// The subscription the message was sent to.
        subscription: Id,
        /// The acknowledged message's `message-id`.
        message_id: Id,
        /// Messages settled: more than one for a cumulative (`client` mode) `ACK`, which
        /// also settles the subscription's earlier messages.
        settled: usize,
        /// The `transaction` header, for a committed `ACK`.
        transaction: Option<HeaderText<'a>>,
        /// The whole frame.
        frame: Frame<'a>,
    },
    /// `NACK` of a message awaiting acknowledgement (cumulative in `client` mode),
    /// reported like [`ServerEvent::Ack`].
    Nack {
        /// The subscription the message was sent to.
        subscription: Id,
        /// The rejected message's `message-id`.
        message_id: Id,
        /// Messages settled (see [`ServerEvent::Ack`]).
        settled: usize,
        /// The `transaction` header, for a committed `NACK`.
        transaction: Option<HeaderText<'a>>,
        /// The whole frame.
        frame: Frame<'a>,
    },
    /// `BEGIN`.
    Begin {
        /// The transaction name.
        transaction: HeaderText<'a>,
        /// The whole frame.
        frame: Frame<'a>,
    },
    /// `COMMIT`: the next calls to [`ServerSession::read`] report the transaction's
    /// `SEND`s, `ACK`s and `NACK`s in arrival order, consuming no input, before reading
    /// resumes. An `ACK` or `NACK` whose message was settled meanwhile (acknowledged
    /// twice, or its subscription ended) is skipped.
    Commit {
        /// The transaction name.
        transaction: HeaderText<'a>,
        /// Number of frames (`SEND`, `ACK`, `NACK`) held for it.
        held: usize,
        /// The whole frame.
        frame: Frame<'a>,
    },
    /// `ABORT`: the transaction's held frames were dropped unreported: its `SEND`s are
    /// not published, and the messages its `ACK`s and `NACK`s named still await
    /// acknowledgement.
    Abort {
        /// The transaction name.
        transaction: HeaderText<'a>,
        /// Number of frames (`SEND`, `ACK`, `NACK`) dropped.
        discarded: usize,
        /// The whole frame.
        frame: Frame<'a>,
    },
    /// `DISCONNECT` (terminal): open transactions are aborted; the session closes once
    /// the receipt (if one was asked for) is transmitted.
    Disconnect {
        /// The whole frame.
        frame: Frame<'a>,
    },
    /// Nothing came from the client for longer than the agreed interval times the
    /// tolerance (terminal): the session is closed, without an `ERROR` frame.
    HeartbeatTimeout,
    /// The client's `CONNECT` was not accepted within
    /// [`ServerSessionConfig::connect_timeout_ms`] (terminal): the session is closed
    /// without an answer.
    ConnectTimeout,
    /// The client broke a rule (terminal): an `ERROR` frame is queued and the session
    /// closes once it is transmitted.
    ProtocolError(SessionError),
}

/// Why [`ServerSession::write_message`] wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MessageError {
    /// The session is not (or no longer) connected.
    NotConnected,
    /// No subscription has this id.
    UnknownSubscription,
    /// The subscription needs acknowledgements and the session already tracks its
    /// maximum of unacknowledged messages.
    TooManyUnacked,
    /// The message id is longer than [`MAX_ID_LEN`](super::MAX_ID_LEN) (only checked
    /// where it must be remembered for an acknowledgement).
    MessageIdTooLong,
    /// Encoding failed. In `InvalidHeader { index }`, 0 is `subscription`, 1
    /// `message-id`, 2 `destination` and `3 + i` the message's header `i`.
    Encode(EncodeError),
}

impl From<EncodeError> for MessageError {
    fn from(e: EncodeError) -> Self {
        MessageError::Encode(e)
    }
}

impl From<BufferTooSmall> for MessageError {
    fn from(e: BufferTooSmall) -> Self {
        MessageError::Encode(EncodeError::BufferTooSmall(e))
    }
}

impl MessageError {
    /// The buffer size needed, when that is all that went wrong.
    pub const fn needed(&self) -> Option<usize> {
        match self {
            MessageError::Encode(EncodeError::BufferTooSmall(e)) => Some(e.needed),
            _ => None,
        }
    }
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MessageError::NotConnected => f.write_str("session not connected"),
            MessageError::UnknownSubscription => f.write_str("unknown subscription"),
            MessageError::TooManyUnacked => f.write_str("too many unacknowledged messages"),
            MessageError::MessageIdTooLong => f.write_str("message id too long"),
            MessageError::Encode(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for MessageError {}

/// Why the session refused a local action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ActionError {
    /// No `CONNECT` awaits an answer.
    NoPendingConnect,
    /// The session is closing or closed.
    Closed,
}

impl core::fmt::Display for ActionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ActionError::NoPendingConnect => "no CONNECT awaits an answer",
            ActionError::Closed => "session closing or closed",
        })
    }
}

impl core::error::Error for ActionError {}

/// A `MESSAGE` for [`ServerSession::write_message`].
#[derive(Debug, Clone, Copy)]
pub struct OutgoingMessage<'m, D> {
    /// The subscription it is for (the `subscription` header).
    pub subscription: &'m [u8],
    /// The `message-id` header (and what an `ACK` names, for acknowledging
    /// subscriptions).
    pub message_id: &'m [u8],
    /// The `destination` header's octets, plain.
    pub destination: D,
    /// The message's headers, as the publisher wrote them.
    pub headers: HeaderLines<'m>,
    /// The body.
    pub body: &'m [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitingConnect,
    Authenticating { client_heart_beat: HeartBeat },
    Open,
}

#[derive(Debug, Clone)]
struct OwedError {
    message: heapless::Vec<u8, MAX_ERROR_MESSAGE>,
    receipt: Option<Id>,
    versions: Option<VersionSet>,
}

/// What an `ACK` or `NACK` settled.
#[derive(Debug, Clone)]
struct Settled {
    subscription: Id,
    message_id: Id,
    count: usize,
}

/// A frame of a committed transaction, taken for its event: its bounds in the held
/// octets, and for an `ACK` or `NACK` what it settled.
#[derive(Debug, Clone)]
struct Committed {
    start: usize,
    end: usize,
    settled: Option<Settled>,
}

/// A `COMMIT` being replayed: the transaction's slot and where its next frame is looked
/// for.
#[derive(Debug, Clone, Copy)]
struct Replay {
    slot: usize,
    from: usize,
}

/// The server side of one STOMP connection (STOMP 1.0, 1.1, 1.2), sans-IO, following
/// the [machine contract](crate::machine).
///
/// Feed client bytes to [`ServerSession::read`] (one [`ServerEvent`] per call), answer a
/// [`ServerEvent::Connect`] with [`ServerSession::accept_connect`] or
/// [`ServerSession::reject_connect`], drain owed frames with
/// [`Machine::poll_transmit`] after every call, encode messages with
/// [`ServerSession::write_message`], and drive heart-beats with
/// [`Machine::poll_timeout`] / [`Machine::handle_timeout`].
///
/// Capacities: `SUBS` subscriptions, `TXS` open transactions (at most 255), `UNACKED`
/// messages awaiting `ACK`/`NACK`, and `HELD` octets for `SEND`, `ACK` and `NACK` frames
/// held until their transaction commits (each frame costs its wire length plus 5). Exceeding a capacity
/// is answered with an `ERROR` frame. `T` says where the tables live: inline at their
/// full capacity ([`FixedStorage`], the default), or in lists that grow up to their
/// capacity and shrink as they empty (a [`SessionStorage`] a runtime with an allocator
/// plugs in).
///
/// ```
/// use sockwire_core::machine::{Machine, Status};
/// use sockwire_core::stomp::{HeaderLines, Id, OutgoingMessage, ServerEvent, ServerSession, ServerSessionConfig};
/// use sockwire_core::time::Instant;
///
/// let mut session: ServerSession = ServerSession::new(ServerSessionConfig::default(), Id::from_decimal(1), Instant(0));
/// let input = b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SUBSCRIBE\nid:0\ndestination:/topic/a\n\n\0";
/// let mut at = 0;
/// let mut out = [0u8; 256];
/// let now = Instant(0);
/// loop {
///     let read = session.read(&input[at..], now);
///     at += read.consumed;
///     let mut connect = false;
///     match read.status {
///         Status::Event(ServerEvent::Connect { login, passcode, .. }) => connect = true, // check them
///         Status::Event(ServerEvent::Subscribe { destination, .. }) => assert!(destination == "/topic/a"),
///         Status::Event(_) => {}
///         _ => break,
///     }
///     if connect {
///         session.accept_connect(now)?;
///     }
///     while let Some(n) = session.poll_transmit(now, &mut out)? {
///         assert!(out[..n].starts_with(b"CONNECTED\nversion:1.2\n"));
///     }
/// }
/// let message = OutgoingMessage {
///     subscription: b"0",
///     message_id: b"m-1",
///     destination: b"/topic/a".iter().copied(),
///     headers: HeaderLines::new(b"content-type:text/plain\n"),
///     body: b"hi",
/// };
/// let n = session.write_message(now, message, &mut out)?;
/// assert!(out[..n].starts_with(b"MESSAGE\nsubscription:0\nmessage-id:m-1\ndestination:/topic/a\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerSession<
    const SUBS: usize = 16,
    const TXS: usize = 4,
    const UNACKED: usize = 64,
    const HELD: usize = 4096,
    T: SessionStorage = FixedStorage,
> {
    config: ServerSessionConfig,
    session_id: Id,
    decoder: Decoder,
    version: Version,
    phase: Phase,
    intervals: HeartBeatIntervals,
    subscriptions: Subscriptions<T::List<Subscription, SUBS>>,
    transactions: Transactions<T::List<Option<Id>, TXS>, T::List<u8, HELD>>,
    unacked: Unacked<T::List<Pending, UNACKED>>,
    replay: Option<Replay>,
    owed_connected: bool,
    /// The `user-name` the `CONNECTED` frame tells (empty: none).
    user_name: heapless::String<MAX_USER_NAME>,
    owed_receipts: T::List<Id, RECEIPT_QUEUE>,
    owed_heart_beat: bool,
    owed_error: Option<OwedError>,
    closing: bool,
    timed_out: bool,
    /// The receipt the last frame read asked for, while it is still owed.
    last_receipt: Option<Id>,
    connect_deadline: Option<Instant>,
    last_received: Instant,
    last_sent: Instant,
}

impl<
        const SUBS: usize,
        const TXS: usize,
        const UNACKED: usize,
        const HELD: usize,
        T: SessionStorage,
    > ServerSession<SUBS, TXS, UNACKED, HELD, T>
{
    /// A session created at `now`, waiting for the client's `CONNECT`; `session_id`
    /// becomes the `CONNECTED` frame's `session` header.
    pub fn new(config: ServerSessionConfig, session_id: Id, now: Instant) -> Self {
        const { assert!(TXS <= 255, "at most 255 open transactions") };
        ServerSession {
            config,
            session_id,
            decoder: Decoder::new(config.limits),
            version: Version::V1_2,
            phase: Phase::AwaitingConnect,
            intervals: HeartBeatIntervals::default(),
            subscriptions: Subscriptions::default(),
            transactions: Transactions::default(),
            unacked: Unacked::default(),
            replay: None,
            owed_connected: false,
            user_name: heapless::String::new(),
            owed_receipts: Default::default(),
            owed_heart_beat: false,
            owed_error: None,
            closing: false,
            timed_out: false,
            last_receipt: None,
            connect_deadline: config.connect_timeout_ms.map(|ms| now.add_millis(ms)),
            last_received: now,
            last_sent: now,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerSessionConfig {
        &self.config
    }

    /// The `session` header of the `CONNECTED` frame.
    pub fn session_id(&self) -> &Id {
        &self.session_id
    }

    /// The version agreed on (1.2 until a `CONNECT` was read).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The heart-beat intervals agreed on (none until the session is accepted).
    pub fn heart_beat_intervals(&self) -> HeartBeatIntervals {
        self.intervals
    }

    /// Whether the session was accepted and is not closing.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Open && !self.closing
    }

    /// Whether the session ended (its last frames may still be owed).
    pub fn is_ending(&self) -> bool {
        self.closing || self.timed_out
    }

    /// Current subscriptions.
    pub fn subscription_count(&self) -> usize {
        self.subscriptions.len()
    }

    /// Open transactions.
    pub fn open_transactions(&self) -> usize {
        self.transactions.open()
    }

    /// Messages awaiting `ACK` or `NACK`.
    pub fn unacked_count(&self) -> usize {
        self.unacked.len()
    }

    /// The ack mode of the subscription `id`, `None` when there is no such subscription.
    pub fn subscription_ack_mode(&self, id: &[u8]) -> Option<AckMode> {
        self.subscriptions.find(id).map(|s| s.ack)
    }

    fn owes_frames(&self) -> bool {
        self.owed_connected || !self.owed_receipts.is_empty() || self.owed_error.is_some()
    }

    /// Consumes client bytes from the start of `input` and reports at most one event,
    /// following the [machine contract](crate::machine).
    ///
    /// Heart-beat end-of-lines and the `SEND`s, `ACK`s and `NACK`s held for a transaction
    /// are consumed without an event. The session pauses for [`Pause::Decision`] while a
    /// [`ServerEvent::Connect`] awaits an answer, and for [`Pause::Transmit`] while
    /// [`RECEIPT_QUEUE`] receipts wait for [`Machine::poll_transmit`]. After a
    /// [`ServerEvent::Commit`], the next calls report the committed frames, consuming
    /// nothing. Once the session ended, input is consumed and ignored.
    pub fn read<'a>(&'a mut self, input: &'a [u8], now: Instant) -> Read<ServerEvent<'a>> {
        if self.closing || self.timed_out {
            return Read::closed(input.len());
        }
        if matches!(self.phase, Phase::Authenticating { .. }) {
            return Read::paused(0, Pause::Decision);
        }
        if let Some(committed) = self.next_committed() {
            return Read::event(0, self.committed_event(committed));
        }
        let mut pos = 0;
        self.last_receipt = None;
        loop {
            if self.owed_receipts.is_full() {
                return Read::paused(pos, Pause::Transmit);
            }
            let rest = input.get(pos..).unwrap_or_default();
            if !rest.is_empty() {
                self.last_received = self.last_received.max(now);
            }
            match self.decoder.decode(rest) {
                Ok(Decoded::Incomplete) => return Read::need_more(pos),
                Ok(Decoded::HeartBeat { consumed }) => pos += consumed,
                Ok(Decoded::Frame { frame, consumed }) => {
                    let raw = rest.get(..consumed).unwrap_or_default();
                    pos += consumed;
                    if let Some(event) = self.handle_frame(frame, raw, now) {
                        return Read::event(pos, event);
                    }
                }
                Err(e) => {
                    return Read::event(input.len(), self.fail(SessionError::Decode(e), None))
                }
            }
        }
    }

    fn handle_frame<'a>(
        &mut self,
        frame: Frame<'a>,
        raw: &'a [u8],
        now: Instant,
    ) -> Option<ServerEvent<'a>> {
        let command = frame.command();
        let receipt = if command.is_handshake() {
            None
        } else {
            match frame.header("receipt").map(|t| self.client_id(&t)) {
                None => None,
                Some(Ok(id)) => Some(id),
                Some(Err(e)) => return Some(self.fail(e, None)),
            }
        };
        match self.dispatch(frame, raw, now) {
            Ok(event) => {
                if let Some(id) = receipt {
                    // `read` pauses while the queue is full, so this fits.
                    self.last_receipt = Some(id.clone());
                    let _ = self.owed_receipts.push(id);
                }
                event
            }
            Err(e) => Some(self.fail(e, receipt)),
        }
    }

    fn dispatch<'a>(
        &mut self,
        frame: Frame<'a>,
        raw: &'a [u8],
        now: Instant,
    ) -> Result<Option<ServerEvent<'a>>, SessionError> {
        let command = frame.command();
        if command.is_server() {
            return Err(SessionError::UnexpectedCommand);
        }
        if command != Command::Send && !frame.body().is_empty() {
            return Err(SessionError::UnexpectedBody);
        }
        let connecting = matches!(command, Command::Connect | Command::Stomp);
        match (self.phase, connecting) {
            (Phase::AwaitingConnect, true) => return self.on_connect(frame).map(Some),
            (Phase::AwaitingConnect, false) => return Err(SessionError::NotConnected),
            (_, true) => return Err(SessionError::AlreadyConnected),
            (_, false) => {}
        }
        let event = match command {
            Command::Subscribe => self.on_subscribe(frame)?,
            Command::Unsubscribe => self.on_unsubscribe(frame)?,
            Command::Send => return self.on_send(frame, raw),
            Command::Ack | Command::Nack => return self.on_ack(frame, raw),
            Command::Begin => {
                let transaction = required(&frame, "transaction")?;
                let name = self.client_id(&transaction)?;
                self.transactions.begin(name)?;
                ServerEvent::Begin { transaction, frame }
            }
            Command::Commit => {
                let (transaction, slot) = self.open_transaction(&frame)?;
                let held = self.transactions.held(slot);
                self.replay = Some(Replay { slot, from: 0 });
                ServerEvent::Commit {
                    transaction,
                    held,
                    frame,
                }
            }
            Command::Abort => {
                let (transaction, slot) = self.open_transaction(&frame)?;
                let discarded = self.transactions.held(slot);
                self.transactions.close(slot);
                ServerEvent::Abort {
                    transaction,
                    discarded,
                    frame,
                }
            }
            Command::Disconnect => {
                self.transactions.clear();
                self.closing = true;
                self.owed_heart_beat = false;
                self.last_received = now;
                ServerEvent::Disconnect { frame }
            }
            _ => return Err(SessionError::UnexpectedCommand),
        };
        Ok(Some(event))
    }

    fn on_connect<'a>(&mut self, frame: Frame<'a>) -> Result<ServerEvent<'a>, SessionError> {
        // CONNECT headers are never escaped: the raw octets are the text.
        let accept = frame.header("accept-version").map(|t| t.raw());
        let version = negotiate_version(accept, self.config.versions)
            .ok_or(SessionError::UnsupportedVersion(self.config.versions))?;
        let heart_beat = if version == Version::V1_0 {
            HeartBeat::NONE
        } else {
            HeartBeat::parse_header(frame.header("heart-beat").map(|t| t.raw()))
                .map_err(|_| SessionError::InvalidHeartBeat)?
        };
        self.version = version;
        self.decoder.set_version(version);
        self.phase = Phase::Authenticating {
            client_heart_beat: heart_beat,
        };
        Ok(ServerEvent::Connect {
            version,
            host: frame.header("host"),
            login: frame.header("login"),
            passcode: frame.header("passcode"),
            heart_beat,
            frame,
        })
    }

    fn on_subscribe<'a>(&mut self, frame: Frame<'a>) -> Result<ServerEvent<'a>, SessionError> {
        let destination = required(&frame, "destination")?;
        let id = match frame.header("id") {
            Some(id) => id,
            None if self.version == Version::V1_0 => destination,
            None => return Err(SessionError::MissingHeader("id")),
        };
        let stored = self.client_id(&id)?;
        let ack = AckMode::parse(frame.header("ack"))?;
        self.subscriptions.add(stored, ack)?;
        Ok(ServerEvent::Subscribe {
            id,
            destination,
            ack,
            selector: frame.header("selector"),
            frame,
        })
    }

    fn on_unsubscribe<'a>(&mut self, frame: Frame<'a>) -> Result<ServerEvent<'a>, SessionError> {
        let id = match frame.header("id") {
            Some(id) => id,
            None if self.version == Version::V1_0 => required(&frame, "destination")?,
            None => return Err(SessionError::MissingHeader("id")),
        };
        let id = Id::from_header(&id).ok_or(SessionError::UnknownSubscription)?;
        let removed = self
            .subscriptions
            .remove(id.as_bytes())
            .ok_or(SessionError::UnknownSubscription)?;
        self.unacked.forget_subscription(&removed.id);
        Ok(ServerEvent::Unsubscribe { id, frame })
    }

    fn on_send<'a>(
        &mut self,
        frame: Frame<'a>,
        raw: &'a [u8],
    ) -> Result<Option<ServerEvent<'a>>, SessionError> {
        let destination = required(&frame, "destination")?;
        match frame.header("transaction") {
            None => Ok(Some(ServerEvent::Send {
                destination,
                transaction: None,
                frame,
            })),
            Some(tx) => {
                let slot = self.slot_of(&tx)?;
                self.transactions.hold(slot, raw)?;
                Ok(None)
            }
        }
    }

    fn on_ack<'a>(
        &mut self,
        frame: Frame<'a>,
        raw: &'a [u8],
    ) -> Result<Option<ServerEvent<'a>>, SessionError> {
        let slot = match frame.header("transaction") {
            Some(tx) => Some(self.slot_of(&tx)?),
            None => None,
        };
        let index = self.pending_index(&frame)?;
        match slot {
            // Settled at COMMIT; until then the message still awaits acknowledgement.
            Some(slot) => {
                self.transactions.hold(slot, raw)?;
                Ok(None)
            }
            None => {
                let settled = self.settle(index).ok_or(SessionError::UnknownMessage)?;
                Ok(Some(ack_event(settled, frame)))
            }
        }
    }

    /// The entry of the unacknowledged message an `ACK` or `NACK` names.
    fn pending_index(&self, frame: &Frame<'_>) -> Result<usize, SessionError> {
        if self.version == Version::V1_2 {
            let id = required(frame, "id")?;
            return self
                .unacked
                .find_by_ack(&id)
                .ok_or(SessionError::UnknownMessage);
        }
        let message_id = required(frame, "message-id")?;
        let message_id = Id::from_header(&message_id).ok_or(SessionError::UnknownMessage)?;
        let subscription = match frame.header("subscription") {
            Some(s) => {
                let s = Id::from_header(&s).ok_or(SessionError::UnknownSubscription)?;
                if self.subscriptions.find(s.as_bytes()).is_none() {
                    return Err(SessionError::UnknownSubscription);
                }
                Some(s)
            }
            None if self.version == Version::V1_1 => {
                return Err(SessionError::MissingHeader("subscription"))
            }
            None => None,
        };
        self.unacked
            .find_by_message(subscription.as_ref(), &message_id)
            .ok_or(SessionError::UnknownMessage)
    }

    /// Settles the unacknowledged message at `index` (and, in `client` mode, its
    /// subscription's earlier ones).
    fn settle(&mut self, index: usize) -> Option<Settled> {
        let pending = self.unacked.get(index).cloned()?;
        let cumulative = self
            .subscriptions
            .find(pending.subscription.as_bytes())
            .is_some_and(|s| s.ack == AckMode::Client);
        let count = self.unacked.settle(index, cumulative);
        Some(Settled {
            subscription: pending.subscription,
            message_id: pending.message_id,
            count,
        })
    }

    fn open_transaction<'a>(
        &self,
        frame: &Frame<'a>,
    ) -> Result<(HeaderText<'a>, usize), SessionError> {
        let transaction = required(frame, "transaction")?;
        let slot = self.slot_of(&transaction)?;
        Ok((transaction, slot))
    }

    fn slot_of(&self, name: &HeaderText<'_>) -> Result<usize, SessionError> {
        let name = Id::from_header(name).ok_or(SessionError::UnknownTransaction)?;
        self.transactions
            .slot_of(name.as_bytes())
            .ok_or(SessionError::UnknownTransaction)
    }

    /// Copies an identifier the session may have to echo in a header.
    fn client_id(&self, text: &HeaderText<'_>) -> Result<Id, SessionError> {
        let id = Id::from_header(text).ok_or(SessionError::InvalidId)?;
        let escaping = Escaping::for_frame(self.version, Command::Receipt);
        let mut sink = Writer::new(&mut []);
        escape_into(
            id.as_bytes().iter().copied(),
            escaping,
            HeaderPart::Value,
            &mut sink,
        )
        .map_err(|_| SessionError::InvalidId)?;
        Ok(id)
    }

    fn fail(&mut self, error: SessionError, receipt: Option<Id>) -> ServerEvent<'static> {
        let versions = match error {
            SessionError::UnsupportedVersion(v) => Some(v),
            _ => None,
        };
        let mut text = [0u8; LIMIT_MESSAGE_LEN];
        let message = error.message_with_limits(&self.config.limits, &mut text);
        self.queue_error(message, receipt, versions);
        ServerEvent::ProtocolError(error)
    }

    fn queue_error(&mut self, message: &str, receipt: Option<Id>, versions: Option<VersionSet>) {
        let mut text = heapless::Vec::new();
        for c in message.chars() {
            let c = if c.is_control() { ' ' } else { c };
            let mut utf8 = [0u8; 4];
            if text
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes())
                .is_err()
            {
                break;
            }
        }
        self.owed_error = Some(OwedError {
            message: text,
            receipt,
            versions,
        });
        self.closing = true;
        self.owed_heart_beat = false;
        self.transactions.clear();
        self.replay = None;
    }

    /// Accepts the session after a [`ServerEvent::Connect`]: queues the `CONNECTED`
    /// frame and starts the heart-beat timers at `now`.
    pub fn accept_connect(&mut self, now: Instant) -> Result<(), ActionError> {
        self.accept_connect_as(now, "")
    }

    /// Accepts the `CONNECT` as the user `user_name`, which the `CONNECTED` frame tells
    /// in its `user-name` header (none when empty, or when it cannot be written
    /// unescaped: longer than [`MAX_USER_NAME`], or holding `:`, CR or LF).
    pub fn accept_connect_as(&mut self, now: Instant, user_name: &str) -> Result<(), ActionError> {
        let Phase::Authenticating { client_heart_beat } = self.phase else {
            return Err(ActionError::NoPendingConnect);
        };
        if self.is_ending() {
            return Err(ActionError::Closed);
        }
        self.phase = Phase::Open;
        self.intervals = self.config.heart_beat.negotiate(client_heart_beat);
        self.user_name.clear();
        if !user_name.contains([':', '\r', '\n']) {
            let _ = self.user_name.push_str(user_name);
        }
        self.owed_connected = true;
        self.connect_deadline = None;
        self.last_received = now;
        self.last_sent = now;
        Ok(())
    }

    /// Refuses the session after a [`ServerEvent::Connect`] (bad credentials, unknown
    /// host, ...): queues an `ERROR` frame with `message` and closes once it is sent.
    pub fn reject_connect(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        if !matches!(self.phase, Phase::Authenticating { .. }) {
            return Err(ActionError::NoPendingConnect);
        }
        if self.is_ending() {
            return Err(ActionError::Closed);
        }
        self.last_sent = self.last_sent.max(now);
        self.queue_error(message, None, None);
        Ok(())
    }

    /// Ends the session from the server's side: queues an `ERROR` frame with `message`
    /// (a refused destination, a slow consumer, a shutdown) and closes once it is sent.
    pub fn close(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        if self.is_ending() {
            return Err(ActionError::Closed);
        }
        self.last_sent = self.last_sent.max(now);
        self.queue_error(message, None, None);
        Ok(())
    }

    /// Refuses the frame just read (a destination the broker or the application would
    /// not take): like [`ServerSession::close`], but the receipt that frame asked for, if
    /// not yet sent, is not sent: the `ERROR` names it in its `receipt-id` instead.
    pub fn refuse(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        if self.is_ending() {
            return Err(ActionError::Closed);
        }
        let receipt = self.last_receipt.take().filter(|r| {
            self.owed_receipts.as_slice().last() == Some(r) && self.owed_receipts.pop().is_some()
        });
        self.last_sent = self.last_sent.max(now);
        self.queue_error(message, receipt, None);
        Ok(())
    }

    /// Decodes a held frame again (it was decoded once when it arrived).
    fn decode_held(&self, start: usize, end: usize) -> Option<Frame<'_>> {
        let mut decoder = Decoder::new(self.config.limits);
        decoder.set_version(self.version);
        let bytes = self.transactions.stored().get(start..end)?;
        match decoder.decode(bytes) {
            Ok(Decoded::Frame { frame, .. }) => Some(frame),
            _ => None,
        }
    }

    /// Takes the next frame of the transaction being committed and applies an `ACK` or
    /// `NACK` to the table of unacknowledged messages (skipping those whose message was
    /// settled meanwhile); `None` once the transaction is replayed, which closes it.
    fn next_committed(&mut self) -> Option<Committed> {
        let replay = self.replay?;
        let mut from = replay.from;
        while let Some((start, end)) = self.transactions.next_held(replay.slot, from) {
            from = end;
            self.replay = Some(Replay {
                slot: replay.slot,
                from,
            });
            // Held frames were decoded once already; they decode again.
            let Some(frame) = self.decode_held(start, end) else {
                continue;
            };
            let settled = if frame.command() == Command::Send {
                None
            } else {
                let Ok(index) = self.pending_index(&frame) else {
                    continue;
                };
                let Some(settled) = self.settle(index) else {
                    continue;
                };
                Some(settled)
            };
            return Some(Committed {
                start,
                end,
                settled,
            });
        }
        self.transactions.close(replay.slot);
        self.replay = None;
        None
    }

    /// The event for a committed frame [`ServerSession::next_committed`] took.
    fn committed_event(&self, committed: Committed) -> ServerEvent<'_> {
        let Some(frame) = self.decode_held(committed.start, committed.end) else {
            return ServerEvent::ProtocolError(SessionError::Decode(DecodeError::TooManyHeaders));
        };
        match committed.settled {
            Some(settled) => ack_event(settled, frame),
            None => {
                let escaping = frame.escaping();
                ServerEvent::Send {
                    destination: frame
                        .header("destination")
                        .unwrap_or(HeaderText::new(b"", escaping)),
                    transaction: frame.header("transaction"),
                    frame,
                }
            }
        }
    }

    fn encode_connected(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut hb = [0u8; 48];
        let mut w = Writer::new(&mut hb);
        self.config.heart_beat.write_value(&mut w);
        let hb_len = w.finish().unwrap_or(0);
        let hb = hb.get(..hb_len).unwrap_or_default();
        let version = self.version.as_str().as_bytes();
        let user = self.user_name.as_bytes();
        let mut headers: heapless::Vec<(&[u8], &[u8]), 5> = heapless::Vec::new();
        let _ = headers.push((b"version", version));
        if self.version != Version::V1_0 {
            // No heart-beats in 1.0.
            let _ = headers.push((b"heart-beat", hb));
        }
        if !user.is_empty() {
            let _ = headers.push((b"user-name", user));
        }
        let _ = headers.push((b"server", self.config.server.as_bytes()));
        let _ = headers.push((b"session", self.session_id.as_bytes()));
        let count = headers.len();
        let headers = headers.as_slice();
        match encode(Command::Connected, headers, b"", self.version, out) {
            Ok(n) => Ok(n),
            Err(EncodeError::BufferTooSmall(e)) => Err(e),
            // A `server` or `session` the application chose that cannot be written:
            // leave both out rather than never connect.
            Err(_) => {
                let minimal = headers.get(..count.saturating_sub(2)).unwrap_or_default();
                match encode(Command::Connected, minimal, b"", self.version, out) {
                    Ok(n) => Ok(n),
                    Err(EncodeError::BufferTooSmall(e)) => Err(e),
                    Err(_) => Ok(0),
                }
            }
        }
    }

    fn encode_owed(&mut self, out: &mut [u8]) -> Result<Option<usize>, BufferTooSmall> {
        let escaping_version = self.version;
        if self.owed_connected {
            let n = self.encode_connected(out)?;
            self.owed_connected = false;
            return Ok(Some(n));
        }
        if let Some(receipt) = self.owed_receipts.as_slice().first() {
            let headers: [(&[u8], &[u8]); 1] = [(b"receipt-id", receipt.as_bytes())];
            let result = encode(Command::Receipt, &headers, b"", escaping_version, out);
            let n = settle_encoding(result)?;
            if self.owed_receipts.remove(0) == self.last_receipt {
                self.last_receipt = None;
            }
            if let Some(n) = n {
                return Ok(Some(n));
            }
        }
        if let Some(error) = &self.owed_error {
            let mut headers: [(&[u8], &[u8]); 4] = [(b"", b""); 4];
            let mut count = 0;
            for h in [
                Some((&b"message"[..], &error.message[..])),
                error
                    .receipt
                    .as_ref()
                    .map(|r| (&b"receipt-id"[..], r.as_bytes())),
                error
                    .versions
                    .map(|v| (&b"version"[..], v.as_header_value().as_bytes())),
                Some((&b"content-type"[..], &b"text/plain"[..])),
            ]
            .into_iter()
            .flatten()
            {
                if let Some(slot) = headers.get_mut(count) {
                    *slot = h;
                    count += 1;
                }
            }
            let headers = headers.get(..count).unwrap_or_default();
            let result = encode(Command::Error, headers, b"", escaping_version, out);
            let n = settle_encoding(result)?;
            self.owed_error = None;
            if let Some(n) = n {
                return Ok(Some(n));
            }
        }
        if self.owed_heart_beat && !self.closing {
            let n = encode_heart_beat(out)?;
            self.owed_heart_beat = false;
            return Ok(Some(n));
        }
        Ok(None)
    }

    /// Encodes a `MESSAGE` for the subscription `message.subscription` into `out` and
    /// returns its length; `now` postpones the next heart-beat.
    ///
    /// Adds the `subscription`, `message-id` and `destination` headers, and for `client`
    /// and `client-individual` subscriptions an `ack` header (a number unique within the
    /// session, which a STOMP 1.2 `ACK` names in its `id` header) while recording the
    /// message as awaiting acknowledgement. The message's headers follow, copied as they
    /// are when the publisher escaped them as this session does and escaped again
    /// otherwise, then a `content-length` for a non-empty body.
    ///
    /// Nothing is written or recorded on error; the message is refused for a subscription
    /// the client does not hold ([`MessageError::UnknownSubscription`]).
    pub fn write_message<D>(
        &mut self,
        now: Instant,
        message: OutgoingMessage<'_, D>,
        out: &mut [u8],
    ) -> Result<usize, MessageError>
    where
        D: IntoIterator<Item = u8>,
    {
        if !self.is_connected() {
            return Err(MessageError::NotConnected);
        }
        let sub = self
            .subscriptions
            .find(message.subscription)
            .ok_or(MessageError::UnknownSubscription)?;
        let needs_ack = sub.ack.needs_ack();
        let record = if needs_ack {
            if self.unacked.is_full() {
                return Err(MessageError::TooManyUnacked);
            }
            Some((
                sub.id.clone(),
                Id::new(message.message_id).ok_or(MessageError::MessageIdTooLong)?,
            ))
        } else {
            None
        };
        let escaping = Escaping::for_frame(self.version, Command::Message);
        let mut w = Writer::new(out);
        w.put(b"MESSAGE\n");
        put_header(&mut w, escaping, b"subscription", message.subscription, 0)?;
        put_header(&mut w, escaping, b"message-id", message.message_id, 1)?;
        let invalid = EncodeError::InvalidHeader { index: 2 };
        w.put(b"destination:");
        escape_into(message.destination, escaping, HeaderPart::Value, &mut w)
            .map_err(|_| invalid)?;
        w.put(b"\n");
        if needs_ack {
            w.put(b"ack:");
            w.put_decimal(self.unacked.next_ack());
            w.put(b"\n");
        }
        let from = message.headers.escaping();
        for (i, h) in message.headers.raw_headers().enumerate() {
            let index = i.saturating_add(3);
            let verbatim = from == escaping
                && validate(h.name, from).is_ok()
                && validate(h.value, from).is_ok()
                && !h.name.contains(&0)
                && !h.value.contains(&0)
                && !h.value.ends_with(b"\r");
            if verbatim {
                w.put(h.name);
                w.put(b":");
                w.put(h.value);
                w.put(b"\n");
            } else {
                let invalid = EncodeError::InvalidHeader { index };
                let name = HeaderText::new(h.name, from);
                let value = HeaderText::new(h.value, from);
                escape_into(name.bytes(), escaping, HeaderPart::Name, &mut w)
                    .map_err(|_| invalid)?;
                w.put(b":");
                escape_into(value.bytes(), escaping, HeaderPart::Value, &mut w)
                    .map_err(|_| invalid)?;
                w.put(b"\n");
            }
        }
        if !message.body.is_empty() {
            w.put(b"content-length:");
            w.put_decimal(message.body.len() as u64);
            w.put(b"\n");
        }
        w.put(b"\n");
        w.put(message.body);
        w.put(b"\0");
        let n = w.finish().map_err(EncodeError::from)?;
        if let Some((sub, id)) = record {
            self.unacked.record(sub, id);
        }
        self.last_sent = self.last_sent.max(now);
        Ok(n)
    }

    fn receive_deadline(&self) -> Option<Instant> {
        let ms = self.intervals.expect_every_ms?;
        let grace = ms.saturating_mul(self.config.heart_beat_tolerance_percent) / 100;
        Some(self.last_received.add_millis(grace))
    }

    fn end_by_time(&mut self) {
        self.timed_out = true;
        self.closing = true;
        self.owed_connected = false;
        self.owed_receipts.clear();
        self.owed_heart_beat = false;
        self.owed_error = None;
        self.transactions.clear();
        self.replay = None;
    }

    /// Whether a message of subscription `subscription` with id `message_id` awaits
    /// acknowledgement.
    pub fn is_unacked(&self, subscription: &[u8], message_id: &[u8]) -> bool {
        match (Id::new(subscription), Id::new(message_id)) {
            (Some(s), Some(m)) => self.unacked.find_by_message(Some(&s), &m).is_some(),
            _ => false,
        }
    }
}

impl<
        const SUBS: usize,
        const TXS: usize,
        const UNACKED: usize,
        const HELD: usize,
        T: SessionStorage,
    > Machine for ServerSession<SUBS, TXS, UNACKED, HELD, T>
{
    type TimeoutEvent = ServerEvent<'static>;

    /// The next owed frame (`CONNECTED`, then `RECEIPT`s in order, then `ERROR`, or a
    /// heart-beat end-of-line), one per call; sent at `now`.
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        if self.timed_out {
            return Ok(None);
        }
        let n = self.encode_owed(out)?;
        if n.is_some() {
            self.last_sent = self.last_sent.max(now);
        }
        Ok(n)
    }

    /// The next heart-beat to send, the deadline for hearing from the client, or the
    /// deadline for its `CONNECT` to be accepted.
    fn poll_timeout(&self) -> Option<Instant> {
        if self.closing || self.timed_out {
            return None;
        }
        if self.phase != Phase::Open {
            return self.connect_deadline;
        }
        let send = match (self.owed_heart_beat, self.intervals.send_every_ms) {
            (false, Some(ms)) => Some(self.last_sent.add_millis(ms)),
            _ => None,
        };
        crate::time::earliest(send, self.receive_deadline())
    }

    /// Queues a heart-beat when nothing was sent for the agreed interval; ends the
    /// session with [`ServerEvent::HeartbeatTimeout`] when the client was silent for
    /// longer than the agreed interval times the tolerance, or with
    /// [`ServerEvent::ConnectTimeout`] when its `CONNECT` was not accepted in time.
    fn handle_timeout(&mut self, now: Instant) -> Option<ServerEvent<'static>> {
        if self.closing || self.timed_out {
            return None;
        }
        if self.phase != Phase::Open {
            if self.connect_deadline.is_some_and(|d| now >= d) {
                self.end_by_time();
                return Some(ServerEvent::ConnectTimeout);
            }
            return None;
        }
        if self.receive_deadline().is_some_and(|d| now >= d) {
            self.end_by_time();
            return Some(ServerEvent::HeartbeatTimeout);
        }
        if let Some(ms) = self.intervals.send_every_ms {
            if now >= self.last_sent.add_millis(ms) {
                self.owed_heart_beat = true;
            }
        }
        None
    }

    /// Whether the session is over: after an `ERROR` frame or a `DISCONNECT` (and its
    /// receipt) were transmitted, or a timeout. The caller closes the transport.
    fn is_closed(&self) -> bool {
        self.timed_out || (self.closing && !self.owes_frames())
    }
}

/// The [`ServerEvent::Ack`] or [`ServerEvent::Nack`] for an `ACK` or `NACK` frame.
fn ack_event<'a>(settled: Settled, frame: Frame<'a>) -> ServerEvent<'a> {
    let Settled {
        subscription,
        message_id,
        count,
    } = settled;
    let transaction = frame.header("transaction");
    if frame.command() == Command::Ack {
        ServerEvent::Ack {
            subscription,
            message_id,
            settled: count,
            transaction,
            frame,
        }
    } else {
        ServerEvent::Nack {
            subscription,
            message_id,
            settled: count,
            transaction,
            frame,
        }
    }
}

/// A header the frame must have.
fn required<'a>(frame: &Frame<'a>, name: &'static str) -> Result<HeaderText<'a>, SessionError> {
    frame.header(name).ok_or(SessionError::MissingHeader(name))
}

fn put_header(
    w: &mut Writer<'_>,
    escaping: Escaping,
    name: &[u8],
    value: &[u8],
    index: usize,
) -> Result<(), EncodeError> {
    let invalid = EncodeError::InvalidHeader { index };
    escape_into(name.iter().copied(), escaping, HeaderPart::Name, w).map_err(|_| invalid)?;
    w.put(b":");
    escape_into(value.iter().copied(), escaping, HeaderPart::Value, w).map_err(|_| invalid)?;
    w.put(b"\n");
    Ok(())
}

/// An owed frame's encoding: its length, `None` when it cannot be written at all (then it
/// is dropped; the session checks what it queues, so this does not happen), or the
/// buffer size it needs.
fn settle_encoding(result: Result<usize, EncodeError>) -> Result<Option<usize>, BufferTooSmall> {
    match result {
        Ok(n) => Ok(Some(n)),
        Err(EncodeError::BufferTooSmall(e)) => Err(e),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests;
