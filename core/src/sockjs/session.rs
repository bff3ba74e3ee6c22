//! The SockJS session: a state machine driven by receiving requests, messages and time.

use super::config::Config;
use super::frame::{put_close, put_messages, CloseFrame, Frame};
use super::json_escape::{put_quoted_lossy, Count, Sink};
use super::transport::{Framing, Transport, MAX_CALLBACK_LEN};
use crate::buf::{BufferTooSmall, Writer};
use crate::machine::Machine;
use crate::store::{ByteStore, WriteError};
use crate::time::Instant;

/// The longest close reason a session keeps (longer ones are cut at a character boundary).
pub const MAX_CLOSE_REASON: usize = 123;

/// Bytes of bookkeeping per queued message (a length prefix).
pub const QUEUE_ENTRY_OVERHEAD: usize = 4;

/// What happened when a receiving request arrived; see [`SockJsSession::attach_receiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Attach {
    /// The request is the session's first: it is attached and gets `o` first.
    Opened,
    /// The request is attached and gets queued messages, heart-beats and the close frame.
    Resumed,
    /// The session is closed: the request is attached only to get the close frame.
    Closed,
    /// Another receiving request is attached. The new request is not attached: answer it
    /// with [`CloseFrame::ANOTHER_CONNECTION_STILL_OPEN`] and end it.
    AnotherConnectionStillOpen,
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum QueueError {
    /// The queue has no room for the message (and its [`QUEUE_ENTRY_OVERHEAD`]): pause
    /// whatever produces messages until a receiver drains it.
    Full,
    /// The session is closed.
    Closed,
}

impl core::fmt::Display for QueueError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            QueueError::Full => "SockJS session queue full",
            QueueError::Closed => "SockJS session closed",
        })
    }
}

impl core::error::Error for QueueError {}

/// The disconnect delay passed without a receiving request: the session is over and is
/// forgotten (what [`SockJsSession::handle_timeout`](Machine::handle_timeout) reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Expired;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Receiver {
    /// No receiving request since the instant.
    None { since: Instant },
    /// A receiving request is attached.
    Attached {
        /// Frame bytes sent on this response.
        sent: usize,
        /// How its frames are wrapped.
        transport: Transport,
        /// The `jsonp`/`htmlfile` callback.
        callback: heapless::String<MAX_CALLBACK_LEN>,
    },
}

/// A SockJS session, following the [machine contract](crate::machine): messages for the
/// client wait in a bounded queue `Q` until a receiving request takes them.
///
/// Drive it with: [`attach_receiver`](Self::attach_receiver) when a receiving request
/// arrives (a polling or streaming response, or the session's WebSocket), then
/// [`poll_transmit`](Machine::poll_transmit) after every event until it returns `None`
/// (the response ends when the receiver is no longer attached),
/// [`send`](Self::send) to queue messages, [`detach_receiver`](Self::detach_receiver) when
/// a response ends for another reason, and [`handle_timeout`](Machine::handle_timeout) at
/// [`poll_timeout`](Machine::poll_timeout).
///
/// ```
/// use sockwire_core::machine::Machine;
/// use sockwire_core::sockjs::{Attach, Config, SockJsSession, Transport};
/// use sockwire_core::store::FixedBytes;
/// use sockwire_core::time::Instant;
///
/// let mut session = SockJsSession::new(&Config::default(), FixedBytes::<1024>::new(), Instant(0));
/// let mut out = [0u8; 256];
/// assert_eq!(session.attach_receiver(Instant(0), Transport::Xhr, ""), Attach::Opened);
/// let n = session.poll_transmit(Instant(0), &mut out)?.unwrap();
/// assert_eq!(&out[..n], b"o\n");
/// assert!(!session.has_receiver()); // polling: one frame per request
///
/// session.send(Instant(5), "hello").unwrap();
/// assert_eq!(session.attach_receiver(Instant(10), Transport::Xhr, ""), Attach::Resumed);
/// let n = session.poll_transmit(Instant(10), &mut out)?.unwrap();
/// assert_eq!(&out[..n], b"a[\"hello\"]\n");
/// # Ok::<(), sockwire_core::buf::BufferTooSmall>(())
/// ```
#[derive(Debug, Clone)]
pub struct SockJsSession<Q> {
    heartbeat_ms: u64,
    disconnect_delay_ms: u64,
    response_limit: usize,
    opened: bool,
    open_pending: bool,
    close: Option<(u16, heapless::String<MAX_CLOSE_REASON>)>,
    gone: bool,
    queue: Q,
    queued: usize,
    receiver: Receiver,
    last_write: Instant,
    heartbeat_due: bool,
}

