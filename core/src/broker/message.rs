//! Messages as the broker routes and holds them, and header lookup for selectors.

use super::selector::Literal;
use crate::stomp::Frame;
pub use crate::stomp::HeaderLines;

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

impl HeaderSource for Frame<'_> {
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

impl Message<'_> {
    /// Bytes a store holds for it: header lines and body.
    pub fn size(&self) -> usize {
        self.headers
            .as_bytes()
            .len()
            .saturating_add(self.body.len())
    }
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
