//! Incremental UTF-8 validation across chunks and frames.
//!
//! A text message arrives in pieces that may split a code point anywhere. The
//! [`Utf8Validator`] validates each piece as it arrives (SIMD-accelerated by simdutf8
//! where the target allows), carries an incomplete trailing code point (at most 3 bytes)
//! to the next piece, and fails as soon as a byte is seen that no continuation could make
//! valid ("fail fast").
//!
//! Bulk validation uses simdutf8 when the target has the SIMD it needs at compile time
//! (x86 with AVX2 or SSE4.2, aarch64). Without them (e.g. plain `x86_64`, where simdutf8
//! without `std` cannot detect CPU features at run time and falls back to
//! `core::str::from_utf8`), a branch-free shift-based DFA with an ASCII fast path is used,
//! which is several times faster than that fallback on mixed text.

use simdutf8::compat;

/// The input is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InvalidUtf8;

/// Validates a UTF-8 byte stream fed in arbitrary pieces.
///
/// ```
/// use sockwire_core::ws::utf8::Utf8Validator;
/// let mut v = Utf8Validator::new();
/// let bytes = "κόσμε".as_bytes();
/// v.feed(&bytes[..3]).unwrap(); // splits "ό"
/// v.feed(&bytes[3..]).unwrap();
/// v.finish().unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

/// The sequence length announced by a lead byte; 0 for a byte that cannot lead one.
#[inline]
const fn width(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

/// Where an incomplete code point at the end of `chunk` starts (`chunk.len()` if none).
#[inline]
fn incomplete_tail_start(chunk: &[u8]) -> usize {
    let len = chunk.len();
    for back in 1..=len.min(3) {
        let i = len - back;
        let b = chunk.get(i).copied().unwrap_or(0);
        if b & 0xC0 == 0x80 {
            continue;
        }
        return if width(b) > back { i } else { len };
    }
    len
}

/// Whether `bytes` is a valid but incomplete prefix of a code point.
#[inline]
fn is_valid_prefix(bytes: &[u8]) -> bool {
    matches!(compat::from_utf8(bytes), Err(e) if e.error_len().is_none() && e.valid_up_to() == 0)
}

/// Whether `bytes` is entirely valid UTF-8 (bulk path, SIMD when compiled in).
#[cfg(any(
    target_feature = "avx2",
    target_feature = "sse4.2",
    target_arch = "aarch64"
))]
#[inline]
pub(crate) fn is_valid(bytes: &[u8]) -> bool {
    simdutf8::basic::from_utf8(bytes).is_ok()
}

/// Whether `bytes` is entirely valid UTF-8 (bulk path, portable DFA).
#[cfg(not(any(
    target_feature = "avx2",
    target_feature = "sse4.2",
    target_arch = "aarch64"
)))]
#[inline]
pub(crate) fn is_valid(bytes: &[u8]) -> bool {
    dfa::is_valid(bytes)
}

/// A shift-based UTF-8 DFA: each state is a bit offset (a multiple of 6) into a 64-bit
/// row per input byte, so a step is one table load (independent of the state) and one
/// shift, with no branches. States past the end of a row wrap harmlessly because shifts
/// use the low 6 bits only.
#[cfg_attr(
    any(
        target_feature = "avx2",
        target_feature = "sse4.2",
        target_arch = "aarch64"
    ),
    allow(dead_code)
)]
mod dfa {
    const ACCEPT: u64 = 0;
    const REJECT: u64 = 6;
    const C1: u64 = 12;
    const C2: u64 = 18;
    const C3: u64 = 24;
    const E0: u64 = 30;
    const ED: u64 = 36;
    const F0: u64 = 42;
    const F4: u64 = 48;
    const STATES: [u64; 9] = [ACCEPT, REJECT, C1, C2, C3, E0, ED, F0, F4];

    const fn set(row: u64, from: u64, to: u64) -> u64 {
        (row & !(63 << from)) | (to << from)
    }

