//! Character classes and small parsers of RFC 7230 shared by the request and response
//! parsers and by the head writer.

use nom::bytes::complete::{tag, take_while1, take_while_m_n};
use nom::{IResult, Parser};

use super::header::{Header, Headers};
use super::scanner::head_len;
use super::HeadError;

/// `tchar` of RFC 7230 §3.2.6: the characters of a token (method, field name, ...).
pub(crate) const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `s` is a non-empty token.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// A byte allowed in a field value: HTAB, SP, visible ASCII and obs-text; no other control.
pub(crate) const fn is_field_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// A visible ASCII byte (`VCHAR`), as allowed in a request target.
pub(crate) const fn is_vchar(b: u8) -> bool {
    matches!(b, 0x21..=0x7e)
}

/// Optional whitespace (`OWS`).
pub(crate) const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing optional whitespace.
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or(&[])
}

fn digit(i: &[u8]) -> IResult<&[u8], u8> {
    take_while_m_n(1, 1, |b: u8| b.is_ascii_digit())
        .map(|d: &[u8]| d.first().map_or(0, |c| c - b'0'))
        .parse(i)
}

/// `HTTP-version = "HTTP/" DIGIT "." DIGIT`, as (major, minor).
pub(crate) fn version(i: &[u8]) -> IResult<&[u8], (u8, u8)> {
    (tag("HTTP/"), digit, tag("."), digit)
        .map(|(_, major, _, minor)| (major, minor))
        .parse(i)
}

/// `token`.
pub(crate) fn token(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(is_tchar).parse(i)
}

/// Splits a complete head into lines: CRLF or a bare LF ends a line; the CR is dropped.
pub(crate) struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    pub(crate) fn new(head: &'a [u8]) -> Self {
        Lines { rest: head }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let lf = self.rest.iter().position(|&b| b == b'\n')?;
        let (line, rest) = self.rest.split_at(lf);
        self.rest = rest.get(1..).unwrap_or(&[]);
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

/// Parses the head at the start of `buf`: its start line with `start_line` (`bad_start`
/// when there is none), then its fields into `storage`. Returns what `start_line` gave,
/// the fields and the length of the head, or `Ok(None)` when the head is not complete yet.
pub(crate) fn parse_head<'h, 'a, S>(
    buf: &'a [u8],
    storage: &'h mut [Header<'a>],
    bad_start: HeadError,
    start_line: impl FnOnce(&'a [u8]) -> Result<S, HeadError>,
) -> Result<Option<(S, Headers<'h, 'a>, usize)>, HeadError> {
    let Some(len) = head_len(buf) else {
        return Ok(None);
    };
    let head = buf.get(..len).unwrap_or(&[]);
    let mut lines = Lines::new(head);
    let start = start_line(lines.next().ok_or(bad_start)?)?;
    let count = header_lines(&mut lines, storage)?;
    let storage: &'h [Header<'a>] = storage;
    let headers = Headers::new(storage.get(..count).unwrap_or(&[]));
    Ok(Some((start, headers, len)))
}

/// Parses the field lines after the start line, up to the blank line, into `storage`;
/// returns how many were filled.
pub(crate) fn header_lines<'a>(
    lines: &mut Lines<'a>,
    storage: &mut [Header<'a>],
) -> Result<usize, HeadError> {
    let mut count = 0usize;
    for line in lines {
        if line.is_empty() {
            return Ok(count);
        }
        let header = header_line(line)?;
        let slot = storage.get_mut(count).ok_or(HeadError::TooManyHeaders)?;
        *slot = header;
        count = count.saturating_add(1);
    }
    // Only reached for a head without its blank line, which callers never pass.
    Err(HeadError::BadHeaderValue)
}

/// `field-name ":" OWS field-value OWS`.
fn header_line(line: &[u8]) -> Result<Header<'_>, HeadError> {
    if line.first().copied().is_some_and(is_ows) {
        return Err(HeadError::ObsoleteLineFolding);
    }
    let (rest, name) = token(line).map_err(|_| HeadError::BadHeaderName)?;
    let value = match rest.split_first() {
        Some((b':', value)) => value,
        Some((b, _)) if is_ows(*b) => return Err(HeadError::BadHeaderName),
        Some(_) => return Err(HeadError::BadHeaderName),
        None => return Err(HeadError::BadHeaderValue),
    };
    if !value.iter().all(|&b| is_field_byte(b)) {
        return Err(HeadError::BadHeaderValue);
    }
    let name = core::str::from_utf8(name).map_err(|_| HeadError::BadHeaderName)?;
    Ok(Header {
        name,
        value: trim_ows(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b""), b"");
    }

    #[test]
    fn versions() {
        assert_eq!(version(b"HTTP/1.1"), Ok((&b""[..], (1, 1))));
        assert!(version(b"HTTP/1").is_err());
        assert!(version(b"http/1.1").is_err());
    }

    #[test]
    fn lines_accept_bare_lf() {
        let mut lines = Lines::new(b"a\r\nb\nc");
        assert_eq!(lines.next(), Some(&b"a"[..]));
        assert_eq!(lines.next(), Some(&b"b"[..]));
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn header_line_rules() {
        assert_eq!(
            header_line(b"Host:  example.com \t"),
            Ok(Header {
                name: "Host",
                value: b"example.com"
            })
        );
        assert_eq!(header_line(b"Host :x"), Err(HeadError::BadHeaderName));
        assert_eq!(
            header_line(b" Host: x"),
            Err(HeadError::ObsoleteLineFolding)
        );
        assert_eq!(header_line(b"Host"), Err(HeadError::BadHeaderValue));
        assert_eq!(header_line(b"Host: a\rb"), Err(HeadError::BadHeaderValue));
        assert_eq!(header_line(b": x"), Err(HeadError::BadHeaderName));
        assert_eq!(
            header_line(b"X:"),
            Ok(Header {
                name: "X",
                value: b""
            })
        );
    }
}
