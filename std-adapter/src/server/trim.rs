//! Giving the memory of ended sessions back to the system.
//!
//! Freed memory goes back to the allocator, not always to the system: glibc's malloc
//! keeps free chunks inside its heaps (one per thread) and returns only the top of one,
//! so a server that held 10,000 sessions kept their pages resident after they ended.
//! Once enough sessions or connections have ended, a worker asks the allocator to return
//! every free page (`malloc_trim`), at most once a second.

use sockwire_core::time::Instant;

/// Ended sessions and connections that make a trim worth its cost (it walks the heaps).
const AFTER_ENDED: usize = 64;

/// The least time between two trims, in milliseconds.
const EVERY_MS: u64 = 1000;

/// When a worker next gives free memory back.
#[derive(Debug, Default)]
pub(super) struct Trim {
    ended: usize,
    last: Option<Instant>,
}

impl Trim {
    /// `n` sessions or connections ended.
    pub fn ended(&mut self, n: usize) {
        self.ended = self.ended.saturating_add(n);
    }

    /// When [`Trim::run`] has work to do, if it has.
    pub fn deadline(&self, now: Instant) -> Option<Instant> {
        (self.ended >= AFTER_ENDED).then(|| self.last.map_or(now, |t| t.add_millis(EVERY_MS)))
    }

    /// Gives free memory back if enough ended and the last trim is long enough ago;
    /// returns whether it did.
    pub fn run(&mut self, now: Instant) -> bool {
        if self.deadline(now).is_none_or(|t| t > now) {
            return false;
        }
        self.ended = 0;
        self.last = Some(now);
        release_free_memory();
        true
    }
}

/// Asks the allocator to return its free pages to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    // SAFETY: `malloc_trim` takes no pointer and may be called from any thread at any
    // time; glibc locks each arena while it trims it.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory on their own (or not at all): nothing to ask.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_after_enough_ended_at_most_once_a_second() {
        let mut t = Trim::default();
        t.ended(AFTER_ENDED - 1);
        assert_eq!(t.deadline(Instant(0)), None);
        assert!(!t.run(Instant(0)));
        t.ended(1);
        assert_eq!(t.deadline(Instant(5)), Some(Instant(5)));
        assert!(t.run(Instant(5)));
        t.ended(AFTER_ENDED);
        assert_eq!(t.deadline(Instant(6)), Some(Instant(1005)));
        assert!(!t.run(Instant(6)));
        assert!(t.run(Instant(1005)));
        assert_eq!(t.deadline(Instant(1006)), None);
    }
}
