//! Whole messages from data chunks, in a caller-provided buffer (for embedded users).

use super::event::{DataKind, Event};

/// A complete message, borrowed from the assembler's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'m> {
    /// A text message.
    Text(&'m str),
    /// A binary message.
    Binary(&'m [u8]),
}

/// Why a message could not be assembled. The rest of that message is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AssembleError {
    /// The message does not fit the buffer; `needed` is its size so far.
    TooLarge {
        /// Bytes of the message seen so far (a lower bound of its size).
        needed: usize,
    },
    /// The text is not valid UTF-8 (possible only when the connection skipped validation
    /// for an extension-compressed message).
    InvalidUtf8,
}

/// Joins the [`Event::Data`] chunks of a message into a buffer and yields the whole message.
///
/// ```
/// use sockwire_core::ws::{DataKind, Event, Message, MessageAssembler};
/// let mut buf = [0u8; 16];
/// let mut asm = MessageAssembler::new(&mut buf);
/// let a = Event::Data { kind: DataKind::Text, payload: b"hel", first: true, fin: false, rsv: 0 };
/// assert_eq!(asm.push(&a), Ok(None));
/// let b = Event::Data { kind: DataKind::Text, payload: b"lo", first: false, fin: true, rsv: 0 };
/// assert_eq!(asm.push(&b), Ok(Some(Message::Text("hello"))));
/// ```
#[derive(Debug)]
pub struct MessageAssembler<'a> {
    buf: &'a mut [u8],
    len: usize,
    kind: Option<DataKind>,
    skipping: bool,
}

impl<'a> MessageAssembler<'a> {
    /// An assembler writing into `buf`; messages longer than `buf` are refused.
    pub fn new(buf: &'a mut [u8]) -> Self {
        MessageAssembler {
            buf,
            len: 0,
            kind: None,
            skipping: false,
        }
    }

    /// Takes the next event; returns the whole message when `event` ends one.
    ///
    /// Events other than [`Event::Data`] are ignored (`Ok(None)`). After an error the
    /// rest of that message is skipped silently.
    pub fn push(&mut self, event: &Event<'_>) -> Result<Option<Message<'_>>, AssembleError> {
        let Event::Data {
            kind,
            payload,
            first,
            fin,
            ..
        } = *event
        else {
            return Ok(None);
        };
        if first {
            self.len = 0;
            self.kind = Some(kind);
            self.skipping = false;
        }
        if self.skipping || self.kind.is_none() {
            if fin {
                self.skipping = false;
                self.kind = None;
            }
            return Ok(None);
        }
        let end = self.len.saturating_add(payload.len());
        match self.buf.get_mut(self.len..end) {
            Some(dst) => dst.copy_from_slice(payload),
            None => {
                self.skipping = !fin;
                self.kind = None;
                return Err(AssembleError::TooLarge { needed: end });
            }
        }
        self.len = end;
        if !fin {
            return Ok(None);
        }
        let kind = self.kind.take();
        let bytes = self.buf.get(..end).unwrap_or(&[]);
        match kind {
            Some(DataKind::Text) => match simdutf8::basic::from_utf8(bytes) {
                Ok(s) => Ok(Some(Message::Text(s))),
                Err(_) => Err(AssembleError::InvalidUtf8),
            },
            _ => Ok(Some(Message::Binary(bytes))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(kind: DataKind, payload: &[u8], first: bool, fin: bool) -> Event<'_> {
        Event::Data {
            kind,
            payload,
            first,
            fin,
            rsv: 0,
        }
    }

    #[test]
    fn too_large_then_recovers() {
        let mut buf = [0u8; 4];
        let mut asm = MessageAssembler::new(&mut buf);
        assert_eq!(
            asm.push(&data(DataKind::Binary, b"abc", true, false)),
            Ok(None)
        );
        assert_eq!(
            asm.push(&data(DataKind::Binary, b"de", false, false)),
            Err(AssembleError::TooLarge { needed: 5 })
        );
        assert_eq!(
            asm.push(&data(DataKind::Binary, b"f", false, true)),
            Ok(None)
        );
        assert_eq!(
            asm.push(&data(DataKind::Binary, b"xy", true, true)),
            Ok(Some(Message::Binary(b"xy")))
        );
        assert_eq!(
            asm.push(&data(DataKind::Text, &[0xFF], true, true)),
            Err(AssembleError::InvalidUtf8)
        );
        assert_eq!(
            asm.push(&data(DataKind::Text, b"", true, true)),
            Ok(Some(Message::Text("")))
        );
    }
}
