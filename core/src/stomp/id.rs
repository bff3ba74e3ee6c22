//! Short identifiers a session remembers: subscription ids, transaction names, receipt
//! ids, message ids and the session id, copied out of frames into fixed storage.

use super::HeaderText;

/// The longest identifier a session stores, in octets (unescaped). A client frame with a
/// longer `id`, `transaction` or `receipt` header is answered with an `ERROR` frame.
pub const MAX_ID_LEN: usize = 64;

/// An identifier of at most [`MAX_ID_LEN`] octets, stored unescaped and owned (no
/// allocation), so that it outlives the frame it came from.
///
/// ```
/// use sockwire_core::stomp::Id;
/// let id = Id::new(b"sub-0").unwrap();
/// assert_eq!(id.as_bytes(), b"sub-0");
/// assert_eq!(Id::from_decimal(42).as_bytes(), b"42");
/// assert!(Id::new(&[b'x'; 65]).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Id {
    bytes: heapless::Vec<u8, MAX_ID_LEN>,
}

impl Id {
    /// Copies `bytes`, or `None` when they are longer than [`MAX_ID_LEN`].
    pub fn new(bytes: &[u8]) -> Option<Id> {
        heapless::Vec::from_slice(bytes)
            .ok()
            .map(|bytes| Id { bytes })
    }

    /// The unescaped text of a header value, or `None` when it is longer than
    /// [`MAX_ID_LEN`].
    pub fn from_header(text: &HeaderText<'_>) -> Option<Id> {
        let mut bytes = heapless::Vec::new();
        for b in text.bytes() {
            bytes.push(b).ok()?;
        }
        Some(Id { bytes })
    }

    /// The decimal form of `n` (at most 20 octets, so it always fits).
    pub fn from_decimal(n: u64) -> Id {
        let mut digits = [0u8; 20];
        let mut w = crate::buf::Writer::new(&mut digits);
        w.put_decimal(n);
        let len = w.finish().unwrap_or(0);
        Id::new(digits.get(..len).unwrap_or_default()).unwrap_or_default()
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The octets as text, when they are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.bytes).ok()
    }

    /// The length in octets.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the identifier is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl PartialEq<[u8]> for Id {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
