//! A rate limit on authentication attempts per client address: a bucket of `burst`
//! attempts per address, refilled at `per_minute`, so a password guesser is slowed to a
//! crawl while a client that reconnects now and then never notices.

use std::collections::HashMap;
use std::net::IpAddr;

use sockwire_core::time::Instant;

/// How many attempts an address may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimit {
    /// Attempts allowed at once.
    pub burst: u32,
    /// Attempts given back per minute.
    pub per_minute: u32,
}

impl Default for AttemptLimit {
    /// 30 at once, 60 a minute.
    fn default() -> Self {
        AttemptLimit {
            burst: 30,
            per_minute: 60,
        }
    }
}

/// Addresses remembered at most: beyond, full buckets are forgotten first, then the one
/// counted longest ago, so memory stays bounded under attempts from many addresses.
const KEPT: usize = 10_000;

/// The attempts of each address.
#[derive(Debug)]
pub struct Attempts {
    limit: AttemptLimit,
    /// Per address: attempts left (in thousandths) and when it was last counted.
    buckets: HashMap<IpAddr, (u64, Instant)>,
}

impl Attempts {
    /// No attempts yet.
    pub fn new(limit: AttemptLimit) -> Attempts {
        Attempts {
            limit,
            buckets: HashMap::new(),
        }
    }

    /// Counts an attempt from `peer` at `now`; `false` when it is over the limit.
    pub fn try_attempt(&mut self, peer: IpAddr, now: Instant) -> bool {
        let full = u64::from(self.limit.burst) * 1000;
        if self.buckets.len() >= KEPT {
            let limit = self.limit;
            self.buckets
                .retain(|_, (left, at)| refilled(limit, *left, *at, now) < full);
            let stalest = self
                .buckets
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(ip, _)| *ip);
            if let Some(ip) = stalest.filter(|_| self.buckets.len() >= KEPT) {
                self.buckets.remove(&ip);
            }
        }
        let (left, at) = self.buckets.entry(peer).or_insert((full, now));
        let have = refilled(self.limit, *left, *at, now);
        *at = now;
        if have < 1000 {
            *left = have;
            return false;
        }
        *left = have - 1000;
        true
    }
}

/// Thousandths of attempts left at `now`, from `left` at `at`.
fn refilled(limit: AttemptLimit, left: u64, at: Instant, now: Instant) -> u64 {
    let elapsed = now.0.saturating_sub(at.0);
    // per_minute attempts per 60 000 ms: thousandths per ms = per_minute / 60.
    let gained = elapsed.saturating_mul(u64::from(limit.per_minute)) / 60;
    left.saturating_add(gained)
        .min(u64::from(limit.burst) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let mut a = Attempts::new(AttemptLimit {
            burst: 3,
            per_minute: 60,
        });
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        let t = Instant(1_000);
        assert!((0..3).all(|_| a.try_attempt(ip, t)));
        assert!(!a.try_attempt(ip, t));
        assert!(a.try_attempt(other, t), "addresses are counted apart");
        // One a second comes back.
        assert!(!a.try_attempt(ip, Instant(1_500)));
        assert!(a.try_attempt(ip, Instant(2_600)));
        assert!(!a.try_attempt(ip, Instant(2_700)));
    }

    #[test]
    fn many_addresses_stay_bounded() {
        let mut a = Attempts::new(AttemptLimit {
            burst: 2,
            per_minute: 1,
        });
        for i in 0..(KEPT as u32 + 50) {
            let ip = IpAddr::from(i.to_be_bytes());
            assert!(a.try_attempt(ip, Instant(u64::from(i))));
        }
        assert!(a.buckets.len() <= KEPT);
    }
}
