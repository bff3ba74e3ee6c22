//! Header fields and looking them up.

use super::grammar::trim_ows;

/// One header field, borrowed from the received head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header<'a> {
    /// The field name as received (a token; compare it case-insensitively).
    pub name: &'a str,
    /// The field value with leading and trailing whitespace removed. It may hold bytes
    /// beyond ASCII (obs-text), never CR, LF or other control characters except HTAB.
    pub value: &'a [u8],
}

impl Header<'static> {
    /// An empty field, to initialise the caller's header array:
    /// `[Header::EMPTY; 32]`.
    pub const EMPTY: Header<'static> = Header {
        name: "",
        value: b"",
    };
}

/// The header fields of a parsed head, with case-insensitive lookup.
///
/// ```
/// use sockwire_core::http::{Header, Headers};
/// let fields = [
///     Header { name: "Connection", value: b"keep-alive, Upgrade" },
///     Header { name: "connection", value: b"x" },
/// ];
/// let headers = Headers::new(&fields);
/// assert_eq!(headers.get("CONNECTION"), Some(&b"keep-alive, Upgrade"[..]));
/// let tokens: Vec<&[u8]> = headers.tokens("connection").collect();
/// assert_eq!(tokens, [&b"keep-alive"[..], b"Upgrade", b"x"]);
/// assert!(headers.has_token("Connection", "upgrade"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Headers<'h, 'a> {
    list: &'h [Header<'a>],
}

impl<'h, 'a> Headers<'h, 'a> {
    /// Wraps a list of fields.
    pub const fn new(list: &'h [Header<'a>]) -> Self {
        Headers { list }
    }

    /// The fields in the order received.
    pub const fn as_slice(&self) -> &'h [Header<'a>] {
        self.list
    }

    /// The number of fields.
    pub const fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no fields.
    pub const fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The fields in the order received.
    pub fn iter(&self) -> core::slice::Iter<'h, Header<'a>> {
        self.list.iter()
    }

    /// The value of the first field named `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.all(name).next()
    }

    /// The values of every field named `name` (ASCII case-insensitive), in order.
    pub fn all<'n>(&self, name: &'n str) -> Values<'h, 'a, 'n> {
        Values {
            fields: self.list.iter(),
            name,
        }
    }

    /// How many fields are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.all(name).count()
    }

    /// The comma-separated elements of every field named `name`, trimmed of whitespace,
    /// empty elements skipped (the `#rule` of RFC 7230 §7).
    pub fn tokens<'n>(&self, name: &'n str) -> Tokens<'h, 'a, 'n> {
        Tokens {
            values: self.all(name),
            current: None,
        }
    }

    /// Whether any element of the fields named `name` equals `token` (ASCII
    /// case-insensitive), as for `Connection: keep-alive, Upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name)
            .any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
    }
}

impl<'h, 'a> IntoIterator for Headers<'h, 'a> {
    type Item = &'h Header<'a>;
    type IntoIter = core::slice::Iter<'h, Header<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// The values of the fields with one name; see [`Headers::all`].
#[derive(Debug, Clone)]
pub struct Values<'h, 'a, 'n> {
    fields: core::slice::Iter<'h, Header<'a>>,
    name: &'n str,
}

impl<'a> Iterator for Values<'_, 'a, '_> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let name = self.name;
        self.fields
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }
}

/// The comma-separated elements of the fields with one name; see [`Headers::tokens`].
#[derive(Debug, Clone)]
pub struct Tokens<'h, 'a, 'n> {
    values: Values<'h, 'a, 'n>,
    current: Option<&'a [u8]>,
}

impl<'a> Iterator for Tokens<'_, 'a, '_> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let rest = match self.current {
                Some(rest) => rest,
                None => self.values.next()?,
            };
            let (element, after) = match rest.iter().position(|&b| b == b',') {
                Some(comma) => {
                    let (element, after) = rest.split_at(comma);
                    (element, after.get(1..))
                }
                None => (rest, None),
            };
            self.current = after;
            let element = trim_ows(element);
            if !element.is_empty() {
                return Some(element);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: [Header<'static>; 4] = [
        Header {
            name: "Upgrade",
            value: b"h2c, WebSocket",
        },
        Header {
            name: "Sec-WebSocket-Protocol",
            value: b" , a,,b ,",
        },
        Header {
            name: "sec-websocket-protocol",
            value: b"c",
        },
        Header {
            name: "Empty",
            value: b"",
        },
    ];

    #[test]
    fn lookup_is_case_insensitive_first_match() {
        let h = Headers::new(&FIELDS);
        assert_eq!(h.get("upgrade"), Some(&b"h2c, WebSocket"[..]));
        assert_eq!(h.get("SEC-WEBSOCKET-PROTOCOL"), Some(&b" , a,,b ,"[..]));
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.count("sec-websocket-protocol"), 2);
    }

    #[test]
    fn tokens_span_repeated_fields_and_skip_empty_elements() {
        let h = Headers::new(&FIELDS);
        let mut t = h.tokens("Sec-WebSocket-Protocol");
        assert_eq!(t.next(), Some(&b"a"[..]));
        assert_eq!(t.next(), Some(&b"b"[..]));
        assert_eq!(t.next(), Some(&b"c"[..]));
        assert_eq!(t.next(), None);
        assert_eq!(h.tokens("empty").next(), None);
        assert!(h.has_token("upgrade", "websocket"));
        assert!(!h.has_token("upgrade", "web"));
    }
}
