//! Growable storage for the core's broker: the std adapter's answer to the fixed-capacity
//! stores a microcontroller uses.

mod durable;
mod in_flight;
mod journal;
mod store;

pub use durable::DurableInFlight;
pub use in_flight::VecInFlight;
pub use journal::{Journal, Recovered};
pub use store::VecStore;

use sockwire_core::broker::DestinationText;

/// The destination as an owned string (it is built from UTF-8 parts).
pub(crate) fn destination_string(d: DestinationText<'_>) -> String {
    let bytes: Vec<u8> = d.bytes().collect();
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
