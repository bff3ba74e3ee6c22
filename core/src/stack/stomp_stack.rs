//! [`StompStack`]: a STOMP server session on a [`Carrier`] (TCP, WebSocket, SockJS over
//! WebSocket) as one machine.

use super::carrier::{finish_transport, Carrier, FrameError, TransportClosed};
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Read, Status};
use crate::stomp::{
    ActionError, DecodeError, MessageError, OutgoingMessage, ServerEvent, ServerSession,
    SessionError,
};
use crate::stomp::{FixedStorage, SessionStorage};
use crate::store::ByteStore;
use crate::time::Instant;

/// What happened on a [`StompStack`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "events live for one call and cannot be boxed without an allocator"
)]
pub enum StackEvent<'a> {
    /// What the client's STOMP session did.
    Stomp(ServerEvent<'a>),
    /// The transport ended under the session (terminal): the STOMP session is over too,
    /// without a `DISCONNECT`.
    TransportClosed,
}

/// Why [`StompStack::deliver`] delivered nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DeliverError {
    /// The session refused the message (not connected, unknown subscription, too many
    /// unacknowledged messages, ...).
    Refused(MessageError),
    /// The client does not read fast enough: its outbound queue is full. The session
    /// ends with an `ERROR` ("slow consumer"), sent as soon as there is room.
    SlowConsumer,
    /// The outbound queue has no room for the message now ([`WhenFull::Refuse`]):
    /// nothing was sent and the session goes on.
    Full,
}

/// What a delivery does when the outbound queue has no room for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WhenFull {
    /// Ends the session as a slow consumer ([`DeliverError::SlowConsumer`]): the rule
    /// for topic messages, which nothing keeps for a consumer that cannot keep up.
    EndSession,
    /// Refuses the message and keeps the session ([`DeliverError::Full`]): a queue
    /// message stays in its queue until the client has read what is queued.
    Refuse,
}

impl core::fmt::Display for DeliverError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DeliverError::Refused(e) => e.fmt(f),
            DeliverError::SlowConsumer => f.write_str("slow consumer: too much output queued"),
            DeliverError::Full => f.write_str("no room for the message now"),
        }
    }
}

impl core::error::Error for DeliverError {}

/// The message of the `ERROR` a slow consumer gets.
pub const SLOW_CONSUMER: &str = "slow consumer: too much output queued";

/// The message of the `ERROR` (or the reason of the WebSocket close) a session gets when
/// the application handling it fails (a handler panicked).
pub const APPLICATION_FAILED: &str = "internal error";

/// A STOMP server session on a carrier, with a bounded store `S` for client bytes not yet
/// decoded (a frame split across messages or reads; its limit is the largest frame
/// accepted). Follows the [machine contract](crate::machine).
///
/// ```
/// use sockwire_core::machine::{Machine, Status};
/// use sockwire_core::stack::{StackEvent, StompStack, TcpCarrier};
/// use sockwire_core::stomp::{Id, ServerEvent, ServerSession, ServerSessionConfig};
/// use sockwire_core::store::FixedBytes;
/// use sockwire_core::time::Instant;
///
/// let now = Instant(0);
/// let session: ServerSession = ServerSession::new(ServerSessionConfig::default(), Id::from_decimal(1), now);
/// let carrier = TcpCarrier::new(FixedBytes::<1024>::new());
/// let mut stack = StompStack::new(carrier, session, FixedBytes::<1024>::new());
/// let mut input = *b"CONNECT\naccept-version:1.2\nhost:h\n\n\0";
/// let read = stack.read(&mut input, now);
/// assert!(matches!(read.status, Status::Event(StackEvent::Stomp(ServerEvent::Connect { .. }))));
/// stack.accept_connect(now)?;
/// let mut out = [0u8; 256];
/// let n = stack.poll_transmit(now, &mut out)?.unwrap();
/// assert!(out[..n].starts_with(b"CONNECTED\nversion:1.2\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct StompStack<
    C,
    S,
    const SUBS: usize = 16,
    const TXS: usize = 4,
    const UNACKED: usize = 64,
    const HELD: usize = 4096,
    T: SessionStorage = FixedStorage,
> {
    carrier: C,
    session: ServerSession<SUBS, TXS, UNACKED, HELD, T>,
    inbound: S,
    /// STOMP bytes the last event took from `inbound`, dropped at the next call.
    taken: usize,
    /// The transport ended; STOMP frames received before still come out first.
    transport_closed: bool,
    /// The terminal event was reported.
    over: bool,
    /// A frame larger than `inbound` arrived: the session ends with an `ERROR`.
    too_large: bool,
}

