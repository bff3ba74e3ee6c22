//! Writing frames into caller buffers.

use super::escape::{escape_into, unescaped_eq, HeaderPart, Unescape};
use super::{Command, EncodeError, Escaping, Frame, Version};
use crate::buf::{BufferTooSmall, Writer};

/// Encodes a frame into `out`, returning the number of octets written.
///
/// Header names and values are given plain (unescaped) and escaped as `version` requires
/// (never for `CONNECT`, `STOMP` and `CONNECTED`). A `content-length` header is added for
/// a non-empty body unless `headers` already has one, which must then equal the body's
/// length. `content-type`, like any other header, is passed through. The frame ends with
/// its NUL; nothing follows it.
///
/// ```
/// use sockwire_core::stomp::{encode, Command, Version};
/// let mut out = [0u8; 128];
/// let n = encode(
///     Command::Send,
///     &[("destination", "/queue/a"), ("content-type", "text/plain")],
///     b"hello",
///     Version::V1_2,
///     &mut out,
/// )
/// .unwrap();
/// assert_eq!(
///     &out[..n],
///     b"SEND\ndestination:/queue/a\ncontent-type:text/plain\ncontent-length:5\n\nhello\0"
/// );
/// ```
pub fn encode<N, V>(
    command: Command,
    headers: &[(N, V)],
    body: &[u8],
    version: Version,
    out: &mut [u8],
) -> Result<usize, EncodeError>
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let escaping = Escaping::for_frame(version, command);
    encode_with(
        command,
        headers.iter().map(|(n, v)| {
            (
                n.as_ref().iter().copied(),
                v.as_ref().iter().copied(),
                n.as_ref() == b"content-length",
                v.as_ref(),
            )
        }),
        body,
        escaping,
        out,
    )
}

/// Encodes a decoded frame again, for a session speaking `version`: its headers are
/// unescaped under the frame's own rules and escaped under the target's.
pub fn encode_frame(
    frame: &Frame<'_>,
    version: Version,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let from = frame.escaping();
    let escaping = Escaping::for_frame(version, frame.command());
    encode_with(
        frame.command(),
        frame.raw_headers().map(|h| {
            (
                Unescape::new(h.name, from).map_while(Result::ok),
                Unescape::new(h.value, from).map_while(Result::ok),
                unescaped_eq(h.name, from, b"content-length"),
                h.value,
            )
        }),
        frame.body(),
        escaping,
        out,
    )
}

/// Writes one heart-beat: an end of line (`\n`).
pub fn encode_heart_beat(out: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(out);
    w.put(b"\n");
    w.finish()
}

/// `headers` yields (name octets, value octets, is `content-length`, raw value).
fn encode_with<'v, I, NI, VI>(
    command: Command,
    headers: I,
    body: &[u8],
    escaping: Escaping,
    out: &mut [u8],
) -> Result<usize, EncodeError>
where
    I: Iterator<Item = (NI, VI, bool, &'v [u8])>,
    NI: Iterator<Item = u8>,
    VI: Iterator<Item = u8>,
{
    let mut w = Writer::new(out);
    w.put_str(command.as_str());
    w.put(b"\n");
    let mut has_length = false;
    for (index, (name, value, is_length, raw_value)) in headers.enumerate() {
        if is_length && !has_length {
            has_length = true;
            // The first content-length is the one decoders read: it must be right.
            let announced = raw_value.trim_ascii();
            if !is_decimal(announced, body.len()) {
                return Err(EncodeError::ContentLengthMismatch);
            }
        }
        let invalid = EncodeError::InvalidHeader { index };
        escape_into(name, escaping, HeaderPart::Name, &mut w).map_err(|_| invalid)?;
        w.put(b":");
        escape_into(value, escaping, HeaderPart::Value, &mut w).map_err(|_| invalid)?;
        w.put(b"\n");
    }
    if !has_length && !body.is_empty() {
        w.put(b"content-length:");
        w.put_decimal(body.len() as u64);
        w.put(b"\n");
    }
    w.put(b"\n");
    w.put(body);
    w.put(b"\0");
    Ok(w.finish()?)
}

/// Whether `digits` is the decimal form of `n` (leading zeros allowed).
fn is_decimal(digits: &[u8], n: usize) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let significant = match digits.iter().position(|&d| d != b'0') {
        Some(i) => digits.get(i..).unwrap_or_default(),
        None => b"",
    };
    let mut buf = [0u8; 20];
    let mut w = Writer::new(&mut buf);
    if n != 0 {
        w.put_decimal(n as u64);
    }
    match w.finish() {
        Ok(len) => buf.get(..len) == Some(significant),
        Err(_) => false,
    }
}
