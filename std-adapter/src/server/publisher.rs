//! [`Publisher`]: sending to the broker's sessions from anywhere in the process (a
//! timer thread, an HTTP handler of another framework), as Spring's
//! `SimpMessagingTemplate`.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use mio::Waker;

use sockwire_core::buf::Writer;
use sockwire_core::stomp::{escape_into, Escaping, HeaderPart};

use super::app::Publish;

/// Messages that may wait for the hub worker, from all publishers together; one more is
/// refused with [`PublishError::Full`].
pub const PUBLISH_QUEUE: usize = 4096;

/// What a [`Publisher`] asks the hub worker to do.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Publish through the broker.
    Publish(Publish),
    /// Write to one session's subscriptions to the destination.
    ToSession(u32, Publish),
}

/// Why a message was not taken. Nothing is dropped silently: a message the queue does
/// not take comes back to the caller with the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    /// [`PUBLISH_QUEUE`] messages already wait for the hub worker: try again later.
    Full(Publish),
    /// The server has stopped.
    Stopped(Publish),
    /// A header cannot be written in a STOMP frame (an empty name, a NUL octet).
    InvalidHeader,
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::Full(p) => write!(
                f,
                "message to {} not taken: {PUBLISH_QUEUE} messages already wait",
                p.destination
            ),
            PublishError::Stopped(p) => {
                write!(
                    f,
                    "message to {} not taken: the server stopped",
                    p.destination
                )
            }
            PublishError::InvalidHeader => {
                f.write_str("a header cannot be written in a STOMP frame")
            }
        }
    }
}

impl std::error::Error for PublishError {}

/// Sends messages to the server's STOMP sessions from any thread; cheap to clone. Each
/// message waits in a bounded queue until the hub worker (woken at once) routes it, as
/// the server itself: it passes no access rule, and arrives after what the hub worker
/// is doing now.
#[derive(Clone)]
pub struct Publisher {
    queue: SyncSender<Outgoing>,
    waker: Arc<Waker>,
    user_prefix: String,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher and the receiving end the hub worker drains.
    pub(crate) fn new(waker: Arc<Waker>, user_prefix: &str) -> (Publisher, Receiver<Outgoing>) {
        let (queue, inbox) = std::sync::mpsc::sync_channel(PUBLISH_QUEUE);
        let user_prefix = user_prefix.to_string();
        let publisher = Publisher {
            queue,
            waker,
            user_prefix,
        };
        (publisher, inbox)
    }

    /// Publishes `message` through the broker, to its destination's subscribers.
    pub fn send(&self, message: Publish) -> Result<(), PublishError> {
        self.enqueue(Outgoing::Publish(message))
    }

    /// Publishes `body` to `destination` (`/topic/...`, `/queue/...`) with the header
    /// lines `headers` (names and values as they are, STOMP 1.2 escaping applied).
    pub fn publish(
        &self,
        destination: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), PublishError> {
        let p = message(destination.to_string(), headers, body);
        self.send(p.ok_or(PublishError::InvalidHeader)?)
    }

    /// Publishes to every session of `user` subscribed to the user destination
    /// `destination` (`/queue/news` reaches their subscriptions to `/user/queue/news`).
    pub fn to_user(
        &self,
        user: &str,
        destination: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), PublishError> {
        let to = format!("{}/{user}{destination}", self.user_prefix);
        self.send(message(to, headers, body).ok_or(PublishError::InvalidHeader)?)
    }

    /// Writes to the one session numbered `session` (see
    /// [`AppSession::id`](super::AppSession::id)): a `MESSAGE` to each of its
    /// subscriptions to exactly `destination`; nothing when it holds none or is gone.
    pub fn to_session(
        &self,
        session: u32,
        destination: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), PublishError> {
        let p = message(destination.to_string(), headers, body);
        self.enqueue(Outgoing::ToSession(
            session,
            p.ok_or(PublishError::InvalidHeader)?,
        ))
    }

    fn enqueue(&self, outgoing: Outgoing) -> Result<(), PublishError> {
        match self.queue.try_send(outgoing) {
            Ok(()) => {
                // A worker that stopped is found at the next send.
                let _ = self.waker.wake();
                Ok(())
            }
            Err(TrySendError::Full(o)) => Err(PublishError::Full(o.into_message())),
            Err(TrySendError::Disconnected(o)) => Err(PublishError::Stopped(o.into_message())),
        }
    }
}

impl Outgoing {
    fn into_message(self) -> Publish {
        match self {
            Outgoing::Publish(p) | Outgoing::ToSession(_, p) => p,
        }
    }
}

/// A message with `headers` written as STOMP 1.2 header lines; `None` when one cannot
/// be (an empty name, a NUL).
fn message(destination: String, headers: &[(&str, &str)], body: &[u8]) -> Option<Publish> {
    let mut p = Publish::new(destination, body);
    for (name, value) in headers {
        escaped(name, HeaderPart::Name, &mut p.headers)?;
        p.headers.push(b':');
        escaped(value, HeaderPart::Value, &mut p.headers)?;
        p.headers.push(b'\n');
    }
    Some(p)
}

/// Appends `text` escaped by the STOMP 1.2 rules (each octet takes at most two).
fn escaped(text: &str, part: HeaderPart, to: &mut Vec<u8>) -> Option<()> {
    let mut room = vec![0; text.len().saturating_mul(2)];
    let mut w = Writer::new(&mut room);
    escape_into(text.bytes(), Escaping::V1_2, part, &mut w).ok()?;
    let n = w.finish().ok()?;
    to.extend_from_slice(room.get(..n)?);
    Some(())
}
