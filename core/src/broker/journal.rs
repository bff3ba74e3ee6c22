//! The journal of durable queue messages: one [`Record`] per message held and per message
//! let go, appended before the publisher's receipt and replayed after a restart. The
//! caller owns the file (or flash pages); this is the record format only.
//!
//! A record is `len: u32 LE` (bytes after the 8-byte head), `crc: u32 LE` (CRC-32 of
//! those bytes), then the body: kind `P` or `R`, `seq: u64 LE`, and for `P` the header
//! escaping (`0` none, `1` STOMP 1.1, `2` STOMP 1.2), `destination_len: u16 LE`, the
//! destination, `headers_len: u32 LE`, the header lines and the message body. A crash
//! may leave the last record short or torn: [`decode`] tells it apart from the records
//! before, which are whole.
//!
//! ```
//! use sockwire_core::broker::{journal, HeaderLines, Message};
//! let message = Message { destination: "/queue/a", headers: HeaderLines::new(b"k:v"), body: b"hi" };
//! let mut buf = [0u8; 64];
//! let n = journal::encode(&journal::Record::Put { seq: 7, message }, &mut buf)?;
//! match journal::decode(&buf[..n]) {
//!     journal::Decoded::Record(journal::Record::Put { seq, message }, used) => {
//!         assert_eq!((seq, message.destination, message.body, used), (7, "/queue/a", &b"hi"[..], n));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), sockwire_core::buf::BufferTooSmall>(())
//! ```

use super::{HeaderLines, Message};
use crate::buf::BufferTooSmall;
use crate::stomp::Escaping;

/// Bytes of a record's head: length and checksum.
pub const HEAD: usize = 8;

/// The largest record body accepted when decoding: a length above it is corruption.
pub const MAX_BODY: usize = 1 << 30;

/// One entry of the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// The broker holds `message` under `seq` (a queue message, waiting or
    /// unacknowledged).
    Put {
        /// The broker's sequence number (the message id).
        seq: u64,
        /// The message as published.
        message: Message<'a>,
    },
    /// The message under `seq` is gone (acknowledged, or taken by an `ack:auto`
    /// subscriber).
    Remove {
        /// Its sequence number.
        seq: u64,
    },
}

/// What [`decode`] found at the start of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole record, and the bytes it took.
    Record(Record<'a>, usize),
    /// The input ends inside a record: the tail a crash cut short (or more is to come).
    Incomplete,
    /// The bytes are no record (bad checksum, length or field): the journal ends here.
    Corrupt,
}

/// Bytes [`encode`] writes for `record`.
pub fn encoded_len(record: &Record<'_>) -> usize {
    HEAD + body_len(record)
}

fn body_len(record: &Record<'_>) -> usize {
    match record {
        Record::Remove { .. } => 1 + 8,
        Record::Put { message, .. } => {
            1 + 8 + 1 + 2 + message.destination.len() + 4 + message.size()
        }
    }
}

fn escaping_code(e: Escaping) -> u8 {
    match e {
        Escaping::None => 0,
        Escaping::V1_1 => 1,
        Escaping::V1_2 => 2,
    }
}

fn escaping_of(code: u8) -> Option<Escaping> {
    match code {
        0 => Some(Escaping::None),
        1 => Some(Escaping::V1_1),
        2 => Some(Escaping::V1_2),
        _ => None,
    }
}

/// Writes `record` at the start of `out`; returns the bytes written. A destination over
/// 65,535 bytes or header lines over 4 GiB cannot be written.
pub fn encode(record: &Record<'_>, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let total = encoded_len(record);
    let too_small = BufferTooSmall { needed: total };
    let buf = out.get_mut(..total).ok_or(too_small)?;
    let (head, body) = buf.split_at_mut(HEAD);
    let mut w = Writer { buf: body, at: 0 };
    match record {
        Record::Remove { seq } => {
            w.put(b"R");
            w.put(&seq.to_le_bytes());
        }
        Record::Put { seq, message } => {
            let dest = u16::try_from(message.destination.len()).map_err(|_| too_small)?;
            let headers = message.headers.as_bytes();
            let headers_len = u32::try_from(headers.len()).map_err(|_| too_small)?;
            w.put(b"P");
            w.put(&seq.to_le_bytes());
            w.put(&[escaping_code(message.headers.escaping())]);
            w.put(&dest.to_le_bytes());
            w.put(message.destination.as_bytes());
            w.put(&headers_len.to_le_bytes());
            w.put(headers);
            w.put(message.body);
        }
    }
    let len = u32::try_from(body.len()).map_err(|_| too_small)?;
    let crc = crc32fast::hash(body);
    let mut h = Writer { buf: head, at: 0 };
    h.put(&len.to_le_bytes());
    h.put(&crc.to_le_bytes());
    Ok(total)
}

