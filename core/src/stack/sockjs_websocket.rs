//! [`SockJsWebSocket`]: a SockJS session on its `websocket` transport, with the SockJS
//! framing (`o`, `a[...]`, `h`, `c[...]`) and heart-beats.

use super::carrier::{drain_into, Carrier, FrameError, TransportClosed};
use super::websocket::{finish_closing, flush_control, read_data, send_data};
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Pause, Read, Status};
use crate::sockjs::{
    Config, Messages, QueueError, SendBody, SendWithError, SockJsSession, Transport,
};
use crate::store::ByteStore;
use crate::store::StoreFull;
use crate::time::Instant;
use crate::ws::{CloseCode, Connection, DataKind};

/// What a client of a [`SockJsWebSocket`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockJsEvent<'a> {
    /// One message.
    Message(&'a str),
    /// The session is over (terminal): the client closed the WebSocket or broke the
    /// SockJS framing (answered with close 1002), or a close timed out.
    Closed,
}

/// The stores a [`SockJsWebSocket`] keeps its bytes in; their limits bound it.
#[derive(Debug, Clone)]
pub struct SockJsStores<S> {
    /// A WebSocket message from the client being received (a JSON array of messages):
    /// its limit is the largest message accepted (close 1009 beyond).
    pub incoming: S,
    /// The client message being reported.
    pub decoded: S,
    /// Messages for the client waiting to be framed.
    pub queue: S,
    /// Wire bytes waiting to be written.
    pub out: S,
}

/// Where reading a JSON array of messages stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    bytes_left: usize,
    remaining: usize,
}

/// A SockJS session over a WebSocket (after the handshake), following the
/// [machine contract](crate::machine): client messages come out of
/// [`SockJsWebSocket::read`], messages for the client go in with
/// [`SockJsWebSocket::send`], and the session's `o`, heart-beats and close frame are
/// written for it.
///
/// It is also a [`Carrier`]: STOMP over SockJS reads each client message as the next
/// bytes of the STOMP stream and sends each frame as one message.
#[derive(Debug, Clone)]
pub struct SockJsWebSocket<S> {
    ws: Connection,
    session: SockJsSession<S>,
    incoming: S,
    /// `incoming` holds a whole WebSocket message.
    complete: bool,
    cursor: Option<Cursor>,
    decoded: S,
    out: S,
    ended: bool,
    /// [`SockJsEvent::Closed`] was reported: reads only finish the closing handshake.
    over: bool,
}

/// The session's queue cannot take a frame, or there was nothing to frame.
enum Pump {
    Nothing,
    Small(usize),
}

impl<S: ByteStore> SockJsWebSocket<S> {
    /// A session opened at `now` on `ws`; its open frame is owed at once.
    pub fn new(ws: Connection, config: &Config<'_>, stores: SockJsStores<S>, now: Instant) -> Self {
        let mut session = SockJsSession::new(config, stores.queue, now);
        session.attach_receiver(now, Transport::WebSocket, "");
        let mut s = SockJsWebSocket {
            ws,
            session,
            incoming: stores.incoming,
            complete: false,
            cursor: None,
            decoded: stores.decoded,
            out: stores.out,
            ended: false,
            over: false,
        };
        s.pump(now);
        s
    }

    /// The SockJS session.
    pub fn session(&self) -> &SockJsSession<S> {
        &self.session
    }

    /// Queues a message for the client.
    pub fn send(&mut self, now: Instant, message: &str) -> Result<(), QueueError> {
        self.session.send(now, message)?;
        self.pump(now);
        Ok(())
    }

    /// Closes the session: queued messages go out, then `c[code,"reason"]`, then the
    /// WebSocket closes.
    pub fn close(&mut self, now: Instant, code: u16, reason: &str) {
        self.session.close(now, code, reason);
        self.pump(now);
    }

    /// Moves what the session owes (frames) into WebSocket frames in the outbound store,
    /// while there is room; closes the WebSocket after the close frame.
    fn pump(&mut self, now: Instant) {
        let Self {
            ws, session, out, ..
        } = self;
        loop {
            let frame = |buf: &mut [u8]| match session.poll_transmit(now, buf) {
                Ok(Some(n)) => Ok(n),
                Ok(None) => Err(Pump::Nothing),
                Err(e) => Err(Pump::Small(e.needed)),
            };
            let needed = |e: &Pump| match e {
                Pump::Small(n) => Some(*n),
                Pump::Nothing => None,
            };
            if send_data(ws, out, now, 256, frame, needed, Some(DataKind::Text)).is_err() {
                break;
            }
        }
        if self.session.is_closed() && !self.ended {
            self.ended = true;
            let _ = self.ws.close(now, CloseCode::NORMAL, "");
        }
        flush_control(&mut self.ws, &mut self.out, now);
    }

