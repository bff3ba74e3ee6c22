//! The server side of the opening handshake (RFC 6455 §4.2).

use crate::buf::{BufferTooSmall, Writer};
use crate::http::{HeadError, HeadLimits, HeadScanner, HeadWriter, Request, WriteError};

use super::accept::{accept_key, ascii_str, decode_key};
use super::extensions::Extensions;
use super::origin::AllowedOrigins;

/// What a server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServerConfig<'c> {
    /// The subprotocols spoken, most preferred first (for example
    /// `["v12.stomp", "v11.stomp", "v10.stomp"]`). The first one the client offered is
    /// chosen; none in common is not an error.
    pub subprotocols: &'c [&'c str],
    /// The browser origins allowed.
    pub origins: AllowedOrigins<'c>,
    /// Caps on the request head.
    pub limits: HeadLimits,
}

/// Why a handshake request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RejectReason {
    /// The head itself was malformed or too large.
    Head(HeadError),
    /// The method is not `GET` (405).
    MethodNotGet,
    /// The request is HTTP/1.0; the handshake needs HTTP/1.1 or later (400).
    HttpVersionTooOld,
    /// There is no `Host` field, or more than one (400).
    BadHost,
    /// `Upgrade` does not list `websocket` (400).
    MissingUpgrade,
    /// Several `Upgrade` fields that differ (400): a proxy that reads one of them may
    /// take the request for an upgrade to something else. (One field listing several
    /// protocols is an offer, read alike by everyone, and allowed.)
    ConflictingUpgrade,
    /// `Connection` does not list `Upgrade` (400).
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` is missing or not 13 (426, with `Sec-WebSocket-Version: 13`).
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` is missing, repeated, or not the base64 of 16 bytes (400).
    BadKey,
    /// The `Origin` is not allowed (403).
    OriginNotAllowed,
}

impl RejectReason {
    /// The HTTP status answering this reason.
    pub const fn status(&self) -> u16 {
        match self {
            RejectReason::Head(e) => e.status(),
            RejectReason::MethodNotGet => 405,
            RejectReason::UnsupportedVersion => 426,
            RejectReason::OriginNotAllowed => 403,
            RejectReason::HttpVersionTooOld
            | RejectReason::BadHost
            | RejectReason::MissingUpgrade
            | RejectReason::ConflictingUpgrade
            | RejectReason::MissingConnectionUpgrade
            | RejectReason::BadKey => 400,
        }
    }
}

/// A refused handshake and the response that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rejection {
    /// The HTTP status of the answer.
    pub status: u16,
    /// The rule the request broke.
    pub reason: RejectReason,
}

impl From<RejectReason> for Rejection {
    fn from(reason: RejectReason) -> Self {
        Rejection {
            status: reason.status(),
            reason,
        }
    }
}

impl From<HeadError> for Rejection {
    fn from(e: HeadError) -> Self {
        Rejection::from(RejectReason::Head(e))
    }
}

impl Rejection {
    /// Writes the error response: status line, `Connection: close`, `Content-Length: 0`,
    /// plus `Sec-WebSocket-Version: 13` for 426 and `Allow: GET` for 405. The caller closes
    /// the connection after sending it.
    pub fn write_response(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(out);
        crate::http::write::put_status_line(&mut w, self.status);
        crate::http::write::put_header(&mut w, "Connection", "close");
        crate::http::write::put_header(&mut w, "Content-Length", "0");
        match self.reason {
            RejectReason::UnsupportedVersion => {
                crate::http::write::put_header(&mut w, "Sec-WebSocket-Version", "13")
            }
            RejectReason::MethodNotGet => crate::http::write::put_header(&mut w, "Allow", "GET"),
            _ => {}
        }
        w.put(b"\r\n");
        w.finish()
    }
}

/// A handshake request the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Accepted<'c> {
    accept: [u8; 28],
    subprotocol: Option<&'c str>,
    extensions: Extensions,
}

impl<'c> Accepted<'c> {
    /// The `Sec-WebSocket-Accept` value.
    pub fn accept_key(&self) -> &str {
        ascii_str(&self.accept)
    }

