//! Appending the core's output to a growable write buffer.

use sockwire_core::buf::BufferTooSmall;
use sockwire_core::http::WriteError;
use sockwire_core::machine::Machine;
use sockwire_core::time::Instant;
use sockwire_core::ws::{Connection, DataKind, Fragment, SendError};

/// The largest control frame on the wire: 2 header bytes, a 4-byte mask, 125 payload bytes.
const MAX_CONTROL_FRAME: usize = 2 + 4 + 125;

/// Appends one complete data frame carrying `payload` to `out`.
pub fn push_frame(
    conn: &mut Connection,
    now: Instant,
    kind: DataKind,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), SendError> {
    push_fragment(conn, now, Fragment::Whole(kind), payload, out)
}

/// Appends one data frame, a fragment of a message, to `out`.
pub fn push_fragment(
    conn: &mut Connection,
    now: Instant,
    fragment: Fragment,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), SendError> {
    let start = out.len();
    // A frame header is at most 14 bytes (2 + 8 length + 4 mask).
    out.resize(start + payload.len() + 14, 0);
    match conn.send(now, fragment, payload, &mut out[start..]) {
        Ok(n) => {
            out.truncate(start + n);
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Appends every control frame the connection owes (pongs, close) to `out`.
pub fn drain_transmit(conn: &mut Connection, now: Instant, out: &mut Vec<u8>) {
    loop {
        let start = out.len();
        out.resize(start + MAX_CONTROL_FRAME, 0);
        match conn.poll_transmit(now, &mut out[start..]) {
            Ok(Some(n)) => out.truncate(start + n),
            Ok(None) | Err(_) => {
                out.truncate(start);
                return;
            }
        }
    }
}

/// Errors that say how large a buffer would have been enough.
pub trait NeededSize {
    /// The size needed, when the error is about size.
    fn needed(&self) -> Option<usize>;
}

impl NeededSize for BufferTooSmall {
    fn needed(&self) -> Option<usize> {
        Some(self.needed)
    }
}

impl NeededSize for WriteError {
    fn needed(&self) -> Option<usize> {
        match self {
            WriteError::BufferTooSmall(e) => Some(e.needed),
            _ => None,
        }
    }
}

/// Appends what `encode` writes to `out`, growing it to the size the encoder asks for.
/// On any other error nothing is appended.
pub fn write_into<E: NeededSize>(
    out: &mut Vec<u8>,
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
) -> Result<(), E> {
    let start = out.len();
    let mut room = 1024;
    loop {
        out.resize(start + room, 0);
        match encode(&mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                return Ok(());
            }
            Err(e) => match e.needed() {
                Some(needed) if needed > room => room = needed,
                _ => {
                    out.truncate(start);
                    return Err(e);
                }
            },
        }
    }
}
