//! The adapter's clock: the one place that reads time and hands it to the core.

use sockwire_core::time::Instant;

/// A monotonic clock whose epoch is its creation.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: std::time::Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Self {
        Clock {
            start: std::time::Instant::now(),
        }
    }

    /// Milliseconds since the clock started, as the core's [`Instant`].
    pub fn now(&self) -> Instant {
        Instant(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// How long from now until `deadline`, zero when it has passed.
    pub fn until(&self, deadline: Instant) -> std::time::Duration {
        std::time::Duration::from_millis(deadline.millis_since(self.now()))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
