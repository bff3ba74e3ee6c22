//! Broker configuration: destination prefixes and the pattern separator.

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
}

impl Default for BrokerConfig<'_> {
    fn default() -> Self {
        BrokerConfig {
            topic_prefix: "/topic",
            queue_prefix: "/queue",
            app_prefix: "/app",
            user_prefix: "/user",
            separator: b'/',
        }
    }
}
