//! Writing heads into caller buffers.

use crate::buf::{BufferTooSmall, Writer};

use super::grammar::{is_field_byte, is_tchar, is_token, is_vchar};
use super::status::reason_phrase;

/// Why a head could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WriteError {
    /// The output buffer is too small; it states the size needed.
    BufferTooSmall(BufferTooSmall),
    /// The status code is not three digits (100 to 999).
    InvalidStatus,
    /// The method is not a token.
    InvalidMethod,
    /// The request target is empty or holds a byte outside visible ASCII.
    InvalidTarget,
    /// A header name is not a token.
    InvalidHeaderName,
    /// A header value holds CR, LF or another control character (header injection).
    InvalidHeaderValue,
}

impl From<BufferTooSmall> for WriteError {
    fn from(e: BufferTooSmall) -> Self {
        WriteError::BufferTooSmall(e)
    }
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WriteError::BufferTooSmall(e) => e.fmt(f),
            WriteError::InvalidStatus => f.write_str("status code out of range"),
            WriteError::InvalidMethod => f.write_str("method is not a token"),
            WriteError::InvalidTarget => f.write_str("invalid request target"),
            WriteError::InvalidHeaderName => f.write_str("header name is not a token"),
            WriteError::InvalidHeaderValue => f.write_str("header value has control characters"),
        }
    }
}

impl core::error::Error for WriteError {}

/// Writes a head piece by piece, validating what the caller supplies.
///
/// A rejected piece is not written and makes [`finish`](Self::finish) fail, so a head with
/// an injected CR/LF is never produced. Like [`Writer`], it counts the size needed when the
/// buffer is too small.
///
/// ```
/// use sockwire_core::http::{HeadWriter, WriteError};
/// let mut out = [0u8; 128];
/// let mut w = HeadWriter::response(&mut out, 200);
/// w.header("Content-Type", "text/plain");
/// w.header_decimal("Content-Length", 5);
/// let len = w.finish().unwrap();
/// assert_eq!(&out[..len], b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n");
///
/// let mut w = HeadWriter::response(&mut out, 200);
/// w.header("X", "a\r\nSet-Cookie: evil");
/// assert_eq!(w.finish(), Err(WriteError::InvalidHeaderValue));
/// ```
pub struct HeadWriter<'o> {
    out: Writer<'o>,
    error: Option<WriteError>,
}

impl<'o> HeadWriter<'o> {
    /// Starts a response head: `HTTP/1.1 <status> <standard reason>`.
    pub fn response(out: &'o mut [u8], status: u16) -> Self {
        let mut w = HeadWriter {
            out: Writer::new(out),
            error: None,
        };
        if (100..=999).contains(&status) {
            put_status_line(&mut w.out, status);
        } else {
            w.error = Some(WriteError::InvalidStatus);
        }
        w
    }

    /// Starts a request head: `<method> <target> HTTP/1.1`.
    pub fn request(out: &'o mut [u8], method: &str, target: &str) -> Self {
        let mut w = HeadWriter {
            out: Writer::new(out),
            error: None,
        };
        if !is_token(method.as_bytes()) {
            w.error = Some(WriteError::InvalidMethod);
        } else if target.is_empty() || !target.bytes().all(is_vchar) {
            w.error = Some(WriteError::InvalidTarget);
        } else {
            w.out.put_str(method);
            w.out.put(b" ");
            w.out.put_str(target);
            w.out.put(b" HTTP/1.1\r\n");
        }
        w
    }

    /// Appends `name: value`. The name must be a token; the value must have no control
    /// characters but HTAB.
    pub fn header(&mut self, name: &str, value: &str) -> &mut Self {
        if self.check_name(name) && self.check(value.bytes().all(is_field_byte)) {
            put_header(&mut self.out, name, value);
        }
        self
    }

    /// Appends `name: n` in decimal.
    pub fn header_decimal(&mut self, name: &str, n: u64) -> &mut Self {
        if self.check_name(name) {
            self.out.put_str(name);
            self.out.put(b": ");
            self.out.put_decimal(n);
            self.out.put(b"\r\n");
        }
        self
    }

