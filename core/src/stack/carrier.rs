//! How a STOMP session's bytes travel: the [`Carrier`] trait, and [`TcpCarrier`], STOMP
//! straight over a byte stream.

use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Pause, Read, Status};
use crate::store::{ByteStore, StoreFull, WriteError};
use crate::time::Instant;

/// The transport ended under the session (terminal): the peer closed its WebSocket or
/// broke the WebSocket or SockJS rules (the answer, a close frame, is already queued),
/// or a close handshake timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TransportClosed;

/// Why a carrier took no frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError<E> {
    /// The outbound store is full: the client does not read fast enough.
    Full(StoreFull),
    /// The transport is closing and takes no more frames.
    Closed,
    /// The encoder failed.
    Encode(E),
}

impl<E: core::fmt::Display> core::fmt::Display for FrameError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::Full(full) => {
                write!(f, "outbound queue full ({} bytes needed)", full.needed)
            }
            FrameError::Closed => f.write_str("the transport is closing"),
            FrameError::Encode(e) => e.fmt(f),
        }
    }
}

impl<E: core::error::Error> core::error::Error for FrameError<E> {}

impl<E> From<WriteError<E>> for FrameError<E> {
    fn from(e: WriteError<E>) -> Self {
        match e {
            WriteError::Full(f) => FrameError::Full(f),
            WriteError::Encode(e) => FrameError::Encode(e),
        }
    }
}

/// What carries a STOMP session: it unwraps what the client sends into STOMP bytes, and
/// wraps the frames the session sends for the wire into an outbound store that the
/// caller drains with [`Machine::poll_transmit`] (or writes from [`Carrier::outbound`]
/// and then [`Carrier::advance`]).
///
/// Every obligation of the transport itself (a WebSocket pong, a SockJS heart-beat, a
/// close) is moved into the outbound store as it arises, so that what goes out keeps the
/// order in which it was produced.
pub trait Carrier: Machine<TimeoutEvent = TransportClosed> {
    /// Unwraps wire bytes from `input` into `stomp`, taking no more than it has room for.
    ///
    /// [`Status::NeedMore`](crate::machine::Status::NeedMore): all of `input` was taken;
    /// [`Pause::Transmit`]: `stomp` is full, take STOMP frames out first;
    /// an event: the transport ended.
    fn receive<S: ByteStore>(
        &mut self,
        input: &mut [u8],
        now: Instant,
        stomp: &mut S,
    ) -> Read<TransportClosed>;

    /// Appends one STOMP frame to the outbound store, framed for the wire. `encode`
    /// writes the frame into the room it is given (at least `guess` bytes) and returns its
    /// length; when it reports that it `needed` more, it is called again with that much.
    fn send_frame<E>(
        &mut self,
        now: Instant,
        guess: usize,
        encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
        needed: impl Fn(&E) -> Option<usize>,
    ) -> Result<(), FrameError<E>>;

    /// The STOMP session is over: end the transport the way its protocol does (a
    /// WebSocket close 1000, a SockJS close frame) after what is already queued.
    fn end(&mut self, now: Instant);

    /// Bytes waiting to be written, oldest first.
    fn outbound(&self) -> &[u8];

    /// `n` bytes of [`Carrier::outbound`] were written at `now` (what waited for room
    /// moves in).
    fn advance(&mut self, now: Instant, n: usize);

    /// Room left in the outbound store.
    fn outbound_room(&self) -> usize;
}

/// After the session on `carrier` ended, the transport may still be closing (a WebSocket
/// waits for the peer's close): its input goes to the carrier, and the STOMP bytes in it
/// are dropped. `closed` is set once the carrier reports its end.
pub(crate) fn finish_transport<C: Carrier, S: ByteStore>(
    carrier: &mut C,
    inbound: &mut S,
    closed: &mut bool,
    input: &mut [u8],
    now: Instant,
) {
    let mut pos = 0;
    loop {
        let all = inbound.len();
        inbound.discard(all);
        let rest = input.get_mut(pos..).unwrap_or_default();
        let received = carrier.receive(rest, now, inbound);
        pos += received.consumed;
        match received.status {
            // A carrier that closed first still reads the peer's answer.
            Status::Event(TransportClosed) => *closed = true,
            Status::Closed => {
                *closed = true;
                break;
            }
            // The STOMP bytes filled `inbound`: drop them and go on.
            Status::Paused(_) => {}
            Status::NeedMore => break,
        }
        if received.consumed == 0 {
            break;
        }
    }
    let all = inbound.len();
    inbound.discard(all);
}

/// Copies what an outbound store holds into `out`, as much as fits; the shared body of
/// the carriers' `poll_transmit`.
pub(crate) fn drain_into<S: ByteStore>(
    store: &mut S,
    out: &mut [u8],
) -> Result<Option<usize>, BufferTooSmall> {
    let pending = store.as_slice();
    if pending.is_empty() {
        return Ok(None);
    }
    if out.is_empty() {
        return Err(BufferTooSmall { needed: 1 });
    }
    let n = pending.len().min(out.len());
    if let (Some(dst), Some(src)) = (out.get_mut(..n), pending.get(..n)) {
        dst.copy_from_slice(src);
    }
    store.discard(n);
    Ok(Some(n))
}

/// STOMP over a byte stream (TCP, a serial line): frames go out as they are.
#[derive(Debug, Clone)]
pub struct TcpCarrier<S> {
    out: S,
    ended: bool,
}

impl<S: ByteStore> TcpCarrier<S> {
    /// A carrier whose outbound bytes wait in `out`.
    pub fn new(out: S) -> Self {
        TcpCarrier { out, ended: false }
    }
}

impl<S: ByteStore> Carrier for TcpCarrier<S> {
    fn receive<T: ByteStore>(
        &mut self,
        input: &mut [u8],
        _now: Instant,
        stomp: &mut T,
    ) -> Read<TransportClosed> {
        let take = input.len().min(stomp.room());
        if stomp.push(input.get(..take).unwrap_or_default()).is_err() || take < input.len() {
            return Read::paused(take, Pause::Transmit);
        }
        Read::need_more(take)
    }

    fn send_frame<E>(
        &mut self,
        _now: Instant,
        guess: usize,
        encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
        needed: impl Fn(&E) -> Option<usize>,
    ) -> Result<(), FrameError<E>> {
        if self.ended {
            return Err(FrameError::Closed);
        }
        Ok(self.out.write_with(guess, encode, needed).map(|_| ())?)
    }

    fn end(&mut self, _now: Instant) {
        self.ended = true;
    }

    fn outbound(&self) -> &[u8] {
        self.out.as_slice()
    }

    fn advance(&mut self, _now: Instant, n: usize) {
        self.out.discard(n);
    }

    fn outbound_room(&self) -> usize {
        self.out.room()
    }
}

impl<S: ByteStore> Machine for TcpCarrier<S> {
    type TimeoutEvent = TransportClosed;

    fn poll_transmit(
        &mut self,
        _now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        drain_into(&mut self.out, out)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn handle_timeout(&mut self, _now: Instant) -> Option<TransportClosed> {
        None
    }

    /// Once ended and drained: close the connection.
    fn is_closed(&self) -> bool {
        self.ended && self.out.is_empty()
    }
}
