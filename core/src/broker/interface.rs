//! The interface sessions and application handlers talk to, whichever backend runs
//! (the embedded [`SimpleBroker`](super::SimpleBroker) or, later, a relay to an
//! external broker).

use super::{DestinationText, HeaderLines, Message, PatternError, SelectorError};

/// A session, numbered by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SessionId(pub u32);

/// A subscription's acknowledgement mode: the STOMP session's own type, so that a
/// session hands its subscriptions to a broker unchanged.
pub use crate::stomp::AckMode;

/// A `SUBSCRIBE`, in plain types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Subscribe<'a> {
    /// The subscribing session.
    pub session: SessionId,
    /// The subscription id (the STOMP `id` header), unique within the session.
    pub id: &'a str,
    /// The destination or pattern (`*`, `**`).
    pub destination: &'a str,
    /// The acknowledgement mode.
    pub ack: AckMode,
    /// The `selector` header, if any.
    pub selector: Option<&'a str>,
    /// The session's authenticated user, needed for user destinations.
    pub user: Option<&'a str>,
}

/// One message for one subscription: the caller encodes it as a `MESSAGE` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Delivery<'a> {
    /// The receiving session.
    pub session: SessionId,
    /// Its subscription id (the `subscription` header).
    pub subscription: &'a str,
    /// The message id (the `message-id` header, and the `ack` header when the
    /// subscription acknowledges).
    pub message_id: &'a str,
    /// The destination as the subscriber sees it (`/user/queue/x` for user destinations).
    pub destination: DestinationText<'a>,
    /// The publisher's header lines, to copy into the frame.
    pub headers: HeaderLines<'a>,
    /// The body.
    pub body: &'a [u8],
    /// The subscription's acknowledgement mode.
    pub ack: AckMode,
    /// Whether this message was delivered before (after a `NACK` or a disconnect).
    pub redelivered: bool,
    /// A queue message: when the session cannot take it now, it stays in the queue
    /// ([`Handoff::Refused`]) and the session stays. A topic message a session cannot
    /// take ends that session as a slow consumer.
    pub queued: bool,
}

/// What became of a published message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Routed {
    /// Delivered to this many subscriptions (zero when none matched a topic).
    Delivered(usize),
    /// A queue message with no subscriber to take it: held until one subscribes.
    Held,
    /// An application destination: the caller passes it to its handler.
    Application,
}

/// What became of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Subscribed {
    /// The broker holds the subscription.
    Broker,
    /// An application destination: the caller passes it to its handler; the broker
    /// keeps nothing.
    Application,
}

/// Why the broker refused a request. Each maps to a STOMP `ERROR` frame with
/// [`BrokerError::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BrokerError {
    /// The destination is empty, or a published destination contains a wildcard.
    InvalidDestination,
    /// The destination is under no configured prefix.
    UnknownDestination,
    /// A subscription names queues by pattern and the broker does not allow it
    /// ([`BrokerConfig::queue_wildcards`](super::BrokerConfig::queue_wildcards)).
    QueueWildcard,
    /// The pattern is malformed.
    InvalidPattern(PatternError),
    /// The selector does not parse.
    InvalidSelector(SelectorError),
    /// A user destination needs an authenticated user.
    NoUser,
    /// The session already has a subscription with this id.
    DuplicateSubscription,
    /// The session has no subscription with this id.
    NotSubscribed,
    /// The subscription store is full.
    TooManySubscriptions,
    /// A destination, id or selector exceeds the store's text capacity.
    TextTooLong,
    /// The in-flight table is full.
    InFlightFull,
    /// A queue message is larger than the in-flight table can hold.
    MessageTooLarge,
    /// The queue already has as many messages or bytes waiting as its limit allows.
    QueueFull,
    /// The broker holds as many bytes of queue messages as its limit allows.
    StorageFull,
    /// No in-flight message with this id is held by the session (topic and auto-ack
    /// messages are never held: a session may ignore this error for them).
    UnknownMessage,
}

