//! [`WebSocketMessages`]: a WebSocket connection that hands over whole messages.

use super::carrier::drain_into;
use super::websocket::{finish_closing, flush_control, read_data, send_data, Stopped};
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Pause, Read, Status};
use crate::store::{ByteStore, StoreFull};
use crate::time::Instant;
use crate::ws::{CloseCode, Connection, ControlPayload, DataKind, SendError};

/// What the peer of a [`WebSocketMessages`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageEvent<'a> {
    /// A whole message (text is valid UTF-8).
    Message {
        /// Text or binary.
        kind: DataKind,
        /// The payload.
        data: &'a [u8],
    },
    /// The peer sent a ping (its pong is owed and queued).
    Ping(ControlPayload),
    /// The peer sent a pong.
    Pong(ControlPayload),
    /// The connection ended (terminal): the peer closed (with its code, `None` when the
    /// close frame had none), broke the protocol (`None`; the close is queued), or did not
    /// answer our close in time.
    Closed {
        /// The peer's close code.
        code: Option<u16>,
        /// The peer's close reason (valid UTF-8, [`ControlPayload::as_str`]).
        reason: ControlPayload,
    },
}

/// What [`WebSocketMessages`] read, before it borrows the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Got {
    Message,
    Control(MessageEvent<'static>),
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendMessageError {
    /// The outbound store is full: the peer does not read fast enough.
    Full(StoreFull),
    /// The connection is closing.
    Closed,
    /// The outbound store was full: the session is closing as a slow consumer
    /// ([`SLOW_CONSUMER_CLOSE`]), and the message was not sent.
    SlowConsumer,
}

impl core::fmt::Display for SendMessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SendMessageError::Full(_) => f.write_str("no room for the message now"),
            SendMessageError::Closed => f.write_str("the connection is closing"),
            SendMessageError::SlowConsumer => f.write_str(super::SLOW_CONSUMER),
        }
    }
}

/// How a WebSocket session ends when its peer does not read what it is sent (see
/// [`Reply::send_or_end`]): 1008, policy violation.
pub const SLOW_CONSUMER_CLOSE: CloseCode = CloseCode::POLICY_VIOLATION;

/// How a WebSocket session ends when the application handling it fails (a handler
/// panicked): 1011, internal error, with [`APPLICATION_FAILED`](super::APPLICATION_FAILED)
/// as the reason.
pub const APPLICATION_FAILED_CLOSE: CloseCode = CloseCode::INTERNAL_ERROR;

/// A WebSocket connection (after the handshake) whose data messages are assembled in a
/// bounded store `S` (its limit caps a message: close 1009 beyond) and handed over
/// whole, and whose output waits in another, following the
/// [machine contract](crate::machine).
#[derive(Debug, Clone)]
pub struct WebSocketMessages<S> {
    ws: Connection,
    incoming: S,
    /// `incoming` holds a whole message of this kind, to hand over.
    complete: Option<DataKind>,
    kind: DataKind,
    out: S,
    over: bool,
    /// Closed as a slow consumer, not yet told with [`WebSocketMessages::take_slow_consumer`].
    slow: bool,
}

impl<S: ByteStore> WebSocketMessages<S> {
    /// Messages over `ws`: they are assembled in `incoming`; output waits in `out`.
    pub fn new(ws: Connection, incoming: S, out: S) -> Self {
        WebSocketMessages {
            ws,
            incoming,
            complete: None,
            kind: DataKind::Binary,
            out,
            over: false,
            slow: false,
        }
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.ws
    }

    /// Like [`WebSocketMessages::read`], handing the event to `answer` together with a
    /// [`Reply`] that sends on the same connection, so that a message can be answered
    /// without copying it (an echo, a handler).
    pub fn read_with<R>(
        &mut self,
        input: &mut [u8],
        now: Instant,
        answer: impl FnOnce(MessageEvent<'_>, Reply<'_, S>) -> R,
    ) -> Read<R> {
        let read = self.read_event(input, now);
        let (consumed, status) = (read.consumed, read.status);
        let Self {
            ws, incoming, out, ..
        } = self;
        let reply = Reply {
            ws,
            out,
            now,
            slow: &mut self.slow,
        };
        match status {
            Status::Event(Got::Control(event)) => Read::event(consumed, answer(event, reply)),
            Status::Event(Got::Message) => {
                let event = MessageEvent::Message {
                    kind: self.kind,
                    data: incoming.as_slice(),
                };
                Read::event(consumed, answer(event, reply))
            }
            Status::NeedMore => Read::need_more(consumed),
            Status::Paused(p) => Read::paused(consumed, p),
            Status::Closed => Read::closed(consumed),
        }
    }

