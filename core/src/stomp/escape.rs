//! Header escaping: STOMP 1.0 has none, 1.1 escapes line feed, `:` and backslash
//! (`\n`, `\c`, `\\`), 1.2 adds carriage return (`\r`). `CONNECT`, `STOMP` and
//! `CONNECTED` frames are never escaped, whatever the version.
//!
//! Decoding is lazy: a header stays as it was on the wire and is compared or copied out
//! unescaped on demand, without allocating.

use super::{Command, Version};
use crate::buf::{BufferTooSmall, Writer};

/// The escaping rules that apply to one frame's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Escaping {
    /// Headers are taken literally (STOMP 1.0, and `CONNECT`/`STOMP`/`CONNECTED` frames).
    None,
    /// STOMP 1.1: `\n`, `\c`, `\\`.
    V1_1,
    /// STOMP 1.2: `\r`, `\n`, `\c`, `\\`.
    V1_2,
}

impl Escaping {
    /// The rules for a frame with `command` in a session speaking `version`.
    ///
    /// ```
    /// use sockwire_core::stomp::{Command, Escaping, Version};
    /// assert_eq!(Escaping::for_frame(Version::V1_2, Command::Send), Escaping::V1_2);
    /// assert_eq!(Escaping::for_frame(Version::V1_2, Command::Connect), Escaping::None);
    /// ```
    pub const fn for_frame(version: Version, command: Command) -> Escaping {
        if command.is_handshake() {
            return Escaping::None;
        }
        match version {
            Version::V1_0 => Escaping::None,
            Version::V1_1 => Escaping::V1_1,
            Version::V1_2 => Escaping::V1_2,
        }
    }

    /// The octet an escape `\x` stands for, `None` when undefined under these rules.
    const fn unescape(self, x: u8) -> Option<u8> {
        match (self, x) {
            (Escaping::None, _) => None,
            (_, b'n') => Some(b'\n'),
            (_, b'c') => Some(b':'),
            (_, b'\\') => Some(b'\\'),
            (Escaping::V1_2, b'r') => Some(b'\r'),
            _ => None,
        }
    }
}

/// A header uses an escape sequence its rules do not define; `offset` is the backslash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InvalidEscape {
    /// Position of the backslash in the raw header.
    pub offset: usize,
}

/// Iterator over the unescaped octets of a raw header.
#[derive(Debug, Clone)]
pub struct Unescape<'a> {
    raw: &'a [u8],
    pos: usize,
    escaping: Escaping,
}

impl<'a> Unescape<'a> {
    /// Unescapes `raw` under `escaping`.
    pub fn new(raw: &'a [u8], escaping: Escaping) -> Self {
        Unescape {
            raw,
            pos: 0,
            escaping,
        }
    }
}

impl Iterator for Unescape<'_> {
    type Item = Result<u8, InvalidEscape>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = *self.raw.get(self.pos)?;
        if b != b'\\' || self.escaping == Escaping::None {
            self.pos += 1;
            return Some(Ok(b));
        }
        let offset = self.pos;
        match self
            .raw
            .get(offset + 1)
            .and_then(|&x| self.escaping.unescape(x))
        {
            Some(out) => {
                self.pos += 2;
                Some(Ok(out))
            }
            None => {
                // Stop for good after an error.
                self.pos = self.raw.len();
                Some(Err(InvalidEscape { offset }))
            }
        }
    }
}

/// Checks that `raw` uses only escapes `escaping` defines.
pub fn validate(raw: &[u8], escaping: Escaping) -> Result<(), InvalidEscape> {
    if escaping == Escaping::None || !raw.contains(&b'\\') {
        return Ok(());
    }
    Unescape::new(raw, escaping).try_for_each(|r| r.map(drop))
}

/// The length of `raw` once unescaped.
pub fn unescaped_len(raw: &[u8], escaping: Escaping) -> Result<usize, InvalidEscape> {
    Unescape::new(raw, escaping).try_fold(0usize, |n, r| r.map(|_| n + 1))
}