impl BrokerError {
    /// A short message for the STOMP `ERROR` frame's `message` header.
    pub const fn message(&self) -> &'static str {
        match self {
            BrokerError::InvalidDestination => "invalid destination",
            BrokerError::UnknownDestination => "unknown destination prefix",
            BrokerError::QueueWildcard => "queues cannot be subscribed to by pattern",
            BrokerError::InvalidPattern(PatternError::Empty) => "empty destination",
            BrokerError::InvalidPattern(PatternError::DoubleStarInSegment) => {
                "'**' must be a whole segment"
            }
            BrokerError::InvalidSelector(e) => e.message(),
            BrokerError::NoUser => "user destination without an authenticated user",
            BrokerError::DuplicateSubscription => "subscription id already in use",
            BrokerError::NotSubscribed => "no subscription with this id",
            BrokerError::TooManySubscriptions => "too many subscriptions",
            BrokerError::TextTooLong => "destination, id or selector too long",
            BrokerError::InFlightFull => "too many unacknowledged messages",
            BrokerError::MessageTooLarge => "message too large to hold for redelivery",
            BrokerError::QueueFull => "queue full: message refused",
            BrokerError::StorageFull => "broker storage full: message refused",
            BrokerError::UnknownMessage => "unknown message id",
        }
    }
}

impl core::fmt::Display for BrokerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for BrokerError {}

/// What a [`Sink`] did with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Handoff {
    /// The session took the message (it is on its way to the client).
    Taken,
    /// The session cannot take it now: its window of unacknowledged messages or its
    /// outbound queue is full, or it is gone. A queue message stays in the queue and is
    /// offered again (to this subscription or another) when the window opens; a topic
    /// message is not kept (the session deals with a consumer that cannot keep up).
    Refused,
}

/// Receives deliveries, in order, as the broker produces them, and says whether each
/// was taken.
pub type Sink<'s> = dyn FnMut(Delivery<'_>) -> Handoff + 's;

/// What a session needs from a broker. Deliveries are handed to `sink` during the call
/// that causes them (an embedded broker), or later through the backend's own poll
/// (a relay): sessions must not assume either.
pub trait Broker {
    /// Adds a subscription. Held queue messages it matches may be delivered at once.
    fn subscribe(
        &mut self,
        request: Subscribe<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<Subscribed, BrokerError>;

    /// Removes subscription `id` of `session`; its unacknowledged queue messages go to
    /// other subscribers or are held.
    fn unsubscribe(
        &mut self,
        session: SessionId,
        id: &str,
        sink: &mut Sink<'_>,
    ) -> Result<(), BrokerError>;

    /// Removes every subscription of `session`; its unacknowledged queue messages go to
    /// other subscribers or are held.
    fn disconnect(&mut self, session: SessionId, sink: &mut Sink<'_>);

    /// Routes `message` from `from`. Deliveries come out in publish order. A queue
    /// message that no subscriber takes ([`Handoff::Refused`]) is held until one can.
    fn publish(
        &mut self,
        from: SessionId,
        message: Message<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<Routed, BrokerError>;

    /// Acknowledges message `message_id` delivered to `session` (cumulatively for
    /// [`AckMode::Client`]). The window this opens lets queue messages waiting for a
    /// taker be delivered.
    fn ack(
        &mut self,
        session: SessionId,
        message_id: &str,
        sink: &mut Sink<'_>,
    ) -> Result<(), BrokerError>;

    /// `session` has room again after refusing queue messages: messages waiting for a
    /// taker are offered.
    fn resume(&mut self, session: SessionId, sink: &mut Sink<'_>);

    /// Rejects message `message_id` delivered to `session`: it is redelivered to another
    /// subscriber when there is one, else to the same one.
    fn nack(
        &mut self,
        session: SessionId,
        message_id: &str,
        sink: &mut Sink<'_>,
    ) -> Result<(), BrokerError>;
}
