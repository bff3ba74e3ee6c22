//! Decoding what clients send: `xhr_send`/`jsonp_send` bodies and `websocket` messages.
//!
//! A body is a JSON array of strings (`["a","b"]`), for `jsonp_send` possibly inside a
//! form-encoded `d=...` field. [`SendBody::parse`] checks the whole body first, so a broken
//! body is refused before any of its messages is delivered; [`Messages::next_into`] then
//! decodes the strings one by one into a caller buffer, without allocating.

use super::form::{field, PercentDecoded};
use super::json_escape::{Count, Sink};
use crate::buf::{BufferTooSmall, Writer};
use crate::ws::utf8::Utf8Validator;

/// Why a send body was refused. Both are answered with status 500 and [`message`](Self::message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendBodyError {
    /// The body (or its `d` field) is empty.
    PayloadExpected,
    /// The body is not a JSON array of strings, or a string is not valid UTF-8.
    BrokenJson,
}

impl SendBodyError {
    /// The response body the protocol answers with.
    pub const fn message(self) -> &'static str {
        match self {
            SendBodyError::PayloadExpected => "Payload expected.",
            SendBodyError::BrokenJson => "Broken JSON encoding.",
        }
    }

    /// The HTTP status to answer with: 500.
    pub const fn status(self) -> u16 {
        500
    }
}

impl core::fmt::Display for SendBodyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for SendBodyError {}

/// How the body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BodyEncoding {
    /// The JSON text itself (any content type but form-encoded).
    Json,
    /// `application/x-www-form-urlencoded`: the JSON is the `d` field, percent-encoded.
    Form,
}

impl BodyEncoding {
    /// [`Form`](Self::Form) when `content_type` is `application/x-www-form-urlencoded`
    /// (parameters and case ignored), [`Json`](Self::Json) otherwise.
    pub fn from_content_type(content_type: Option<&[u8]>) -> Self {
        let essence = content_type
            .and_then(|ct| ct.split(|&b| b == b';').next())
            .map(|e| e.trim_ascii());
        match essence {
            Some(e) if e.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") => {
                BodyEncoding::Form
            }
            _ => BodyEncoding::Json,
        }
    }
}

#[derive(Debug, Clone)]
enum Bytes<'a> {
    Plain(core::slice::Iter<'a, u8>),
    Form(PercentDecoded<'a>),
}

impl Iterator for Bytes<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        match self {
            Bytes::Plain(it) => it.next().copied(),
            Bytes::Form(it) => it.next(),
        }
    }
}

/// The JSON a body may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// An array of strings.
    Array,
    /// An array of strings or one string.
    ArrayOrString,
    /// One string.
    String,
}

#[derive(Debug, Clone)]
struct Parser<'a> {
    src: Bytes<'a>,
    peeked: Option<u8>,
}

type Step<T = ()> = Result<T, SendBodyError>;
const BROKEN: SendBodyError = SendBodyError::BrokenJson;

impl<'a> Parser<'a> {
    fn new(src: Bytes<'a>) -> Self {
        Parser { src, peeked: None }
    }

    fn peek(&mut self) -> Option<u8> {
        if self.peeked.is_none() {
            self.peeked = self.src.next();
        }
        self.peeked
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek();
        self.peeked = None;
        b
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, b: u8) -> Step {
        if self.bump() == Some(b) {
            Ok(())
        } else {
            Err(BROKEN)
        }
    }

    fn hex4(&mut self) -> Step<u16> {
        let mut unit = 0u16;
        for _ in 0..4 {
            let digit = self
                .bump()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or(BROKEN)?;
            unit = unit << 4 | digit as u16;
        }
        Ok(unit)
    }

