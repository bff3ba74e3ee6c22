//! Percent-decoding of query strings and `application/x-www-form-urlencoded` bodies.

/// The raw (still encoded) value of the first field `name` in `a=1&b=2` form, or `None`.
/// A field without `=` has an empty value.
pub(crate) fn field<'a>(form: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    form.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (pair.get(..eq)?, pair.get(eq + 1..)?),
            None => (pair, &[][..]),
        };
        (key == name).then_some(value)
    })
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes a byte at a time; `+` is a space. A `%` not followed by two hex digits
/// stays literal.
#[derive(Debug, Clone)]
pub(crate) struct PercentDecoded<'a> {
    rest: &'a [u8],
}

impl<'a> PercentDecoded<'a> {
    pub(crate) fn new(encoded: &'a [u8]) -> Self {
        PercentDecoded { rest: encoded }
    }
}

impl Iterator for PercentDecoded<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.rest.split_first()?;
        self.rest = rest;
        match first {
            b'+' => Some(b' '),
            b'%' => {
                if let [h, l, after @ ..] = self.rest {
                    if let (Some(h), Some(l)) = (hex(*h), hex(*l)) {
                        self.rest = after;
                        return Some(h << 4 | l);
                    }
                }
                Some(b'%')
            }
            b => Some(b),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn fields_and_decoding() {
        assert_eq!(field(b"a=1&d=%5B&d=x", b"d"), Some(&b"%5B"[..]));
        assert_eq!(field(b"d", b"d"), Some(&b""[..]));
        assert_eq!(field(b"p=p", b"d"), None);
        assert_eq!(field(b"", b"d"), None);
        let d: Vec<u8> = PercentDecoded::new(b"%5B%22a+b%zz%2").collect();
        assert_eq!(d, b"[\"a b%zz%2");
    }
}