    /// The chosen subprotocol, from the server's list.
    pub const fn subprotocol(&self) -> Option<&'c str> {
        self.subprotocol
    }

    /// The extensions accepted (none yet).
    pub const fn extensions(&self) -> Extensions {
        self.extensions
    }

    /// Writes the `101 Switching Protocols` response, with `extra_headers` (such as
    /// `Set-Cookie`) after the handshake fields.
    pub fn write_response(
        &self,
        extra_headers: &[(&str, &str)],
        out: &mut [u8],
    ) -> Result<usize, WriteError> {
        let mut w = HeadWriter::response(out, 101);
        w.header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Accept", self.accept_key());
        if let Some(protocol) = self.subprotocol {
            w.header("Sec-WebSocket-Protocol", protocol);
        }
        self.extensions.write_answer(&mut w);
        w.headers(extra_headers);
        w.finish()
    }
}

/// Checks a parsed request against RFC 6455 §4.2.1 and `config`, and chooses the
/// subprotocol.
///
/// Rules, in the order checked: method `GET`; HTTP/1.1 or later; exactly one `Host`;
/// `Upgrade` lists `websocket` (repeated `Upgrade` fields must agree) and `Connection`
/// lists `Upgrade` (case-insensitive, comma lists, repeated fields); `Sec-WebSocket-Version: 13`; exactly one `Sec-WebSocket-Key`,
/// the base64 of 16 bytes; `Origin` allowed by [`ServerConfig::origins`].
///
/// ```
/// use sockwire_core::http::{Header, Request};
/// use sockwire_core::ws::handshake::{accept, ServerConfig};
///
/// let input = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let mut headers = [Header::EMPTY; 16];
/// let (request, _) = Request::parse(input, &mut headers).unwrap().unwrap();
/// let config = ServerConfig { subprotocols: &["superchat", "chat"], ..Default::default() };
/// let accepted = accept(&request, &config).unwrap();
/// assert_eq!(accepted.accept_key(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// assert_eq!(accepted.subprotocol(), Some("superchat"));
/// let mut out = [0u8; 256];
/// let len = accepted.write_response(&[], &mut out).unwrap();
/// assert!(out[..len].starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// ```
pub fn accept<'c>(
    request: &Request<'_, '_>,
    config: &ServerConfig<'c>,
) -> Result<Accepted<'c>, Rejection> {
    let headers = &request.headers;
    if request.method != "GET" {
        return Err(RejectReason::MethodNotGet.into());
    }
    if request.minor_version < 1 {
        return Err(RejectReason::HttpVersionTooOld.into());
    }
    let host = match (headers.count("Host"), headers.get("Host")) {
        (1, Some(host)) => host,
        _ => return Err(RejectReason::BadHost.into()),
    };
    if !headers.has_token("Upgrade", "websocket") {
        return Err(RejectReason::MissingUpgrade.into());
    }
    let mut upgrades = headers.all("Upgrade");
    if let Some(first) = upgrades.next() {
        if upgrades.any(|other| !other.eq_ignore_ascii_case(first)) {
            return Err(RejectReason::ConflictingUpgrade.into());
        }
    }
    if !headers.has_token("Connection", "Upgrade") {
        return Err(RejectReason::MissingConnectionUpgrade.into());
    }
    if headers.get("Sec-WebSocket-Version") != Some(b"13") {
        return Err(RejectReason::UnsupportedVersion.into());
    }
    let key = match (
        headers.count("Sec-WebSocket-Key"),
        headers.get("Sec-WebSocket-Key"),
    ) {
        (1, Some(key)) if decode_key(key).is_some() => key,
        _ => return Err(RejectReason::BadKey.into()),
    };
    if !config.origins.allows(headers.get("Origin"), host) {
        return Err(RejectReason::OriginNotAllowed.into());
    }
    let subprotocol = config.subprotocols.iter().copied().find(|ours| {
        headers
            .tokens("Sec-WebSocket-Protocol")
            .any(|offered| offered == ours.as_bytes())
    });
    Ok(Accepted {
        accept: accept_key(key),
        subprotocol,
        extensions: Extensions::negotiate(headers),
    })
}

