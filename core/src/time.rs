//! Time as an argument: machines never read a clock, callers pass [`Instant`]s in.

/// A monotonic instant in milliseconds since an epoch of the caller's choosing.
///
/// Machines compare instants and add durations to them; they never read a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(pub u64);

impl Instant {
    /// Milliseconds since the caller's epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This instant plus `millis`, saturating instead of overflowing.
    pub const fn add_millis(self, millis: u64) -> Instant {
        Instant(self.0.saturating_add(millis))
    }

    /// Milliseconds from `earlier` to `self`, zero when `earlier` is later.
    pub const fn millis_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// The earlier of two optional deadlines: what a machine built of two machines reports
/// from [`poll_timeout`](crate::machine::Machine::poll_timeout).
///
/// ```
/// use sockwire_core::time::{earliest, Instant};
/// assert_eq!(earliest(Some(Instant(5)), Some(Instant(3))), Some(Instant(3)));
/// assert_eq!(earliest(None, Some(Instant(3))), Some(Instant(3)));
/// assert_eq!(earliest(None, None), None);
/// ```
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
