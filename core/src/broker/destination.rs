//! Classifying destinations by prefix, and user destination translation.

use super::BrokerConfig;

/// What a destination is, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Kind<'a> {
    /// Under the topic prefix: publish-subscribe.
    Topic,
    /// Under the queue prefix: point-to-point.
    Queue,
    /// Under the application prefix: for the caller's handler.
    App,
    /// Under the user prefix. For a published destination `/user/{user}/queue/x`,
    /// `user` is `{user}` and `rest` is `/queue/x`; for a subscription `/user/queue/x`
    /// use [`user_subscription`] instead.
    User {
        /// The user name segment.
        user: &'a str,
        /// What follows the user name, starting with `/`.
        rest: &'a str,
    },
    /// Under no configured prefix.
    Other,
}

/// Whether `destination` starts with `prefix` at a segment boundary (`/`, `.`, the
/// configured separator or the end).
pub fn has_prefix(destination: &str, prefix: &str, separator: u8) -> bool {
    if prefix.is_empty() {
        return false;
    }
    match destination.as_bytes().strip_prefix(prefix.as_bytes()) {
        Some([]) => true,
        Some([b, ..]) => *b == b'/' || *b == b'.' || *b == separator,
        None => false,
    }
}

/// Classifies a destination as published (a `SEND` destination).
///
/// ```
/// use sockwire_core::broker::{classify, BrokerConfig, Kind};
/// let c = BrokerConfig::default();
/// assert_eq!(classify(&c, "/topic/a"), Kind::Topic);
/// assert_eq!(classify(&c, "/user/ann/queue/x"), Kind::User { user: "ann", rest: "/queue/x" });
/// assert_eq!(classify(&c, "/topical"), Kind::Other);
/// ```
pub fn classify<'a>(config: &BrokerConfig<'_>, destination: &'a str) -> Kind<'a> {
    let sep = config.separator;
    if has_prefix(destination, config.user_prefix, sep) {
        let after = destination.get(config.user_prefix.len()..).unwrap_or("");
        let after = after.strip_prefix('/').unwrap_or(after);
        return match after.find('/') {
            Some(i) if i > 0 => Kind::User {
                user: after.get(..i).unwrap_or(""),
                rest: after.get(i..).unwrap_or(""),
            },
            _ => Kind::Other,
        };
    }
    if has_prefix(destination, config.topic_prefix, sep) {
        Kind::Topic
    } else if has_prefix(destination, config.queue_prefix, sep) {
        Kind::Queue
    } else if has_prefix(destination, config.app_prefix, sep) {
        Kind::App
    } else {
        Kind::Other
    }
}

/// A destination text made of up to four parts, so that translated destinations need
/// no buffer. [`core::fmt::Display`] writes the parts one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DestinationText<'a> {
    parts: [&'a str; 4],
}

impl<'a> DestinationText<'a> {
    /// A destination of one piece.
    pub const fn whole(text: &'a str) -> Self {
        DestinationText {
            parts: [text, "", "", ""],
        }
    }

    /// A destination made of `parts`, concatenated.
    pub const fn from_parts(parts: [&'a str; 4]) -> Self {
        DestinationText { parts }
    }

    /// The parts, to write one after the other (some may be empty).
    pub const fn parts(&self) -> [&'a str; 4] {
        self.parts
    }

    /// The concatenated length in bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }

    /// Whether the destination is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The concatenated octets.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + Clone + 'a {
        let parts = self.parts;
        parts.into_iter().flat_map(|p| p.bytes())
    }

    /// Whether the concatenation equals `text`.
    pub fn eq_str(&self, text: &str) -> bool {
        self.len() == text.len() && self.bytes().eq(text.bytes())
    }
}

impl core::fmt::Display for DestinationText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.parts.iter().try_for_each(|p| f.write_str(p))
    }
}

/// Translates a user subscription `/user/queue/x` of user `user` into the destination
/// messages for it are sent to: `/user/{user}/queue/x`. `None` when `destination` is
/// not under the user prefix.
///
/// ```
/// use sockwire_core::broker::{user_subscription, BrokerConfig};
/// let c = BrokerConfig::default();
/// let d = user_subscription(&c, "/user/queue/x", "ann").unwrap();
/// assert!(d.eq_str("/user/ann/queue/x"));
/// ```
pub fn user_subscription<'a>(
    config: &BrokerConfig<'a>,
    destination: &'a str,
    user: &'a str,
) -> Option<DestinationText<'a>> {
    if !has_prefix(destination, config.user_prefix, config.separator) {
        return None;
    }
    let rest = destination.get(config.user_prefix.len()..)?;
    if !rest.starts_with('/') || rest.len() < 2 || user.is_empty() || user.contains('/') {
        return None;
    }
    Some(DestinationText::from_parts([
        config.user_prefix,
        "/",
        user,
        rest,
    ]))
}

/// The destination a user subscriber sees for a message sent to `/user/{user}{rest}`:
/// `/user{rest}`, the destination it subscribed to.
pub fn user_delivery<'a>(config: &BrokerConfig<'a>, rest: &'a str) -> DestinationText<'a> {
    DestinationText::from_parts([config.user_prefix, rest, "", ""])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let c = BrokerConfig::default();
        assert_eq!(classify(&c, "/topic"), Kind::Topic);
        assert_eq!(classify(&c, "/topic/a/b"), Kind::Topic);
        assert_eq!(classify(&c, "/topic.a"), Kind::Topic);
        assert_eq!(classify(&c, "/queue/a"), Kind::Queue);
        assert_eq!(classify(&c, "/app/greet"), Kind::App);
        assert_eq!(classify(&c, "/queues/a"), Kind::Other);
        assert_eq!(classify(&c, ""), Kind::Other);
        assert_eq!(classify(&c, "/user/queue"), Kind::Other);
        assert_eq!(classify(&c, "/user//queue"), Kind::Other);
        let custom = BrokerConfig {
            topic_prefix: "/exchange",
            queue_prefix: "",
            ..c
        };
        assert_eq!(classify(&custom, "/exchange/x"), Kind::Topic);
        assert_eq!(classify(&custom, "/topic/x"), Kind::Other);
        assert_eq!(classify(&custom, "/queue/x"), Kind::Other);
    }

    #[test]
    fn user_translation_both_ways() {
        let c = BrokerConfig::default();
        let sub = user_subscription(&c, "/user/queue/x", "ann").unwrap();
        assert!(sub.eq_str("/user/ann/queue/x"));
        assert_eq!(sub.len(), "/user/ann/queue/x".len());
        let mut s = heapless::String::<32>::new();
        core::fmt::write(&mut s, format_args!("{sub}")).unwrap();
        assert_eq!(s.as_str(), "/user/ann/queue/x");
        let Kind::User { user, rest } = classify(&c, "/user/ann/queue/x") else {
            panic!()
        };
        assert_eq!(user, "ann");
        assert!(user_delivery(&c, rest).eq_str("/user/queue/x"));
        assert!(user_subscription(&c, "/user", "ann").is_none());
        assert!(user_subscription(&c, "/topic/x", "ann").is_none());
    }
}
