//! Broker configuration: destination prefixes, the pattern separator and queue limits.

/// Which destinations the broker owns and how patterns split them.
///
/// The defaults are Spring's: `/topic` (publish-subscribe), `/queue` (point-to-point),
/// `/app` (application handlers) and `/user` (user destinations), separator `/`.
///
/// ```
/// use sockwire_core::broker::BrokerConfig;
/// let dotted = BrokerConfig { separator: b'.', ..BrokerConfig::default() };
/// assert_eq!(dotted.topic_prefix, "/topic");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BrokerConfig<'c> {
    /// Publish-subscribe destinations: every matching subscriber gets every message.
    pub topic_prefix: &'c str,
    /// Point-to-point destinations: each message goes to one subscriber.
    pub queue_prefix: &'c str,
    /// Application destinations: messages go to the caller's handler, not subscribers.
    pub app_prefix: &'c str,
    /// User destinations: `/user/queue/x` subscribed by a session of user `u` receives
    /// what is sent to `/user/u/queue/x`.
    pub user_prefix: &'c str,
    /// The octet that separates segments in patterns (`/` or `.`).
    pub separator: u8,
    /// How much queue messages may wait, per queue and in all.
    pub limits: QueueLimits,
    /// Whether a subscription may name queues by pattern (`/queue/**`): off by default,
    /// as one such subscription takes its share of every application's queue.
    pub queue_wildcards: bool,
}

/// Bounds on what queues hold. A `SEND` that would go over one is refused
/// ([`BrokerError::QueueFull`](super::BrokerError::QueueFull) or
/// [`BrokerError::StorageFull`](super::BrokerError::StorageFull)): the publisher gets an
/// `ERROR` naming its receipt, and what the queue held stays there.
///
/// Only messages held by the broker count: a message a subscriber takes at once with
/// `ack:auto` is never held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct QueueLimits {
    /// Messages one queue may have waiting for a subscriber.
    pub messages_per_queue: usize,
    /// Bytes (header lines and body) one queue may have waiting for a subscriber.
    pub bytes_per_queue: usize,
    /// Bytes all held queue messages may take, waiting or unacknowledged.
    pub held_bytes: usize,
}

impl QueueLimits {
    /// No bounds but the in-flight store's own capacity.
    pub const UNBOUNDED: QueueLimits = QueueLimits {
        messages_per_queue: usize::MAX,
        bytes_per_queue: usize::MAX,
        held_bytes: usize::MAX,
    };
}

impl BrokerConfig<'static> {
    /// Spring's prefixes, `/` as separator, no queue limits, no queue wildcards.
    pub const DEFAULT: BrokerConfig<'static> = BrokerConfig {
        topic_prefix: "/topic",
        queue_prefix: "/queue",
        app_prefix: "/app",
        user_prefix: "/user",
        separator: b'/',
        limits: QueueLimits::UNBOUNDED,
        queue_wildcards: false,
    };
}

impl Default for BrokerConfig<'_> {
    fn default() -> Self {
        BrokerConfig::DEFAULT
    }
}
