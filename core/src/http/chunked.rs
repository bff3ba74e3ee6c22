//! HTTP/1.1 chunked transfer coding of request bodies (RFC 9112 §7.1), decoded
//! incrementally without a buffer of its own.

/// Longest chunk-size line (size, extensions) or trailer line accepted.
const MAX_LINE: usize = 4096;

/// Why a chunked body was refused (HTTP 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChunkedError {
    /// A chunk-size line without hex digits, or with a bad character.
    BadSize,
    /// A chunk size that does not fit in 64 bits.
    SizeOverflow,
    /// Chunk data not followed by CRLF.
    MissingCrlf,
    /// A size or trailer line longer than 4 KiB.
    LineTooLong,
    /// A size or trailer line ended by a bare LF, or a CR not followed by LF: where a
    /// front proxy and this server may split lines differently, a request could be
    /// smuggled, so only CRLF ends a line.
    BareLineEnd,
}

impl core::fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ChunkedError::BadSize => "bad chunk size",
            ChunkedError::SizeOverflow => "chunk size too large",
            ChunkedError::MissingCrlf => "chunk data not followed by CRLF",
            ChunkedError::LineTooLong => "chunk line too long",
            ChunkedError::BareLineEnd => "chunk line not ended by CRLF",
        })
    }
}

impl core::error::Error for ChunkedError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex size; `digits` seen so far.
    Size { size: u64, digits: usize },
    /// Skipping a chunk extension up to CRLF; `cr` just after its CR.
    Extension { size: u64, cr: bool },
    /// Reading `remaining` data bytes.
    Data { remaining: u64 },
    /// Expecting CR after data.
    DataCr,
    /// Expecting LF after data.
    DataLf,
    /// Reading a trailer line; `empty` while it has no character other than its CR, `cr`
    /// just after that CR.
    Trailer { empty: bool, cr: bool },
    /// The last chunk and the trailers are read.
    Done,
}