    /// Appends `name: a, b, c`; each element must be a token (as subprotocol names are).
    /// Nothing is written for an empty list.
    pub fn header_tokens(&mut self, name: &str, tokens: &[&str]) -> &mut Self {
        if tokens.is_empty() {
            return self;
        }
        if self.check_name(name) && self.check(tokens.iter().all(|t| is_token(t.as_bytes()))) {
            self.out.put_str(name);
            self.out.put(b": ");
            for (i, token) in tokens.iter().enumerate() {
                if i > 0 {
                    self.out.put(b", ");
                }
                self.out.put_str(token);
            }
            self.out.put(b"\r\n");
        }
        self
    }

    /// Appends every `(name, value)` pair, as [`header`](Self::header).
    pub fn headers(&mut self, headers: &[(&str, &str)]) -> &mut Self {
        for (name, value) in headers {
            self.header(name, value);
        }
        self
    }

    /// Ends the head with the blank line and returns its length.
    pub fn finish(mut self) -> Result<usize, WriteError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        self.out.put(b"\r\n");
        Ok(self.out.finish()?)
    }

    fn check_name(&mut self, name: &str) -> bool {
        if !name.bytes().all(is_tchar) || name.is_empty() {
            self.error.get_or_insert(WriteError::InvalidHeaderName);
            return false;
        }
        true
    }

    fn check(&mut self, valid: bool) -> bool {
        if !valid {
            self.error.get_or_insert(WriteError::InvalidHeaderValue);
        }
        valid && self.error.is_none()
    }
}

/// `HTTP/1.1 <status> <reason>\r\n`, unchecked: for statuses the crate chose itself.
pub(crate) fn put_status_line(out: &mut Writer<'_>, status: u16) {
    out.put(b"HTTP/1.1 ");
    out.put_decimal(u64::from(status));
    out.put(b" ");
    out.put_str(reason_phrase(status));
    out.put(b"\r\n");
}

/// `name: value\r\n`, unchecked: for names and values the crate chose itself.
pub(crate) fn put_header(out: &mut Writer<'_>, name: &str, value: &str) {
    out.put_str(name);
    out.put(b": ");
    out.put_str(value);
    out.put(b"\r\n");
}

/// Writes a response head: the status line with the standard reason phrase, `headers`, and
/// the blank line. Returns its length.
///
/// ```
/// let mut out = [0u8; 64];
/// let len = sockwire_core::http::write_response_head(204, &[("X-A", "1")], &mut out).unwrap();
/// assert_eq!(&out[..len], b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n");
/// ```
pub fn write_response_head(
    status: u16,
    headers: &[(&str, &str)],
    out: &mut [u8],
) -> Result<usize, WriteError> {
    let mut w = HeadWriter::response(out, status);
    w.headers(headers);
    w.finish()
}

impl WriteError {
    /// The buffer size needed, when that is all that went wrong.
    pub const fn needed(&self) -> Option<usize> {
        match self {
            WriteError::BufferTooSmall(e) => Some(e.needed),
            _ => None,
        }
    }
}

