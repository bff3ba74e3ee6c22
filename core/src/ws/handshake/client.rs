//! The client side of the opening handshake (RFC 6455 §4.1).

use crate::http::{HeadError, HeadLimits, HeadScanner, HeadWriter, Response, WriteError};

use super::accept::{accept_key, ascii_str, encode_key};
use super::extensions::Extensions;

/// What a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientRequest<'r> {
    /// The `Host` value: the server's host, with `:port` when not the scheme's default.
    pub host: &'r str,
    /// The request target: path and query, starting with `/`.
    pub path: &'r str,
    /// The `Origin` to send, for a client acting for a web page.
    pub origin: Option<&'r str>,
    /// The subprotocols offered, most preferred first (tokens).
    pub subprotocols: &'r [&'r str],
    /// More fields (`Authorization`, `Cookie`, ...), written after the handshake fields.
    pub extra_headers: &'r [(&'r str, &'r str)],
}

/// The rule a server's handshake response broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ClientHandshakeError {
    /// The status is not 101; the server refused (or redirected) the upgrade.
    NotSwitchingProtocols {
        /// The status received.
        status: u16,
    },
    /// `Upgrade` does not list `websocket`.
    MissingUpgrade,
    /// `Connection` does not list `Upgrade`.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` is missing or repeated.
    MissingAccept,
    /// `Sec-WebSocket-Accept` does not match our key.
    WrongAccept,
    /// The server chose a subprotocol we did not offer.
    SubprotocolNotOffered,
    /// The server named more than one subprotocol.
    MultipleSubprotocols,
    /// The server named an extension we did not offer.
    ExtensionNotOffered,
}

impl core::fmt::Display for ClientHandshakeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClientHandshakeError::NotSwitchingProtocols { status } => {
                write!(
                    f,
                    "the server answered {status} instead of switching to WebSocket"
                )
            }
            ClientHandshakeError::MissingUpgrade => {
                f.write_str("the server's answer has no Upgrade: websocket")
            }
            ClientHandshakeError::MissingConnectionUpgrade => {
                f.write_str("the server's answer has no Connection: Upgrade")
            }
            ClientHandshakeError::MissingAccept => {
                f.write_str("the server's answer has no single Sec-WebSocket-Accept")
            }
            ClientHandshakeError::WrongAccept => {
                f.write_str("the server's Sec-WebSocket-Accept does not match the key sent")
            }
            ClientHandshakeError::SubprotocolNotOffered => {
                f.write_str("the server chose a subprotocol that was not offered")
            }
            ClientHandshakeError::MultipleSubprotocols => {
                f.write_str("the server chose several subprotocols")
            }
            ClientHandshakeError::ExtensionNotOffered => {
                f.write_str("the server chose an extension that was not offered")
            }
        }
    }
}

impl core::error::Error for ClientHandshakeError {}

/// What the handshake settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Negotiated<'o> {
    /// The subprotocol the server chose, from the list offered.
    pub subprotocol: Option<&'o str>,
    /// The extensions in effect (none yet).
    pub extensions: Extensions,
}

/// A client's opening handshake: its key, the request, and the checks on the response.
///
/// ```
/// use sockwire_core::http::{Header, Response};
/// use sockwire_core::ws::handshake::{ClientHandshake, ClientRequest};
///
/// let mut handshake = ClientHandshake::new(*b"the sample nonce"); // 16 random bytes
/// let offered = ["chat", "superchat"];
/// let request = ClientRequest {
///     host: "server.example.com",
///     path: "/chat",
///     subprotocols: &offered,
///     ..Default::default()
/// };
/// let mut out = [0u8; 512];
/// let len = handshake.write_request(&request, &mut out).unwrap();
/// assert!(out[..len].starts_with(b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"));
///
/// let wire = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
/// let head_len = handshake.feed(wire).unwrap().unwrap();
/// let mut headers = [Header::EMPTY; 16];
/// let (response, _) = Response::parse(&wire[..head_len], &mut headers).unwrap().unwrap();
/// let negotiated = handshake.validate(&response, &offered).unwrap();
/// assert_eq!(negotiated.subprotocol, Some("chat"));
/// ```
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    key: [u8; 24],
    expected_accept: [u8; 28],
    offered_extensions: Extensions,
    scanner: HeadScanner,
}

impl ClientHandshake {
    /// A handshake whose key is the base64 of `nonce`, which must be 16 random bytes,
    /// fresh for each connection. The response head is capped by [`HeadLimits::DEFAULT`].
    pub fn new(nonce: [u8; 16]) -> Self {
        ClientHandshake::with_limits(nonce, HeadLimits::DEFAULT)
    }

    /// As [`new`](Self::new), with other limits on the response head.
    pub fn with_limits(nonce: [u8; 16], limits: HeadLimits) -> Self {
        let key = encode_key(&nonce);
        ClientHandshake {
            key,
            expected_accept: accept_key(&key),
            offered_extensions: Extensions::NONE,
            scanner: HeadScanner::new(limits),
        }
    }

