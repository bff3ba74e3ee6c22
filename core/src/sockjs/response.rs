//! Response heads (and small bodies) for every SockJS route: CORS, caching, content types
//! and the `JSESSIONID` cookie.
//!
//! Cacheable responses need an `Expires` date one year ahead; the core has no clock, so
//! the caller formats it (an IMF-fixdate such as `Sun, 06 Nov 1995 08:49:37 GMT`).

use super::config::Config;
use super::iframe::IframePage;
use super::info::write_info;
use super::transport::Transport;
use crate::buf::BufferTooSmall;
use crate::http::{HeadWriter, Headers, WriteError};

/// One year in seconds: the max-age of cacheable responses and preflights.
pub const ONE_YEAR_SECONDS: u64 = 31_536_000;
/// `Cache-Control` of responses that must never be cached.
pub const NO_CACHE: &str = "no-store, no-cache, must-revalidate, max-age=0";
/// `Cache-Control` of cacheable responses.
pub const CACHE_ONE_YEAR: &str = "public, max-age=31536000";
/// The greeting body.
pub const GREETING: &str = "Welcome to SockJS!\n";
const TEXT_PLAIN: &str = "text/plain;charset=UTF-8";

/// What the response heads need from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestContext<'a> {
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `Access-Control-Request-Headers` header, echoed as `Access-Control-Allow-Headers`.
    pub request_headers: Option<&'a str>,
    /// The value of the `JSESSIONID` cookie the client sent.
    pub jsessionid: Option<&'a str>,
    /// The `If-None-Match` header.
    pub if_none_match: Option<&'a [u8]>,
}

impl<'a> RequestContext<'a> {
    /// Reads the fields from parsed request headers.
    pub fn from_headers(headers: &Headers<'_, 'a>) -> Self {
        let text = |name| headers.get(name).and_then(|v| core::str::from_utf8(v).ok());
        let jsessionid = headers
            .all("cookie")
            .filter_map(|v| core::str::from_utf8(v).ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix("JSESSIONID="));
        RequestContext {
            origin: text("origin"),
            request_headers: text("access-control-request-headers"),
            jsessionid,
            if_none_match: headers.get("if-none-match"),
        }
    }
}

/// How the length of a response body is conveyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// `Content-Length: n`.
    Fixed(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 streaming).
    Chunked,
    /// `Connection: close`: the body ends when the connection does (HTTP/1.0 streaming).
    UntilClose,
}

fn cors(w: &mut HeadWriter<'_>, ctx: &RequestContext<'_>) {
    match ctx.origin {
        Some(origin) if !origin.is_empty() && origin != "null" => {
            w.header("Access-Control-Allow-Origin", origin);
            w.header("Access-Control-Allow-Credentials", "true");
            w.header("Vary", "Origin");
        }
        _ => {
            w.header("Access-Control-Allow-Origin", "*");
        }
    }
    if let Some(requested) = ctx.request_headers.filter(|h| !h.trim().is_empty()) {
        w.header("Access-Control-Allow-Headers", requested);
    }
}

fn cookie(w: &mut HeadWriter<'_>, config: &Config<'_>, ctx: &RequestContext<'_>) {
    if !config.cookie_needed {
        return;
    }
    let is_cookie_octet = |b: u8| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\');
    let value = ctx
        .jsessionid
        .filter(|v| !v.is_empty() && v.len() <= 256 && v.bytes().all(is_cookie_octet))
        .unwrap_or("dummy");
    let mut buf = [0u8; 280];
    let mut c = crate::buf::Writer::new(&mut buf);
    c.put_str("JSESSIONID=");
    c.put_str(value);
    c.put_str(";path=/");
    if let Ok(n) = c.finish() {
        if let Some(Ok(set)) = buf.get(..n).map(core::str::from_utf8) {
            w.header("Set-Cookie", set);
        }
    }
}

fn body_length(w: &mut HeadWriter<'_>, body: BodyLength) {
    match body {
        BodyLength::Fixed(n) => w.header_decimal("Content-Length", n),
        BodyLength::Chunked => w.header("Transfer-Encoding", "chunked"),
        BodyLength::UntilClose => w.header("Connection", "close"),
    };
}