    #[allow(
        clippy::indexing_slicing,
        reason = "loop indices stay below the array length"
    )]
    const fn row(b: u8) -> u64 {
        let mut r = 0u64;
        let mut i = 0;
        while i < STATES.len() {
            r = set(r, STATES[i], REJECT);
            i += 1;
        }
        match b {
            0x00..=0x7F => set(r, ACCEPT, ACCEPT),
            0x80..=0xBF => {
                r = set(r, C1, ACCEPT);
                r = set(r, C2, C1);
                r = set(r, C3, C2);
                if b <= 0x9F {
                    r = set(r, ED, C1);
                } else {
                    r = set(r, E0, C1);
                }
                if b <= 0x8F {
                    r = set(r, F4, C2);
                } else {
                    r = set(r, F0, C2);
                }
                r
            }
            0xC2..=0xDF => set(r, ACCEPT, C1),
            0xE0 => set(r, ACCEPT, E0),
            0xED => set(r, ACCEPT, ED),
            0xE1..=0xEF => set(r, ACCEPT, C2),
            0xF0 => set(r, ACCEPT, F0),
            0xF1..=0xF3 => set(r, ACCEPT, C3),
            0xF4 => set(r, ACCEPT, F4),
            _ => r,
        }
    }

    #[allow(
        clippy::indexing_slicing,
        reason = "loop indices stay below the array length"
    )]
    const fn table() -> [u64; 256] {
        let mut t = [0u64; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = row(b as u8);
            b += 1;
        }
        t
    }

    static TABLE: [u64; 256] = table();

    #[inline(always)]
    #[allow(clippy::indexing_slicing, reason = "a byte indexes a 256-entry table")]
    fn step(state: u64, b: u8) -> u64 {
        TABLE[usize::from(b)].wrapping_shr(state as u32)
    }

    /// Whether 16 bytes are all ASCII.
    #[inline(always)]
    fn ascii16(chunk: &[u8]) -> bool {
        let mut a = [0u8; 16];
        a.copy_from_slice(chunk);
        u128::from_ne_bytes(a) & 0x8080_8080_8080_8080_8080_8080_8080_8080 == 0
    }

    /// Whether `bytes` is valid UTF-8 (complete: no code point left open).
    pub(super) fn is_valid(bytes: &[u8]) -> bool {
        let mut s = ACCEPT;
        let mut chunks = bytes.chunks_exact(16);
        for chunk in &mut chunks {
            if s & 63 == ACCEPT && ascii16(chunk) {
                continue;
            }
            for &b in chunk {
                s = step(s, b);
            }
        }
        for &b in chunks.remainder() {
            s = step(s, b);
        }
        s & 63 == ACCEPT
    }
}

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
        }
    }

    /// Forgets any carried bytes, ready for a new stream.
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }

    /// Whether no incomplete code point is being carried.
    pub fn is_complete(&self) -> bool {
        self.partial_len == 0
    }

    /// Validates the next piece of the stream.
    ///
    /// Fails at the first byte that makes the stream invalid, including a trailing
    /// sequence that is already invalid although incomplete.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let lead = self.partial.first().copied().unwrap_or(0);
            let need = width(lead).saturating_sub(have);
            let take = need.min(chunk.len());
            let (head, rest) = chunk.split_at(take);
            let end = have + take;
            let slot = self.partial.get_mut(have..end).ok_or(InvalidUtf8)?;
            slot.copy_from_slice(head);
            let seq = self.partial.get(..end).ok_or(InvalidUtf8)?;
            match compat::from_utf8(seq) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() && rest.is_empty() => {
                    self.partial_len = end as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            chunk = rest;
        }
        let tail_start = incomplete_tail_start(chunk);
        let (body, tail) = chunk.split_at(tail_start);
        if !is_valid(body) {
            return Err(InvalidUtf8);
        }
        if !tail.is_empty() {
            if !is_valid_prefix(tail) {
                return Err(InvalidUtf8);
            }
            let slot = self.partial.get_mut(..tail.len()).ok_or(InvalidUtf8)?;
            slot.copy_from_slice(tail);
            self.partial_len = tail.len() as u8;
        }
        Ok(())
    }

    /// Ends the stream: fails if a code point was left incomplete. Resets the validator.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    fn feed_all(parts: &[&[u8]]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        for p in parts {
            v.feed(p)?;
        }
        v.finish()
    }

    #[test]
    fn split_code_points() {
        let s = "a€𝄞κ".as_bytes();
        for i in 0..=s.len() {
            for j in i..=s.len() {
                assert_eq!(feed_all(&[&s[..i], &s[i..j], &s[j..]]), Ok(()));
            }
        }
    }

    #[test]
    fn fail_fast_on_incomplete_but_invalid() {
        let mut v = Utf8Validator::new();
        // F4 90 can never be valid (above U+10FFFF).
        assert_eq!(v.feed(&[b'a', 0xF4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[b'a', 0xF4, 0x90]), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xED, 0xA0]), Err(InvalidUtf8)); // surrogate
    }

    #[test]
    fn incomplete_at_end() {
        assert_eq!(feed_all(&[&[0xE2, 0x82]]), Err(InvalidUtf8));
        assert_eq!(feed_all(&[&[0xE2], &[0x82]]), Err(InvalidUtf8));
        assert_eq!(feed_all(&[&[0xE2], &[0x82], &[0xAC]]), Ok(()));
    }

    #[test]
    fn invalid_bytes() {
        assert_eq!(feed_all(&[&[0xFF]]), Err(InvalidUtf8));
        assert_eq!(feed_all(&[&[0x80]]), Err(InvalidUtf8));
        assert_eq!(feed_all(&[&[0xC0, 0x80]]), Err(InvalidUtf8));
        assert_eq!(feed_all(&[&[0xE2], &[0x28]]), Err(InvalidUtf8));
    }

    #[test]
    fn dfa_exhaustive_short_sequences() {
        let mut buf = [0u8; 3];
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(
                    dfa::is_valid(&[a, b]),
                    core::str::from_utf8(&[a, b]).is_ok()
                );
                if a >= 0xE0 {
                    for c in 0x70..=0xC0u8 {
                        buf = [a, b, c];
                        assert_eq!(dfa::is_valid(&buf), core::str::from_utf8(&buf).is_ok());
                    }
                }
            }
        }
        let _ = buf;
    }

    proptest! {
        #[test]
        fn agrees_with_core(data in proptest::collection::vec(any::<u8>(), 0..64), cuts in proptest::collection::vec(0usize..64, 0..6)) {
            let expected = core::str::from_utf8(&data).is_ok();
            let mut cuts: std::vec::Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut v = Utf8Validator::new();
            let mut prev = 0;
            let mut ok = true;
            for c in cuts.iter().copied().chain(core::iter::once(data.len())) {
                if v.feed(&data[prev..c]).is_err() { ok = false; break; }
                prev = c;
            }
            if ok { ok = v.finish().is_ok(); }
            prop_assert_eq!(ok, expected);
        }

        #[test]
        fn dfa_agrees_with_core(data in proptest::collection::vec(prop_oneof![any::<u8>(), 0u8..0x80, 0x80u8..0xC0], 0..80)) {
            prop_assert_eq!(dfa::is_valid(&data), core::str::from_utf8(&data).is_ok());
        }

        #[test]
        fn valid_text_any_split(s in "\\PC{0,40}", cut in 0usize..200) {
            let b = s.as_bytes();
            let cut = cut.min(b.len());
            prop_assert_eq!(feed_all(&[&b[..cut], &b[cut..]]), Ok(()));
        }
    }
}
