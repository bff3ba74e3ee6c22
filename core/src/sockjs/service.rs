//! What a SockJS service answers to one HTTP request under its prefix: the whole
//! response for the service's own resources, or what the server must do for a session.

use super::iframe::IframePage;
use super::response::{
    write_greeting, write_iframe_response, write_info_response, write_method_not_allowed,
    write_not_found, write_preflight, write_server_error, RequestContext,
};
use super::route::{Route, Router};
use super::transport::{callback_from_query, Transport, MAX_CALLBACK_LEN};
use super::BodyEncoding;
use super::Config;
use crate::http::{write_error_response, Request, WriteError};
use crate::ws::handshake::AllowedOrigins;

/// A callback name (`jsonp`, `htmlfile`), checked and percent-decoded.
pub type Callback = heapless::String<MAX_CALLBACK_LEN>;

/// What to do with a request, as [`answer`] decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<'a> {
    /// The whole response is the first `len` bytes of `out`.
    Respond {
        /// Its length.
        len: usize,
    },
    /// `{prefix}/websocket`: upgrade to a WebSocket without SockJS framing.
    RawWebSocket,
    /// `{prefix}/{server}/{session}/websocket`: upgrade, then run the session on its
    /// `websocket` transport.
    WebSocket {
        /// The session id.
        session: &'a str,
    },
    /// A receiving request (`xhr`, `xhr_streaming`, `eventsource`, `htmlfile`, `jsonp`)
    /// for `session`: find it (or create it), attach the request, and answer with a
    /// [`ReceiverResponse`](super::ReceiverResponse).
    Receive {
        /// The session id.
        session: &'a str,
        /// The transport.
        transport: Transport,
        /// The `c` parameter of `jsonp` and `htmlfile` (empty for the others).
        callback: Callback,
    },
    /// A send request (`xhr_send`, `jsonp_send`): read its body, give it to `session`,
    /// and answer with [`write_send_accepted`](super::write_send_accepted) (or 404 when
    /// there is no such session, 500 when the body is broken).
    Send {
        /// The session id.
        session: &'a str,
        /// The transport.
        transport: Transport,
        /// How its body is encoded (`jsonp_send` may be form-encoded).
        encoding: BodyEncoding,
    },
}

/// What [`answer`] needs besides the request.
#[derive(Debug, Clone, Copy)]
pub struct Service<'c> {
    /// The prefix the service is mounted at.
    pub prefix: &'c str,
    /// Its settings.
    pub config: Config<'c>,
    /// The browser origins allowed (the same rule as for WebSocket handshakes): a refused
    /// origin gets 403 on every resource.
    pub origins: AllowedOrigins<'c>,
    /// Random bits for `/info` (`entropy`).
    pub entropy: u32,
    /// An HTTP date a year ahead, for `Expires` on cacheable answers.
    pub expires: &'c str,
}

