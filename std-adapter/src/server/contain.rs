//! Keeps a panic in application code inside the session it was handling.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs application code (`what` names it in the log); `None` when it panicked. The
/// caller then ends the one session the code was handling, with the protocol's answer
/// for an internal error, and never calls that code for the session again: what state
/// it left half-changed is not looked at (hence [`AssertUnwindSafe`]).
pub fn contain<R>(what: &str, f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            log::error!("{what} panicked: {text}: its session is closed");
            None
        }
    }
}