impl<Q: ByteStore> SockJsSession<Q> {
    /// A new session, created at `now` by the request that named an unknown session id;
    /// its messages wait in `queue`.
    pub fn new(config: &Config<'_>, queue: Q, now: Instant) -> Self {
        SockJsSession {
            heartbeat_ms: config.heartbeat_ms,
            disconnect_delay_ms: config.disconnect_delay_ms,
            response_limit: config.response_limit,
            opened: false,
            open_pending: false,
            close: None,
            gone: false,
            queue,
            queued: 0,
            receiver: Receiver::None { since: now },
            last_write: now,
            heartbeat_due: false,
        }
    }

    /// Queues `message` for the client. Fails when the session is closed or the queue has
    /// no room; nothing is queued then.
    pub fn send(&mut self, now: Instant, message: &str) -> Result<(), QueueError> {
        self.send_bytes(now, message.as_bytes())
    }

    /// Queues `bytes` as one message. SockJS carries text only: invalid UTF-8 sequences
    /// go out as U+FFFD. Fails like [`Self::send`].
    pub fn send_bytes(&mut self, now: Instant, bytes: &[u8]) -> Result<(), QueueError> {
        let copy = |out: &mut [u8]| {
            let dst = out.get_mut(..bytes.len()).ok_or(BufferTooSmall {
                needed: bytes.len(),
            })?;
            dst.copy_from_slice(bytes);
            Ok(bytes.len())
        };
        self.send_with(now, bytes.len(), copy, |e: &BufferTooSmall| Some(e.needed))
            .map_err(|e| match e {
                SendWithError::Queue(q) => q,
                SendWithError::Encode(_) => QueueError::Full,
            })
    }

    /// Queues one message that `encode` writes straight into the queue (given room for
    /// at least `guess` bytes; when it reports that it `needed` more, it is called again
    /// with that much). Nothing is queued on error.
    pub fn send_with<E>(
        &mut self,
        _now: Instant,
        guess: usize,
        mut encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
        needed: impl Fn(&E) -> Option<usize>,
    ) -> Result<(), SendWithError<E>> {
        if self.close.is_some() {
            return Err(SendWithError::Queue(QueueError::Closed));
        }
        let framed = |out: &mut [u8]| -> Result<usize, Framed<E>> {
            let (prefix, body) = out
                .split_first_chunk_mut::<QUEUE_ENTRY_OVERHEAD>()
                .ok_or(Framed::Small(QUEUE_ENTRY_OVERHEAD))?;
            let n = encode(body).map_err(Framed::Encode)?;
            let len = u32::try_from(n).map_err(|_| Framed::TooLong)?;
            *prefix = len.to_le_bytes();
            Ok(n.saturating_add(QUEUE_ENTRY_OVERHEAD))
        };
        let more = |e: &Framed<E>| match e {
            Framed::Small(n) => Some(*n),
            Framed::Encode(e) => needed(e).map(|n| n.saturating_add(QUEUE_ENTRY_OVERHEAD)),
            Framed::TooLong => None,
        };
        let guess = guess.saturating_add(QUEUE_ENTRY_OVERHEAD);
        match self.queue.write_with(guess, framed, more) {
            Ok(_) => {
                self.queued += 1;
                Ok(())
            }
            Err(WriteError::Full(_)) | Err(WriteError::Encode(Framed::TooLong)) => {
                Err(SendWithError::Queue(QueueError::Full))
            }
            Err(WriteError::Encode(Framed::Small(_))) => {
                Err(SendWithError::Queue(QueueError::Full))
            }
            Err(WriteError::Encode(Framed::Encode(e))) => Err(SendWithError::Encode(e)),
        }
    }

    /// A receiving request using `transport` (and, for `jsonp`/`htmlfile`, `callback`,
    /// checked with [`callback_from_query`](super::callback_from_query)) arrived at `now`.
    /// See [`Attach`] for what to do next; in every case but
    /// [`Attach::AnotherConnectionStillOpen`], drain [`poll_transmit`](Machine::poll_transmit).
    pub fn attach_receiver(
        &mut self,
        now: Instant,
        transport: Transport,
        callback: &str,
    ) -> Attach {
        if let Receiver::Attached { .. } = self.receiver {
            return Attach::AnotherConnectionStillOpen;
        }
        let mut kept = heapless::String::new();
        let _ = kept.push_str(callback.get(..MAX_CALLBACK_LEN).unwrap_or(callback));
        self.receiver = Receiver::Attached {
            sent: 0,
            transport,
            callback: kept,
        };
        self.last_write = now;
        self.heartbeat_due = false;
        if self.close.is_some() {
            Attach::Closed
        } else if !self.opened {
            self.opened = true;
            self.open_pending = true;
            Attach::Opened
        } else {
            Attach::Resumed
        }
    }

    /// The receiving response ended at `now` (the client went away or the caller ended it);
    /// the disconnect delay starts.
    pub fn detach_receiver(&mut self, now: Instant) {
        if let Receiver::Attached { .. } = self.receiver {
            self.receiver = Receiver::None { since: now };
        }
    }