/// Writes a complete `200 OK` response carrying `body` of `content_type`, not to be
/// cached (a status page, counters).
///
/// ```
/// let mut out = [0u8; 128];
/// let n = sockwire_core::http::write_ok_response("text/plain", b"hi", &mut out).unwrap();
/// assert!(out[..n].starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"));
/// assert!(out[..n].ends_with(b"Content-Length: 2\r\n\r\nhi"));
/// ```
pub fn write_ok_response(
    content_type: &str,
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, WriteError> {
    write_uncached_response(200, content_type, body, out)
}

/// Writes a complete `503 Service Unavailable` response carrying `body` of
/// `content_type`, not to be cached: what a health check gets from a server that is
/// shutting down. The connection may stay open.
///
/// ```
/// let mut out = [0u8; 160];
/// let body = br#"{"status":"draining"}"#;
/// let n = sockwire_core::http::write_unavailable_response("application/json", body, &mut out)
///     .unwrap();
/// assert!(out[..n].starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"));
/// assert!(out[..n].ends_with(b"Content-Length: 21\r\n\r\n{\"status\":\"draining\"}"));
/// ```
pub fn write_unavailable_response(
    content_type: &str,
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, WriteError> {
    write_uncached_response(503, content_type, body, out)
}

/// Writes a complete `200 OK` response carrying `body` of `content_type`, with `headers`
/// of the caller's choosing after the content type: caching and security policy for a
/// page and its assets. The headers are checked as [`HeadWriter::header`] checks them.
///
/// ```
/// use sockwire_core::http::{write_ok_response_with, WriteError};
/// let mut out = [0u8; 160];
/// let headers = [("Cache-Control", "no-cache"), ("Content-Security-Policy", "default-src 'self'")];
/// let n = write_ok_response_with("text/html; charset=utf-8", &headers, b"<p>hi", &mut out).unwrap();
/// assert!(out[..n].starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"));
/// assert!(out[..n].ends_with(b"default-src 'self'\r\nContent-Length: 5\r\n\r\n<p>hi"));
/// let evil = [("X", "a\r\nSet-Cookie: x")];
/// assert_eq!(write_ok_response_with("text/html", &evil, b"", &mut out), Err(WriteError::InvalidHeaderValue));
/// ```
pub fn write_ok_response_with(
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, WriteError> {
    write_full_response(200, content_type, headers, body, out)
}

/// A complete response of `status` with `body`, marked `no-store`.
fn write_uncached_response(
    status: u16,
    content_type: &str,
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, WriteError> {
    write_full_response(
        status,
        content_type,
        &[("Cache-Control", "no-store")],
        body,
        out,
    )
}

/// A complete response of `status` with `body`, `headers` after the content type.
fn write_full_response(
    status: u16,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, WriteError> {
    let mut w = HeadWriter::response(out, status);
    w.header("Content-Type", content_type);
    w.headers(headers);
    w.header_decimal("Content-Length", body.len() as u64);
    let head = w.finish()?;
    let total = head.saturating_add(body.len());
    let dst = out
        .get_mut(head..total)
        .ok_or(WriteError::BufferTooSmall(BufferTooSmall { needed: total }))?;
    dst.copy_from_slice(body);
    Ok(total)
}

/// Writes a complete error response without a body, closing the connection:
/// the status line, `Connection: close`, `Content-Length: 0`, then `extra_headers`.
///
/// ```
/// let mut out = [0u8; 128];
/// let len = sockwire_core::http::write_error_response(400, &[], &mut out).unwrap();
/// assert_eq!(
///     &out[..len],
///     b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
/// );
/// ```
pub fn write_error_response(
    status: u16,
    extra_headers: &[(&str, &str)],
    out: &mut [u8],
) -> Result<usize, WriteError> {
    let mut w = HeadWriter::response(out, status);
    w.header("Connection", "close");
    w.header("Content-Length", "0");
    w.headers(extra_headers);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_with_extra_headers() {
        let mut out = [0u8; 256];
        let len = write_error_response(426, &[("Sec-WebSocket-Version", "13")], &mut out).unwrap();
        assert_eq!(
            &out[..len],
            &b"HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Length: 0\r\nSec-WebSocket-Version: 13\r\n\r\n"[..]
        );
        let len = write_error_response(431, &[], &mut out).unwrap();
        assert!(out[..len].starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    }

    #[test]
    fn too_small_buffer_counts() {
        let mut big = [0u8; 256];
        let full = write_error_response(400, &[], &mut big).unwrap();
        let mut small = [0u8; 10];
        assert_eq!(
            write_error_response(400, &[], &mut small),
            Err(WriteError::BufferTooSmall(BufferTooSmall { needed: full }))
        );
    }

    #[test]
    fn rejects_injection_and_bad_input() {
        let mut out = [0u8; 256];
        assert_eq!(
            write_response_head(200, &[("X", "a\nb")], &mut out),
            Err(WriteError::InvalidHeaderValue)
        );
        assert_eq!(
            write_response_head(200, &[("X\r\nY", "a")], &mut out),
            Err(WriteError::InvalidHeaderName)
        );
        assert_eq!(
            write_response_head(200, &[("", "a")], &mut out),
            Err(WriteError::InvalidHeaderName)
        );
        assert_eq!(
            write_response_head(99, &[], &mut out),
            Err(WriteError::InvalidStatus)
        );
        assert_eq!(
            HeadWriter::request(&mut out, "GET", "/a b").finish(),
            Err(WriteError::InvalidTarget)
        );
        assert_eq!(
            HeadWriter::request(&mut out, "G T", "/").finish(),
            Err(WriteError::InvalidMethod)
        );
        let mut w = HeadWriter::request(&mut out, "GET", "/");
        w.header_tokens("P", &["a", "b c"]);
        assert_eq!(w.finish(), Err(WriteError::InvalidHeaderValue));
    }

    #[test]
    fn unknown_status_has_empty_reason() {
        let mut out = [0u8; 64];
        let len = write_response_head(599, &[], &mut out).unwrap();
        assert_eq!(&out[..len], b"HTTP/1.1 599 \r\n\r\n");
    }
}
