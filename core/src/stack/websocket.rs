//! [`WebSocketCarrier`]: STOMP over a WebSocket, where a message may carry one STOMP
//! frame, several, or part of one.

use super::carrier::{drain_into, Carrier, FrameError, TransportClosed};
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Pause, Read, Status};
use crate::store::{ByteStore, WriteError};
use crate::time::Instant;
use crate::ws::{CloseCode, Connection, ControlPayload, DataKind, Event, Fragment};

/// Room for the longest frame header `ws` writes: 10 bytes, 14 with a client's mask.
fn head_room(ws: &Connection) -> usize {
    match ws.role() {
        crate::ws::Role::Client => crate::ws::frame::MAX_HEADER_LEN,
        crate::ws::Role::Server => crate::ws::frame::MAX_HEADER_LEN - 4,
    }
}

/// Room for the longest control frame: a close with its reason, masked when a client
/// sends it.
const CONTROL_FRAME: usize = 2 + 4 + 125;

/// A WebSocket connection carrying a byte stream: the payload of every data message is
/// the next bytes of the stream, and every outgoing frame is one data message (text when
/// it is UTF-8, binary otherwise).
#[derive(Debug, Clone)]
pub struct WebSocketCarrier<S> {
    ws: Connection,
    out: S,
    ended: bool,
}

impl<S: ByteStore> WebSocketCarrier<S> {
    /// Carries over `ws` (after the handshake); outbound bytes wait in `out`.
    pub fn new(ws: Connection, out: S) -> Self {
        WebSocketCarrier {
            ws,
            out,
            ended: false,
        }
    }

    /// The WebSocket connection.
    pub fn connection(&self) -> &Connection {
        &self.ws
    }

    /// Moves owed control frames (pongs, the close) into the outbound store.
    fn flush_control(&mut self, now: Instant) {
        flush_control(&mut self.ws, &mut self.out, now);
    }

    /// Appends one data frame whose payload `encode` writes.
    pub(crate) fn send_message<E>(
        &mut self,
        now: Instant,
        guess: usize,
        encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
        needed: impl Fn(&E) -> Option<usize>,
        kind: Option<DataKind>,
    ) -> Result<(), FrameError<E>> {
        send_data(
            &mut self.ws,
            &mut self.out,
            now,
            guess,
            encode,
            needed,
            kind,
        )
    }
}

/// Moves `ws`'s owed control frames into `out` while there is room.
pub(crate) fn flush_control<S: ByteStore>(ws: &mut Connection, out: &mut S, now: Instant) {
    loop {
        let Some(room) = out.spare(CONTROL_FRAME) else {
            return;
        };
        match ws.poll_transmit(now, room) {
            Ok(Some(n)) => out.commit(n),
            Ok(None) | Err(_) => return,
        }
    }
}

/// Appends one data frame to `out`: the payload is encoded after room for the longest
/// header, masked for the client role, then the header of its exact size is put before
/// it and the frame moved to the front. `kind` `None` picks text for UTF-8 payloads and
/// binary otherwise.
pub(crate) fn send_data<S: ByteStore, E>(
    ws: &mut Connection,
    out: &mut S,
    now: Instant,
    guess: usize,
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
    needed: impl Fn(&E) -> Option<usize>,
    kind: Option<DataKind>,
) -> Result<(), FrameError<E>> {
    enum Fail<E> {
        Encode(E),
        Closed,
        Small(usize),
    }
    let room = head_room(ws);
    let framed = |buf: &mut [u8]| -> Result<usize, Fail<E>> {
        let body = buf.get_mut(room..).ok_or(Fail::Small(room))?;
        let n = encode(body).map_err(Fail::Encode)?;
        let payload = body.get(..n).unwrap_or_default();
        let kind = kind.unwrap_or(if crate::ws::utf8::is_valid(payload) {
            DataKind::Text
        } else {
            DataKind::Binary
        });
        let head = ws
            .frame_head(now, Fragment::Whole(kind), n as u64)
            .map_err(|_| Fail::Closed)?;
        if let (Some(key), Some(payload)) = (head.mask, buf.get_mut(room..room + n)) {
            crate::ws::mask::apply_mask(payload, key, 0);
        }
        let head = head.as_bytes();
        let start = room - head.len();
        if let Some(dst) = buf.get_mut(start..room) {
            dst.copy_from_slice(head);
        }
        buf.copy_within(start..room + n, 0);
        Ok(head.len() + n)
    };
    let more = |e: &Fail<E>| match e {
        Fail::Encode(e) => needed(e).map(|n| n.saturating_add(room)),
        Fail::Small(n) => Some(*n),
        Fail::Closed => None,
    };
    match out.write_with(guess.saturating_add(room), framed, more) {
        Ok(_) => Ok(()),
        Err(WriteError::Full(f)) => Err(FrameError::Full(f)),
        Err(WriteError::Encode(Fail::Encode(e))) => Err(FrameError::Encode(e)),
        Err(WriteError::Encode(Fail::Closed)) => Err(FrameError::Closed),
        Err(WriteError::Encode(Fail::Small(n))) => {
            Err(FrameError::Full(crate::store::StoreFull { needed: n }))
        }
    }
}

/// After the machine above `ws` ended, the WebSocket may still wait for the peer's
/// close (ours was sent): its frames are read, their data dropped, until it arrives.
pub(crate) fn finish_closing<S: ByteStore>(
    ws: &mut Connection,
    out: &mut S,
    input: &mut [u8],
    now: Instant,
) {
    let mut pos = 0;
    loop {
        let rest = input.get_mut(pos..).unwrap_or_default();
        let read = ws.read(rest, now);
        pos += read.consumed;
        if read.consumed == 0 || !matches!(read.status, Status::Event(_)) {
            break;
        }
    }
    flush_control(ws, out, now);
}

