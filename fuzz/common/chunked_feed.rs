//! Feeds a head to a handshake in growing prefixes whose steps the fuzzer chooses.

/// Calls `feed` with ever longer prefixes of `wire`, each step 1 to 32 octets as
/// `chunk_seed` says, until `feed` finds the end of the head (`Ok(Some(len))`), fails,
/// or has seen all of `wire` without finding it (`Ok(None)`).
pub fn feed_in_chunks<E>(
    wire: &[u8],
    chunk_seed: u8,
    mut feed: impl FnMut(&[u8]) -> Result<Option<usize>, E>,
) -> Result<Option<usize>, E> {
    let mut end = 0;
    let mut step = 0usize;
    loop {
        let size = usize::from((chunk_seed >> (step % 8)) & 0x1f) + 1;
        step += 1;
        end = (end + size).min(wire.len());
        match feed(&wire[..end]) {
            Ok(None) if end < wire.len() => continue,
            result => return result,
        }
    }
}