    /// After `\u`: one code point, joining a surrogate pair; a lone surrogate is U+FFFD.
    fn unicode_escape(&mut self) -> Step<char> {
        let unit = self.hex4()?;
        match unit {
            0xd800..=0xdbff => {
                let save = self.clone();
                if self.bump() == Some(b'\\') && self.bump() == Some(b'u') {
                    if let Ok(low @ 0xdc00..=0xdfff) = self.hex4() {
                        let c = 0x10000
                            + ((u32::from(unit) - 0xd800) << 10)
                            + (u32::from(low) - 0xdc00);
                        return Ok(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                }
                *self = save;
                Ok(char::REPLACEMENT_CHARACTER)
            }
            _ => Ok(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
    }

    /// A JSON string, decoded into `out`.
    fn string(&mut self, out: &mut dyn Sink) -> Step {
        self.expect(b'"')?;
        let mut utf8 = Utf8Validator::new();
        loop {
            match self.bump().ok_or(BROKEN)? {
                b'"' => {
                    return if utf8.is_complete() {
                        Ok(())
                    } else {
                        Err(BROKEN)
                    }
                }
                b'\\' => {
                    if !utf8.is_complete() {
                        return Err(BROKEN);
                    }
                    let c = match self.bump().ok_or(BROKEN)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(BROKEN),
                    };
                    let mut buf = [0u8; 4];
                    out.put(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return Err(BROKEN),
                b => {
                    utf8.feed(&[b]).map_err(|_| BROKEN)?;
                    out.put(&[b]);
                }
            }
        }
    }
}

/// A checked send body: how many messages it holds and the largest decoded size.
///
/// ```
/// use sockwire_core::sockjs::{BodyEncoding, SendBody, SendBodyError};
/// let body = SendBody::parse(br#"["a","\ud83d\ude00"]"#, BodyEncoding::Json)?;
/// assert_eq!(body.len(), 2);
/// let mut messages = body.messages();
/// let mut buf = [0u8; 16];
/// assert_eq!(messages.next_into(&mut buf), Some(Ok("a")));
/// assert_eq!(messages.next_into(&mut buf), Some(Ok("😀")));
/// assert_eq!(messages.next_into(&mut buf), None);
///
/// let form = SendBody::parse(b"d=%5B%22x+y%22%5D", BodyEncoding::Form)?;
/// assert_eq!(form.messages().next_into(&mut buf), Some(Ok("x y")));
/// assert_eq!(SendBody::parse(b"", BodyEncoding::Json).err(), Some(SendBodyError::PayloadExpected));
/// assert_eq!(SendBody::parse(b"[\"x", BodyEncoding::Json).err(), Some(SendBodyError::BrokenJson));
/// # Ok::<(), SendBodyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SendBody<'a> {
    start: Parser<'a>,
    count: usize,
    max_len: usize,
}

impl<'a> SendBody<'a> {
    /// Checks an `xhr_send`/`jsonp_send` body: a JSON array of strings.
    pub fn parse(body: &'a [u8], encoding: BodyEncoding) -> Result<Self, SendBodyError> {
        let src = match encoding {
            BodyEncoding::Json if body.is_empty() => return Err(SendBodyError::PayloadExpected),
            BodyEncoding::Json => Bytes::Plain(body.iter()),
            BodyEncoding::Form => match field(body, b"d") {
                Some(d) if !d.is_empty() => Bytes::Form(PercentDecoded::new(d)),
                _ => return Err(SendBodyError::PayloadExpected),
            },
        };
        Self::check(Parser::new(src), Shape::Array)
    }

    /// Checks a JSON array of strings, as a server's `a[...]` frame carries after the `a`.
    pub fn parse_array(json: &'a [u8]) -> Result<Self, SendBodyError> {
        Self::check(Parser::new(Bytes::Plain(json.iter())), Shape::Array)
    }

    /// Checks one JSON string (the body then holds one message), as the reason of a
    /// server's close frame.
    pub fn parse_string(json: &'a [u8]) -> Result<Self, SendBodyError> {
        Self::check(Parser::new(Bytes::Plain(json.iter())), Shape::String)
    }

    /// Checks a message received on the `websocket` transport: a JSON array of strings or
    /// a single JSON string. An empty message is `Ok(None)` (ignored by the protocol).
    pub fn parse_websocket(message: &'a [u8]) -> Result<Option<Self>, SendBodyError> {
        if message.is_empty() {
            return Ok(None);
        }
        Self::check(
            Parser::new(Bytes::Plain(message.iter())),
            Shape::ArrayOrString,
        )
        .map(Some)
    }

    fn check(mut p: Parser<'a>, shape: Shape) -> Result<Self, SendBodyError> {
        p.skip_ws();
        let mut count = 0;
        let mut max_len = 0;
        let mut measure = |p: &mut Parser<'a>| -> Step {
            let mut len = Count(0);
            p.string(&mut len)?;
            count += 1;
            max_len = max_len.max(len.0);
            Ok(())
        };
        let start;
        match p.peek() {
            Some(b'[') if shape != Shape::String => {
                p.bump();
                start = p.clone();
                p.skip_ws();
                if p.peek() == Some(b']') {
                    p.bump();
                } else {
                    loop {
                        p.skip_ws();
                        measure(&mut p)?;
                        p.skip_ws();
                        match p.bump() {
                            Some(b',') => continue,
                            Some(b']') => break,
                            _ => return Err(BROKEN),
                        }
                    }
                }
            }
            Some(b'"') if shape != Shape::Array => {
                start = p.clone();
                measure(&mut p)?;
            }
            _ => return Err(BROKEN),
        }
        p.skip_ws();
        if p.bump().is_some() {
            return Err(BROKEN);
        }
        Ok(SendBody {
            start,
            count,
            max_len,
        })
    }

    /// The number of messages.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no messages (`[]`).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The decoded byte length of the longest message: a buffer this large takes them all.
    pub fn max_message_len(&self) -> usize {
        self.max_len
    }

    /// The messages, in order.
    pub fn messages(&self) -> Messages<'a> {
        Messages {
            parser: self.start.clone(),
            remaining: self.count,
        }
    }
}

/// The messages of a [`SendBody`], decoded one at a time into caller buffers.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    parser: Parser<'a>,
    remaining: usize,
}

impl<'a> Messages<'a> {
    /// Decodes the next message into `out`. When `out` is too small, nothing is consumed
    /// and the error states the size needed, so the call can be repeated with a larger
    /// buffer. `None` after the last message.
    pub fn next_into<'o>(&mut self, out: &'o mut [u8]) -> Option<Result<&'o str, BufferTooSmall>> {
        if self.remaining == 0 {
            return None;
        }
        let save = self.parser.clone();
        self.parser.skip_ws();
        let mut w = Writer::new(out);
        // The body was checked when parsed; an error here would be a bug: stop.
        self.parser.string(&mut w).ok()?;
        let len = match w.finish() {
            Ok(len) => len,
            Err(e) => {
                self.parser = save;
                return Some(Err(e));
            }
        };
        self.parser.skip_ws();
        if self.parser.peek() == Some(b',') {
            self.parser.bump();
        }
        self.remaining -= 1;
        let text = core::str::from_utf8(out.get(..len)?).ok()?;
        Some(Ok(text))
    }

    /// The number of messages not yet decoded.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Bytes of a JSON (not form-encoded) body after the messages decoded so far, to
    /// [`Messages::resume`] later without parsing the body again.
    pub fn bytes_left(&self) -> usize {
        let peeked = usize::from(self.parser.peeked.is_some());
        match &self.parser.src {
            Bytes::Plain(it) => it.as_slice().len().saturating_add(peeked),
            Bytes::Form(_) => 0,
        }
    }

    /// The messages of the JSON `body` (already checked by [`SendBody::parse`] or
    /// [`SendBody::parse_websocket`]) still to decode, from the state
    /// [`Messages::bytes_left`] and [`Messages::remaining`] gave.
    pub fn resume(body: &'a [u8], bytes_left: usize, remaining: usize) -> Self {
        let start = body.len().saturating_sub(bytes_left);
        Messages {
            parser: Parser::new(Bytes::Plain(body.get(start..).unwrap_or_default().iter())),
            remaining,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn all(body: &[u8], enc: BodyEncoding) -> Result<Vec<String>, SendBodyError> {
        let parsed = SendBody::parse(body, enc)?;
        let mut out = std::vec![0u8; parsed.max_message_len()];
        let mut it = parsed.messages();
        let mut v = Vec::new();
        while let Some(m) = it.next_into(&mut out) {
            v.push(String::from(m.unwrap()));
        }
        assert_eq!(v.len(), parsed.len());
        Ok(v)
    }

    fn json(body: &str) -> Result<Vec<String>, SendBodyError> {
        all(body.as_bytes(), BodyEncoding::Json)
    }

    #[test]
    fn resumes_where_it_stopped() {
        let body = br#"[ "a" , "b\u00e9", "c"]"#;
        let parsed = SendBody::parse(body, BodyEncoding::Json).unwrap();
        let mut it = parsed.messages();
        let mut buf = [0u8; 8];
        assert_eq!(it.next_into(&mut buf), Some(Ok("a")));
        let (left, remaining) = (it.bytes_left(), it.remaining());
        let mut again = Messages::resume(body, left, remaining);
        assert_eq!(again.next_into(&mut buf), Some(Ok("bé")));
        assert_eq!(again.next_into(&mut buf), Some(Ok("c")));
        assert_eq!(again.next_into(&mut buf), None);
    }

    #[test]
    fn arrays() {
        assert_eq!(json("[]").unwrap(), Vec::<String>::new());
        assert_eq!(
            json(" [ \"a\" , \"\" ,\"c\" ]\r\n").unwrap(),
            ["a", "", "c"]
        );
        assert_eq!(json(r#"["é€😀"]"#).unwrap(), ["é€😀"]);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            json(r#"["\"\\\/\b\f\n\r\t\u0041\u00e9\u2028"]"#).unwrap(),
            ["\"\\/\u{8}\u{c}\n\r\tAé\u{2028}"]
        );
        assert_eq!(json(r#"["\ud83d\ude00"]"#).unwrap(), ["😀"]);
        assert_eq!(json(r#"["\uD83D\uDE00"]"#).unwrap(), ["😀"]);
        // Lone surrogates cannot be UTF-8: they become U+FFFD.
        assert_eq!(
            json(r#"["\ud83dx","\ude00","\ud83d\u0041"]"#).unwrap(),
            ["\u{fffd}x", "\u{fffd}", "\u{fffd}A"]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(json(""), Err(SendBodyError::PayloadExpected));
        for bad in [
            "[\"x",
            " ",
            "[",
            "[\"a\",]",
            "[1]",
            "{}",
            "\"a\"",
            "[\"a\"] x",
            "[\"\\x\"]",
            "[\"\\u12\"]",
            "[\"a\nb\"]",
            "[\"a\"\"b\"]",
            "[,]",
            "null",
        ] {
            assert_eq!(json(bad), Err(SendBodyError::BrokenJson), "{bad:?}");
        }
        assert_eq!(
            all(b"[\"\xff\"]", BodyEncoding::Json),
            Err(SendBodyError::BrokenJson)
        );
        assert_eq!(
            all(b"[\"\xc3\\n\"]", BodyEncoding::Json),
            Err(SendBodyError::BrokenJson)
        );
        assert_eq!(SendBodyError::BrokenJson.message(), "Broken JSON encoding.");
        assert_eq!(
            SendBodyError::PayloadExpected.message(),
            "Payload expected."
        );
    }

    #[test]
    fn form_encoded() {
        let form = |b: &str| all(b.as_bytes(), BodyEncoding::Form);
        assert_eq!(form("d=%5B%22x%22%5D").unwrap(), ["x"]);
        assert_eq!(
            form("a=1&d=%5B%22x+y%22,%22%C3%A9%22%5D").unwrap(),
            ["x y", "é"]
        );
        assert_eq!(form("d=[\"%61bc\"]").unwrap(), ["abc"]);
        assert_eq!(form("d=%5B%22x"), Err(SendBodyError::BrokenJson));
        assert_eq!(form("d=%5B%22%FF%22%5D"), Err(SendBodyError::BrokenJson));
        for empty in ["", "d=", "p=p"] {
            assert_eq!(
                form(empty),
                Err(SendBodyError::PayloadExpected),
                "{empty:?}"
            );
        }
        // Plain bodies are not percent-decoded.
        assert_eq!(json("[\"%61bc\"]").unwrap(), ["%61bc"]);
        assert_eq!(
            BodyEncoding::from_content_type(Some(
                b"Application/X-WWW-Form-Urlencoded; charset=UTF-8"
            )),
            BodyEncoding::Form
        );
        assert_eq!(
            BodyEncoding::from_content_type(Some(b"text/plain")),
            BodyEncoding::Json
        );
        assert_eq!(BodyEncoding::from_content_type(None), BodyEncoding::Json);
    }

    #[test]
    fn small_buffer_consumes_nothing() {
        let body = SendBody::parse(br#"["abcdef","g"]"#, BodyEncoding::Json).unwrap();
        assert_eq!(body.max_message_len(), 6);
        let mut it = body.messages();
        let mut small = [0u8; 3];
        assert_eq!(
            it.next_into(&mut small),
            Some(Err(BufferTooSmall { needed: 6 }))
        );
        let mut big = [0u8; 6];
        assert_eq!(it.next_into(&mut big), Some(Ok("abcdef")));
        assert_eq!(it.next_into(&mut small), Some(Ok("g")));
        assert_eq!(it.next_into(&mut small), None);
    }

    #[test]
    fn websocket_messages() {
        assert!(SendBody::parse_websocket(b"").unwrap().is_none());
        let single = SendBody::parse_websocket(b" \"a\" ").unwrap().unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(single.messages().next_into(&mut buf), Some(Ok("a")));
        assert_eq!(
            SendBody::parse_websocket(b"[\"a\",\"b\"]")
                .unwrap()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            SendBody::parse_websocket(b"[\"a").err(),
            Some(SendBodyError::BrokenJson)
        );
    }
}