/// Whether `raw`, unescaped, equals `plain` (false when `raw` is invalid).
pub fn unescaped_eq(raw: &[u8], escaping: Escaping, plain: &[u8]) -> bool {
    if escaping == Escaping::None || !raw.contains(&b'\\') {
        return raw == plain;
    }
    let mut it = Unescape::new(raw, escaping);
    for &p in plain {
        match it.next() {
            Some(Ok(b)) if b == p => {}
            _ => return false,
        }
    }
    it.next().is_none()
}

/// Why [`unescape_into`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum UnescapeError {
    /// An undefined escape sequence.
    InvalidEscape(InvalidEscape),
    /// `out` is too small; `needed` is the unescaped length.
    BufferTooSmall(BufferTooSmall),
}

/// Unescapes `raw` into `out`, returning the written part.
///
/// ```
/// use sockwire_core::stomp::{unescape_into, Escaping};
/// let mut out = [0u8; 16];
/// assert_eq!(unescape_into(br"a\cb\nc", Escaping::V1_2, &mut out), Ok(&b"a:b\nc"[..]));
/// ```
pub fn unescape_into<'o>(
    raw: &[u8],
    escaping: Escaping,
    out: &'o mut [u8],
) -> Result<&'o [u8], UnescapeError> {
    let needed = unescaped_len(raw, escaping).map_err(UnescapeError::InvalidEscape)?;
    let dst = out
        .get_mut(..needed)
        .ok_or(UnescapeError::BufferTooSmall(BufferTooSmall { needed }))?;
    for (slot, b) in dst.iter_mut().zip(Unescape::new(raw, escaping)) {
        *slot = b.map_err(UnescapeError::InvalidEscape)?;
    }
    Ok(dst)
}

/// Whether a header part is a name (ends at `:`) or a value (ends at the end of line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HeaderPart {
    /// A header name.
    Name,
    /// A header value.
    Value,
}

/// The plain octets cannot be written under the frame's escaping without changing
/// meaning (see [`EncodeError::InvalidHeader`](super::EncodeError::InvalidHeader)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Unrepresentable;

