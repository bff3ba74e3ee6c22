//! Whose turn it is: readers that yield to the others, publishers paused by the output
//! budget and peers shed when it is spent, the queue journal's group commit, and the
//! housekeeping (SockJS timers, giving memory back) between turns.

use std::sync::atomic::Ordering;

use super::{Conn, Ctx, HubCtx, Next, Worker};
use crate::server::sockjs::Registry;

/// Reads of one connection in a row (each up to the connection's read budget) before
/// the worker turns to the others.
const READ_ROUNDS: usize = 4;

impl Worker {
    /// Runs the SockJS sessions' timers (at most once a second).
    pub(super) fn sweep(&mut self) {
        let now = self.shared.clock.now();
        let shared = self.shared.clone();
        if let Some(h) = self.hub.as_mut() {
            if h.registry.is_empty() {
                // Nothing left queued in sessions that are gone.
                shared.stats.sockjs_queued_bytes.store(0, Ordering::Relaxed);
                shared.stats.sockjs_sessions.store(0, Ordering::Relaxed);
                return;
            }
            if !h.registry.sweep_due(now) {
                return;
            }
            let mut ctx = HubCtx {
                hub: &mut h.hub,
                registry: &mut h.registry,
                conns: &mut self.conns,
                dirty: &mut self.dirty,
            };
            let before = ctx.registry.len();
            Registry::sweep(&mut ctx, &shared.stats, now);
            self.trim.ended(before.saturating_sub(ctx.registry.len()));
        }
        self.flush_dirty(now);
    }

    /// Gives the memory of ended sessions back to the system once enough have ended,
    /// and lets the tables that held them shrink.
    pub(super) fn trim(&mut self) {
        let now = self.shared.clock.now();
        if self.trim.deadline(now).is_none_or(|t| t > now) {
            return;
        }
        if let Some(h) = self.hub.as_mut() {
            h.registry.shrink();
            shrink_map(&mut h.hub.sessions);
        }
        while self.conns.last().is_some_and(Option::is_none) {
            self.conns.pop();
        }
        let live = self.conns.len();
        self.free.retain(|&slot| slot < live);
        if self.conns.capacity() > 64 && live < self.conns.capacity() / 4 {
            self.conns.shrink_to(live * 2);
            self.free.shrink_to(live * 2);
        }
        self.trim.run(now);
    }

    /// Runs `step` on a connection, then writes what it caused on others. A STOMP reader
    /// yields after each read that delivered something; it is run again until its socket
    /// is drained or the server-wide output budget is spent.
    pub(super) fn run_conn(
        &mut self,
        slot: usize,
        step: impl FnOnce(&mut Conn, &mut Vec<u8>, &mut Ctx<'_>) -> Next,
    ) {
        if !self.step_once(slot, step) {
            return;
        }
        let mut rounds = 0;
        while self.has_more_to_read(slot) {
            let budget = self.shared.config.max_total_queued_bytes;
            if self.shared.stats.output_bytes() > budget {
                // Backpressure: the publisher waits (its TCP window fills) until the
                // subscribers' output drains.
                self.blocked.push(slot);
                return;
            }
            if rounds == READ_ROUNDS {
                // Its turn is over: the others run before it reads again.
                if let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) {
                    if !c.yielded {
                        c.yielded = true;
                        self.ready.push(slot);
                    }
                }
                return;
            }
            rounds += 1;
            if !self.step_once(slot, |c, scratch, ctx| c.on_readable(scratch, ctx)) {
                return;
            }
        }
    }

    pub(super) fn has_more_to_read(&self, slot: usize) -> bool {
        self.conns
            .get(slot)
            .and_then(Option::as_ref)
            .is_some_and(|c| c.more_to_read)
    }

    /// Group commit: one sync of the queue journal for everything read since the last,
    /// then the output that waited for it.
    pub(super) fn sync_journal(&mut self) {
        let Some(h) = self.hub.as_mut() else {
            return;
        };
        h.hub.sync_journal();
        for slot in std::mem::take(&mut h.hub.awaiting_sync) {
            self.run_conn(slot, |c, _, ctx| {
                c.awaiting_sync = false;
                c.on_output(ctx)
            });
        }
    }

    /// Gives the readers that yielded their next turn.
    pub(super) fn serve_ready(&mut self) {
        for slot in std::mem::take(&mut self.ready) {
            if let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) {
                c.yielded = false;
            }
            if self.has_more_to_read(slot) {
                self.run_conn(slot, |c, scratch, ctx| c.on_readable(scratch, ctx));
            }
        }
    }

    /// While queued output is over the server-wide budget, closes this worker's
    /// connections that hold more than a session's share and do not read it (checked four
    /// times a second): one peer that does not read must not stall the publishers of all.
    pub(super) fn shed(&mut self) {
        let shared = self.shared.clone();
        let config = &shared.config;
        if self.shared.stats.output_bytes() <= config.max_total_queued_bytes {
            self.next_shed = None;
            return;
        }
        let now = self.shared.clock.now();
        if self.next_shed.is_some_and(|t| t > now) {
            return;
        }
        self.next_shed = Some(now.add_millis(250));
        for slot in 0..self.conns.len() {
            let hogs = self
                .conns
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.hogs(now, config));
            if hogs {
                self.run_conn(slot, |c, _, ctx| c.shed(ctx));
            }
        }
    }

    /// Resumes publishers stopped by the budget once queued output has halved.
    pub(super) fn resume_blocked(&mut self) {
        let queued = self.shared.stats.output_bytes();
        if self.blocked.is_empty() || queued > self.shared.config.max_total_queued_bytes / 2 {
            return;
        }
        for slot in std::mem::take(&mut self.blocked) {
            self.run_conn(slot, |c, scratch, ctx| c.on_readable(scratch, ctx));
        }
    }
}

/// Lets a map that held many more entries than it does now give back its room.
fn shrink_map<K: std::hash::Hash + Eq, V>(map: &mut std::collections::HashMap<K, V>) {
    if map.capacity() > 64 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}
