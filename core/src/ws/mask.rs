//! Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, resumable at any offset.

/// XORs `buf` with `key` in place, as if `buf` started `offset` bytes into the payload.
///
/// Masking and unmasking are the same operation. A payload can be processed chunk by
/// chunk: pass the number of payload bytes already processed as `offset`.
///
/// ```
/// use sockwire_core::ws::mask::apply_mask;
/// let key = [1, 2, 3, 4];
/// let mut whole = *b"hello, world";
/// apply_mask(&mut whole, key, 0);
/// let mut parts = *b"hello, world";
/// let (a, b) = parts.split_at_mut(5);
/// apply_mask(a, key, 0);
/// apply_mask(b, key, 5);
/// assert_eq!(whole, parts);
/// ```
#[inline]
#[allow(
    clippy::indexing_slicing,
    reason = "indices are taken modulo the 4-byte key length"
)]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let mut k = key;
    k.rotate_left(offset % 4);
    if buf.len() < 16 {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= k[i % 4];
        }
        return;
    }
    apply_mask_wide(buf, k);
}

/// The bulk path: 64-byte blocks XORed with a 64-byte repetition of the key, which LLVM
/// turns into vector XORs, then 8-byte words, then single bytes.
#[inline(never)]
#[allow(
    clippy::indexing_slicing,
    reason = "indices are taken modulo the 4-byte key length"
)]
fn apply_mask_wide(buf: &mut [u8], k: [u8; 4]) {
    let mut wide = [0u8; 64];
    for (i, w) in wide.iter_mut().enumerate() {
        *w = k[i % 4];
    }
    let mut blocks = buf.chunks_exact_mut(64);
    for block in &mut blocks {
        for (b, m) in block.iter_mut().zip(wide.iter()) {
            *b ^= *m;
        }
    }
    let rest = blocks.into_remainder();
    let key64 = u64::from_ne_bytes([k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]]);
    let mut words = rest.chunks_exact_mut(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        word.copy_from_slice(&(u64::from_ne_bytes(w) ^ key64).to_ne_bytes());
    }
    // 8 is a multiple of 4, so the key phase is unchanged for the tail.
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= k[i % 4];
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    proptest! {
        #[test]
        fn matches_naive_at_any_split(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            key: [u8; 4],
            split in 0usize..300,
        ) {
            let mut expected = data.clone();
            naive(&mut expected, key, 0);
            let mut got: Vec<u8> = data.clone();
            let split = split.min(got.len());
            let (a, b) = got.split_at_mut(split);
            apply_mask(a, key, 0);
            apply_mask(b, key, split);
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn involution() {
        let mut d: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let orig = d.clone();
        apply_mask(&mut d, [9, 8, 7, 6], 3);
        assert_ne!(d, orig);
        apply_mask(&mut d, [9, 8, 7, 6], 3);
        assert_eq!(d, orig);
    }
}
