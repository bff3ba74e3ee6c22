//! How a request body is framed (RFC 9112 §6), decided strictly: where two readings of a
//! message could disagree (request smuggling), the request is refused.

use super::{ChunkedError, HeadError, Request};

/// How a request's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BodyFraming {
    /// There is no body.
    None,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Why a request was refused. Each maps to the status answered
/// ([`RequestError::status`]); the connection closes after the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RequestError {
    /// The head broke a rule.
    Head(HeadError),
    /// The head did not arrive within the deadline (408).
    Timeout,
    /// A body is needed and its length is not given (411).
    LengthRequired,
    /// The body is larger than allowed (413).
    BodyTooLarge,
    /// The body's length could be read two ways (400, and the connection closes):
    /// `Content-Length` that is not one field of one decimal number (repeated, a list, a
    /// sign, a non-digit), `Content-Length` with `Transfer-Encoding`, a
    /// `Transfer-Encoding` whose last coding is not `chunked` (RFC 9112 §6.3), `chunked`
    /// twice, or `Transfer-Encoding` in several fields.
    AmbiguousLength,
    /// Codings before a final `chunked` (`gzip, chunked`): understood framing, a coding
    /// the server does not decode (501).
    UnsupportedCoding,
    /// The chunked body is malformed (400).
    Chunked(ChunkedError),
    /// Nothing is served at the request's path (404).
    NotFound,
    /// The request needs credentials it lacks or that do not check out (401, with a
    /// `WWW-Authenticate: Basic` challenge).
    Unauthorized,
    /// The request is understood and refused (403): the sender may not do this.
    Forbidden,
    /// The sender made too many attempts (429).
    TooManyRequests,
}

impl RequestError {
    /// The status a server answers with.
    pub const fn status(&self) -> u16 {
        match self {
            RequestError::Head(e) => e.status(),
            RequestError::Timeout => 408,
            RequestError::LengthRequired => 411,
            RequestError::BodyTooLarge => 413,
            RequestError::AmbiguousLength | RequestError::Chunked(_) => 400,
            RequestError::UnsupportedCoding => 501,
            RequestError::NotFound => 404,
            RequestError::Unauthorized => 401,
            RequestError::Forbidden => 403,
            RequestError::TooManyRequests => 429,
        }
    }
}

impl From<HeadError> for RequestError {
    fn from(e: HeadError) -> Self {
        RequestError::Head(e)
    }
}

impl core::fmt::Display for RequestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RequestError::Head(e) => e.fmt(f),
            RequestError::Timeout => f.write_str("request head not received in time"),
            RequestError::LengthRequired => f.write_str("body length required"),
            RequestError::BodyTooLarge => f.write_str("body too large"),
            RequestError::AmbiguousLength => f.write_str("ambiguous body length"),
            RequestError::UnsupportedCoding => f.write_str("unsupported transfer coding"),
            RequestError::Chunked(e) => e.fmt(f),
            RequestError::NotFound => f.write_str("not found"),
            RequestError::Unauthorized => f.write_str("credentials required"),
            RequestError::Forbidden => f.write_str("forbidden"),
            RequestError::TooManyRequests => f.write_str("too many attempts"),
        }
    }
}

impl core::error::Error for RequestError {}

