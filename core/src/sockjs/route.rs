//! Routing a request under a SockJS prefix.

use super::transport::Transport;

/// What a request under the SockJS prefix asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Route<'a> {
    /// `GET {prefix}` or `{prefix}/`: `Welcome to SockJS!\n`.
    Greeting,
    /// `GET {prefix}/info`.
    Info,
    /// `GET {prefix}/iframe*.html`.
    IframePage,
    /// A session URL with a method the transport accepts.
    Session {
        /// The server id (for load balancers; the session does not depend on it).
        server: &'a str,
        /// The session id.
        session: &'a str,
        /// The transport.
        transport: Transport,
        /// The query string after `?` (empty when none): `jsonp`/`htmlfile` read `c` here.
        query: &'a str,
    },
    /// `GET {prefix}/websocket`: a WebSocket without SockJS framing.
    RawWebSocket,
    /// A CORS preflight (`OPTIONS`) for `/info`, `xhr`, `xhr_send` or `xhr_streaming`:
    /// answer 204 with `Access-Control-Allow-Methods: allow`.
    Preflight {
        /// The methods to allow, such as `OPTIONS, POST`.
        allow: &'static str,
    },
    /// No such resource: 404.
    NotFound,
    /// A known resource with the wrong method: 405 with `Allow: allow` and no body.
    MethodNotAllowed {
        /// The `Allow` header value.
        allow: &'static str,
    },
}

/// Routes requests under one prefix.
///
/// ```
/// use sockwire_core::sockjs::{Route, Router, Transport};
/// let router = Router::new("/echo", true);
/// assert_eq!(router.route("GET", "/echo/info"), Route::Info);
/// assert_eq!(
///     router.route("POST", "/echo/000/abc/xhr"),
///     Route::Session { server: "000", session: "abc", transport: Transport::Xhr, query: "" }
/// );
/// assert_eq!(router.route("GET", "/echo/000/a.b/xhr"), Route::NotFound);
/// assert_eq!(router.route("GET", "/echo/000/abc/xhr"), Route::MethodNotAllowed { allow: "OPTIONS, POST" });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Router<'p> {
    prefix: &'p str,
    websocket_enabled: bool,
}

impl<'p> Router<'p> {
    /// A router for `prefix` (such as `/echo`; a trailing `/` is ignored, `""` or `/` is the
    /// root). Without `websocket_enabled` the WebSocket URLs are 404.
    pub fn new(prefix: &'p str, websocket_enabled: bool) -> Self {
        Router {
            prefix: prefix.strip_suffix('/').unwrap_or(prefix),
            websocket_enabled,
        }
    }

    /// Routes `method` and request `target` (path and optional query). Targets outside the
    /// prefix are [`Route::NotFound`].
    pub fn route<'a>(&self, method: &str, target: &'a str) -> Route<'a> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let Some(rest) = path.strip_prefix(self.prefix) else {
            return Route::NotFound;
        };
        let only = |allowed: &'static str, route: Route<'a>| {
            if method == allowed {
                route
            } else {
                Route::MethodNotAllowed { allow: allowed }
            }
        };
        match rest {
            "" | "/" => only("GET", Route::Greeting),
            "/info" => match method {
                "GET" => Route::Info,
                "OPTIONS" => Route::Preflight {
                    allow: "OPTIONS, GET",
                },
                _ => Route::MethodNotAllowed {
                    allow: "OPTIONS, GET",
                },
            },
            "/websocket" if self.websocket_enabled => only("GET", Route::RawWebSocket),
            _ if is_iframe_name(rest) => only("GET", Route::IframePage),
            _ => self.session(method, rest, query),
        }
    }

    fn session<'a>(&self, method: &str, rest: &'a str, query: &'a str) -> Route<'a> {
        let Some(rest) = rest.strip_prefix('/') else {
            return Route::NotFound;
        };
        let mut parts = rest.split('/');
        let (Some(server), Some(session), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Route::NotFound;
        };
        if !is_id(server) || !is_id(session) {
            return Route::NotFound;
        }
        let Some(transport) = Transport::from_name(name) else {
            return Route::NotFound;
        };
        if transport == Transport::WebSocket && !self.websocket_enabled {
            return Route::NotFound;
        }
        if method == transport.method() {
            Route::Session {
                server,
                session,
                transport,
                query,
            }
        } else if method == "OPTIONS" && transport.allows_options() {
            Route::Preflight {
                allow: transport.allow(),
            }
        } else {
            Route::MethodNotAllowed {
                allow: transport.allow(),
            }
        }
    }
}

/// The longest server or session id accepted: sockjs-client sends 3 and 8 characters,
/// Spring's client UUIDs (36); anything much longer only makes the server hold more.
pub const MAX_ID_LEN: usize = 64;

/// A server or session id: 1 to [`MAX_ID_LEN`] bytes, no `.` (and no `/`, which
/// splitting ensures).
fn is_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len()) && !id.contains('.')
}

