//! `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` (RFC 6455 §4.2.2).

use base64ct::{Base64, Encoding};

/// The GUID appended to the client's key before hashing (RFC 6455 §1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` value:
/// base64(SHA-1(key ++ GUID)).
///
/// ```
/// use sockwire_core::ws::handshake::accept_key;
/// assert_eq!(&accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> [u8; 28] {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key);
    sha1.update(GUID.as_bytes());
    let digest = sha1.digest().bytes();
    let mut out = [0u8; 28];
    // 20 bytes always encode to exactly 28 characters, so this cannot fail.
    let _ = Base64::encode(&digest, &mut out);
    out
}

/// Decodes a `Sec-WebSocket-Key` value, which must be the base64 of exactly 16 bytes.
///
/// ```
/// use sockwire_core::ws::handshake::decode_key;
/// assert!(decode_key(b"dGhlIHNhbXBsZSBub25jZQ==").is_some());
/// assert!(decode_key(b"dGhlIHNhbXBsZSBub25j").is_none()); // 15 bytes
/// ```
pub fn decode_key(value: &[u8]) -> Option<[u8; 16]> {
    let mut buf = [0u8; 18];
    let decoded = Base64::decode(value, &mut buf).ok()?;
    decoded.try_into().ok()
}

/// The `Sec-WebSocket-Key` value for 16 random bytes.
pub(crate) fn encode_key(nonce: &[u8; 16]) -> [u8; 24] {
    let mut out = [0u8; 24];
    // 16 bytes always encode to exactly 24 characters, so this cannot fail.
    let _ = Base64::encode(nonce, &mut out);
    out
}

/// A base64 value (always ASCII) as a string.
pub(crate) fn ascii_str(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_example() {
        // RFC 6455 §1.3 and §4.2.2.
        assert_eq!(
            &accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(
            &encode_key(b"the sample nonce"),
            b"dGhlIHNhbXBsZSBub25jZQ=="
        );
        assert_eq!(
            decode_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            Some(*b"the sample nonce")
        );
    }

    #[test]
    fn key_must_be_16_bytes() {
        let mut b15 = [0u8; 20];
        let mut b17 = [0u8; 24];
        let k15 = Base64::encode(&[7u8; 15], &mut b15).unwrap();
        let k17 = Base64::encode(&[7u8; 17], &mut b17).unwrap();
        assert_eq!(decode_key(k15.as_bytes()), None);
        assert_eq!(decode_key(k17.as_bytes()), None);
        assert_eq!(decode_key(b""), None);
        assert_eq!(decode_key(b"not base64 at all!!!!!!="), None);
        assert_eq!(decode_key(&[b'A'; 200]), None);
    }
}
