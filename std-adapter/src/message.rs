//! Whole messages assembled from the core's streamed data chunks.

use sockwire_core::ws::DataKind;

/// A message received by a client: data, or a control event worth reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A complete text message.
    Text(String),
    /// A complete binary message.
    Binary(Vec<u8>),
    /// A ping from the peer (the pong has already been sent).
    Ping(Vec<u8>),
    /// A pong from the peer.
    Pong(Vec<u8>),
    /// The peer closed the connection, with its code when it sent one.
    Close {
        /// The close code, absent when the close frame had no body.
        code: Option<u16>,
        /// The close reason.
        reason: String,
    },
}

/// Collects the chunks of one data message into a growable buffer.
///
/// The core has already checked the message against its size limit and, for text, that
/// the bytes are UTF-8, so this only concatenates.
#[derive(Debug)]
pub struct MessageBuffer {
    kind: DataKind,
    bytes: Vec<u8>,
}

impl Default for MessageBuffer {
    fn default() -> Self {
        MessageBuffer {
            kind: DataKind::Binary,
            bytes: Vec::new(),
        }
    }
}

/// Capacity kept between messages; a larger buffer is released after delivery.
const KEEP_CAPACITY: usize = 64 * 1024;

impl MessageBuffer {
    /// Adds a chunk of a message of `kind` (the kind counts on the `first` chunk).
    /// Returns the whole message and its kind when `fin` ends it.
    ///
    /// When the message arrives as one chunk it is returned without copying.
    pub fn push<'a>(
        &'a mut self,
        kind: DataKind,
        chunk: &'a [u8],
        first: bool,
        fin: bool,
    ) -> Option<(DataKind, &'a [u8])> {
        if first {
            self.kind = kind;
            self.bytes.clear();
        }
        if fin && self.bytes.is_empty() {
            return Some((self.kind, chunk));
        }
        self.bytes.extend_from_slice(chunk);
        if fin {
            Some((self.kind, &self.bytes))
        } else {
            None
        }
    }

    /// Forgets the message delivered last and releases an oversized buffer.
    pub fn recycle(&mut self) {
        self.bytes.clear();
        if self.bytes.capacity() > KEEP_CAPACITY {
            self.bytes = Vec::new();
        }
    }
}

/// Turns a finished message into the owned [`Message`] of its kind.
pub fn owned_message(kind: DataKind, bytes: &[u8]) -> Message {
    match kind {
        DataKind::Text => Message::Text(String::from_utf8_lossy(bytes).into_owned()),
        DataKind::Binary => Message::Binary(bytes.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_chunk_is_borrowed() {
        let mut b = MessageBuffer::default();
        assert_eq!(
            b.push(DataKind::Text, b"abc", true, true),
            Some((DataKind::Text, &b"abc"[..]))
        );
    }

    #[test]
    fn chunks_concatenate() {
        let mut b = MessageBuffer::default();
        // Continuation chunks report Binary; the first chunk's kind counts.
        assert_eq!(b.push(DataKind::Text, b"ab", true, false), None);
        assert_eq!(b.push(DataKind::Binary, b"", false, false), None);
        assert_eq!(
            b.push(DataKind::Binary, b"cd", false, true),
            Some((DataKind::Text, &b"abcd"[..]))
        );
        b.recycle();
        assert_eq!(
            b.push(DataKind::Binary, b"x", true, true),
            Some((DataKind::Binary, &b"x"[..]))
        );
    }
}