impl<
        C: Carrier,
        S: ByteStore,
        const SUBS: usize,
        const TXS: usize,
        const UNACKED: usize,
        const HELD: usize,
        T: SessionStorage,
    > StompStack<C, S, SUBS, TXS, UNACKED, HELD, T>
{
    /// `session` on `carrier`, with `inbound` for client bytes not yet decoded.
    pub fn new(
        carrier: C,
        session: ServerSession<SUBS, TXS, UNACKED, HELD, T>,
        inbound: S,
    ) -> Self {
        StompStack {
            carrier,
            session,
            inbound,
            taken: 0,
            transport_closed: false,
            over: false,
            too_large: false,
        }
    }

    /// The STOMP session.
    pub fn session(&self) -> &ServerSession<SUBS, TXS, UNACKED, HELD, T> {
        &self.session
    }

    /// The carrier.
    pub fn carrier(&self) -> &C {
        &self.carrier
    }

    /// Moves the frames the session owes into the carrier while it has room, and ends
    /// the carrier once the session is over.
    fn flush(&mut self, now: Instant) {
        self.inbound.discard(self.taken);
        self.taken = 0;
        if self.too_large {
            self.too_large = false;
            let _ = self.session.close(now, "frame too large");
        }
        let Self {
            carrier, session, ..
        } = self;
        loop {
            let owed = |buf: &mut [u8]| match session.poll_transmit(now, buf) {
                Ok(Some(n)) => Ok(n),
                Ok(None) => Err(None),
                Err(e) => Err(Some(e.needed)),
            };
            if carrier.send_frame(now, 64, owed, |e| *e).is_err() {
                break;
            }
        }
        if session.is_closed() && !self.over_transport() {
            self.carrier.end(now);
        }
    }

    fn over_transport(&self) -> bool {
        self.transport_closed
    }

    /// Consumes wire bytes and reports at most one event, following the
    /// [machine contract](crate::machine). Events borrow the stack: drop them before the
    /// next call.
    pub fn read(&mut self, input: &mut [u8], now: Instant) -> Read<StackEvent<'_>> {
        self.flush(now);
        if self.over {
            let closed = &mut self.transport_closed;
            finish_transport(&mut self.carrier, &mut self.inbound, closed, input, now);
            return Read::closed(input.len());
        }
        let received = if self.transport_closed {
            Read::closed(input.len())
        } else {
            self.carrier.receive(input, now, &mut self.inbound)
        };
        let wire = received.consumed;
        let store_full = matches!(received.status, Status::Paused(_)) && self.inbound.room() == 0;
        if matches!(received.status, Status::Event(TransportClosed)) {
            self.transport_closed = true;
        }
        let ending = self.session.is_ending();
        let read = self.session.read(self.inbound.as_slice(), now);
        self.taken = read.consumed;
        match read.status {
            Status::Event(e) => {
                if is_terminal(&e) {
                    self.over = true;
                }
                Read::event(wire, StackEvent::Stomp(e))
            }
            Status::Paused(p) => Read::paused(wire, p),
            Status::NeedMore | Status::Closed if self.transport_closed => {
                // What follows the transport's end (a client's answer to a close the
                // carrier sent) is for the next read, which finishes the transport.
                self.over = true;
                Read::event(wire, StackEvent::TransportClosed)
            }
            Status::NeedMore if store_full => {
                self.too_large = true;
                self.over = true;
                let e = SessionError::Decode(DecodeError::BodyTooLarge);
                Read::event(
                    input.len(),
                    StackEvent::Stomp(ServerEvent::ProtocolError(e)),
                )
            }
            Status::NeedMore => Read::need_more(wire),
            Status::Closed if ending => {
                self.over = true;
                Read::closed(input.len())
            }
            Status::Closed => Read::closed(input.len()),
        }
    }

    /// Accepts the client's `CONNECT` (see [`ServerSession::accept_connect`]).
    pub fn accept_connect(&mut self, now: Instant) -> Result<(), ActionError> {
        self.accept_connect_as(now, "")
    }

    /// Accepts the client's `CONNECT` as `user_name` (see
    /// [`ServerSession::accept_connect_as`]).
    pub fn accept_connect_as(&mut self, now: Instant, user_name: &str) -> Result<(), ActionError> {
        self.flush(now);
        let r = self.session.accept_connect_as(now, user_name);
        self.flush(now);
        r
    }

    /// Refuses the client's `CONNECT` with an `ERROR` (see
    /// [`ServerSession::reject_connect`]).
    pub fn reject_connect(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        self.flush(now);
        let r = self.session.reject_connect(now, message);
        self.flush(now);
        r
    }

    /// Ends the session from the server's side with an `ERROR` carrying `message`, then
    /// ends the transport.
    pub fn close(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        self.flush(now);
        let r = self.session.close(now, message);
        self.flush(now);
        r
    }

    /// Refuses the frame just read with an `ERROR` carrying `message` (see
    /// [`ServerSession::refuse`]: its receipt is not sent), then ends the transport.
    pub fn refuse(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        let r = self.session.refuse(now, message);
        self.flush(now);
        r
    }

    /// Sends a `MESSAGE` for one of the client's subscriptions (see
    /// [`ServerSession::write_message`]). When the outbound queue is full, `when_full`
    /// says whether the session ends as a slow consumer or the message is refused.
    pub fn deliver<D>(
        &mut self,
        now: Instant,
        message: OutgoingMessage<'_, D>,
        when_full: WhenFull,
    ) -> Result<(), DeliverError>
    where
        D: IntoIterator<Item = u8> + Clone,
    {
        self.flush(now);
        if !self.session.is_connected() {
            return Err(DeliverError::Refused(MessageError::NotConnected));
        }
        let guess = message
            .body
            .len()
            .saturating_add(message.headers.as_bytes().len())
            .saturating_add(128);
        let Self {
            carrier, session, ..
        } = self;
        let encode = |buf: &mut [u8]| session.write_message(now, message.clone(), buf);
        let sent = carrier.send_frame(now, guess, encode, MessageError::needed);
        match sent {
            Ok(()) => Ok(()),
            Err(FrameError::Encode(e)) => Err(DeliverError::Refused(e)),
            Err(FrameError::Closed) => Err(DeliverError::Refused(MessageError::NotConnected)),
            Err(FrameError::Full(_)) if when_full == WhenFull::Refuse => Err(DeliverError::Full),
            Err(FrameError::Full(_)) => {
                let _ = self.session.close(now, SLOW_CONSUMER);
                self.flush(now);
                Err(DeliverError::SlowConsumer)
            }
        }
    }

    /// Bytes waiting to be written at `now` (everything owed so far moved in), for
    /// writing straight from the stack; report what was written with
    /// [`StompStack::advance`].
    pub fn outbound(&mut self, now: Instant) -> &[u8] {
        self.flush(now);
        self.carrier.outbound()
    }

    /// `n` bytes of [`StompStack::outbound`] were written at `now`.
    pub fn advance(&mut self, now: Instant, n: usize) {
        self.carrier.advance(now, n);
        self.flush(now);
    }

    /// Room left in the outbound queue.
    pub fn outbound_room(&self) -> usize {
        self.carrier.outbound_room()
    }
}