/// Writes the plain octets `plain` escaped under `escaping`.
///
/// Fails, having possibly written part of it, when the octets cannot be represented: an
/// empty name, NUL anywhere, and where there is no escape for them a line feed, a `:`
/// in a name, or a carriage return ending a value (decoders drop a CR before LF).
pub fn escape_into<I>(
    plain: I,
    escaping: Escaping,
    part: HeaderPart,
    w: &mut Writer<'_>,
) -> Result<(), Unrepresentable>
where
    I: IntoIterator<Item = u8>,
{
    let mut last = None;
    for b in plain {
        match (b, escaping) {
            (0, _) => return Err(Unrepresentable),
            (b'\n', Escaping::None) => return Err(Unrepresentable),
            (b':', Escaping::None) if part == HeaderPart::Name => return Err(Unrepresentable),
            (b'\n', _) => w.put(b"\\n"),
            (b':', Escaping::V1_1 | Escaping::V1_2) => w.put(b"\\c"),
            (b'\\', Escaping::V1_1 | Escaping::V1_2) => w.put(b"\\\\"),
            (b'\r', Escaping::V1_2) => w.put(b"\\r"),
            (b, _) => w.put(&[b]),
        }
        last = Some(b);
    }
    match (last, part) {
        (None, HeaderPart::Name) => Err(Unrepresentable),
        (Some(b'\r'), HeaderPart::Value) if escaping != Escaping::V1_2 => Err(Unrepresentable),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unescape(raw: &[u8], e: Escaping) -> Result<([u8; 64], usize), UnescapeError> {
        let mut out = [0u8; 64];
        let n = unescape_into(raw, e, &mut out)?.len();
        Ok((out, n))
    }

    fn escape(plain: &[u8], e: Escaping, part: HeaderPart) -> Option<([u8; 64], usize)> {
        let mut out = [0u8; 64];
        let mut w = Writer::new(&mut out);
        escape_into(plain.iter().copied(), e, part, &mut w).ok()?;
        let n = w.finish().ok()?;
        Some((out, n))
    }

    #[test]
    fn v1_2_escapes() {
        let (out, n) = unescape(br"a\r\n\c\\b", Escaping::V1_2).unwrap();
        assert_eq!(&out[..n], b"a\r\n:\\b");
    }

    #[test]
    fn v1_1_has_no_cr_escape() {
        let (out, n) = unescape(br"\n\c\\", Escaping::V1_1).unwrap();
        assert_eq!(&out[..n], b"\n:\\");
        assert_eq!(
            unescape(br"a\rb", Escaping::V1_1),
            Err(UnescapeError::InvalidEscape(InvalidEscape { offset: 1 }))
        );
    }

    #[test]
    fn v1_0_is_literal() {
        let (out, n) = unescape(br"a\t\n\", Escaping::None).unwrap();
        assert_eq!(&out[..n], br"a\t\n\");
        assert_eq!(validate(br"\q", Escaping::None), Ok(()));
    }

    #[test]
    fn undefined_escapes_are_errors() {
        for e in [Escaping::V1_1, Escaping::V1_2] {
            assert_eq!(validate(br"\t", e), Err(InvalidEscape { offset: 0 }));
            assert_eq!(validate(br"ab\", e), Err(InvalidEscape { offset: 2 }));
            assert_eq!(validate(br"\\\x", e), Err(InvalidEscape { offset: 2 }));
            assert_eq!(validate(br"\\\\", e), Ok(()));
            assert!(!unescaped_eq(br"\t", e, b"\\t"));
            assert!(unescaped_len(br"x\", e).is_err());
        }
    }

    #[test]
    fn lazy_comparison() {
        assert!(unescaped_eq(br"a\cb", Escaping::V1_2, b"a:b"));
        assert!(!unescaped_eq(br"a\cb", Escaping::V1_2, b"a:"));
        assert!(!unescaped_eq(br"a\cb", Escaping::V1_2, b"a:bc"));
        assert!(unescaped_eq(br"a\cb", Escaping::None, br"a\cb"));
        assert!(!unescaped_eq(br"a\cb", Escaping::None, b"a:b"));
    }

    #[test]
    fn small_buffer_reports_size() {
        let mut out = [0u8; 2];
        assert_eq!(
            unescape_into(br"a\nbc", Escaping::V1_1, &mut out),
            Err(UnescapeError::BufferTooSmall(BufferTooSmall { needed: 4 }))
        );
    }

    #[test]
    fn escaping_per_version() {
        let plain = b"a:b\\c\nd\re";
        let (o, n) = escape(plain, Escaping::V1_2, HeaderPart::Value).unwrap();
        assert_eq!(&o[..n], br"a\cb\\c\nd\re");
        let (o, n) = escape(plain, Escaping::V1_1, HeaderPart::Value).unwrap();
        assert_eq!(&o[..n], b"a\\cb\\\\c\\nd\re");
        assert!(escape(plain, Escaping::None, HeaderPart::Value).is_none());
        let (o, n) = escape(b"a:b\\c", Escaping::None, HeaderPart::Value).unwrap();
        assert_eq!(&o[..n], b"a:b\\c");
        assert!(escape(b"a:b", Escaping::None, HeaderPart::Name).is_none());
    }

    #[test]
    fn unrepresentable() {
        for e in [Escaping::None, Escaping::V1_1, Escaping::V1_2] {
            assert!(escape(b"", e, HeaderPart::Name).is_none());
            assert!(escape(b"", e, HeaderPart::Value).is_some());
            assert!(escape(b"a\0", e, HeaderPart::Value).is_none());
        }
        assert!(escape(b"a\r", Escaping::V1_1, HeaderPart::Value).is_none());
        assert!(escape(b"a\r", Escaping::None, HeaderPart::Value).is_none());
        assert!(escape(b"a\r", Escaping::V1_1, HeaderPart::Name).is_some());
        assert!(escape(b"a\r", Escaping::V1_2, HeaderPart::Value).is_some());
    }

    #[test]
    fn for_frame() {
        assert_eq!(
            Escaping::for_frame(Version::V1_0, Command::Send),
            Escaping::None
        );
        assert_eq!(
            Escaping::for_frame(Version::V1_1, Command::Message),
            Escaping::V1_1
        );
        for c in [Command::Connect, Command::Stomp, Command::Connected] {
            for v in Version::ALL {
                assert_eq!(Escaping::for_frame(v, c), Escaping::None);
            }
        }
    }
}