/// Finds the end of a handshake request head as bytes arrive, within [`HeadLimits`].
///
/// It keeps no bytes: the caller appends what it reads to its own buffer and passes the
/// whole buffer each time. Once [`feed`](Self::feed) returns the head length, the caller
/// parses the head with [`Request::parse`] into a header array it owns, may route on the
/// target, and calls [`accept`]. Bytes after the head belong to the WebSocket connection.
///
/// ```
/// use sockwire_core::http::{Header, Request};
/// use sockwire_core::ws::handshake::{accept, Rejection, ServerConfig, ServerHandshake};
///
/// let config = ServerConfig::default();
/// let mut handshake = ServerHandshake::new(config.limits);
/// let wire = b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x00";
/// let mut received = 0;
/// let mut out = [0u8; 512];
/// let head_len = loop {
///     received += 7; // whatever the socket gave
///     match handshake.feed(&wire[..received.min(wire.len())]) {
///         Ok(Some(head_len)) => break head_len,
///         Ok(None) => continue,
///         Err(e) => {
///             let len = Rejection::from(e).write_response(&mut out).unwrap();
///             panic!("send {:?} and close", &out[..len]);
///         }
///     }
/// };
/// let mut headers = [Header::EMPTY; 32];
/// let Ok(Some((request, _))) = Request::parse(&wire[..head_len], &mut headers) else {
///     panic!("answer 400");
/// };
/// assert_eq!(request.path(), "/ws"); // route here
/// let len = match accept(&request, &config) {
///     Ok(accepted) => accepted.write_response(&[], &mut out).unwrap(),
///     Err(rejection) => rejection.write_response(&mut out).unwrap(),
/// };
/// assert!(out[..len].starts_with(b"HTTP/1.1 101"));
/// assert_eq!(&wire[head_len..], b"\x81\x00"); // the first frame
/// ```
#[derive(Debug, Clone)]
pub struct ServerHandshake {
    scanner: HeadScanner,
}

impl ServerHandshake {
    /// Waits for a request head within `limits`.
    pub const fn new(limits: HeadLimits) -> Self {
        ServerHandshake {
            scanner: HeadScanner::new(limits),
        }
    }

