//! A decoded frame: a borrowed view over the input, headers still escaped as on the wire.

use super::escape::{unescaped_eq, Unescape};
use super::{Command, Escaping};
use crate::buf::BufferTooSmall;

/// One header line as it was on the wire (still escaped), split at its first `:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RawHeader<'a> {
    /// The name, before the first `:`.
    pub name: &'a [u8],
    /// The value, after the first `:`, without the end of line.
    pub value: &'a [u8],
}

impl RawHeader<'_> {
    /// An empty header, to fill a header array before decoding:
    /// `[RawHeader::EMPTY; 32]`.
    pub const EMPTY: RawHeader<'static> = RawHeader {
        name: b"",
        value: b"",
    };
}

/// A header name or value as on the wire, unescaped on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeaderText<'a> {
    raw: &'a [u8],
    escaping: Escaping,
}

impl<'a> HeaderText<'a> {
    /// Views `raw` under `escaping`. Octets after an undefined escape are not part of the
    /// text (the decoder rejects such headers, so this only matters for hand-built views).
    pub const fn new(raw: &'a [u8], escaping: Escaping) -> Self {
        HeaderText { raw, escaping }
    }

    /// The octets as on the wire, escapes included.
    pub const fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The escaping rules that apply.
    pub const fn escaping(&self) -> Escaping {
        self.escaping
    }

    /// The text without copying, when it contains no escape sequence.
    pub fn borrowed(&self) -> Option<&'a [u8]> {
        if self.escaping != Escaping::None && self.raw.contains(&b'\\') {
            None
        } else {
            Some(self.raw)
        }
    }

    /// The unescaped octets.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + 'a {
        Unescape::new(self.raw, self.escaping).map_while(Result::ok)
    }

    /// The unescaped length.
    pub fn len(&self) -> usize {
        self.bytes().count()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Whether the unescaped text equals `plain`, without copying.
    pub fn eq_bytes(&self, plain: &[u8]) -> bool {
        unescaped_eq(self.raw, self.escaping, plain)
    }

    /// Copies the unescaped text into `out`, returning the written part.
    ///
    /// ```
    /// use sockwire_core::stomp::{Escaping, HeaderText};
    /// let mut out = [0u8; 8];
    /// let t = HeaderText::new(br"a\cb", Escaping::V1_2);
    /// assert_eq!(t.decode_into(&mut out), Ok(&b"a:b"[..]));
    /// ```
    pub fn decode_into<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], BufferTooSmall> {
        let needed = self.len();
        let dst = out.get_mut(..needed).ok_or(BufferTooSmall { needed })?;
        for (slot, b) in dst.iter_mut().zip(self.bytes()) {
            *slot = b;
        }
        Ok(dst)
    }

    /// The text as `&str` without copying, when it has no escapes and is UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        self.borrowed().and_then(|b| core::str::from_utf8(b).ok())
    }
}

impl PartialEq<[u8]> for HeaderText<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.eq_bytes(other)
    }
}

impl PartialEq<str> for HeaderText<'_> {
    fn eq(&self, other: &str) -> bool {
        self.eq_bytes(other.as_bytes())
    }
}

impl PartialEq<&str> for HeaderText<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.eq_bytes(other.as_bytes())
    }
}

/// A STOMP frame borrowed from the decoder's input: command, escaped headers in wire
/// order, and body.
///
/// Headers are not copied out when the frame is decoded: the frame keeps the header
/// section as it arrived (already checked by the decoder) and reads it on demand, so a
/// frame needs no header array and borrows only the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Frame<'a> {
    command: Command,
    head: &'a [u8],
    body: &'a [u8],
    escaping: Escaping,
}

impl<'a> Frame<'a> {
    /// A frame view over `head`, the header lines as on the wire (each `name:value`
    /// ending in `\n` or `\r\n`, escaped under `escaping`). Lines without a `:` or with an
    /// empty name are not headers and are skipped (the decoder never lets one through).
    pub const fn new(command: Command, head: &'a [u8], body: &'a [u8], escaping: Escaping) -> Self {
        Frame {
            command,
            head,
            body,
            escaping,
        }
    }

    /// The command.
    pub const fn command(&self) -> Command {
        self.command
    }

    /// The body (without the terminating NUL).
    pub const fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The escaping rules the headers were written under.
    pub const fn escaping(&self) -> Escaping {
        self.escaping
    }

    /// The header section as on the wire: every line after the command line, up to the
    /// blank line.
    pub const fn head(&self) -> &'a [u8] {
        self.head
    }

    /// Every header line in wire order, repeated names included, still escaped.
    pub fn raw_headers(&self) -> impl Iterator<Item = RawHeader<'a>> + 'a {
        header_lines(self.head)
    }

    /// Every header in wire order as (name, value), repeated names included.
    pub fn headers(&self) -> impl Iterator<Item = (HeaderText<'a>, HeaderText<'a>)> + 'a {
        let escaping = self.escaping;
        self.raw_headers().map(move |h| {
            (
                HeaderText::new(h.name, escaping),
                HeaderText::new(h.value, escaping),
            )
        })
    }

    /// The value of the first header called `name` (later repeats are history, as the
    /// specification says), compared unescaped.
    ///
    /// ```
    /// use sockwire_core::stomp::{Decoded, Decoder, Limits};
    /// let mut dec = Decoder::new(Limits::default());
    /// let input = b"MESSAGE\nfoo:World\nfoo:Hello\n\n\0";
    /// let Ok(Decoded::Frame { frame, .. }) = dec.decode(input) else { panic!() };
    /// assert!(frame.header("foo").unwrap() == "World");
    /// ```
    pub fn header(&self, name: &str) -> Option<HeaderText<'a>> {
        self.header_bytes(name.as_bytes())
    }

    /// [`Frame::header`] for a name given as octets.
    pub fn header_bytes(&self, name: &[u8]) -> Option<HeaderText<'a>> {
        let escaping = self.escaping;
        self.raw_headers()
            .find(|h| unescaped_eq(h.name, escaping, name))
            .map(|h| HeaderText::new(h.value, escaping))
    }
}

/// The header lines of a header section, split at their first `:`.
pub(crate) fn header_lines(head: &[u8]) -> impl Iterator<Item = RawHeader<'_>> + '_ {
    head.split(|&b| b == b'\n').filter_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|&b| b == b':')?;
        let name = line.get(..colon)?;
        let value = line.get(colon.saturating_add(1)..)?;
        (!name.is_empty()).then_some(RawHeader { name, value })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_unescapes_names_and_values() {
        let head = b"a\\cb:x\\ny\r\nnot a header\na:b:second\n";
        let f = Frame::new(Command::Send, head, b"", Escaping::V1_2);
        let v = f.header("a:b").unwrap();
        assert!(v == "x\ny");
        assert_eq!(v.borrowed(), None);
        assert_eq!(v.len(), 3);
        let mut out = [0u8; 2];
        assert_eq!(v.decode_into(&mut out), Err(BufferTooSmall { needed: 3 }));
        assert!(f.header(r"a\cb").is_none());
        assert_eq!(f.headers().count(), 2);

        let f = Frame::new(Command::Connect, head, b"", Escaping::None);
        assert!(f.header(r"a\cb").unwrap() == r"x\ny");
        assert_eq!(f.header("a").unwrap().as_str(), Some("b:second"));
    }
}