impl BodyFraming {
    /// The framing `request` announces, refusing whatever a proxy in front could read
    /// another way ([`RequestError::AmbiguousLength`]): only one `Content-Length` field of
    /// one decimal number, or one `Transfer-Encoding: chunked`, is accepted.
    ///
    /// ```
    /// use sockwire_core::http::{BodyFraming, Header, Request, RequestError};
    /// let mut h = [Header::EMPTY; 8];
    /// let head = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
    /// let (req, _) = Request::parse(head, &mut h).unwrap().unwrap();
    /// assert_eq!(BodyFraming::of(&req), Ok(BodyFraming::Length(5)));
    /// let head = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n";
    /// let (req, _) = Request::parse(head, &mut h).unwrap().unwrap();
    /// assert_eq!(BodyFraming::of(&req), Err(RequestError::AmbiguousLength));
    /// let head = b"POST /x HTTP/1.1\r\nContent-Length: +5\r\n\r\n";
    /// let (req, _) = Request::parse(head, &mut h).unwrap().unwrap();
    /// assert_eq!(BodyFraming::of(&req), Err(RequestError::AmbiguousLength));
    /// ```
    pub fn of(request: &Request<'_, '_>) -> Result<BodyFraming, RequestError> {
        let headers = &request.headers;
        let coding_fields = headers.count("transfer-encoding");
        let length = match (
            headers.count("content-length"),
            headers.get("content-length"),
        ) {
            (0, _) => None,
            (1, Some(value)) => {
                Some(decimal(value.trim_ascii()).ok_or(RequestError::AmbiguousLength)?)
            }
            _ => return Err(RequestError::AmbiguousLength),
        };
        if coding_fields > 0 {
            if length.is_some() || coding_fields > 1 {
                return Err(RequestError::AmbiguousLength);
            }
            let is_chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
            let chunked = headers
                .tokens("transfer-encoding")
                .filter(|c| is_chunked(c))
                .count();
            let codings = headers.tokens("transfer-encoding").count();
            let last_chunked = headers
                .tokens("transfer-encoding")
                .last()
                .is_some_and(is_chunked);
            return match (last_chunked, chunked, codings) {
                (true, 1, 1) => Ok(BodyFraming::Chunked),
                (true, 1, _) => Err(RequestError::UnsupportedCoding),
                _ => Err(RequestError::AmbiguousLength),
            };
        }
        Ok(match length {
            Some(0) | None => BodyFraming::None,
            Some(n) => BodyFraming::Length(n),
        })
    }
}

/// `1*DIGIT`, without sign or spaces; `None` past `u64`.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Whether the connection stays open after the response to `request`: HTTP/1.1 unless
/// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
pub fn keeps_alive(request: &Request<'_, '_>) -> bool {
    let headers = &request.headers;
    if headers.has_token("connection", "close") {
        return false;
    }
    request.minor_version >= 1 || headers.has_token("connection", "keep-alive")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Header;

    fn framing(head: &str) -> Result<BodyFraming, RequestError> {
        let mut h = [Header::EMPTY; 16];
        let text = std::format!("POST /x HTTP/1.1\r\n{head}\r\n");
        let (req, _) = Request::parse(text.as_bytes(), &mut h).unwrap().unwrap();
        BodyFraming::of(&req)
    }

    extern crate std;

    #[test]
    fn smuggling_shapes_are_refused() {
        assert_eq!(framing(""), Ok(BodyFraming::None));
        assert_eq!(framing("Content-Length: 0\r\n"), Ok(BodyFraming::None));
        assert_eq!(
            framing("Content-Length: 12\r\n"),
            Ok(BodyFraming::Length(12))
        );
        for bad in [
            "Content-Length: 3, 3\r\n",
            "Content-Length: 3\r\nContent-Length: 3\r\n",
            "Content-Length: 3\r\nContent-Length: 4\r\n",
            "Content-Length: 5 5\r\n",
            "Content-Length: +9\r\n",
            "Content-Length: 0x10\r\n",
            "Content-Length: \r\n",
            "Content-Length: 99999999999999999999999\r\n",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked, identity\r\n",
            "Transfer-Encoding: xchunked\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked, chunked\r\n",
            "Transfer-Encoding: identity\r\n",
            "Transfer-Encoding:\r\n",
        ] {
            assert_eq!(framing(bad), Err(RequestError::AmbiguousLength), "{bad:?}");
        }
        assert_eq!(
            framing("Transfer-Encoding: chunked\r\n"),
            Ok(BodyFraming::Chunked)
        );
        assert_eq!(
            framing("Transfer-Encoding: Chunked\r\n"),
            Ok(BodyFraming::Chunked)
        );
        assert_eq!(
            framing("Transfer-Encoding: gzip, chunked\r\n"),
            Err(RequestError::UnsupportedCoding)
        );
        assert_eq!(RequestError::UnsupportedCoding.status(), 501);
        assert_eq!(RequestError::AmbiguousLength.status(), 400);
    }

    #[test]
    fn keep_alive_by_version_and_header() {
        let mut h = [Header::EMPTY; 4];
        for (head, keeps) in [
            ("GET / HTTP/1.1\r\n\r\n", true),
            ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        ] {
            let (req, _) = Request::parse(head.as_bytes(), &mut h).unwrap().unwrap();
            assert_eq!(keeps_alive(&req), keeps, "{head:?}");
        }
    }
}