    /// The receiving request broke off at `now` before its response was complete (a
    /// network error): messages may be lost, so the session closes with
    /// [`CloseFrame::CONNECTION_INTERRUPTED`].
    pub fn receiver_interrupted(&mut self, now: Instant) {
        self.detach_receiver(now);
        self.close_with(CloseFrame::CONNECTION_INTERRUPTED);
    }

    /// Whether a receiving request is attached.
    pub fn has_receiver(&self) -> bool {
        matches!(self.receiver, Receiver::Attached { .. })
    }

    /// The transport of the attached receiving request.
    pub fn receiver_transport(&self) -> Option<Transport> {
        match &self.receiver {
            Receiver::Attached { transport, .. } => Some(*transport),
            Receiver::None { .. } => None,
        }
    }

    /// Closes the session with `code` and `reason` (the application's choice; the protocol
    /// default is [`CloseFrame::GO_AWAY`]). Queued messages are still delivered, then every
    /// receiving request gets the close frame. Closing twice keeps the first reason.
    pub fn close(&mut self, _now: Instant, code: u16, reason: &str) {
        self.close_with(CloseFrame { code, reason });
    }

    fn close_with(&mut self, frame: CloseFrame<'_>) {
        if self.close.is_some() {
            return;
        }
        let mut reason = heapless::String::new();
        for c in frame.reason.chars() {
            if reason.push(c).is_err() {
                break;
            }
        }
        self.close = Some((frame.code, reason));
    }

    /// Whether the session was closed (it still answers receivers with the close frame
    /// until it is gone).
    pub fn is_ending(&self) -> bool {
        self.close.is_some()
    }

    /// The close frame, once closed.
    pub fn close_frame(&self) -> Option<CloseFrame<'_>> {
        self.close.as_ref().map(|(code, reason)| CloseFrame {
            code: *code,
            reason: reason.as_str(),
        })
    }

    /// The number of queued messages.
    pub fn queued_messages(&self) -> usize {
        self.queued
    }

    /// The queued bytes, bookkeeping included.
    pub fn queued_bytes(&self) -> usize {
        self.queue.len()
    }

    /// Room left in the queue, in bytes (each message also costs
    /// [`QUEUE_ENTRY_OVERHEAD`]).
    pub fn queue_room(&self) -> usize {
        self.queue.room()
    }

    /// Frame bytes sent on the current receiving response (for streaming accounting).
    pub fn response_bytes(&self) -> usize {
        match self.receiver {
            Receiver::Attached { sent, .. } => sent,
            Receiver::None { .. } => 0,
        }
    }

    fn entries(&self) -> Entries<'_> {
        Entries {
            rest: self.queue.as_slice(),
        }
    }

    /// How many queued messages fit in `room` bytes as one frame of `framing`, and that
    /// frame's length (when not even the first fits: 0, and the length it needs).
    fn fitting(&self, framing: &Framing<'_>, room: usize) -> (usize, usize) {
        // Each message adds its escaped, quoted length and a comma, whatever escaping the
        // transport applies on top (it is per byte).
        let framed = |content: &dyn Fn(&mut dyn Sink)| {
            let mut count = Count(0);
            framing.put_frame(&mut count, |sink| content(sink));
            count.0
        };
        let wrapper = framed(&|_| {});
        let mut len = framed(&|sink| sink.put(b"a[]"));
        let mut take = 0;
        for (k, message) in self.entries().enumerate() {
            let quoted = framed(&|sink| put_quoted_lossy(sink, message)).saturating_sub(wrapper);
            let next = len
                .saturating_add(quoted)
                .saturating_add(usize::from(k > 0));
            if next > room {
                if take == 0 {
                    return (0, next);
                }
                break;
            }
            len = next;
            take = k + 1;
        }
        (take, len)
    }

    /// The room to offer the next frame so that it carries every queued message, wrapped
    /// for the attached receiver's transport, up to the response limit: what a polling
    /// response drains in one answer (0 without a receiver or queued messages).
    pub fn frame_room(&self) -> usize {
        let Receiver::Attached {
            transport,
            callback,
            ..
        } = &self.receiver
        else {
            return 0;
        };
        if self.queued == 0 {
            return 0;
        }
        let framing = Framing::with_callback(*transport, callback);
        let (_, all) = self.fitting(&framing, usize::MAX);
        all.min(self.response_limit)
    }

    fn write_messages(
        &mut self,
        framing: &Framing<'_>,
        out: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        let (take, needed) = self.fitting(framing, out.len());
        if take == 0 {
            return Err(BufferTooSmall { needed });
        }
        let mut w = Writer::new(out);
        let entries = self.entries().take(take);
        framing.put_frame(&mut w, |sink| put_messages(sink, entries));
        let len = w.finish()?;
        let consumed: usize = self
            .entries()
            .take(take)
            .map(|m| m.len() + QUEUE_ENTRY_OVERHEAD)
            .sum();
        self.queue.discard(consumed);
        self.queued -= take;
        Ok(len)
    }
}