/// Appends `body` after a finished head.
fn with_body(
    head: Result<usize, WriteError>,
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, WriteError> {
    let head = head?;
    let total = head.saturating_add(body.len());
    let dst = out
        .get_mut(head..total)
        .ok_or(WriteError::BufferTooSmall(BufferTooSmall { needed: total }))?;
    dst.copy_from_slice(body);
    Ok(total)
}

/// Writes the greeting: 200, `text/plain`, `Welcome to SockJS!\n`.
pub fn write_greeting(out: &mut [u8]) -> Result<usize, WriteError> {
    let mut w = HeadWriter::response(out, 200);
    w.header("Content-Type", TEXT_PLAIN);
    w.header_decimal("Content-Length", GREETING.len() as u64);
    let head = w.finish();
    with_body(head, GREETING.as_bytes(), out)
}

/// Writes a 404 without a body.
pub fn write_not_found(out: &mut [u8]) -> Result<usize, WriteError> {
    let mut w = HeadWriter::response(out, 404);
    w.header("Content-Length", "0");
    w.finish()
}

/// Writes a 405 with `Allow` and without a body or content type.
pub fn write_method_not_allowed(allow: &str, out: &mut [u8]) -> Result<usize, WriteError> {
    let mut w = HeadWriter::response(out, 405);
    w.header("Allow", allow);
    w.header("Content-Length", "0");
    w.finish()
}

/// Writes a CORS preflight answer: 204, cacheable for a year, with
/// `Access-Control-Allow-Methods: allow` and `Access-Control-Max-Age`.
pub fn write_preflight(
    allow: &str,
    ctx: &RequestContext<'_>,
    expires: &str,
    out: &mut [u8],
) -> Result<usize, WriteError> {
    let mut w = HeadWriter::response(out, 204);
    w.header("Cache-Control", CACHE_ONE_YEAR);
    w.header("Expires", expires);
    w.header_decimal("Access-Control-Max-Age", ONE_YEAR_SECONDS);
    w.header("Access-Control-Allow-Methods", allow);
    cors(&mut w, ctx);
    w.finish()
}

/// Writes the whole `/info` response: 200, JSON, not cacheable, CORS, no cookie; the
/// body reports `origins`, the policy requests are checked against.
pub fn write_info_response(
    config: &Config<'_>,
    origins: &crate::ws::handshake::AllowedOrigins<'_>,
    ctx: &RequestContext<'_>,
    entropy: u32,
    out: &mut [u8],
) -> Result<usize, WriteError> {
    let mut body = [0u8; 1024];
    let len = write_info(config, origins, entropy, &mut body)?;
    let body = body.get(..len).unwrap_or(&[]);
    let mut w = HeadWriter::response(out, 200);
    w.header("Content-Type", "application/json;charset=UTF-8");
    w.header("Cache-Control", NO_CACHE);
    cors(&mut w, ctx);
    w.header_decimal("Content-Length", body.len() as u64);
    let head = w.finish();
    with_body(head, body, out)
}

/// Writes the whole iframe response: 304 without body when `If-None-Match` names the
/// page, else 200 with the page, cacheable for a year, with its ETag.
pub fn write_iframe_response(
    page: &IframePage<'_>,
    ctx: &RequestContext<'_>,
    expires: &str,
    out: &mut [u8],
) -> Result<usize, WriteError> {
    let etag = page.etag();
    if page.matches(ctx.if_none_match) {
        let mut w = HeadWriter::response(out, 304);
        w.header("ETag", &etag);
        w.header("Cache-Control", CACHE_ONE_YEAR);
        w.header("Expires", expires);
        return w.finish();
    }
    let mut w = HeadWriter::response(out, 200);
    w.header("Content-Type", "text/html;charset=UTF-8");
    w.header("Cache-Control", CACHE_ONE_YEAR);
    w.header("Expires", expires);
    w.header("ETag", &etag);
    w.header_decimal("Content-Length", page.body_len() as u64);
    let head = w.finish()?;
    let total = head.saturating_add(page.body_len());
    let dst = out
        .get_mut(head..)
        .ok_or(WriteError::BufferTooSmall(BufferTooSmall { needed: total }))?;
    page.write_body(dst)
        .map_err(|_| WriteError::BufferTooSmall(BufferTooSmall { needed: total }))?;
    Ok(total)
}

/// Writes the head of a receiving transport's 200 response (`xhr`, `xhr_streaming`,
/// `eventsource`, `htmlfile`, `jsonp`): content type, no caching, CORS, the cookie when
/// configured, and `body` length framing. The prelude and frames follow.
pub fn write_transport_head(
    transport: Transport,
    config: &Config<'_>,
    ctx: &RequestContext<'_>,
    body: BodyLength,
    out: &mut [u8],
) -> Result<usize, WriteError> {
    let mut w = HeadWriter::response(out, 200);
    if let Some(ct) = transport.content_type() {
        w.header("Content-Type", ct);
    }
    w.header("Cache-Control", NO_CACHE);
    cors(&mut w, ctx);
    cookie(&mut w, config, ctx);
    body_length(&mut w, body);
    w.finish()
}

/// Writes the whole answer to an accepted send: `xhr_send` 204, `jsonp_send` 200 `ok`.
pub fn write_send_accepted(
    transport: Transport,
    config: &Config<'_>,
    ctx: &RequestContext<'_>,
    out: &mut [u8],
) -> Result<usize, WriteError> {
    let (status, body): (u16, &[u8]) = if transport == Transport::JsonpSend {
        (200, b"ok")
    } else {
        (204, b"")
    };
    let mut w = HeadWriter::response(out, status);
    w.header("Content-Type", TEXT_PLAIN);
    w.header("Cache-Control", NO_CACHE);
    cors(&mut w, ctx);
    cookie(&mut w, config, ctx);
    if status != 204 {
        w.header_decimal("Content-Length", body.len() as u64);
    }
    let head = w.finish();
    with_body(head, body, out)
}

/// Writes a whole 500 response with `message` as its `text/plain` body, as the protocol
/// answers broken send bodies ([`SendBodyError::message`](super::SendBodyError::message))
/// and missing callbacks ([`CallbackError::message`](super::CallbackError::message)).
pub fn write_server_error(
    message: &str,
    ctx: &RequestContext<'_>,
    out: &mut [u8],
) -> Result<usize, WriteError> {
    let mut w = HeadWriter::response(out, 500);
    w.header("Content-Type", TEXT_PLAIN);
    w.header("Cache-Control", NO_CACHE);
    cors(&mut w, ctx);
    w.header_decimal("Content-Length", message.len() as u64);
    let head = w.finish();
    with_body(head, message.as_bytes(), out)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::http::Header;
    use std::string::String;

    fn text(r: Result<usize, WriteError>, out: &[u8]) -> String {
        String::from_utf8(out[..r.unwrap()].to_vec()).unwrap()
    }

    const EXPIRES: &str = "Thu, 01 Jan 2026 00:00:00 GMT";

    #[test]
    fn context_from_headers() {
        let fields = [
            Header {
                name: "Origin",
                value: b"http://a",
            },
            Header {
                name: "Cookie",
                value: b"x=1; JSESSIONID=abc",
            },
            Header {
                name: "Access-Control-Request-Headers",
                value: b"a, b",
            },
        ];
        let ctx = RequestContext::from_headers(&Headers::new(&fields));
        assert_eq!(ctx.origin, Some("http://a"));
        assert_eq!(ctx.jsessionid, Some("abc"));
        assert_eq!(ctx.request_headers, Some("a, b"));
    }

    #[test]
    fn greeting_404_405() {
        let mut out = [0u8; 512];
        let g = text(write_greeting(&mut out), &out);
        assert!(g.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\n"));
        assert!(g.ends_with("\r\n\r\nWelcome to SockJS!\n"));
        assert_eq!(
            text(write_not_found(&mut out), &out),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        );
        let r = text(write_method_not_allowed("OPTIONS, POST", &mut out), &out);
        assert_eq!(
            r,
            "HTTP/1.1 405 Method Not Allowed\r\nAllow: OPTIONS, POST\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn preflight_and_cors() {
        let mut out = [0u8; 512];
        let ctx = RequestContext {
            origin: Some("test"),
            request_headers: Some("a, b, c"),
            ..Default::default()
        };
        let r = text(
            write_preflight("OPTIONS, GET", &ctx, EXPIRES, &mut out),
            &out,
        );
        assert!(r.starts_with("HTTP/1.1 204 No Content\r\n"));
        for h in [
            "Cache-Control: public, max-age=31536000\r\n",
            "Expires: Thu, 01 Jan 2026 00:00:00 GMT\r\n",
            "Access-Control-Max-Age: 31536000\r\n",
            "Access-Control-Allow-Methods: OPTIONS, GET\r\n",
            "Access-Control-Allow-Origin: test\r\n",
            "Access-Control-Allow-Credentials: true\r\n",
            "Access-Control-Allow-Headers: a, b, c\r\n",
        ] {
            assert!(r.contains(h), "{h}");
        }
        for origin in [None, Some("null")] {
            let ctx = RequestContext {
                origin,
                request_headers: Some(" "),
                ..Default::default()
            };
            let r = text(
                write_preflight("OPTIONS, POST", &ctx, EXPIRES, &mut out),
                &out,
            );
            assert!(r.contains("Access-Control-Allow-Origin: *\r\n"));
            assert!(!r.contains("Credentials"));
            assert!(!r.contains("Allow-Headers"));
        }
    }

    #[test]
    fn info_response() {
        let mut out = [0u8; 512];
        let r = text(
            write_info_response(
                &Config::default(),
                &crate::ws::handshake::AllowedOrigins::Any,
                &RequestContext::default(),
                7,
                &mut out,
            ),
            &out,
        );
        assert!(r.contains("Content-Type: application/json;charset=UTF-8\r\n"));
        assert!(r.contains("Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\n"));
        assert!(!r.contains("Set-Cookie"));
        assert!(r.ends_with("\"entropy\":7}"));
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&std::format!("Content-Length: {}", body.len())));
    }

    #[test]
    fn iframe_etag_and_304() {
        let page = IframePage::new(Config::DEFAULT.client_library_url);
        let mut out = [0u8; 2048];
        let r = text(
            write_iframe_response(&page, &RequestContext::default(), EXPIRES, &mut out),
            &out,
        );
        assert!(r.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/html;charset=UTF-8\r\n"));
        assert!(r.contains(&std::format!("ETag: {}\r\n", page.etag().as_str())));
        assert!(r.contains("Cache-Control: public, max-age=31536000\r\n"));
        assert!(!r.contains("Last-Modified") && !r.contains("Set-Cookie"));
        assert!(r.ends_with("</html>"));
        let etag = page.etag();
        let ctx = RequestContext {
            if_none_match: Some(etag.as_bytes()),
            ..Default::default()
        };
        let r = text(write_iframe_response(&page, &ctx, EXPIRES, &mut out), &out);
        assert!(r.starts_with("HTTP/1.1 304 Not Modified\r\n"));
        assert!(!r.contains("Content-Type"));
        assert!(r.ends_with("\r\n\r\n"));
        let mut small = [0u8; 300];
        assert!(matches!(
            write_iframe_response(&page, &RequestContext::default(), EXPIRES, &mut small),
            Err(WriteError::BufferTooSmall(_))
        ));
    }

    #[test]
    fn transport_heads_and_cookie() {
        let mut out = [0u8; 512];
        let cookie_config = Config {
            cookie_needed: true,
            ..Config::default()
        };
        let ctx = RequestContext::default();
        let r = text(
            write_transport_head(
                Transport::Xhr,
                &cookie_config,
                &ctx,
                BodyLength::Fixed(2),
                &mut out,
            ),
            &out,
        );
        assert!(r.contains("Content-Type: application/javascript;charset=UTF-8\r\n"));
        assert!(r.contains("Set-Cookie: JSESSIONID=dummy;path=/\r\n"));
        assert!(r.contains("Content-Length: 2\r\n"));
        let echoed = RequestContext {
            jsessionid: Some("abcdef"),
            ..Default::default()
        };
        let r = text(
            write_transport_head(
                Transport::EventSource,
                &cookie_config,
                &echoed,
                BodyLength::Chunked,
                &mut out,
            ),
            &out,
        );
        assert!(r.contains("Content-Type: text/event-stream;charset=UTF-8\r\n"));
        assert!(r.contains("Set-Cookie: JSESSIONID=abcdef;path=/\r\n"));
        assert!(r.contains("Transfer-Encoding: chunked\r\n"));
        let evil = RequestContext {
            jsessionid: Some("a;Domain=x"),
            ..Default::default()
        };
        let r = text(
            write_transport_head(
                Transport::HtmlFile,
                &cookie_config,
                &evil,
                BodyLength::UntilClose,
                &mut out,
            ),
            &out,
        );
        assert!(r.contains("Set-Cookie: JSESSIONID=dummy;path=/\r\n"));
        assert!(r.contains("Connection: close\r\n"));
        let r = text(
            write_transport_head(
                Transport::Jsonp,
                &Config::default(),
                &ctx,
                BodyLength::Fixed(0),
                &mut out,
            ),
            &out,
        );
        assert!(!r.contains("Set-Cookie"));
    }

    #[test]
    fn send_answers() {
        let mut out = [0u8; 512];
        let ctx = RequestContext::default();
        let r = text(
            write_send_accepted(Transport::XhrSend, &Config::default(), &ctx, &mut out),
            &out,
        );
        assert!(r.starts_with("HTTP/1.1 204 No Content\r\n"));
        assert!(r.contains("Content-Type: text/plain;charset=UTF-8\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
        let r = text(
            write_send_accepted(Transport::JsonpSend, &Config::default(), &ctx, &mut out),
            &out,
        );
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(r.ends_with("\r\n\r\nok"));
        let r = text(
            write_server_error("Payload expected.", &ctx, &mut out),
            &out,
        );
        assert!(r.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
        assert!(r.ends_with("\r\n\r\nPayload expected."));
    }
}