struct Writer<'b> {
    buf: &'b mut [u8],
    at: usize,
}

impl Writer<'_> {
    /// Copies `bytes` in; the caller sized the buffer with [`encoded_len`].
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.at..end) {
            dst.copy_from_slice(bytes);
        }
        self.at = end;
    }
}

/// Reads the record at the start of `input`.
pub fn decode(input: &[u8]) -> Decoded<'_> {
    let Some(([l0, l1, l2, l3, c0, c1, c2, c3], _)) = input.split_first_chunk::<HEAD>() else {
        return Decoded::Incomplete;
    };
    let len = u32::from_le_bytes([*l0, *l1, *l2, *l3]) as usize;
    let crc = u32::from_le_bytes([*c0, *c1, *c2, *c3]);
    if len > MAX_BODY {
        return Decoded::Corrupt;
    }
    let Some(body) = input.get(HEAD..HEAD + len) else {
        return Decoded::Incomplete;
    };
    if crc32fast::hash(body) != crc {
        return Decoded::Corrupt;
    }
    match parse_body(body) {
        Some(record) => Decoded::Record(record, HEAD + len),
        None => Decoded::Corrupt,
    }
}

fn parse_body(body: &[u8]) -> Option<Record<'_>> {
    let mut r = Reader { rest: body };
    let kind = r.take(1)?;
    let seq = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
    match kind {
        b"R" => r.rest.is_empty().then_some(Record::Remove { seq }),
        b"P" => {
            let escaping = escaping_of(*r.take(1)?.first()?)?;
            let dest_len = u16::from_le_bytes(r.take(2)?.try_into().ok()?);
            let destination = core::str::from_utf8(r.take(usize::from(dest_len))?).ok()?;
            let headers_len = u32::from_le_bytes(r.take(4)?.try_into().ok()?);
            let headers = r.take(usize::try_from(headers_len).ok()?)?;
            Some(Record::Put {
                seq,
                message: Message {
                    destination,
                    headers: HeaderLines::with_escaping(headers, escaping),
                    body: r.rest,
                },
            })
        }
        _ => None,
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    fn put<'a>(seq: u64, dest: &'a str, headers: &'a [u8], body: &'a [u8]) -> Record<'a> {
        Record::Put {
            seq,
            message: Message {
                destination: dest,
                headers: HeaderLines::with_escaping(headers, Escaping::V1_2),
                body,
            },
        }
    }

    fn encoded(records: &[Record<'_>]) -> Vec<u8> {
        let mut all = Vec::new();
        for r in records {
            let mut buf = vec![0u8; encoded_len(r)];
            let n = encode(r, &mut buf).unwrap();
            all.extend_from_slice(&buf[..n]);
        }
        all
    }

    fn decode_all(mut input: &[u8]) -> (Vec<Record<'_>>, Decoded<'_>) {
        let mut out = Vec::new();
        loop {
            match decode(input) {
                Decoded::Record(r, used) => {
                    out.push(r);
                    input = &input[used..];
                }
                end => return (out, end),
            }
        }
    }

    #[test]
    fn a_torn_tail_is_incomplete_and_a_flipped_bit_corrupt() {
        let records = [
            put(1, "/queue/a", b"k:v", b"one"),
            Record::Remove { seq: 1 },
        ];
        let bytes = encoded(&records);
        assert_eq!(decode_all(&bytes), (records.to_vec(), Decoded::Incomplete));
        for cut in 0..bytes.len() {
            let (got, end) = decode_all(&bytes[..cut]);
            assert!(records.starts_with(&got), "cut at {cut}");
            assert_eq!(end, Decoded::Incomplete, "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[HEAD + 3] ^= 0x10;
        assert_eq!(decode(&flipped), Decoded::Corrupt);
        assert_eq!(
            encode(&records[0], &mut [0u8; 10]),
            Err(BufferTooSmall {
                needed: encoded_len(&records[0])
            })
        );
    }

    proptest! {
        #[test]
        fn records_round_trip(
            items in proptest::collection::vec(
                (any::<u64>(), "[a-z/.]{0,20}", proptest::collection::vec(any::<u8>(), 0..40),
                 proptest::collection::vec(any::<u8>(), 0..80), any::<bool>()),
                0..8,
            )
        ) {
            let records: Vec<Record<'_>> = items
                .iter()
                .map(|(seq, d, h, b, remove)| {
                    if *remove { Record::Remove { seq: *seq } } else { put(*seq, d, h, b) }
                })
                .collect();
            let bytes = encoded(&records);
            prop_assert_eq!(decode_all(&bytes), (records.clone(), Decoded::Incomplete));
        }

        #[test]
        fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_all(&bytes);
        }
    }
}