    /// Looks at the bytes of `input` (everything received so far) not seen before.
    /// Returns the length of the request head once complete, `Ok(None)` while more is
    /// needed, or the limit exceeded (answer with [`Rejection::from`]).
    pub fn feed(&mut self, input: &[u8]) -> Result<Option<usize>, HeadError> {
        self.scanner.scan(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Header;

    const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    fn check(input: &[u8], config: &ServerConfig<'static>) -> Result<Accepted<'static>, Rejection> {
        let mut headers = [Header::EMPTY; 32];
        let (request, _) = Request::parse(input, &mut headers)
            .map_err(Rejection::from)?
            .expect("complete head");
        accept(&request, config)
    }

    fn reason(input: &[u8], config: &ServerConfig<'static>) -> RejectReason {
        check(input, config).unwrap_err().reason
    }

    /// The RFC request with the field named `name` replaced by `line` (or removed if empty).
    fn with(name: &str, line: &str) -> std::vec::Vec<u8> {
        let text = core::str::from_utf8(RFC_REQUEST).unwrap();
        let mut out = std::string::String::new();
        for l in text.split_inclusive("\r\n") {
            if l.to_ascii_lowercase()
                .starts_with(&(name.to_ascii_lowercase() + ":"))
            {
                if !line.is_empty() {
                    out.push_str(line);
                    out.push_str("\r\n");
                }
            } else {
                out.push_str(l);
            }
        }
        out.into_bytes()
    }

    const ANY: ServerConfig<'static> = ServerConfig {
        subprotocols: &["chat"],
        origins: AllowedOrigins::Any,
        limits: HeadLimits::DEFAULT,
    };

    extern crate std;

    #[test]
    fn rfc6455_example() {
        let accepted = check(RFC_REQUEST, &ANY).unwrap();
        assert_eq!(accepted.accept_key(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(accepted.subprotocol(), Some("chat"));
        assert!(accepted.extensions().is_empty());
        let mut out = [0u8; 256];
        let len = accepted.write_response(&[], &mut out).unwrap();
        assert_eq!(
            &out[..len],
            &b"HTTP/1.1 101 Switching Protocols\r\n\
            Upgrade: websocket\r\n\
            Connection: Upgrade\r\n\
            Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
            Sec-WebSocket-Protocol: chat\r\n\r\n"[..]
        );
        let len = accepted
            .write_response(&[("Set-Cookie", "a=b")], &mut out)
            .unwrap();
        assert!(out[..len].ends_with(b"chat\r\nSet-Cookie: a=b\r\n\r\n"));
        assert_eq!(
            accepted.write_response(&[("Set-Cookie", "a\r\nb")], &mut out),
            Err(WriteError::InvalidHeaderValue)
        );
        assert!(matches!(
            accepted.write_response(&[], &mut out[..10]),
            Err(WriteError::BufferTooSmall(_))
        ));
    }

    #[test]
    fn case_insensitive_and_comma_lists() {
        let input = b"GET / HTTP/1.1\r\nhost: h\r\nUPGRADE: foo, WebSocket\r\n\
            connection: keep-alive\r\nCONNECTION: upgrade\r\n\
            sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION:13\r\n\r\n";
        assert!(check(input, &ANY).is_ok());
        let input = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket2\r\n\
            Connection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert_eq!(reason(input, &ANY), RejectReason::MissingUpgrade);
        let two = with("Upgrade", "Upgrade: websocket\r\nUpgrade: h2c");
        assert_eq!(reason(&two, &ANY), RejectReason::ConflictingUpgrade);
        let same = with("Upgrade", "Upgrade: websocket\r\nUpgrade: WebSocket");
        assert!(check(&same, &ANY).is_ok());
    }

    #[test]
    fn request_line_rules() {
        let post = [b"POST", &RFC_REQUEST[3..]].concat();
        let rejection = check(&post, &ANY).unwrap_err();
        assert_eq!(rejection.status, 405);
        let mut out = [0u8; 128];
        let len = rejection.write_response(&mut out).unwrap();
        assert!(out[..len].ends_with(b"Allow: GET\r\n\r\n"));
        let old = std::string::String::from_utf8(RFC_REQUEST.to_vec())
            .unwrap()
            .replacen("HTTP/1.1", "HTTP/1.0", 1);
        assert_eq!(
            reason(old.as_bytes(), &ANY),
            RejectReason::HttpVersionTooOld
        );
        let newer = std::string::String::from_utf8(RFC_REQUEST.to_vec())
            .unwrap()
            .replacen("HTTP/1.1", "HTTP/1.2", 1);
        assert!(check(newer.as_bytes(), &ANY).is_ok());
    }

    #[test]
    fn required_fields() {
        assert_eq!(reason(&with("Host", ""), &ANY), RejectReason::BadHost);
        let two_hosts = with("Host", "Host: a\r\nHost: b");
        assert_eq!(reason(&two_hosts, &ANY), RejectReason::BadHost);
        assert_eq!(
            reason(&with("Upgrade", ""), &ANY),
            RejectReason::MissingUpgrade
        );
        assert_eq!(
            reason(&with("Connection", "Connection: keep-alive"), &ANY),
            RejectReason::MissingConnectionUpgrade
        );
        assert_eq!(
            reason(&with("Sec-WebSocket-Key", ""), &ANY),
            RejectReason::BadKey
        );
        // 15 and 17 bytes.
        let k15 = with(
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA",
        );
        assert_eq!(reason(&k15, &ANY), RejectReason::BadKey);
        let k17 = with(
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=",
        );
        assert_eq!(reason(&k17, &ANY), RejectReason::BadKey);
        let twice = with(
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        );
        assert_eq!(reason(&twice, &ANY), RejectReason::BadKey);
        assert_eq!(RejectReason::BadKey.status(), 400);
    }

    #[test]
    fn version_8_is_426() {
        for line in ["Sec-WebSocket-Version: 8", ""] {
            let rejection = check(&with("Sec-WebSocket-Version", line), &ANY).unwrap_err();
            assert_eq!(rejection.status, 426);
            let mut out = [0u8; 256];
            let len = rejection.write_response(&mut out).unwrap();
            assert_eq!(
                &out[..len],
                &b"HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Length: 0\r\n\
                Sec-WebSocket-Version: 13\r\n\r\n"[..]
            );
            assert_eq!(
                rejection.write_response(&mut out[..20]),
                Err(BufferTooSmall { needed: len })
            );
        }
    }

    #[test]
    fn origins() {
        let same = ServerConfig {
            origins: AllowedOrigins::SameOrigin,
            ..ANY
        };
        let rejection = check(RFC_REQUEST, &same).unwrap_err();
        assert_eq!(
            (rejection.status, rejection.reason),
            (403, RejectReason::OriginNotAllowed)
        );
        let same_ok = with("Origin", "Origin: http://server.example.com");
        assert!(check(&same_ok, &same).is_ok());
        assert!(check(&with("Origin", ""), &same).is_ok());
        let list = ServerConfig {
            origins: AllowedOrigins::List(&["https://other.example", "http://example.com"]),
            ..ANY
        };
        assert!(check(RFC_REQUEST, &list).is_ok());
        let other = ServerConfig {
            origins: AllowedOrigins::List(&["https://other.example"]),
            ..ANY
        };
        assert_eq!(reason(RFC_REQUEST, &other), RejectReason::OriginNotAllowed);
        let star = ServerConfig {
            origins: AllowedOrigins::List(&["*"]),
            ..ANY
        };
        assert!(check(RFC_REQUEST, &star).is_ok());
    }

    #[test]
    fn subprotocol_preference() {
        let prefer_super = ServerConfig {
            subprotocols: &["v12.stomp", "superchat", "chat"],
            ..ANY
        };
        assert_eq!(
            check(RFC_REQUEST, &prefer_super).unwrap().subprotocol(),
            Some("superchat")
        );
        let none = ServerConfig {
            subprotocols: &["v12.stomp"],
            ..ANY
        };
        let accepted = check(RFC_REQUEST, &none).unwrap();
        assert_eq!(accepted.subprotocol(), None);
        let mut out = [0u8; 256];
        let len = accepted.write_response(&[], &mut out).unwrap();
        assert!(!out[..len]
            .windows(22)
            .any(|w| w == b"Sec-WebSocket-Protocol"));
        // Repeated fields count too, and matching is exact.
        let repeated = with(
            "Sec-WebSocket-Protocol",
            "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: V12.STOMP, v12.stomp",
        );
        assert_eq!(
            check(&repeated, &none).unwrap().subprotocol(),
            Some("v12.stomp")
        );
    }

    #[test]
    fn head_errors_map_to_431() {
        let limits = HeadLimits {
            max_head_len: 1024,
            max_headers: 2,
        };
        let mut hs = ServerHandshake::new(limits);
        assert_eq!(hs.feed(RFC_REQUEST), Err(HeadError::TooManyHeaders));
        let mut hs = ServerHandshake::new(HeadLimits {
            max_head_len: 64,
            max_headers: 64,
        });
        let err = hs.feed(RFC_REQUEST).unwrap_err();
        assert_eq!(err, HeadError::TooLarge);
        let rejection = Rejection::from(err);
        assert_eq!(rejection.status, 431);
        let mut out = [0u8; 256];
        let len = rejection.write_response(&mut out).unwrap();
        assert_eq!(
            &out[..len],
            &b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"[..]
        );
    }

    #[test]
    fn byte_at_a_time() {
        let mut hs = ServerHandshake::new(HeadLimits::DEFAULT);
        let mut wire = RFC_REQUEST.to_vec();
        wire.extend_from_slice(b"\x88\x80");
        let mut found = None;
        for end in 0..=wire.len() {
            if let Some(len) = hs.feed(&wire[..end]).unwrap() {
                found = Some((end, len));
                break;
            }
        }
        assert_eq!(found, Some((RFC_REQUEST.len(), RFC_REQUEST.len())));
        assert!(check(&wire[..RFC_REQUEST.len()], &ANY).is_ok());
    }
}