    /// The `Sec-WebSocket-Key` value sent.
    pub fn key(&self) -> &str {
        ascii_str(&self.key)
    }

    /// Writes the handshake request. Refuses (with nothing to send) a path not starting
    /// with `/`, a host or origin with spaces or control characters, a subprotocol that is
    /// not a token, and extra fields that would inject CR/LF.
    pub fn write_request(
        &self,
        req: &ClientRequest<'_>,
        out: &mut [u8],
    ) -> Result<usize, WriteError> {
        if !req.path.starts_with('/') {
            return Err(WriteError::InvalidTarget);
        }
        let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if !visible(req.host) || req.host.contains('/') || !req.origin.is_none_or(visible) {
            return Err(WriteError::InvalidHeaderValue);
        }
        let mut w = HeadWriter::request(out, "GET", req.path);
        w.header("Host", req.host)
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Key", self.key())
            .header("Sec-WebSocket-Version", "13");
        if let Some(origin) = req.origin {
            w.header("Origin", origin);
        }
        w.header_tokens("Sec-WebSocket-Protocol", req.subprotocols);
        w.headers(req.extra_headers);
        w.finish()
    }

    /// Looks at the bytes of `input` (everything received so far) not seen before.
    /// Returns the length of the response head once complete (parse it with
    /// [`Response::parse`]), or `Ok(None)` while more is needed. Bytes after the head
    /// belong to the WebSocket connection.
    pub fn feed(&mut self, input: &[u8]) -> Result<Option<usize>, HeadError> {
        self.scanner.scan(input)
    }

