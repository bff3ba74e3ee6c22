//! Frame headers (RFC 6455 §5.2): decoding and encoding all three payload length forms.
//!
//! A header is 2 to 14 bytes: FIN, RSV1-3 and the opcode, the MASK bit and a 7-bit
//! length, then an optional 16- or 64-bit extended length, then an optional 4-byte
//! masking key.

use crate::buf::Writer;

/// The longest possible frame header: 2 + 8 (64-bit length) + 4 (masking key).
pub const MAX_HEADER_LEN: usize = 14;

/// The RSV1 bit as it appears in [`FrameHeader::rsv`] (bit 2 of the 3-bit field).
pub const RSV1: u8 = 0b100;
/// The RSV2 bit as it appears in [`FrameHeader::rsv`].
pub const RSV2: u8 = 0b010;
/// The RSV3 bit as it appears in [`FrameHeader::rsv`].
pub const RSV3: u8 = 0b001;

/// A frame opcode defined by RFC 6455 §5.2 (reserved opcodes are not representable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OpCode {
    /// `0x0`: continues a fragmented data message.
    Continuation,
    /// `0x1`: starts a text message.
    Text,
    /// `0x2`: starts a binary message.
    Binary,
    /// `0x8`: connection close.
    Close,
    /// `0x9`: ping.
    Ping,
    /// `0xA`: pong.
    Pong,
}

impl OpCode {
    /// The opcode for the 4-bit value `bits`, or `None` for a reserved opcode (3-7, 0xB-0xF).
    pub const fn from_bits(bits: u8) -> Option<OpCode> {
        match bits {
            0x0 => Some(OpCode::Continuation),
            0x1 => Some(OpCode::Text),
            0x2 => Some(OpCode::Binary),
            0x8 => Some(OpCode::Close),
            0x9 => Some(OpCode::Ping),
            0xA => Some(OpCode::Pong),
            _ => None,
        }
    }

    /// The 4-bit wire value.
    pub const fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub const fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// Why a header could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HeaderError {
    /// The opcode is reserved (3-7 or 0xB-0xF); carries the 4-bit value.
    ReservedOpcode(u8),
    /// The 64-bit payload length has its most significant bit set.
    InvalidLength,
}

/// A decoded frame header.
///
/// ```
/// use sockwire_core::ws::frame::{FrameHeader, OpCode};
/// let h = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Text, mask: None, payload_len: 300 };
/// let (bytes, len) = h.to_bytes();
/// assert_eq!(FrameHeader::decode(&bytes[..len]), Ok(Some((h, len))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameHeader {
    /// The FIN bit: this is the final frame of a message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as a 3-bit value ([`RSV1`] is `0b100`).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes (at most `2^63 - 1`).
    pub payload_len: u64,
}

impl FrameHeader {
    /// Decodes a header from the start of `input`.
    ///
    /// Returns `Ok(None)` when `input` holds only part of a header (more bytes are
    /// needed), or the header and its length in bytes.
    #[inline]
    pub fn decode(input: &[u8]) -> Result<Option<(FrameHeader, usize)>, HeaderError> {
        let (b0, b1) = match input {
            [b0, b1, ..] => (*b0, *b1),
            _ => return Ok(None),
        };
        let opcode = match OpCode::from_bits(b0 & 0x0F) {
            Some(op) => op,
            None => return Err(HeaderError::ReservedOpcode(b0 & 0x0F)),
        };
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        let (payload_len, mut pos) = match len7 {
            126 => match input.get(2..4) {
                Some(&[a, b]) => (u64::from(u16::from_be_bytes([a, b])), 4),
                _ => return Ok(None),
            },
            127 => match input.get(2..10) {
                Some(&[a, b, c, d, e, f, g, h]) => {
                    let n = u64::from_be_bytes([a, b, c, d, e, f, g, h]);
                    if n >> 63 != 0 {
                        return Err(HeaderError::InvalidLength);
                    }
                    (n, 10)
                }
                _ => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        let mask = if masked {
            match input.get(pos..pos + 4) {
                Some(&[a, b, c, d]) => {
                    pos += 4;
                    Some([a, b, c, d])
                }
                _ => return Ok(None),
            }
        } else {
            None
        };
        Ok(Some((
            FrameHeader {
                fin: b0 & 0x80 != 0,
                rsv: (b0 >> 4) & 0b111,
                opcode,
                mask,
                payload_len,
            },
            pos,
        )))
    }

    /// The encoded length of this header: 2, 4 or 10 bytes, plus 4 when masked.
    pub const fn encoded_len(&self) -> usize {
        let base = if self.payload_len < 126 {
            2
        } else if self.payload_len <= 0xFFFF {
            4
        } else {
            10
        };
        if self.mask.is_some() {
            base + 4
        } else {
            base
        }
    }

    /// Encodes the header in its minimal length form; returns the bytes and how many
    /// of them are used.
    #[allow(
        clippy::indexing_slicing,
        reason = "offsets stay within the 14-byte header"
    )]
    pub fn to_bytes(&self) -> ([u8; MAX_HEADER_LEN], usize) {
        let mut out = [0u8; MAX_HEADER_LEN];
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | self.opcode.bits();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut pos = if self.payload_len < 126 {
            out[1] = mask_bit | self.payload_len as u8;
            2
        } else if self.payload_len <= 0xFFFF {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
            4
        } else {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
            10
        };
        if let Some(key) = self.mask {
            out[pos..pos + 4].copy_from_slice(&key);
            pos += 4;
        }
        (out, pos)
    }

    /// Appends the encoded header to `w`.
    #[allow(
        clippy::indexing_slicing,
        reason = "to_bytes returns a length within its array"
    )]
    pub fn encode(&self, w: &mut Writer<'_>) {
        let (bytes, len) = self.to_bytes();
        w.put(&bytes[..len]);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn three_length_forms() {
        for (len, hlen) in [(0u64, 2usize), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            let h = FrameHeader {
                fin: false,
                rsv: RSV1,
                opcode: OpCode::Binary,
                mask: Some([1, 2, 3, 4]),
                payload_len: len,
            };
            let (b, n) = h.to_bytes();
            assert_eq!(n, hlen + 4);
            assert_eq!(n, h.encoded_len());
            assert_eq!(FrameHeader::decode(&b[..n]), Ok(Some((h, n))));
            for cut in 0..n {
                assert_eq!(FrameHeader::decode(&b[..cut]), Ok(None));
            }
        }
    }

    #[test]
    fn reserved_opcodes() {
        for op in (3..=7).chain(0xB..=0xF) {
            assert_eq!(
                FrameHeader::decode(&[0x80 | op, 0]),
                Err(HeaderError::ReservedOpcode(op))
            );
        }
    }

    #[test]
    fn msb_of_64_bit_length() {
        let b = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(FrameHeader::decode(&b), Err(HeaderError::InvalidLength));
    }

    fn opcode() -> impl Strategy<Value = OpCode> {
        prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary),
            Just(OpCode::Close),
            Just(OpCode::Ping),
            Just(OpCode::Pong),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(
            fin: bool,
            rsv in 0u8..8,
            op in opcode(),
            mask: Option<[u8; 4]>,
            len in prop_oneof![0u64..200, 60_000u64..70_000, 0u64..(1 << 63)],
            extra in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let h = FrameHeader { fin, rsv, opcode: op, mask, payload_len: len };
            let (b, n) = h.to_bytes();
            let mut buf = b[..n].to_vec();
            buf.extend_from_slice(&extra);
            prop_assert_eq!(FrameHeader::decode(&buf), Ok(Some((h, n))));
            prop_assert_eq!(n, h.encoded_len());
        }
    }
}