    /// Receives until a whole client message is in `incoming` and ready to be read, or
    /// input runs out. Consumed bytes are added to `pos`.
    fn next_array(&mut self, input: &mut [u8], now: Instant, pos: &mut usize) -> Read<Closing> {
        loop {
            if self.cursor.is_some_and(|c| c.remaining > 0) {
                return Read::event(*pos, Closing::No);
            }
            if self.complete {
                self.cursor = None;
                self.complete = false;
                let parsed = match SendBody::parse_websocket(self.incoming.as_slice()) {
                    Ok(Some(body)) => {
                        let m = body.messages();
                        Some(Cursor {
                            bytes_left: m.bytes_left(),
                            remaining: m.remaining(),
                        })
                    }
                    Ok(None) => None,
                    Err(_) => {
                        let _ = self
                            .ws
                            .close(now, CloseCode::PROTOCOL_ERROR, "Broken framing.");
                        return Read::event(*pos, Closing::Yes);
                    }
                };
                match parsed {
                    Some(c) if c.remaining > 0 => {
                        self.cursor = Some(c);
                        return Read::event(*pos, Closing::No);
                    }
                    _ => {
                        let all = self.incoming.len();
                        self.incoming.discard(all);
                        continue;
                    }
                }
            }
            let rest = input.get_mut(*pos..).unwrap_or_default();
            let incoming = core::cell::RefCell::new(&mut self.incoming);
            let complete = core::cell::Cell::new(false);
            let read = read_data(
                &mut self.ws,
                &mut self.out,
                rest,
                now,
                false,
                &mut || incoming.borrow().room(),
                &mut |_, payload, first, fin| {
                    let mut inc = incoming.borrow_mut();
                    if first {
                        let all = inc.len();
                        inc.discard(all);
                    }
                    let _ = inc.push(payload);
                    complete.set(fin);
                    !fin
                },
            );
            *pos += read.consumed;
            self.complete = complete.get();
            match read.status {
                Status::Event(_) | Status::Closed => return Read::event(*pos, Closing::Yes),
                Status::Paused(_) if self.complete => continue,
                Status::Paused(_) => {
                    // The message does not fit the store: too big. It is dropped, so
                    // that the rest of its frames and the client's close can be read.
                    let all = self.incoming.len();
                    self.incoming.discard(all);
                    let _ = self
                        .ws
                        .close(now, CloseCode::MESSAGE_TOO_BIG, "Message too big.");
                    flush_control(&mut self.ws, &mut self.out, now);
                    return Read::event(*pos, Closing::Yes);
                }
                Status::NeedMore if self.complete => continue,
                Status::NeedMore => return Read::need_more(*pos),
            }
        }
    }

    /// Consumes WebSocket bytes and reports at most one client message, following the
    /// [machine contract](crate::machine).
    pub fn read(&mut self, input: &mut [u8], now: Instant) -> Read<SockJsEvent<'_>> {
        if self.over {
            // Our close may still wait for the client's: read its frames until it comes.
            finish_closing(&mut self.ws, &mut self.out, input, now);
            self.pump(now);
            return Read::closed(input.len());
        }
        if self.ws.is_closed() || self.ws.state() == crate::ws::State::CloseReceived {
            return Read::closed(input.len());
        }
        let all = self.decoded.len();
        self.decoded.discard(all);
        let mut pos = 0;
        let got = self.next_array(input, now, &mut pos);
        self.pump(now);
        match got.status {
            Status::Event(Closing::Yes) => {
                self.session.close(now, 3000, "Go away!");
                self.over = true;
                return Read::event(got.consumed, SockJsEvent::Closed);
            }
            Status::Event(Closing::No) => {}
            Status::NeedMore => return Read::need_more(got.consumed),
            Status::Paused(p) => return Read::paused(got.consumed, p),
            Status::Closed => return Read::closed(input.len()),
        }
        if !decode_next(&mut self.cursor, &mut self.incoming, &mut self.decoded) {
            let _ = self
                .ws
                .close(now, CloseCode::MESSAGE_TOO_BIG, "Message too big.");
            flush_control(&mut self.ws, &mut self.out, now);
            self.over = true;
            return Read::event(got.consumed, SockJsEvent::Closed);
        }
        let text = core::str::from_utf8(self.decoded.as_slice()).unwrap_or_default();
        Read::event(got.consumed, SockJsEvent::Message(text))
    }
}

/// Whether reading found the transport ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    Yes,
    No,
}

