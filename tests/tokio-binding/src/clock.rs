//! [`Clock`]: the core's time (milliseconds since the server started) from tokio's.

use sockwire_core::time::Instant;

/// Converts between tokio's monotonic clock and the core's [`Instant`]s.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: tokio::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn start() -> Self {
        Clock {
            start: tokio::time::Instant::now(),
        }
    }

    /// Milliseconds since the epoch.
    pub fn now(&self) -> Instant {
        let ms = self.start.elapsed().as_millis();
        Instant(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// When a core deadline falls, for `tokio::time::sleep_until`.
    pub fn deadline(&self, at: Instant) -> tokio::time::Instant {
        let later = std::time::Duration::from_millis(at.as_millis());
        self.start.checked_add(later).unwrap_or_else(far_future)
    }
}

/// A deadline that never comes in practice (a year from now).
fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(365 * 24 * 3600)
}

/// Sleeps until `at`, or forever when it is `None`.
pub async fn sleep_until(clock: &Clock, at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(clock.deadline(at)).await,
        None => std::future::pending().await,
    }
}
