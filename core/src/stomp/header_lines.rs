//! The headers a message carries from its publisher to its subscribers, kept as the
//! publisher wrote them.

use super::escape::{unescaped_eq, Escaping};
use super::frame::{header_lines, Frame, HeaderText, RawHeader};

/// Headers that belong to one frame, not to the message it carries: a session sets them
/// itself (`destination`, `subscription`, `message-id`, `ack`, `content-length`) or they
/// only concern the sender (`receipt`, `transaction`). [`HeaderLines`] leaves them out.
pub const FRAME_HEADERS: [&str; 7] = [
    "destination",
    "receipt",
    "transaction",
    "content-length",
    "subscription",
    "message-id",
    "ack",
];

/// A message's headers as header lines (`name:value`, each ending in `\n` or `\r\n`),
/// escaped as in the frame they came from; lines naming one of [`FRAME_HEADERS`] are not
/// part of the message and are skipped.
///
/// A `SEND` frame's header section is the message's headers as they are
/// ([`HeaderLines::of_frame`]): nothing is copied or unescaped when a message is
/// published, and a subscriber whose session escapes the same way gets the lines copied
/// as they are.
///
/// ```
/// use sockwire_core::stomp::HeaderLines;
/// let h = HeaderLines::new(b"destination:/queue/a\ncontent-type:text/plain\npriority:9\n");
/// let (name, value) = h.iter().nth(1).unwrap();
/// assert!(name == "priority" && value == "9");
/// assert!(!h.contains("destination"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeaderLines<'a> {
    raw: &'a [u8],
    escaping: Escaping,
}

impl Default for HeaderLines<'_> {
    fn default() -> Self {
        HeaderLines::EMPTY
    }
}

impl<'a> HeaderLines<'a> {
    /// No headers.
    pub const EMPTY: HeaderLines<'static> = HeaderLines {
        raw: b"",
        escaping: Escaping::V1_2,
    };

    /// Views `raw` as header lines escaped as in STOMP 1.2 (`\r`, `\n`, `\c`, `\\`).
    pub const fn new(raw: &'a [u8]) -> Self {
        HeaderLines::with_escaping(raw, Escaping::V1_2)
    }

    /// Views `raw` as header lines escaped under `escaping`.
    pub const fn with_escaping(raw: &'a [u8], escaping: Escaping) -> Self {
        HeaderLines { raw, escaping }
    }

    /// The headers of `frame` as a message carries them on.
    pub const fn of_frame(frame: &Frame<'a>) -> Self {
        HeaderLines::with_escaping(frame.head(), frame.escaping())
    }

    /// The octets as given, frame headers included.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// How the lines are escaped.
    pub const fn escaping(&self) -> Escaping {
        self.escaping
    }

    /// The message's header lines in order, still escaped.
    pub fn raw_headers(&self) -> impl Iterator<Item = RawHeader<'a>> + 'a {
        let escaping = self.escaping;
        header_lines(self.raw).filter(move |h| !is_frame_header(h.name, escaping))
    }

    /// The message's headers in order as `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (HeaderText<'a>, HeaderText<'a>)> + 'a {
        let escaping = self.escaping;
        self.raw_headers().map(move |h| {
            (
                HeaderText::new(h.name, escaping),
                HeaderText::new(h.value, escaping),
            )
        })
    }

    /// Whether the message has a header called `name`.
    pub fn contains(&self, name: &str) -> bool {
        let escaping = self.escaping;
        self.raw_headers()
            .any(|h| unescaped_eq(h.name, escaping, name.as_bytes()))
    }
}

fn is_frame_header(name: &[u8], escaping: Escaping) -> bool {
    FRAME_HEADERS
        .iter()
        .any(|f| unescaped_eq(name, escaping, f.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_headers_are_not_carried() {
        let h = HeaderLines::new(b"a\\cb:x\\ny\r\ndestin\\cation:kept\nreceipt:r\nack:1\ntype:t\n");
        let names: heapless::Vec<&[u8], 8> = h.raw_headers().map(|h| h.name).collect();
        assert_eq!(
            names.as_slice(),
            [&b"a\\cb"[..], b"destin\\cation", b"type"]
        );
        assert!(h.contains("a:b"));
        assert!(h.contains("destin:ation"));
        assert!(!h.contains("receipt"));
        let (n, v) = h.iter().next().unwrap();
        assert!(n == "a:b" && v == "x\ny");
        // Under STOMP 1.0 nothing is an escape: `\c` is two octets of a name.
        let old = HeaderLines::with_escaping(b"a\\cb:v\ndestination:/q\n", Escaping::None);
        assert!(old.contains("a\\cb"));
        assert_eq!(old.iter().count(), 1);
    }
}