impl<Q: ByteStore> Machine for SockJsSession<Q> {
    type TimeoutEvent = Expired;

    /// Writes the next frame owed to the attached receiver, wrapped for its transport, into
    /// `out`: `o` after opening, then queued messages as one `a[...]` frame (as many whole
    /// messages as fit in `out`), the close frame once closed and drained, or `h` when a
    /// heart-beat is due. `Ok(None)` when nothing is owed or no receiver is attached.
    ///
    /// A response ends (the receiver is detached, see [`SockJsSession::has_receiver`])
    /// after one frame on polling transports, past the response limit on streaming ones,
    /// and after the close frame on all; a session whose close frame went out on its
    /// `websocket` transport is over ([`Machine::is_closed`]).
    ///
    /// When not even one message fits, the error states the size needed and nothing is
    /// consumed.
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let Receiver::Attached {
            sent,
            transport,
            callback,
        } = &self.receiver
        else {
            return Ok(None);
        };
        let (sent, transport, callback) = (*sent, *transport, callback.clone());
        let framing = Framing::with_callback(transport, &callback);
        let mut is_close = false;
        let len = if self.open_pending {
            let len = framing.write_frame(&Frame::Open, out)?;
            self.open_pending = false;
            len
        } else if self.queued > 0 {
            self.write_messages(&framing, out)?
        } else if let Some(close) = self.close_frame() {
            is_close = true;
            let mut w = Writer::new(out);
            framing.put_frame(&mut w, |sink| put_close(sink, close));
            w.finish()?
        } else if self.heartbeat_due {
            framing.write_frame(&Frame::Heartbeat, out)?
        } else {
            return Ok(None);
        };
        self.heartbeat_due = false;
        self.last_write = now;
        let sent = sent.saturating_add(len);
        let end_response = is_close
            || transport.is_polling()
            || (transport.is_streaming() && sent >= self.response_limit);
        if end_response {
            self.receiver = Receiver::None { since: now };
            if is_close && transport == Transport::WebSocket {
                self.gone = true;
            }
        } else if let Receiver::Attached { sent: s, .. } = &mut self.receiver {
            *s = sent;
        }
        Ok(Some(len))
    }

    /// The next heart-beat while a receiver is attached, the end of the disconnect delay
    /// otherwise.
    fn poll_timeout(&self) -> Option<Instant> {
        if self.gone {
            return None;
        }
        match self.receiver {
            Receiver::Attached { .. } if self.heartbeat_due || self.close.is_some() => None,
            Receiver::Attached { .. } => Some(self.last_write.add_millis(self.heartbeat_ms)),
            Receiver::None { since } => Some(since.add_millis(self.disconnect_delay_ms)),
        }
    }

    /// Runs timers at `now`: a heart-beat becomes due (drain
    /// [`poll_transmit`](Machine::poll_transmit)), or the disconnect delay passes without
    /// a receiver and the session is over ([`Expired`]).
    fn handle_timeout(&mut self, now: Instant) -> Option<Expired> {
        let deadline = self.poll_timeout()?;
        if now < deadline {
            return None;
        }
        match self.receiver {
            Receiver::Attached { .. } => {
                self.heartbeat_due = true;
                None
            }
            Receiver::None { .. } => {
                self.close_with(CloseFrame::GO_AWAY);
                self.gone = true;
                Some(Expired)
            }
        }
    }

    /// Whether the session is over and forgotten: its disconnect delay passed, or its
    /// close frame went out on its `websocket` transport (a request with its id starts a
    /// new session).
    fn is_closed(&self) -> bool {
        self.gone
    }
}

/// The queued messages, in order.
struct Entries<'q> {
    rest: &'q [u8],
}

impl<'q> Iterator for Entries<'q> {
    type Item = &'q [u8];
    fn next(&mut self) -> Option<&'q [u8]> {
        let (len, rest) = self.rest.split_first_chunk::<QUEUE_ENTRY_OVERHEAD>()?;
        let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
        let (message, rest) = rest.split_at_checked(len)?;
        self.rest = rest;
        Some(message)
    }
}

/// What [`SockJsSession::send_with`]'s encoder reported, with the entry's prefix.
enum Framed<E> {
    Small(usize),
    Encode(E),
    TooLong,
}

/// Why [`SockJsSession::send_with`] queued nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendWithError<E> {
    /// The session is closed or its queue is full.
    Queue(QueueError),
    /// The encoder failed.
    Encode(E),
}