/// Decodes the next message of the array in `incoming` (where `cursor` says) into
/// `into`; `false` when it does not fit there (nothing is consumed then).
fn decode_next<S: ByteStore>(
    cursor: &mut Option<Cursor>,
    incoming: &mut S,
    into: &mut impl ByteStore,
) -> bool {
    let Some(at) = *cursor else {
        return true;
    };
    let mut messages = Messages::resume(incoming.as_slice(), at.bytes_left, at.remaining);
    let mut want = at.bytes_left.clamp(16, into.room().max(16));
    loop {
        let Some(spare) = into.spare(want) else {
            return false;
        };
        match messages.next_into(spare) {
            Some(Ok(m)) => {
                let n = m.len();
                into.commit(n);
                break;
            }
            Some(Err(BufferTooSmall { needed })) if needed > want => want = needed,
            Some(Err(_)) => return false,
            None => break,
        }
    }
    if messages.remaining() == 0 {
        let all = incoming.len();
        incoming.discard(all);
        *cursor = None;
    } else {
        *cursor = Some(Cursor {
            bytes_left: messages.bytes_left(),
            remaining: messages.remaining(),
        });
    }
    true
}

impl<S: ByteStore> Carrier for SockJsWebSocket<S> {
    /// Decodes each client message as the next bytes of the STOMP stream.
    fn receive<T: ByteStore>(
        &mut self,
        input: &mut [u8],
        now: Instant,
        stomp: &mut T,
    ) -> Read<TransportClosed> {
        let mut pos = 0;
        let read = loop {
            let got = self.next_array(input, now, &mut pos);
            match got.status {
                Status::Event(Closing::Yes) => {
                    self.session.close(now, 3000, "Go away!");
                    break Read::event(pos, TransportClosed);
                }
                Status::Event(Closing::No) => {
                    if decode_next(&mut self.cursor, &mut self.incoming, stomp) {
                        continue;
                    }
                    if !stomp.is_empty() {
                        break Read::paused(pos, Pause::Transmit);
                    }
                    let _ = self
                        .ws
                        .close(now, CloseCode::MESSAGE_TOO_BIG, "Message too big.");
                    break Read::event(pos, TransportClosed);
                }
                Status::NeedMore => break Read::need_more(pos),
                Status::Paused(p) => break Read::paused(pos, p),
                Status::Closed => break Read::closed(input.len()),
            }
        };
        self.pump(now);
        read
    }

    /// Sends each STOMP frame as one SockJS message.
    fn send_frame<E>(
        &mut self,
        now: Instant,
        guess: usize,
        encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
        needed: impl Fn(&E) -> Option<usize>,
    ) -> Result<(), FrameError<E>> {
        let sent = self.session.send_with(now, guess, encode, needed);
        self.pump(now);
        sent.map_err(|e| match e {
            SendWithError::Queue(QueueError::Closed) => FrameError::Closed,
            SendWithError::Queue(QueueError::Full) => FrameError::Full(StoreFull {
                needed: self.session.queued_bytes().saturating_add(guess),
            }),
            SendWithError::Encode(e) => FrameError::Encode(e),
        })
    }

    /// `c[3000,"Go away!"]`, then the WebSocket closes.
    fn end(&mut self, now: Instant) {
        self.close(now, 3000, "Go away!");
    }

    fn outbound(&self) -> &[u8] {
        self.out.as_slice()
    }

    fn advance(&mut self, now: Instant, n: usize) {
        self.out.discard(n);
        self.pump(now);
    }

    fn outbound_room(&self) -> usize {
        self.out.room()
    }
}

impl<S: ByteStore> Machine for SockJsWebSocket<S> {
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
        self.pump(now);
        n
    }

    /// The next SockJS heart-beat, or the WebSocket close deadline.
    fn poll_timeout(&self) -> Option<Instant> {
        crate::time::earliest(self.session.poll_timeout(), self.ws.poll_timeout())
    }

    /// Owes a heart-beat when one is due; ends the session when a close timed out
    /// (reported unless [`SockJsEvent::Closed`] was reported already).
    fn handle_timeout(&mut self, now: Instant) -> Option<TransportClosed> {
        let _ = self.session.handle_timeout(now);
        self.pump(now);
        let ended = self.ws.handle_timeout(now);
        // A keep-alive ping or idle close the timer queued.
        super::websocket::flush_control(&mut self.ws, &mut self.out, now);
        ended?;
        (!core::mem::replace(&mut self.over, true)).then_some(TransportClosed)
    }

    /// Once the WebSocket closing handshake is done and everything is written.
    fn is_closed(&self) -> bool {
        self.ws.is_closed() && self.out.is_empty()
    }
}