    /// Consumes wire bytes and reports at most one whole message, ping, pong or the end,
    /// following the [machine contract](crate::machine). Pings are answered by
    /// themselves.
    pub fn read(&mut self, input: &mut [u8], now: Instant) -> Read<MessageEvent<'_>> {
        let read = self.read_event(input, now);
        match read.status {
            Status::Event(Got::Control(event)) => Read::event(read.consumed, event),
            Status::Event(Got::Message) => Read::event(
                read.consumed,
                MessageEvent::Message {
                    kind: self.kind,
                    data: self.incoming.as_slice(),
                },
            ),
            Status::NeedMore => Read::need_more(read.consumed),
            Status::Paused(p) => Read::paused(read.consumed, p),
            Status::Closed => Read::closed(read.consumed),
        }
    }

    /// Reads until a whole message is in `incoming`, a ping or pong arrives, or the
    /// connection ends.
    fn read_event(&mut self, input: &mut [u8], now: Instant) -> Read<Got> {
        if self.complete.take().is_some() {
            let all = self.incoming.len();
            self.incoming.discard(all);
        }
        if self.over {
            finish_closing(&mut self.ws, &mut self.out, input, now);
            return Read::closed(input.len());
        }
        let incoming = core::cell::RefCell::new(&mut self.incoming);
        let kind = core::cell::Cell::new(self.kind);
        let done = core::cell::Cell::new(false);
        let read = read_data(
            &mut self.ws,
            &mut self.out,
            input,
            now,
            true,
            &mut || incoming.borrow().room(),
            &mut |k, payload, first, fin| {
                if first {
                    kind.set(k);
                }
                let _ = incoming.borrow_mut().push(payload);
                done.set(fin);
                !fin
            },
        );
        self.kind = kind.get();
        match read.status {
            Status::Paused(_) if done.get() => {
                self.complete = Some(self.kind);
                Read::event(read.consumed, Got::Message)
            }
            Status::Paused(Pause::Transmit) => {
                // The message does not fit its store. The rest of its frame is not taken:
                // the next reads give it to the connection, which waits for the close.
                let _ = self.ws.close(now, CloseCode::MESSAGE_TOO_BIG, "too big");
                flush_control(&mut self.ws, &mut self.out, now);
                self.over = true;
                let reason = ControlPayload::empty();
                let closed = MessageEvent::Closed { code: None, reason };
                Read::event(read.consumed, Got::Control(closed))
            }
            Status::Paused(p) => Read::paused(read.consumed, p),
            Status::Event(Stopped::Ended { code, reason }) => {
                self.over = true;
                let closed = MessageEvent::Closed { code, reason };
                Read::event(input.len(), Got::Control(closed))
            }
            Status::Event(Stopped::Ping(p)) => {
                Read::event(read.consumed, Got::Control(MessageEvent::Ping(p)))
            }
            Status::Event(Stopped::Pong(p)) => {
                Read::event(read.consumed, Got::Control(MessageEvent::Pong(p)))
            }
            Status::NeedMore => Read::need_more(read.consumed),
            Status::Closed => {
                self.over = true;
                Read::closed(input.len())
            }
        }
    }

    /// Sends a whole message of `kind`.
    pub fn send(
        &mut self,
        now: Instant,
        kind: DataKind,
        data: &[u8],
    ) -> Result<(), SendMessageError> {
        send_message(&mut self.ws, &mut self.out, now, kind, data)
    }

    /// Starts the closing handshake with `code` and `reason` (at most 123 bytes).
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.ws.close(now, code, reason)?;
        flush_control(&mut self.ws, &mut self.out, now);
        Ok(())
    }

    /// Queues a ping (replacing one not yet sent).
    pub fn ping(&mut self, now: Instant, payload: &[u8]) -> Result<(), SendError> {
        self.ws.ping(now, payload)?;
        flush_control(&mut self.ws, &mut self.out, now);
        Ok(())
    }

    /// A [`Reply`] to send at `now` outside of a read (when the connection opens).
    pub fn reply(&mut self, now: Instant) -> Reply<'_, S> {
        Reply {
            ws: &mut self.ws,
            out: &mut self.out,
            now,
            slow: &mut self.slow,
        }
    }

    /// Whether a [`Reply::send_or_end`] closed the session as a slow consumer since the
    /// last call (true once, for the caller to count it).
    pub fn take_slow_consumer(&mut self) -> bool {
        core::mem::take(&mut self.slow)
    }

    /// Bytes waiting to be written.
    pub fn outbound(&self) -> &[u8] {
        self.out.as_slice()
    }

    /// `n` bytes of [`WebSocketMessages::outbound`] were written at `now`.
    pub fn advance(&mut self, now: Instant, n: usize) {
        self.out.discard(n);
        flush_control(&mut self.ws, &mut self.out, now);
    }
}