/// Decodes a chunked body fed in pieces of any size.
///
/// ```
/// use sockwire_core::http::ChunkedDecoder;
/// let mut d = ChunkedDecoder::new();
/// let mut body = Vec::new();
/// let used = d.decode(b"5\r\nhello\r\n0\r\n\r\n", &mut |data| body.extend_from_slice(data))?;
/// assert_eq!((used, d.is_done(), &body[..]), (15, true, &b"hello"[..]));
/// # Ok::<(), sockwire_core::http::ChunkedError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: State,
    line: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub const fn new() -> Self {
        ChunkedDecoder {
            state: State::Size { size: 0, digits: 0 },
            line: 0,
        }
    }

    /// Whether the whole body (last chunk and trailers) has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes `input`, handing each piece of body data to `data`; stops after the end of
    /// the body and returns how many bytes were consumed (the rest is the next request).
    pub fn decode(
        &mut self,
        input: &[u8],
        data: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, ChunkedError> {
        let mut pos = 0;
        while let Some(&b) = input.get(pos) {
            match self.state {
                State::Done => break,
                State::Data { remaining } => {
                    let avail = input.len() - pos;
                    let take = usize::try_from(remaining).map_or(avail, |r| r.min(avail));
                    if let Some(piece) = input.get(pos..pos + take) {
                        data(piece);
                    }
                    pos += take;
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { remaining: left }
                    };
                    continue;
                }
                State::Size { size, digits } => {
                    self.count_line()?;
                    let digit = match b {
                        b'0'..=b'9' => Some(b - b'0'),
                        b'a'..=b'f' => Some(b - b'a' + 10),
                        b'A'..=b'F' => Some(b - b'A' + 10),
                        _ => None,
                    };
                    self.state = match (digit, b) {
                        (Some(d), _) => {
                            let size = size
                                .checked_mul(16)
                                .and_then(|s| s.checked_add(u64::from(d)))
                                .ok_or(ChunkedError::SizeOverflow)?;
                            State::Size {
                                size,
                                digits: digits + 1,
                            }
                        }
                        (None, _) if digits == 0 => return Err(ChunkedError::BadSize),
                        (None, b';' | b' ' | b'\t') => State::Extension { size, cr: false },
                        (None, b'\r') => State::Extension { size, cr: true },
                        (None, b'\n') => return Err(ChunkedError::BareLineEnd),
                        (None, _) => return Err(ChunkedError::BadSize),
                    };
                }
                State::Extension { size, cr } => {
                    self.count_line()?;
                    self.state = match (b, cr) {
                        (b'\n', true) => self.end_size_line(size),
                        (_, true) | (b'\n', false) => return Err(ChunkedError::BareLineEnd),
                        (b'\r', false) => State::Extension { size, cr: true },
                        _ => State::Extension { size, cr: false },
                    };
                }
                State::DataCr => {
                    self.state = match b {
                        b'\r' => State::DataLf,
                        _ => return Err(ChunkedError::MissingCrlf),
                    };
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(ChunkedError::MissingCrlf);
                    }
                    self.state = self.next_size();
                }
                State::Trailer { empty, cr } => {
                    self.count_line()?;
                    self.state = match (b, cr) {
                        (b'\n', true) if empty => State::Done,
                        (b'\n', true) => {
                            self.line = 0;
                            State::Trailer {
                                empty: true,
                                cr: false,
                            }
                        }
                        (b'\r', false) => State::Trailer { empty, cr: true },
                        (b'\n', false) | (_, true) => return Err(ChunkedError::BareLineEnd),
                        _ => State::Trailer {
                            empty: false,
                            cr: false,
                        },
                    };
                }
            }
            pos += 1;
        }
        Ok(pos)
    }

    fn count_line(&mut self) -> Result<(), ChunkedError> {
        self.line += 1;
        if self.line > MAX_LINE {
            return Err(ChunkedError::LineTooLong);
        }
        Ok(())
    }

    fn end_size_line(&mut self, size: u64) -> State {
        self.line = 0;
        if size == 0 {
            State::Trailer {
                empty: true,
                cr: false,
            }
        } else {
            State::Data { remaining: size }
        }
    }

    fn next_size(&mut self) -> State {
        self.line = 0;
        State::Size { size: 0, digits: 0 }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn decode_all(d: &mut ChunkedDecoder, input: &[u8]) -> Result<(usize, Vec<u8>), ChunkedError> {
        let mut body = Vec::new();
        let used = d.decode(input, &mut |p| body.extend_from_slice(p))?;
        Ok((used, body))
    }

    #[test]
    fn extensions_trailers_and_what_follows() {
        let input =
            b"4;name=v\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let mut d = ChunkedDecoder::new();
        let (used, body) = decode_all(&mut d, input).unwrap();
        assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.");
        assert!(d.is_done());
        assert_eq!(&input[used..], b"NEXT");
    }

    #[test]
    fn errors() {
        for (input, e) in [
            (&b"\r\n"[..], ChunkedError::BadSize),
            (b"g\r\n", ChunkedError::BadSize),
            (b"1\r\nab", ChunkedError::MissingCrlf),
            (b"11111111111111111\r\n", ChunkedError::SizeOverflow),
            (b"1\nx\r\n", ChunkedError::BareLineEnd),
            (b"1;e\nx\r\n", ChunkedError::BareLineEnd),
            (b"1\rx", ChunkedError::BareLineEnd),
            (b"1\r\nx\n", ChunkedError::MissingCrlf),
            (b"0\r\n\n", ChunkedError::BareLineEnd),
            (b"0\r\nX: y\n\r\n", ChunkedError::BareLineEnd),
            (b"0\r\nX: y\rz\r\n\r\n", ChunkedError::BareLineEnd),
        ] {
            assert_eq!(
                decode_all(&mut ChunkedDecoder::new(), input),
                Err(e),
                "{input:?}"
            );
        }
        let long = [b'1'; 5000];
        assert_eq!(
            decode_all(&mut ChunkedDecoder::new(), &long),
            Err(ChunkedError::SizeOverflow)
        );
        let mut ext = Vec::from(&b"1;"[..]);
        ext.extend_from_slice(&[b'x'; 5000]);
        assert_eq!(
            decode_all(&mut ChunkedDecoder::new(), &ext),
            Err(ChunkedError::LineTooLong)
        );
    }

    fn encode(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in chunks.iter().filter(|c| !c.is_empty()) {
            out.extend_from_slice(std::format!("{:x}\r\n", c.len()).as_bytes());
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    proptest! {
        #[test]
        fn round_trip_split_anywhere(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
            cuts in proptest::collection::vec(0usize..2000, 0..6),
        ) {
            let wire = encode(&chunks);
            let mut d = ChunkedDecoder::new();
            let mut body = Vec::new();
            let mut pos = 0;
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (wire.len() + 1)).collect();
            cuts.sort_unstable();
            cuts.push(wire.len());
            for cut in cuts {
                if cut < pos { continue; }
                pos += d.decode(&wire[pos..cut], &mut |p| body.extend_from_slice(p)).unwrap();
            }
            prop_assert!(d.is_done());
            prop_assert_eq!(pos, wire.len());
            prop_assert_eq!(body, chunks.concat());
        }

        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut d = ChunkedDecoder::new();
            if let Ok(used) = d.decode(&input, &mut |_| {}) {
                prop_assert!(used <= input.len());
            }
        }
    }
}
