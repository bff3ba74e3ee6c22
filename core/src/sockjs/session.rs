//! The SockJS session: a state machine driven by receiving requests, messages and time.

use super::config::Config;
use super::frame::{put_close, put_messages, CloseFrame, Frame};
use super::json_escape::{put_quoted, Count, Sink};
use super::transport::Framing;
use crate::buf::{BufferTooSmall, Writer};
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
    /// The queue has no room for the message (and its [`QUEUE_ENTRY_OVERHEAD`]).
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

/// A frame written by [`SockJsSession::poll_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Polled {
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
    /// Whether the response must end after these bytes (polling transports after one
    /// frame, streaming ones past the response limit, any after a close frame). The
    /// receiver is already detached.
    pub end_response: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Receiver {
    /// No receiving request since the instant.
    None { since: Instant },
    /// A receiving request is attached.
    Attached {
        /// Frame bytes sent on this response.
        sent: usize,
    },
}

/// A SockJS session with room for `QUEUE` bytes of messages waiting for a receiver.
///
/// Drive it with: [`attach_receiver`](Self::attach_receiver) when a receiving request
/// arrives, [`poll_frame`](Self::poll_frame) after every event until it returns `None`,
/// [`send`](Self::send) to queue messages for the client,
/// [`detach_receiver`](Self::detach_receiver) when a response ends for another reason, and
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout).
///
/// ```
/// use sockwire_core::sockjs::{Attach, Config, Framing, SockJsSession, Transport};
/// use sockwire_core::time::Instant;
///
/// let mut session = SockJsSession::<1024>::new(&Config::default(), Instant(0));
/// let xhr = Framing::new(Transport::Xhr);
/// let mut out = [0u8; 256];
/// assert_eq!(session.attach_receiver(Instant(0)), Attach::Opened);
/// let polled = session.poll_frame(&xhr, Instant(0), &mut out)?.unwrap();
/// assert_eq!(&out[..polled.len], b"o\n");
/// assert!(polled.end_response); // polling: one frame per request
///
/// session.send("hello").unwrap();
/// assert_eq!(session.attach_receiver(Instant(10)), Attach::Resumed);
/// let polled = session.poll_frame(&xhr, Instant(10), &mut out)?.unwrap();
/// assert_eq!(&out[..polled.len], b"a[\"hello\"]\n");
/// # Ok::<(), sockwire_core::buf::BufferTooSmall>(())
/// ```
#[derive(Debug, Clone)]
pub struct SockJsSession<const QUEUE: usize> {
    heartbeat_ms: u64,
    disconnect_delay_ms: u64,
    response_limit: usize,
    opened: bool,
    open_pending: bool,
    close: Option<(u16, heapless::String<MAX_CLOSE_REASON>)>,
    gone: bool,
    queue: heapless::Vec<u8, QUEUE>,
    queued: usize,
    receiver: Receiver,
    last_write: Instant,
    heartbeat_due: bool,
}

impl<const QUEUE: usize> SockJsSession<QUEUE> {
    /// A new session, created at `now` by the request that named an unknown session id.
    pub fn new(config: &Config<'_>, now: Instant) -> Self {
        SockJsSession {
            heartbeat_ms: config.heartbeat_ms,
            disconnect_delay_ms: config.disconnect_delay_ms,
            response_limit: config.response_limit,
            opened: false,
            open_pending: false,
            close: None,
            gone: false,
            queue: heapless::Vec::new(),
            queued: 0,
            receiver: Receiver::None { since: now },
            last_write: now,
            heartbeat_due: false,
        }
    }

    /// Queues `message` for the client. Fails when the session is closed or the queue has
    /// no room; nothing is queued then.
    pub fn send(&mut self, message: &str) -> Result<(), QueueError> {
        if self.close.is_some() {
            return Err(QueueError::Closed);
        }
        let len = u32::try_from(message.len()).map_err(|_| QueueError::Full)?;
        let needed = message.len().saturating_add(QUEUE_ENTRY_OVERHEAD);
        if QUEUE.saturating_sub(self.queue.len()) < needed {
            return Err(QueueError::Full);
        }
        self.queue
            .extend_from_slice(&len.to_le_bytes())
            .map_err(|_| QueueError::Full)?;
        self.queue
            .extend_from_slice(message.as_bytes())
            .map_err(|_| QueueError::Full)?;
        self.queued += 1;
        Ok(())
    }

