//! Request heads.

use nom::bytes::complete::{tag, take_while1};
use nom::combinator::all_consuming;
use nom::Parser;

use super::grammar::{is_vchar, parse_head, token, version};
use super::header::{Header, Headers};
use super::HeadError;

/// A parsed request head, borrowing the input (`'a`) and the caller's header array (`'h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'h, 'a> {
    /// The method, case-sensitive (`GET`).
    pub method: &'a str,
    /// The request target as sent (`/chat?room=1`), visible ASCII only.
    pub target: &'a str,
    /// The minor version of HTTP/1.x.
    pub minor_version: u8,
    /// The header fields, in order.
    pub headers: Headers<'h, 'a>,
}

impl<'h, 'a> Request<'h, 'a> {
    /// Parses the request head at the start of `buf` into `headers`.
    ///
    /// Returns the request and the length of its head (bytes after it are not looked at),
    /// or `Ok(None)` when the head is not complete yet. More fields than `headers` holds is
    /// [`HeadError::TooManyHeaders`]. Size limits are the job of a
    /// [`HeadScanner`](super::HeadScanner) run over the input first.
    ///
    /// ```
    /// use sockwire_core::http::{Header, Request};
    /// let mut headers = [Header::EMPTY; 8];
    /// let (req, len) = Request::parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &mut headers)
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!((req.method, req.target, req.minor_version, len), ("GET", "/", 1, 27));
    /// ```
    pub fn parse(
        buf: &'a [u8],
        headers: &'h mut [Header<'a>],
    ) -> Result<Option<(Self, usize)>, HeadError> {
        let start_line = |start: &'a [u8]| {
            let (_, (method, _, target, _, (major, minor))) =
                all_consuming((token, tag(" "), take_while1(is_vchar), tag(" "), version))
                    .parse(start)
                    .map_err(|_: nom::Err<nom::error::Error<&[u8]>>| HeadError::BadRequestLine)?;
            if major != 1 {
                return Err(HeadError::UnsupportedVersion);
            }
            let method = core::str::from_utf8(method).map_err(|_| HeadError::BadRequestLine)?;
            let target = core::str::from_utf8(target).map_err(|_| HeadError::BadRequestLine)?;
            Ok((method, target, minor))
        };
        let Some(((method, target, minor_version), headers, len)) =
            parse_head(buf, headers, HeadError::BadRequestLine, start_line)?
        else {
            return Ok(None);
        };
        let head = buf.get(..len).unwrap_or_default();
        let bare_lf = head
            .iter()
            .zip(core::iter::once(&0).chain(head.iter()))
            .any(|(&b, &before)| b == b'\n' && before != b'\r');
        if bare_lf {
            return Err(HeadError::BareLineFeed);
        }
        let request = Request {
            method,
            target,
            minor_version,
            headers,
        };
        Ok(Some((request, len)))
    }

    /// The path of the target, without the query (`/chat` for `/chat?room=1`).
    pub fn path(&self) -> &'a str {
        self.target
            .split_once('?')
            .map_or(self.target, |(path, _)| path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Option<usize>, HeadError> {
        let mut headers = [Header::EMPTY; 4];
        Request::parse(input, &mut headers).map(|r| r.map(|(_, len)| len))
    }

    #[test]
    fn rfc6455_example() {
        let input = b"GET /chat HTTP/1.1\r\n\
            Host: server.example.com\r\n\
            Upgrade: websocket\r\n\
            Connection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Origin: http://example.com\r\n\
            Sec-WebSocket-Protocol: chat, superchat\r\n\
            Sec-WebSocket-Version: 13\r\n\r\n";
        let mut headers = [Header::EMPTY; 16];
        let (req, len) = Request::parse(input, &mut headers).unwrap().unwrap();
        assert_eq!(len, input.len());
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/chat");
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.minor_version, 1);
        assert_eq!(req.headers.len(), 7);
        assert_eq!(req.headers.get("origin"), Some(&b"http://example.com"[..]));
    }

    #[test]
    fn incomplete_is_not_an_error() {
        assert_eq!(parse(b""), Ok(None));
        assert_eq!(parse(b"GET / HT"), Ok(None));
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: a\r\n"), Ok(None));
    }

    #[test]
    fn malformed_request_lines() {
        assert_eq!(
            parse(b"GET  / HTTP/1.1\r\n\r\n"),
            Err(HeadError::BadRequestLine)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1 \r\n\r\n"),
            Err(HeadError::BadRequestLine)
        );
        assert_eq!(
            parse(b"G(T / HTTP/1.1\r\n\r\n"),
            Err(HeadError::BadRequestLine)
        );
        assert_eq!(
            parse(b"GET /\x80 HTTP/1.1\r\n\r\n"),
            Err(HeadError::BadRequestLine)
        );
        assert_eq!(
            parse(b"GET / HTTP/1\r\n\r\n"),
            Err(HeadError::BadRequestLine)
        );
        assert_eq!(parse(b"\r\n\r\n"), Err(HeadError::BadRequestLine));
        assert_eq!(
            parse(b"GET / HTTP/2.0\r\n\r\n"),
            Err(HeadError::UnsupportedVersion)
        );
        assert_eq!(HeadError::UnsupportedVersion.status(), 505);
    }

    #[test]
    fn header_rules() {
        assert_eq!(parse(b"GET / HTTP/1.0\r\nA: b\r\n\r\n"), Ok(Some(24)));
        assert_eq!(
            parse(b"GET / HTTP/1.1\nA: b\n\n"),
            Err(HeadError::BareLineFeed)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nA: b\n\r\n"),
            Err(HeadError::BareLineFeed)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"),
            Err(HeadError::ObsoleteLineFolding)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nA : b\r\n\r\n"),
            Err(HeadError::BadHeaderName)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"),
            Err(HeadError::BadHeaderValue)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\ne:5\r\n\r\n"),
            Err(HeadError::TooManyHeaders)
        );
        assert_eq!(HeadError::TooManyHeaders.status(), 431);
    }

    #[test]
    fn path_without_query() {
        let mut headers = [Header::EMPTY; 1];
        let (req, _) = Request::parse(b"GET /a/b?c=d HTTP/1.1\r\n\r\n", &mut headers)
            .unwrap()
            .unwrap();
        assert_eq!(req.path(), "/a/b");
    }
}