/// Decides what to do with `request` under the service's prefix, writing the whole
/// response into `out` where the service answers by itself.
///
/// ```
/// use sockwire_core::http::{Header, Request};
/// use sockwire_core::sockjs::{answer, Answer, BodyEncoding, Config, Service, Transport};
/// use sockwire_core::ws::handshake::AllowedOrigins;
/// let mut fields = [Header::EMPTY; 8];
/// let head = b"POST /echo/000/abc/xhr_send HTTP/1.1\r\nHost: h\r\n\r\n";
/// let (request, _) = Request::parse(head, &mut fields).unwrap().unwrap();
/// let service = Service {
///     prefix: "/echo",
///     config: Config::default(),
///     origins: AllowedOrigins::SameOrigin,
///     entropy: 7,
///     expires: "Thu, 01 Jan 2026 00:00:00 GMT",
/// };
/// let mut out = [0u8; 1024];
/// let a = answer(&service, &request, &mut out).unwrap();
/// assert_eq!(a, Answer::Send { session: "abc", transport: Transport::XhrSend, encoding: BodyEncoding::Json });
/// ```
pub fn answer<'a>(
    service: &Service<'_>,
    request: &Request<'_, 'a>,
    out: &mut [u8],
) -> Result<Answer<'a>, WriteError> {
    let ctx = RequestContext::from_headers(&request.headers);
    let respond = |len: usize| Ok(Answer::Respond { len });
    let host = request.headers.get("host").unwrap_or_default();
    if !service.origins.allows(request.headers.get("origin"), host) {
        return respond(write_error_response(403, &[], out)?);
    }
    let router = Router::new(service.prefix, service.config.websocket_enabled);
    match router.route(request.method, request.target) {
        Route::Greeting => respond(write_greeting(out)?),
        Route::Info => respond(write_info_response(
            &service.config,
            &service.origins,
            &ctx,
            service.entropy,
            out,
        )?),
        Route::IframePage => {
            let page = IframePage::new(service.config.client_library_url);
            respond(write_iframe_response(&page, &ctx, service.expires, out)?)
        }
        Route::Preflight { allow } => respond(write_preflight(allow, &ctx, service.expires, out)?),
        Route::NotFound => respond(write_not_found(out)?),
        Route::MethodNotAllowed { allow } => respond(write_method_not_allowed(allow, out)?),
        Route::RawWebSocket => Ok(Answer::RawWebSocket),
        Route::Session {
            session,
            transport,
            query,
            ..
        } => match transport {
            Transport::WebSocket => Ok(Answer::WebSocket { session }),
            Transport::XhrSend => Ok(Answer::Send {
                session,
                transport,
                encoding: BodyEncoding::Json,
            }),
            Transport::JsonpSend => Ok(Answer::Send {
                session,
                transport,
                encoding: BodyEncoding::from_content_type(request.headers.get("content-type")),
            }),
            _ => {
                let mut callback = Callback::new();
                if transport.needs_callback() {
                    let mut buf = [0u8; MAX_CALLBACK_LEN];
                    match callback_from_query(query, &mut buf) {
                        Ok(c) => {
                            let _ = callback.push_str(c);
                        }
                        Err(e) => return respond(write_server_error(e.message(), &ctx, out)?),
                    }
                }
                Ok(Answer::Receive {
                    session,
                    transport,
                    callback,
                })
            }
        },
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::http::Header;

    fn ask(head: &str, same_origin: bool) -> (std::string::String, Option<Answer<'static>>) {
        let head: &'static str = std::boxed::Box::leak(head.into());
        let fields: &'static mut [Header<'static>; 8] =
            std::boxed::Box::leak(std::boxed::Box::new([Header::EMPTY; 8]));
        let (request, _) = Request::parse(head.as_bytes(), fields).unwrap().unwrap();
        let service = Service {
            prefix: "/s",
            config: Config::default(),
            origins: if same_origin {
                AllowedOrigins::Any
            } else {
                AllowedOrigins::List(&[])
            },
            entropy: 1,
            expires: "Thu, 01 Jan 2026 00:00:00 GMT",
        };
        let mut out = [0u8; 4096];
        match answer(&service, &request, &mut out).unwrap() {
            Answer::Respond { len } => (
                std::string::String::from_utf8_lossy(&out[..len]).into(),
                None,
            ),
            other => (std::string::String::new(), Some(other)),
        }
    }

    #[test]
    fn the_service_answers_its_own_resources() {
        assert!(ask("GET /s HTTP/1.1\r\n\r\n", true)
            .0
            .ends_with("Welcome to SockJS!\n"));
        assert!(ask("GET /s/info HTTP/1.1\r\n\r\n", true)
            .0
            .contains("\"websocket\":true"));
        assert!(ask("GET /s/iframe.html HTTP/1.1\r\n\r\n", true)
            .0
            .contains("<html>"));
        assert!(ask("OPTIONS /s/info HTTP/1.1\r\n\r\n", true)
            .0
            .starts_with("HTTP/1.1 204"));
        assert!(ask("GET /s/a/b/c HTTP/1.1\r\n\r\n", true)
            .0
            .starts_with("HTTP/1.1 404"));
        assert!(ask("GET /s/1/2/xhr HTTP/1.1\r\n\r\n", true)
            .0
            .starts_with("HTTP/1.1 405"));
        let refused = ask(
            "GET /s/info HTTP/1.1\r\nHost: a\r\nOrigin: http://b\r\n\r\n",
            false,
        );
        assert!(refused.0.starts_with("HTTP/1.1 403"));
        let (body, _) = ask("GET /s/1/2/jsonp HTTP/1.1\r\n\r\n", true);
        assert!(
            body.starts_with("HTTP/1.1 500") && body.ends_with("\"callback\" parameter required")
        );
    }

    #[test]
    fn session_requests_are_left_to_the_server() {
        assert_eq!(
            ask("GET /s/websocket HTTP/1.1\r\n\r\n", true).1,
            Some(Answer::RawWebSocket)
        );
        assert_eq!(
            ask("GET /s/1/ab/websocket HTTP/1.1\r\n\r\n", true).1,
            Some(Answer::WebSocket { session: "ab" })
        );
        let Some(Answer::Receive {
            session,
            transport,
            callback,
        }) = ask("GET /s/1/ab/htmlfile?c=%63b HTTP/1.1\r\n\r\n", true).1
        else {
            panic!()
        };
        assert_eq!(
            (session, transport, callback.as_str()),
            ("ab", Transport::HtmlFile, "cb")
        );
    }
}