/// What stopped [`read_data`] besides input, room or its taker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// The WebSocket ended: the peer's close code, `None` when it sent none, broke the
    /// protocol or timed out.
    Ended {
        /// The peer's close code.
        code: Option<u16>,
        /// The peer's close reason (empty unless it closed with one).
        reason: ControlPayload,
    },
    /// A ping (its pong is owed), when control frames are reported.
    Ping(ControlPayload),
    /// A pong, when control frames are reported.
    Pong(ControlPayload),
}

/// Takes one data payload chunk (kind, bytes, first, fin); `false` stops reading.
pub(crate) type TakeChunk<'a> = dyn FnMut(DataKind, &[u8], bool, bool) -> bool + 'a;

/// Reads WebSocket frames from `input`, handing each data payload chunk to `take` (which
/// is never given more than `room()` bytes) until the input is used up, `room` is 0, or
/// `take` returns `false`, or (with `controls`) a ping or pong arrives. Returns the bytes
/// consumed and what stopped it.
pub(crate) fn read_data(
    ws: &mut Connection,
    out: &mut impl ByteStore,
    input: &mut [u8],
    now: Instant,
    controls: bool,
    room: &mut dyn FnMut() -> usize,
    take: &mut TakeChunk<'_>,
) -> Read<Stopped> {
    let mut pos = 0;
    loop {
        let rest = input.get_mut(pos..).unwrap_or_default();
        if rest.is_empty() {
            return Read::need_more(pos);
        }
        let limit = ws.input_limit(rest, room());
        let truncated = limit < rest.len();
        let slice = rest.get_mut(..limit).unwrap_or_default();
        let read = ws.read(slice, now);
        pos += read.consumed;
        let stop = match read.status {
            Status::Event(Event::Data {
                kind,
                payload,
                first,
                fin,
                ..
            }) => !take(kind, payload, first, fin),
            Status::Event(Event::Ping(p)) if controls => {
                flush_control(ws, out, now);
                return Read::event(pos, Stopped::Ping(p));
            }
            Status::Event(Event::Pong(p)) if controls => return Read::event(pos, Stopped::Pong(p)),
            Status::Event(Event::Ping(_) | Event::Pong(_)) => false,
            Status::Event(Event::Closed { code, reason }) => {
                flush_control(ws, out, now);
                let code = code.map(|c| c.as_u16());
                return Read::event(input.len(), Stopped::Ended { code, reason });
            }
            Status::Event(Event::Failed(_) | Event::TimedOut) => {
                flush_control(ws, out, now);
                let reason = ControlPayload::empty();
                return Read::event(input.len(), Stopped::Ended { code: None, reason });
            }
            Status::NeedMore if truncated => {
                flush_control(ws, out, now);
                return Read::paused(pos, Pause::Transmit);
            }
            Status::NeedMore => {
                flush_control(ws, out, now);
                return Read::need_more(pos);
            }
            Status::Paused(p) => return Read::paused(pos, p),
            Status::Closed => return Read::closed(input.len()),
        };
        flush_control(ws, out, now);
        if stop {
            return Read::paused(pos, Pause::Transmit);
        }
    }
}

impl<S: ByteStore> Carrier for WebSocketCarrier<S> {
    fn receive<T: ByteStore>(
        &mut self,
        input: &mut [u8],
        now: Instant,
        stomp: &mut T,
    ) -> Read<TransportClosed> {
        let stomp = core::cell::RefCell::new(stomp);
        read_data(
            &mut self.ws,
            &mut self.out,
            input,
            now,
            false,
            &mut || stomp.borrow().room(),
            &mut |_, payload, _, _| stomp.borrow_mut().push(payload).is_ok(),
        )
        .map(|_| TransportClosed)
    }

    fn send_frame<E>(
        &mut self,
        now: Instant,
        guess: usize,
        encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
        needed: impl Fn(&E) -> Option<usize>,
    ) -> Result<(), FrameError<E>> {
        self.send_message(now, guess, encode, needed, None)
    }

    fn end(&mut self, now: Instant) {
        if !self.ended {
            self.ended = true;
            let _ = self.ws.close(now, CloseCode::NORMAL, "");
            self.flush_control(now);
        }
    }

    fn outbound(&self) -> &[u8] {
        self.out.as_slice()
    }

    fn advance(&mut self, now: Instant, n: usize) {
        self.out.discard(n);
        self.flush_control(now);
    }

    fn outbound_room(&self) -> usize {
        self.out.room()
    }
}

impl<S: ByteStore> Machine for WebSocketCarrier<S> {
    type TimeoutEvent = TransportClosed;

    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        if self.out.is_empty() {
            // A control frame the store had no room for goes straight out.
            return self.ws.poll_transmit(now, out);
        }
        let n = drain_into(&mut self.out, out);
        self.flush_control(now);
        n
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.ws.poll_timeout()
    }

    /// A keep-alive ping or idle close the timer queued goes into the outbound store; a
    /// close the peer did not answer in time ends the transport.
    fn handle_timeout(&mut self, now: Instant) -> Option<TransportClosed> {
        let ended = self.ws.handle_timeout(now).map(|_| TransportClosed);
        self.flush_control(now);
        ended
    }

    /// Once the closing handshake is done and everything is written.
    fn is_closed(&self) -> bool {
        self.ws.is_closed() && self.out.is_empty()
    }
}
