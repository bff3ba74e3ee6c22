//! Draining what a machine owes into a write buffer.

use sockwire_core::machine::Machine;
use sockwire_core::time::Instant;

/// The room offered to one `poll_transmit` at first.
const CHUNK: usize = 16 * 1024;

/// Appends what `machine` owes at `now` to `out`, until nothing is owed or `out` holds at
/// least `max` bytes. A unit larger than the room offered is retried with the room the
/// machine says it needs.
pub fn collect(machine: &mut impl Machine, now: Instant, out: &mut Vec<u8>, max: usize) {
    let mut room = CHUNK;
    while out.len() < max {
        let start = out.len();
        out.resize(start.saturating_add(room), 0);
        let polled = match out.get_mut(start..) {
            Some(spare) => machine.poll_transmit(now, spare),
            None => Ok(None),
        };
        match polled {
            Ok(Some(n)) if n > 0 => out.truncate(start.saturating_add(n)),
            Ok(_) => {
                out.truncate(start);
                return;
            }
            Err(too_small) if too_small.needed > room => {
                out.truncate(start);
                room = too_small.needed;
            }
            Err(_) => {
                out.truncate(start);
                return;
            }
        }
    }
}