/// `/iframe[0-9a-z_.-]*.html`.
fn is_iframe_name(rest: &str) -> bool {
    rest.strip_prefix("/iframe")
        .and_then(|r| r.strip_suffix(".html"))
        .is_some_and(|middle| {
            middle
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"-._".contains(&b))
        })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::transport::ALL_TRANSPORTS;
    use super::*;

    const R: Router<'static> = Router {
        prefix: "/echo",
        websocket_enabled: true,
    };

    #[test]
    fn greeting_and_not_found() {
        assert_eq!(R.route("GET", "/echo"), Route::Greeting);
        assert_eq!(R.route("GET", "/echo/"), Route::Greeting);
        assert_eq!(
            R.route("POST", "/echo"),
            Route::MethodNotAllowed { allow: "GET" }
        );
        for suffix in ["/a", "/a.html", "//", "///", "/a/a", "/a/a/", "/a/"] {
            let target = std::format!("/echo{suffix}");
            assert_eq!(R.route("GET", &target), Route::NotFound, "{target}");
        }
        assert_eq!(R.route("GET", "/other"), Route::NotFound);
        assert_eq!(R.route("GET", "/echoes"), Route::NotFound);
    }

    #[test]
    fn info_and_preflight() {
        assert_eq!(R.route("GET", "/echo/info"), Route::Info);
        assert_eq!(R.route("GET", "/echo/info?t=1"), Route::Info);
        assert_eq!(
            R.route("OPTIONS", "/echo/info"),
            Route::Preflight {
                allow: "OPTIONS, GET"
            }
        );
        assert_eq!(
            R.route("POST", "/echo/info"),
            Route::MethodNotAllowed {
                allow: "OPTIONS, GET"
            }
        );
    }

    #[test]
    fn iframe_urls() {
        for ok in [
            "/iframe.html",
            "/iframe-a.html",
            "/iframe-.html",
            "/iframe-0.1.2.html",
            "/iframe-0.1.2abc-dirty.2144.html",
            "/iframe-a.html?t=1234",
        ] {
            let target = std::format!("/echo{ok}");
            assert_eq!(R.route("GET", &target), Route::IframePage, "{ok}");
        }
        for bad in [
            "/iframe.htm",
            "/iframe",
            "/IFRAME.HTML",
            "/IFRAME",
            "/iframe.HTML",
            "/iframe.xml",
            "/iframe-/.html",
        ] {
            let target = std::format!("/echo{bad}");
            assert_eq!(R.route("GET", &target), Route::NotFound, "{bad}");
        }
        assert_eq!(
            R.route("POST", "/echo/iframe.html"),
            Route::MethodNotAllowed { allow: "GET" }
        );
    }

    #[test]
    fn session_ids() {
        for (server, session) in [
            ("a", "a"),
            ("_", "_"),
            ("1", "1"),
            ("abcdefgh_i-j%20", "x%20"),
        ] {
            let target = std::format!("/echo/{server}/{session}/xhr");
            assert_eq!(
                R.route("POST", &target),
                Route::Session {
                    server,
                    session,
                    transport: Transport::Xhr,
                    query: ""
                }
            );
        }
        for bad in ["//", "/a./a", "/a/a.", "/./.", "/", "///", "/a/a/a"] {
            let target = std::format!("/echo{bad}/xhr");
            assert_eq!(R.route("GET", &target), Route::NotFound, "{bad}");
            assert_eq!(R.route("POST", &target), Route::NotFound, "{bad}");
        }
        assert_eq!(R.route("POST", "/echo/a/a/nope"), Route::NotFound);
        let longest = "s".repeat(MAX_ID_LEN);
        let target = std::format!("/echo/000/{longest}/xhr");
        assert!(matches!(R.route("POST", &target), Route::Session { .. }));
        let target = std::format!("/echo/000/{longest}s/xhr");
        assert_eq!(R.route("POST", &target), Route::NotFound);
    }

    #[test]
    fn every_transport_and_its_methods() {
        for t in ALL_TRANSPORTS {
            let target = std::format!("/echo/000/s/{}?c=cb", t.name());
            assert_eq!(
                R.route(t.method(), &target),
                Route::Session {
                    server: "000",
                    session: "s",
                    transport: t,
                    query: "c=cb"
                }
            );
            let other = if t.method() == "GET" { "POST" } else { "GET" };
            assert_eq!(
                R.route(other, &target),
                Route::MethodNotAllowed { allow: t.allow() }
            );
            let options = R.route("OPTIONS", &target);
            if t.allows_options() {
                assert_eq!(
                    options,
                    Route::Preflight {
                        allow: "OPTIONS, POST"
                    }
                );
            } else {
                assert_eq!(options, Route::MethodNotAllowed { allow: t.allow() });
            }
        }
        assert_eq!(
            R.route("POST", "/echo/0/0/websocket"),
            Route::MethodNotAllowed { allow: "GET" }
        );
    }

    #[test]
    fn websocket_switch_and_root_prefix() {
        let off = Router::new("/echo/", false);
        assert_eq!(off.route("GET", "/echo/websocket"), Route::NotFound);
        assert_eq!(off.route("GET", "/echo/0/0/websocket"), Route::NotFound);
        assert_eq!(R.route("GET", "/echo/websocket"), Route::RawWebSocket);
        assert_eq!(
            R.route("POST", "/echo/websocket"),
            Route::MethodNotAllowed { allow: "GET" }
        );
        let root = Router::new("/", true);
        assert_eq!(root.route("GET", "/"), Route::Greeting);
        assert_eq!(root.route("GET", "/info"), Route::Info);
    }
}
