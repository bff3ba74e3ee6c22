//! [`Outbox`]: units an adapter built ahead of its machine's own output.

extern crate std;

use crate::buf::BufferTooSmall;
use crate::machine::Machine;
use crate::time::Instant;
use core::convert::Infallible;
use std::collections::VecDeque;
use std::vec::Vec;

/// Units built ahead of a machine's own output (frames its builder methods encoded into
/// caller buffers, a prelude), sent first and in order. As a machine of its own it has
/// no timers and never ends.
#[derive(Debug, Clone, Default)]
pub struct Outbox(VecDeque<Vec<u8>>);

impl Outbox {
    /// Queues `unit` (nothing when it is empty).
    pub fn push(&mut self, unit: Vec<u8>) {
        if !unit.is_empty() {
            self.0.push_back(unit);
        }
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes the next unit into `out`: `None` when none waits; it stays queued when
    /// `out` is too small.
    pub fn pop(&mut self, out: &mut [u8]) -> Option<Result<usize, BufferTooSmall>> {
        let unit = self.0.front()?;
        let dst = match out.get_mut(..unit.len()) {
            Some(dst) => dst,
            None => return Some(Err(BufferTooSmall { needed: unit.len() })),
        };
        dst.copy_from_slice(unit);
        let n = unit.len();
        self.0.pop_front();
        Some(Ok(n))
    }
}

impl Machine for Outbox {
    type TimeoutEvent = Infallible;

    fn poll_transmit(
        &mut self,
        _now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.pop(out).transpose()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn handle_timeout(&mut self, _now: Instant) -> Option<Infallible> {
        None
    }

    fn is_closed(&self) -> bool {
        false
    }
}