    /// A receiving request arrived at `now`. See [`Attach`] for what to do next; in every
    /// case but [`Attach::AnotherConnectionStillOpen`], call [`poll_frame`](Self::poll_frame).
    pub fn attach_receiver(&mut self, now: Instant) -> Attach {
        if let Receiver::Attached { .. } = self.receiver {
            return Attach::AnotherConnectionStillOpen;
        }
        self.receiver = Receiver::Attached { sent: 0 };
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

    /// The receiving request broke off before its response was complete (a network
    /// error): messages may be lost, so the session closes with
    /// [`CloseFrame::CONNECTION_INTERRUPTED`].
    pub fn receiver_interrupted(&mut self, now: Instant) {
        self.detach_receiver(now);
        self.close_with(CloseFrame::CONNECTION_INTERRUPTED);
    }

    /// Whether a receiving request is attached.
    pub fn has_receiver(&self) -> bool {
        matches!(self.receiver, Receiver::Attached { .. })
    }

    /// Closes the session with `code` and `reason` (the application's choice; the protocol
    /// default is [`CloseFrame::GO_AWAY`]). Queued messages are still delivered, then every
    /// receiving request gets the close frame. Closing twice keeps the first reason.
    pub fn close(&mut self, code: u16, reason: &str) {
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

    /// Whether the session is closed (it still answers receivers with the close frame).
    pub fn is_closed(&self) -> bool {
        self.close.is_some()
    }

    /// The close frame, once closed.
    pub fn close_frame(&self) -> Option<CloseFrame<'_>> {
        self.close.as_ref().map(|(code, reason)| CloseFrame {
            code: *code,
            reason: reason.as_str(),
        })
    }

    /// Whether the disconnect delay passed without a receiver: the caller forgets the
    /// session (a request with its id starts a new one).
    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// The number of queued messages.
    pub fn queued_messages(&self) -> usize {
        self.queued
    }

    /// The queued bytes, bookkeeping included; never more than `QUEUE`.
    pub fn queued_bytes(&self) -> usize {
        self.queue.len()
    }

    /// Frame bytes sent on the current receiving response (for streaming accounting).
    pub fn response_bytes(&self) -> usize {
        match self.receiver {
            Receiver::Attached { sent } => sent,
            Receiver::None { .. } => 0,
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next run: the next heart-beat
    /// while a receiver is attached, the end of the disconnect delay otherwise.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.gone {
            return None;
        }
        match self.receiver {
            Receiver::Attached { .. } if self.heartbeat_due || self.close.is_some() => None,
            Receiver::Attached { .. } => Some(self.last_write.add_millis(self.heartbeat_ms)),
            Receiver::None { since } => Some(since.add_millis(self.disconnect_delay_ms)),
        }
    }

    /// Runs timers at `now`: a heart-beat becomes due (call [`poll_frame`](Self::poll_frame)),
    /// or the disconnect delay passes without a receiver and the session closes and is gone.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        if now < deadline {
            return;
        }
        match self.receiver {
            Receiver::Attached { .. } => self.heartbeat_due = true,
            Receiver::None { .. } => {
                self.close_with(CloseFrame::GO_AWAY);
                self.gone = true;
            }
        }
    }

    fn entries(&self) -> Entries<'_> {
        Entries {
            rest: self.queue.as_slice(),
        }
    }

    /// Writes the next frame owed to the attached receiver, wrapped by `framing`, into
    /// `out`: `o` after opening, then queued messages as one `a[...]` frame (as many whole
    /// messages as fit in `out`), the close frame once closed and drained, or `h` when a
    /// heart-beat is due. `Ok(None)` when nothing is owed or no receiver is attached.
    ///
    /// When not even one message fits, the error states the size needed and nothing is
    /// consumed.
    pub fn poll_frame(
        &mut self,
        framing: &Framing<'_>,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<Polled>, BufferTooSmall> {
        let Receiver::Attached { sent } = self.receiver else {
            return Ok(None);
        };
        let mut is_close = false;
        let len = if self.open_pending {
            let len = framing.write_frame(&Frame::Open, out)?;
            self.open_pending = false;
            len
        } else if self.queued > 0 {
            self.write_messages(framing, out)?
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
        let transport = framing.transport();
        let end_response = is_close
            || transport.is_polling()
            || (transport.is_streaming() && sent >= self.response_limit);
        self.receiver = if end_response {
            Receiver::None { since: now }
        } else {
            Receiver::Attached { sent }
        };
        Ok(Some(Polled { len, end_response }))
    }

    fn write_messages(
        &mut self,
        framing: &Framing<'_>,
        out: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        // How many whole messages fit: each message adds its escaped, quoted length and a
        // comma, whatever escaping the transport applies on top (it is per byte).
        let framed = |content: &dyn Fn(&mut dyn Sink)| {
            let mut count = Count(0);
            framing.put_frame(&mut count, |sink| content(sink));
            count.0
        };
        let wrapper = framed(&|_| {});
        let mut needed = framed(&|sink| sink.put(b"a[]"));
        let mut take = 0;
        for (k, message) in self.entries().enumerate() {
            let quoted = framed(&|sink| put_quoted(sink, message)).saturating_sub(wrapper);
            needed = needed
                .saturating_add(quoted)
                .saturating_add(usize::from(k > 0));
            if needed > out.len() {
                break;
            }
            take = k + 1;
        }
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
        let remaining = self.queue.len().saturating_sub(consumed);
        self.queue.copy_within(consumed.., 0);
        self.queue.truncate(remaining);
        self.queued -= take;
        Ok(len)
    }
}

/// The queued messages, in order.
struct Entries<'q> {
    rest: &'q [u8],
}

impl<'q> Iterator for Entries<'q> {
    type Item = &'q str;
    fn next(&mut self) -> Option<&'q str> {
        let (len, rest) = self.rest.split_first_chunk::<QUEUE_ENTRY_OVERHEAD>()?;
        let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
        let (message, rest) = rest.split_at_checked(len)?;
        self.rest = rest;
        core::str::from_utf8(message).ok()
    }
}