/// Sends on the connection a [`WebSocketMessages::read_with`] event came from.
pub struct Reply<'r, S> {
    ws: &'r mut Connection,
    out: &'r mut S,
    now: Instant,
    slow: &'r mut bool,
}

impl<S: ByteStore> Reply<'_, S> {
    /// Sends a whole message of `kind`; [`SendMessageError::Full`] leaves the session as
    /// it was, for a caller that can wait and send again.
    pub fn send(&mut self, kind: DataKind, data: &[u8]) -> Result<(), SendMessageError> {
        send_message(self.ws, self.out, self.now, kind, data)
    }

    /// Sends a whole message of `kind`, or, when the outbound store has no room for it,
    /// starts closing the session with [`SLOW_CONSUMER_CLOSE`] (the close frame has room
    /// of its own): a message is never dropped with the session going on.
    pub fn send_or_end(&mut self, kind: DataKind, data: &[u8]) -> Result<(), SendMessageError> {
        match self.send(kind, data) {
            Err(SendMessageError::Full(_)) => {
                let _ = self.close(SLOW_CONSUMER_CLOSE, super::SLOW_CONSUMER);
                *self.slow = true;
                Err(SendMessageError::SlowConsumer)
            }
            other => other,
        }
    }

    /// Starts the closing handshake.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.ws.close(self.now, code, reason)?;
        flush_control(self.ws, self.out, self.now);
        Ok(())
    }

    /// Bytes waiting to be written.
    pub fn queued(&self) -> usize {
        self.out.len()
    }
}

fn send_message<S: ByteStore>(
    ws: &mut Connection,
    out: &mut S,
    now: Instant,
    kind: DataKind,
    data: &[u8],
) -> Result<(), SendMessageError> {
    let copy = |out: &mut [u8]| {
        let dst = out
            .get_mut(..data.len())
            .ok_or(BufferTooSmall { needed: data.len() })?;
        dst.copy_from_slice(data);
        Ok(data.len())
    };
    let needed = |e: &BufferTooSmall| Some(e.needed);
    match send_data(ws, out, now, data.len(), copy, needed, Some(kind)) {
        Ok(()) => Ok(()),
        Err(super::FrameError::Full(f)) => Err(SendMessageError::Full(f)),
        Err(_) => Err(SendMessageError::Closed),
    }
}

impl<S: ByteStore> Machine for WebSocketMessages<S> {
    type TimeoutEvent = MessageEvent<'static>;

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
        flush_control(&mut self.ws, &mut self.out, now);
        n
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.ws.poll_timeout()
    }

    /// A close the peer did not answer in time ends the connection (reported unless the
    /// end was reported already).
    fn handle_timeout(&mut self, now: Instant) -> Option<MessageEvent<'static>> {
        let ended = self.ws.handle_timeout(now);
        // A keep-alive ping or idle close the timer queued.
        flush_control(&mut self.ws, &mut self.out, now);
        ended?;
        if core::mem::replace(&mut self.over, true) {
            return None;
        }
        Some(MessageEvent::Closed {
            code: None,
            reason: ControlPayload::empty(),
        })
    }

    /// Once the closing handshake is done and everything is written.
    fn is_closed(&self) -> bool {
        self.ws.is_closed() && self.out.is_empty()
    }
}
