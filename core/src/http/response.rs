//! Response heads.

use nom::bytes::complete::{tag, take_while, take_while_m_n};
use nom::combinator::{all_consuming, opt};
use nom::Parser;

use super::grammar::{is_field_byte, parse_head, version};
use super::header::{Header, Headers};
use super::HeadError;

/// A parsed response head, borrowing the input (`'a`) and the caller's header array (`'h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'h, 'a> {
    /// The minor version of HTTP/1.x.
    pub minor_version: u8,
    /// The three-digit status code.
    pub status: u16,
    /// The reason phrase as sent (possibly empty).
    pub reason: &'a str,
    /// The header fields, in order.
    pub headers: Headers<'h, 'a>,
}

impl<'h, 'a> Response<'h, 'a> {
    /// Parses the response head at the start of `buf` into `headers`.
    ///
    /// Returns the response and the length of its head, or `Ok(None)` when the head is not
    /// complete yet. A missing reason phrase (`HTTP/1.1 101\r\n`) is tolerated.
    ///
    /// ```
    /// use sockwire_core::http::{Header, Response};
    /// let mut headers = [Header::EMPTY; 8];
    /// let (resp, _) = Response::parse(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", &mut headers)
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!((resp.status, resp.reason), (101, "Switching Protocols"));
    /// ```
    pub fn parse(
        buf: &'a [u8],
        headers: &'h mut [Header<'a>],
    ) -> Result<Option<(Self, usize)>, HeadError> {
        let start_line = |start: &'a [u8]| {
            let (_, ((major, minor), _, code, reason)) = all_consuming((
                version,
                tag(" "),
                take_while_m_n(3, 3, |b: u8| b.is_ascii_digit()),
                opt((tag(" "), take_while(is_field_byte)).map(|(_, reason)| reason)),
            ))
            .parse(start)
            .map_err(|_: nom::Err<nom::error::Error<&[u8]>>| HeadError::BadStatusLine)?;
            if major != 1 {
                return Err(HeadError::UnsupportedVersion);
            }
            let status = code
                .iter()
                .fold(0u16, |n, d| n * 10 + u16::from(d.wrapping_sub(b'0') % 10));
            let reason = core::str::from_utf8(reason.unwrap_or(&[]))
                .map_err(|_| HeadError::BadStatusLine)?;
            Ok((minor, status, reason))
        };
        let Some(((minor_version, status, reason), headers, len)) =
            parse_head(buf, headers, HeadError::BadStatusLine, start_line)?
        else {
            return Ok(None);
        };
        let response = Response {
            minor_version,
            status,
            reason,
            headers,
        };
        Ok(Some((response, len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Option<(u16, &str)>, HeadError> {
        let mut headers = [Header::EMPTY; 4];
        Response::parse(input, &mut headers).map(|r| r.map(|(r, _)| (r.status, r.reason)))
    }

    #[test]
    fn rfc6455_example() {
        let input = b"HTTP/1.1 101 Switching Protocols\r\n\
            Upgrade: websocket\r\n\
            Connection: Upgrade\r\n\
            Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
            Sec-WebSocket-Protocol: chat\r\n\r\nframes";
        let mut headers = [Header::EMPTY; 8];
        let (resp, len) = Response::parse(input, &mut headers).unwrap().unwrap();
        assert_eq!(len, input.len() - 6);
        assert_eq!(resp.status, 101);
        assert_eq!(resp.minor_version, 1);
        assert_eq!(resp.headers.len(), 4);
        assert_eq!(
            resp.headers.get("sec-websocket-protocol"),
            Some(&b"chat"[..])
        );
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse(b"HTTP/1.1 101\r\n\r\n"), Ok(Some((101, ""))));
        assert_eq!(parse(b"HTTP/1.0 404 \r\n\r\n"), Ok(Some((404, ""))));
        assert_eq!(parse(b"HTTP/1.1 200 O K\r\n\r\n"), Ok(Some((200, "O K"))));
        assert_eq!(
            parse(b"HTTP/1.1 20 OK\r\n\r\n"),
            Err(HeadError::BadStatusLine)
        );
        assert_eq!(
            parse(b"HTTP/1.1 2000 OK\r\n\r\n"),
            Err(HeadError::BadStatusLine)
        );
        assert_eq!(
            parse(b"HTTP/1.1 200 \xff\r\n\r\n"),
            Err(HeadError::BadStatusLine)
        );
        assert_eq!(
            parse(b"HTTP/3.0 200 OK\r\n\r\n"),
            Err(HeadError::UnsupportedVersion)
        );
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\n"), Ok(None));
    }
}