fn is_terminal(e: &ServerEvent<'_>) -> bool {
    matches!(
        e,
        ServerEvent::Disconnect { .. }
            | ServerEvent::ProtocolError(_)
            | ServerEvent::HeartbeatTimeout
            | ServerEvent::ConnectTimeout
    )
}

impl<
        C: Carrier,
        S: ByteStore,
        const SUBS: usize,
        const TXS: usize,
        const UNACKED: usize,
        const HELD: usize,
        T: SessionStorage,
    > Machine for StompStack<C, S, SUBS, TXS, UNACKED, HELD, T>
{
    type TimeoutEvent = StackEvent<'static>;

    /// Writes what is queued for the wire, as much as fits in `out`.
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.flush(now);
        let n = self.carrier.poll_transmit(now, out);
        self.flush(now);
        n
    }

    /// The session's heart-beat and CONNECT deadlines and the carrier's timers; once
    /// the stack is over, only the carrier's (the session's are no longer run).
    fn poll_timeout(&self) -> Option<Instant> {
        if self.over {
            return self.carrier.poll_timeout();
        }
        crate::time::earliest(self.session.poll_timeout(), self.carrier.poll_timeout())
    }

    /// Runs both timers; a heart-beat or CONNECT timeout ends the session and the
    /// transport, a close timeout ends the transport.
    fn handle_timeout(&mut self, now: Instant) -> Option<StackEvent<'static>> {
        self.flush(now);
        if self.over {
            let _ = self.carrier.handle_timeout(now);
            return None;
        }
        if let Some(e) = self.session.handle_timeout(now) {
            self.over = true;
            self.carrier.end(now);
            self.flush(now);
            return Some(StackEvent::Stomp(e));
        }
        self.flush(now);
        if self.carrier.handle_timeout(now).is_some() {
            self.over = true;
            self.transport_closed = true;
            return Some(StackEvent::TransportClosed);
        }
        None
    }

    /// Once the transport is done and everything was written: close the connection.
    fn is_closed(&self) -> bool {
        self.carrier.is_closed()
    }
}
