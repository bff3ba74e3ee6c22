//! Messages as the broker routes and holds them, and header lookup for selectors.

use super::selector::Literal;
use crate::stomp::{unescaped_eq, Escaping, Frame, HeaderText};

/// Headers a selector can look up.
pub trait HeaderSource {
    /// `None` when no header is called `name`; otherwise whether the (first) value equals
    /// the octets of `value`.
    fn header_equals(&self, name: &[u8], value: Literal<'_>) -> Option<bool>;
}

impl HeaderSource for [(&str, &str)] {
    fn header_equals(&self, name: &[u8], value: Literal<'_>) -> Option<bool> {
        self.iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|(_, v)| v.bytes().eq(value))
    }
}

impl HeaderSource for Frame<'_, '_> {
    fn header_equals(&self, name: &[u8], value: Literal<'_>) -> Option<bool> {
        self.header_bytes(name).map(|v| v.bytes().eq(value))
    }
}

impl HeaderSource for HeaderLines<'_> {
    fn header_equals(&self, name: &[u8], value: Literal<'_>) -> Option<bool> {
        self.iter()
            .find(|(n, _)| n.eq_bytes(name))
            .map(|(_, v)| v.bytes().eq(value))
    }
}

/// Message headers as STOMP 1.2 header lines: `name:value\n` each, escaped as in a 1.2
/// frame (`\n`, `\r`, `\c`, `\\`).
///
/// The broker keeps them opaque except for selector lookups, and hands them back with
/// every delivery, so a session can copy them into the `MESSAGE` frame as they are.
///
/// ```
/// use sockwire_core::broker::HeaderLines;
/// let h = HeaderLines::new(b"content-type:text/plain\npriority:9\n");
/// let (name, value) = h.iter().nth(1).unwrap();
/// assert!(name == "priority" && value == "9");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeaderLines<'a> {
    raw: &'a [u8],
}

impl<'a> HeaderLines<'a> {
    /// No headers.
    pub const EMPTY: HeaderLines<'static> = HeaderLines { raw: b"" };

    /// Views `raw` as header lines. A final line without `\n` counts; lines without
    /// `:` are skipped.
    pub const fn new(raw: &'a [u8]) -> Self {
        HeaderLines { raw }
    }

    /// The octets as given.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Every `(name, value)` in order, still escaped.
    pub fn iter(&self) -> impl Iterator<Item = (HeaderText<'a>, HeaderText<'a>)> + 'a {
        self.raw
            .split(|b| *b == b'\n')
            .filter_map(|line| {
                let colon = line.iter().position(|b| *b == b':')?;
                Some((line.get(..colon)?, line.get(colon.saturating_add(1)..)?))
            })
            .map(|(n, v)| {
                (
                    HeaderText::new(n, Escaping::V1_2),
                    HeaderText::new(v, Escaping::V1_2),
                )
            })
    }

    /// Whether a header called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.iter()
            .any(|(n, _)| unescaped_eq(n.raw(), Escaping::V1_2, name.as_bytes()))
    }
}

/// A message to publish: destination, header lines and body, all borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Message<'a> {
    /// Where it is sent.
    pub destination: &'a str,
    /// Headers to carry to subscribers (and for selectors).
    pub headers: HeaderLines<'a>,
    /// The body.
    pub body: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::Selector;

    #[test]
    fn selectors_on_header_lines() {
        let h = HeaderLines::new(b"a\\cb:x\\ny\ntype:t\ntype:second");
        let s = Selector::parse("type = 't'").unwrap();
        assert!(s.matches(&h));
        assert!(h.contains("a:b"));
        assert_eq!(h.iter().count(), 3);
        let (n, v) = h.iter().next().unwrap();
        assert!(n == "a:b" && v == "x\ny");
        assert!(!Selector::parse("type = 'second'").unwrap().matches(&h));
    }
}
