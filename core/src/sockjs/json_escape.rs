//! The JSON string escaping SockJS applies to everything it sends.
//!
//! Besides what JSON requires (`"`, `\` and control characters), SockJS escapes the
//! characters browsers and proxies mangle: U+200C–U+200F, U+2028–U+202F, U+2060–U+206F,
//! U+FFF0–U+FFFF, and every UTF-16 surrogate, so characters beyond the BMP go out as an
//! escaped surrogate pair (`\ud83d\ude00`). Hex digits are lowercase, as in sockjs-node.

use crate::buf::{BufferTooSmall, Writer};

/// Somewhere bytes can be appended: a [`Writer`], a counter, or an escaping adapter.
pub(crate) trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        Writer::put(self, bytes);
    }
}

/// Counts bytes without storing them.
#[derive(Debug, Default)]
pub(crate) struct Count(pub usize);

impl Sink for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(bytes.len());
    }
}

/// Whether SockJS sends `c` as a `\uXXXX` escape (besides `"` and `\`).
///
/// ```
/// use sockwire_core::sockjs::json_escape::needs_unicode_escape;
/// assert!(needs_unicode_escape('\u{2028}'));
/// assert!(needs_unicode_escape('\u{1F600}')); // sent as a surrogate pair
/// assert!(!needs_unicode_escape('é'));
/// ```
pub const fn needs_unicode_escape(c: char) -> bool {
    matches!(c as u32,
        0x00..=0x1f
        | 0x200c..=0x200f
        | 0x2028..=0x202f
        | 0x2060..=0x206f
        | 0xfff0..=0xffff
        | 0x1_0000..)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn put_unit(out: &mut dyn Sink, unit: u16) {
    let nibble = |shift: u16| {
        HEX.get(usize::from((unit >> shift) & 0xf))
            .copied()
            .unwrap_or(b'0')
    };
    out.put(&[b'\\', b'u', nibble(12), nibble(8), nibble(4), nibble(0)]);
}

/// Appends the JSON escaping of `s`, without the surrounding quotes.
pub(crate) fn put_escaped(out: &mut dyn Sink, s: &str) {
    let mut plain_start = 0;
    for (i, c) in s.char_indices() {
        let short: Option<&[u8]> = match c {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\n' => Some(b"\\n"),
            '\r' => Some(b"\\r"),
            '\t' => Some(b"\\t"),
            '\u{8}' => Some(b"\\b"),
            '\u{c}' => Some(b"\\f"),
            _ => None,
        };
        if short.is_none() && !needs_unicode_escape(c) {
            continue;
        }
        out.put(s.as_bytes().get(plain_start..i).unwrap_or(&[]));
        plain_start = i + c.len_utf8();
        if let Some(short) = short {
            out.put(short);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units).iter() {
                put_unit(out, *unit);
            }
        }
    }
    out.put(s.as_bytes().get(plain_start..).unwrap_or(&[]));
}

/// Appends `"` + the escaping of `s` + `"`.
pub(crate) fn put_quoted(out: &mut dyn Sink, s: &str) {
    out.put(b"\"");
    put_escaped(out, s);
    out.put(b"\"");
}

/// Appends `"` + the escaping of `bytes` read as UTF-8 + `"`: SockJS carries text only,
/// so each invalid sequence is sent as U+FFFD (`\ufffd`).
pub(crate) fn put_quoted_lossy(out: &mut dyn Sink, bytes: &[u8]) {
    out.put(b"\"");
    for chunk in bytes.utf8_chunks() {
        put_escaped(out, chunk.valid());
        if !chunk.invalid().is_empty() {
            put_unit(out, 0xfffd);
        }
    }
    out.put(b"\"");
}

/// Writes the SockJS JSON escaping of `s` (without quotes) into `out`; returns its length.
///
/// ```
/// use sockwire_core::sockjs::json_escape::escape;
/// let mut out = [0u8; 32];
/// let n = escape("a\"\u{2028}😀", &mut out).unwrap();
/// assert_eq!(&out[..n], br#"a\"\u2028\ud83d\ude00"#);
/// ```
pub fn escape(s: &str, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(out);
    put_escaped(&mut w, s);
    w.finish()
}

/// The length of the SockJS JSON escaping of `s` (without quotes).
pub fn escaped_len(s: &str) -> usize {
    let mut count = Count(0);
    put_escaped(&mut count, s);
    count.0
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn esc(s: &str) -> std::string::String {
        let mut out = [0u8; 256];
        let n = escape(s, &mut out).unwrap();
        assert_eq!(n, escaped_len(s));
        std::string::String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn json_required_escapes() {
        assert_eq!(esc("plain é ü"), "plain é ü");
        assert_eq!(esc("\"\\"), "\\\"\\\\");
        assert_eq!(esc("  \u{0}\n\r "), "  \\u0000\\n\\r ");
        assert_eq!(esc("\u{1f}\u{8}\u{c}\t"), "\\u001f\\b\\f\\t");
        assert_eq!(esc("\u{7f}/"), "\u{7f}/");
    }

    #[test]
    fn special_ranges() {
        for (c, e) in [
            ('\u{200c}', "\\u200c"),
            ('\u{200f}', "\\u200f"),
            ('\u{2028}', "\\u2028"),
            ('\u{202f}', "\\u202f"),
            ('\u{2060}', "\\u2060"),
            ('\u{206f}', "\\u206f"),
            ('\u{fff0}', "\\ufff0"),
            ('\u{ffff}', "\\uffff"),
            ('\u{10000}', "\\ud800\\udc00"),
            ('\u{10ffff}', "\\udbff\\udfff"),
        ] {
            assert_eq!(esc(&std::format!("x{c}y")), std::format!("x{e}y"));
        }
        for c in [
            '\u{200b}', '\u{2027}', '\u{2030}', '\u{205f}', '\u{2070}', '\u{ffef}',
        ] {
            assert_eq!(esc(&std::format!("{c}")), std::format!("{c}"));
        }
    }

    #[test]
    fn too_small() {
        let mut out = [0u8; 3];
        assert_eq!(
            escape("\u{2028}", &mut out),
            Err(BufferTooSmall { needed: 6 })
        );
    }
}