    /// Checks the server's response (RFC 6455 §4.1): status 101, `Upgrade: websocket`,
    /// `Connection: Upgrade`, the accept key of our key, a subprotocol among `offered`
    /// (the list given in the request), and no extension.
    pub fn validate<'o>(
        &self,
        response: &Response<'_, '_>,
        offered: &[&'o str],
    ) -> Result<Negotiated<'o>, ClientHandshakeError> {
        let headers = &response.headers;
        if response.status != 101 {
            return Err(ClientHandshakeError::NotSwitchingProtocols {
                status: response.status,
            });
        }
        if !headers.has_token("Upgrade", "websocket") {
            return Err(ClientHandshakeError::MissingUpgrade);
        }
        if !headers.has_token("Connection", "Upgrade") {
            return Err(ClientHandshakeError::MissingConnectionUpgrade);
        }
        match (
            headers.count("Sec-WebSocket-Accept"),
            headers.get("Sec-WebSocket-Accept"),
        ) {
            (1, Some(accept)) if accept == self.expected_accept => {}
            (1, Some(_)) => return Err(ClientHandshakeError::WrongAccept),
            _ => return Err(ClientHandshakeError::MissingAccept),
        }
        let mut chosen = headers.tokens("Sec-WebSocket-Protocol");
        let subprotocol = match chosen.next() {
            None => None,
            Some(name) => {
                if chosen.next().is_some() {
                    return Err(ClientHandshakeError::MultipleSubprotocols);
                }
                let ours = offered.iter().copied().find(|o| o.as_bytes() == name);
                Some(ours.ok_or(ClientHandshakeError::SubprotocolNotOffered)?)
            }
        };
        let extensions = self
            .offered_extensions
            .check_answer(headers)
            .map_err(|()| ClientHandshakeError::ExtensionNotOffered)?;
        Ok(Negotiated {
            subprotocol,
            extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Header;

    const NONCE: [u8; 16] = *b"the sample nonce";
    const OK: &str =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

    fn validate<'o>(
        head: &[u8],
        offered: &[&'o str],
    ) -> Result<Negotiated<'o>, ClientHandshakeError> {
        let mut headers = [Header::EMPTY; 16];
        let (response, _) = Response::parse(head, &mut headers).unwrap().unwrap();
        ClientHandshake::new(NONCE).validate(&response, offered)
    }

    fn head(extra: &str) -> std::vec::Vec<u8> {
        [OK.as_bytes(), extra.as_bytes(), b"\r\n"].concat()
    }

    extern crate std;

    #[test]
    fn rfc6455_request() {
        let hs = ClientHandshake::new(NONCE);
        assert_eq!(hs.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        let req = ClientRequest {
            host: "server.example.com",
            path: "/chat",
            origin: Some("http://example.com"),
            subprotocols: &["chat", "superchat"],
            extra_headers: &[("Authorization", "Basic YTpi")],
        };
        let mut out = [0u8; 512];
        let len = hs.write_request(&req, &mut out).unwrap();
        assert_eq!(
            &out[..len],
            &b"GET /chat HTTP/1.1\r\n\
            Host: server.example.com\r\n\
            Upgrade: websocket\r\n\
            Connection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Version: 13\r\n\
            Origin: http://example.com\r\n\
            Sec-WebSocket-Protocol: chat, superchat\r\n\
            Authorization: Basic YTpi\r\n\r\n"[..]
        );
        assert_eq!(
            hs.write_request(&req, &mut out[..len - 1]),
            Err(WriteError::BufferTooSmall(crate::buf::BufferTooSmall {
                needed: len
            }))
        );
    }

    #[test]
    fn request_injection_is_refused() {
        let hs = ClientHandshake::new(NONCE);
        let mut out = [0u8; 512];
        let base = ClientRequest {
            host: "h",
            path: "/",
            ..Default::default()
        };
        let bad = [
            ClientRequest {
                path: "chat",
                ..base
            },
            ClientRequest {
                path: "/a b",
                ..base
            },
            ClientRequest {
                path: "/\r\nX: y",
                ..base
            },
            ClientRequest { host: "", ..base },
            ClientRequest {
                host: "h\r\nX: y",
                ..base
            },
            ClientRequest {
                host: "h/x",
                ..base
            },
            ClientRequest {
                origin: Some("o\n"),
                ..base
            },
            ClientRequest {
                subprotocols: &["a,b"],
                ..base
            },
            ClientRequest {
                subprotocols: &[""],
                ..base
            },
            ClientRequest {
                extra_headers: &[("X", "1\r\nY: 2")],
                ..base
            },
            ClientRequest {
                extra_headers: &[("X Y", "1")],
                ..base
            },
        ];
        for req in bad {
            assert!(
                !matches!(
                    hs.write_request(&req, &mut out),
                    Ok(_) | Err(WriteError::BufferTooSmall(_))
                ),
                "{req:?}"
            );
        }
        assert!(hs.write_request(&base, &mut out).is_ok());
    }

    #[test]
    fn rfc6455_response() {
        let n = validate(
            &head("Sec-WebSocket-Protocol: chat\r\n"),
            &["chat", "superchat"],
        )
        .unwrap();
        assert_eq!(n.subprotocol, Some("chat"));
        assert!(n.extensions.is_empty());
        let n = validate(&head(""), &["chat"]).unwrap();
        assert_eq!(n.subprotocol, None);
    }

    #[test]
    fn errors_read_as_sentences() {
        extern crate std;
        use std::string::ToString;
        let e = ClientHandshakeError::NotSwitchingProtocols { status: 404 };
        assert_eq!(
            e.to_string(),
            "the server answered 404 instead of switching to WebSocket"
        );
        assert_eq!(
            ClientHandshakeError::WrongAccept.to_string(),
            "the server's Sec-WebSocket-Accept does not match the key sent"
        );
    }

    #[test]
    fn response_rules() {
        use ClientHandshakeError::*;
        assert_eq!(
            validate(b"HTTP/1.1 403 Forbidden\r\n\r\n", &[]),
            Err(NotSwitchingProtocols { status: 403 })
        );
        let no_upgrade = OK.replace("Upgrade: websocket\r\n", "") + "\r\n";
        assert_eq!(validate(no_upgrade.as_bytes(), &[]), Err(MissingUpgrade));
        let no_conn = OK.replace("Connection: Upgrade\r\n", "Connection: keep-alive\r\n") + "\r\n";
        assert_eq!(
            validate(no_conn.as_bytes(), &[]),
            Err(MissingConnectionUpgrade)
        );
        let wrong = OK.replace("s3pP", "s3pQ") + "\r\n";
        assert_eq!(validate(wrong.as_bytes(), &[]), Err(WrongAccept));
        let missing =
            OK.replace("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "") + "\r\n";
        assert_eq!(validate(missing.as_bytes(), &[]), Err(MissingAccept));
        let twice = head("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n");
        assert_eq!(validate(&twice, &[]), Err(MissingAccept));
        assert_eq!(
            validate(&head("Sec-WebSocket-Protocol: chat\r\n"), &[]),
            Err(SubprotocolNotOffered)
        );
        assert_eq!(
            validate(&head("Sec-WebSocket-Protocol: Chat\r\n"), &["chat"]),
            Err(SubprotocolNotOffered)
        );
        assert_eq!(
            validate(
                &head("Sec-WebSocket-Protocol: chat, superchat\r\n"),
                &["chat", "superchat"]
            ),
            Err(MultipleSubprotocols)
        );
        assert_eq!(
            validate(
                &head("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
                &[]
            ),
            Err(ExtensionNotOffered)
        );
        // Case-insensitive header names and token values.
        let lower = "HTTP/1.1 101 x\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n\
            sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert!(validate(lower.as_bytes(), &[]).is_ok());
    }

    #[test]
    fn response_byte_at_a_time() {
        let wire = [head("").as_slice(), b"\x81\x02hi"].concat();
        let mut hs = ClientHandshake::new(NONCE);
        let mut found = None;
        for end in 0..=wire.len() {
            if let Some(len) = hs.feed(&wire[..end]).unwrap() {
                found = Some(len);
                break;
            }
        }
        assert_eq!(found, Some(wire.len() - 4));
    }
}
