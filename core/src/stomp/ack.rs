//! Acknowledgement modes and the ledger of messages awaiting an `ACK` or `NACK`.

use super::{HeaderText, Id, SessionError};
use crate::table::Table;

/// How a subscription's messages are acknowledged (the `SUBSCRIBE` frame's `ack` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AckMode {
    /// `auto` (the default): a message counts as acknowledged once sent.
    #[default]
    Auto,
    /// `client`: an `ACK` is cumulative, it acknowledges the named message and every
    /// earlier message of the same subscription.
    Client,
    /// `client-individual`: an `ACK` acknowledges only the named message.
    ClientIndividual,
}

impl AckMode {
    /// Parses the `ack` header value; a missing header is [`AckMode::Auto`].
    pub fn parse(value: Option<HeaderText<'_>>) -> Result<AckMode, SessionError> {
        match value {
            None => Ok(AckMode::Auto),
            Some(v) if v.eq_bytes(b"auto") => Ok(AckMode::Auto),
            Some(v) if v.eq_bytes(b"client") => Ok(AckMode::Client),
            Some(v) if v.eq_bytes(b"client-individual") => Ok(AckMode::ClientIndividual),
            Some(_) => Err(SessionError::InvalidAckMode),
        }
    }

    /// The header value (`"client-individual"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::Client => "client",
            AckMode::ClientIndividual => "client-individual",
        }
    }

    /// Whether messages wait for an `ACK` or `NACK`.
    pub const fn needs_ack(self) -> bool {
        !matches!(self, AckMode::Auto)
    }
}

/// A message sent to a `client` or `client-individual` subscription and not yet
/// acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    /// The subscription it was sent to.
    pub subscription: Id,
    /// Its `message-id` header.
    pub message_id: Id,
    /// Its `ack` header (STOMP 1.2): a number unique within the session.
    pub ack: u64,
}

/// Messages awaiting acknowledgement, oldest first, as many as the list `L` holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unacked<L> {
    entries: L,
    next_ack: u64,
}

impl<L: Table<Pending>> Unacked<L> {
    pub fn is_full(&self) -> bool {
        self.entries.is_full()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The `ack` value the next recorded message gets.
    pub fn next_ack(&self) -> u64 {
        self.next_ack
    }

    /// Records a message; `false` when the ledger is full.
    pub fn record(&mut self, subscription: Id, message_id: Id) -> bool {
        let ack = self.next_ack;
        let ok = self
            .entries
            .push(Pending {
                subscription,
                message_id,
                ack,
            })
            .is_ok();
        if ok {
            self.next_ack = self.next_ack.wrapping_add(1);
        }
        ok
    }

    /// The entry whose `ack` number is the decimal `value`.
    pub fn find_by_ack(&self, value: &HeaderText<'_>) -> Option<usize> {
        let ack = parse_u64(value)?;
        self.entries.as_slice().iter().position(|p| p.ack == ack)
    }

    /// The entry with this message id (and subscription, when given).
    pub fn find_by_message(&self, subscription: Option<&Id>, message_id: &Id) -> Option<usize> {
        self.entries.as_slice().iter().position(|p| {
            p.message_id == *message_id && subscription.is_none_or(|s| p.subscription == *s)
        })
    }

    /// The entry at `index`.
    pub fn get(&self, index: usize) -> Option<&Pending> {
        self.entries.as_slice().get(index)
    }

    /// Removes the entry at `index` and, when `cumulative`, every earlier entry of the
    /// same subscription. Returns how many were removed.
    pub fn settle(&mut self, index: usize, cumulative: bool) -> usize {
        let Some(target) = self.entries.as_slice().get(index).cloned() else {
            return 0;
        };
        let before = self.entries.len();
        let mut i = 0usize;
        self.entries.retain(|p| {
            let here = i;
            i += 1;
            let same = p.subscription == target.subscription;
            !(here == index || (cumulative && same && here < index))
        });
        before - self.entries.len()
    }

    /// Drops every entry of a subscription (after `UNSUBSCRIBE`).
    pub fn forget_subscription(&mut self, subscription: &Id) {
        self.entries.retain(|p| p.subscription != *subscription);
    }

    /// Whether a message of `subscription` with this id awaits acknowledgement.
    #[cfg(test)]
    pub fn contains(&self, subscription: &Id, message_id: &Id) -> bool {
        self.find_by_message(Some(subscription), message_id)
            .is_some()
    }
}

fn parse_u64(value: &HeaderText<'_>) -> Option<u64> {
    let mut n: u64 = 0;
    let mut any = false;
    for d in value.bytes() {
        if !d.is_ascii_digit() {
            return None;
        }
        any = true;
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    any.then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stomp::Escaping;

    fn id(s: &str) -> Id {
        Id::new(s.as_bytes()).unwrap()
    }

    #[test]
    fn modes() {
        let t = |s: &'static str| Some(HeaderText::new(s.as_bytes(), Escaping::V1_2));
        assert_eq!(AckMode::parse(None), Ok(AckMode::Auto));
        assert_eq!(AckMode::parse(t("client")), Ok(AckMode::Client));
        assert_eq!(
            AckMode::parse(t("client-individual")),
            Ok(AckMode::ClientIndividual)
        );
        assert_eq!(
            AckMode::parse(t("Client")),
            Err(SessionError::InvalidAckMode)
        );
        for m in [AckMode::Auto, AckMode::Client, AckMode::ClientIndividual] {
            assert_eq!(AckMode::parse(t(m.as_str())), Ok(m));
        }
    }

    #[test]
    fn cumulative_settles_earlier_of_same_subscription_only() {
        let mut u = Unacked::<heapless::Vec<Pending, 8>>::default();
        for (s, m) in [("a", "1"), ("b", "2"), ("a", "3"), ("a", "4")] {
            assert!(u.record(id(s), id(m)));
        }
        let i = u.find_by_message(Some(&id("a")), &id("3")).unwrap();
        assert_eq!(u.settle(i, true), 2);
        assert_eq!(u.len(), 2);
        assert!(u.contains(&id("b"), &id("2")));
        assert!(u.contains(&id("a"), &id("4")));
        let i = u.find_by_message(None, &id("4")).unwrap();
        assert_eq!(u.settle(i, false), 1);
        let t = HeaderText::new(b"1", Escaping::V1_2);
        assert_eq!(u.find_by_ack(&t), Some(0));
        let bad = HeaderText::new(b"99999999999999999999999", Escaping::V1_2);
        assert_eq!(u.find_by_ack(&bad), None);
    }

    #[test]
    fn bounded() {
        let mut u = Unacked::<heapless::Vec<Pending, 1>>::default();
        assert!(u.record(id("a"), id("1")));
        assert!(u.is_full());
        assert!(!u.record(id("a"), id("2")));
        assert_eq!(u.next_ack(), 1);
    }
}
