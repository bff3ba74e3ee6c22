//! The HTTP phase of a connection: requests read by the core's `RequestReader`, routed
//! to an endpoint, answered by the core or upgraded to a session.

use std::sync::atomic::Ordering::Relaxed;

use sockwire_core::broker::SessionId;
use sockwire_core::http::{
    forwarded_client, forwarded_host, keeps_alive, write_ok_response, BodyFraming, Header, Request,
    RequestError, RequestEvent, RequestReader,
};
use sockwire_core::machine::{Machine, Status};
use sockwire_core::sockjs::{
    answer, Answer, BodyEncoding, RequestContext, Service, Transport, MAX_KEPT_HEADER,
};
use sockwire_core::stack::{
    AnyCarrier, BrokerSession, SockJsStores, SockJsWebSocket, StompStack, TcpCarrier,
    WebSocketCarrier, WebSocketMessages,
};
use sockwire_core::stomp::{Id, ServerSession, WEBSOCKET_SUBPROTOCOLS};
use sockwire_core::store::ByteStore;
use sockwire_core::time::Instant;
use sockwire_core::ws::handshake::{accept, AllowedOrigins, ServerConfig as HandshakeConfig};
use sockwire_core::ws::{Connection, Role};

use super::config::{Endpoint, ServerConfig, SockJsApp};
use super::conn::{Conn, Ctx, Phase};
use super::handler::{Outbox, SessionInfo, To};
use super::hub::{Seat, StompConn, Where};
use super::sockjs::Received;
use crate::auth::Admission;
use crate::store::VecBytes;
use std::sync::Arc;

/// Request header fields accepted at most.
const MAX_FIELDS: usize = 64;

/// A SockJS send request whose body is being read.
pub struct SockJsSend {
    /// The session's key in the registry.
    pub key: String,
    /// `xhr_send` or `jsonp_send`.
    pub transport: Transport,
    /// How the body is encoded.
    pub encoding: BodyEncoding,
    /// What the answer needs from the request.
    pub origin: Option<String>,
    /// The `JSESSIONID` cookie.
    pub jsessionid: Option<String>,
    /// The user the handshake interceptor established, if any.
    pub principal: Option<String>,
    /// Whether the connection stays open after the answer.
    pub keep_alive: bool,
}

/// Moves the reader's error answer, if any, into `out`.
pub fn flush_reader(reader: &mut RequestReader<VecBytes>, out: &mut VecBytes, now: Instant) {
    let _ = out.write_with(
        256,
        |buf| match reader.poll_transmit(now, buf) {
            Ok(Some(n)) => Ok(n),
            Ok(None) => Err(None),
            Err(e) => Err(Some(e.needed)),
        },
        |e| *e,
    );
}

/// Runs the HTTP phase over `input`. Returns the bytes consumed, what stopped it, and
/// whether the phase changed (the rest of the input belongs to the new phase).
pub fn step(conn: &mut Conn, input: &mut [u8], ctx: &mut Ctx<'_>) -> (usize, Status<()>, bool) {
    let mut used = 0;
    loop {
        let Phase::Http(reader, _) = &mut conn.phase else {
            return (used, Status::Event(()), true);
        };
        let rest = input.get(used..).unwrap_or_default();
        let read = reader.read(rest, ctx.now);
        let consumed = read.consumed;
        let status = match read.status {
            Status::Event(RequestEvent::Head(head)) => {
                let head = head.to_vec();
                let before = used;
                used += consumed;
                if on_head(conn, &head, ctx) {
                    if conn.wants_hub {
                        return (
                            before,
                            Status::Paused(sockwire_core::machine::Pause::Decision),
                            false,
                        );
                    }
                    if !matches!(conn.phase, Phase::Http(..)) {
                        return (used, Status::Event(()), true);
                    }
                }
                continue;
            }
            Status::Event(RequestEvent::Body) => {
                used += consumed;
                on_body(conn, ctx);
                continue;
            }
            Status::Event(RequestEvent::Failed(e)) => {
                log::debug!("{}: request refused: {e}", conn.peer);
                used += consumed;
                Status::Closed
            }
            other => {
                used += consumed;
                other.map(|_| ())
            }
        };
        if let Phase::Http(reader, _) = &mut conn.phase {
            flush_reader(reader, &mut conn.out, ctx.now);
        }
        return (used, status, false);
    }
}

/// The response to the request is written: read the next one, or finish.
fn answered(conn: &mut Conn, keep_alive: bool, now: Instant) {
    match &mut conn.phase {
        Phase::Http(reader, _) if keep_alive => reader.next_request(now),
        _ => conn.finish(now),
    }
}

/// A request head arrived: route it. Returns whether it was handled here (false while
/// its body is awaited).
fn on_head(conn: &mut Conn, head: &[u8], ctx: &mut Ctx<'_>) -> bool {
    let now = ctx.now;
    let config = ctx.config;
    let mut fields = [Header::EMPTY; MAX_FIELDS];
    let Phase::Http(reader, _) = &mut conn.phase else {
        return true;
    };
    let Some(request) = reader.parse(now, head, &mut fields) else {
        flush_reader(reader, &mut conn.out, now);
        return true;
    };
    conn.client = forwarded_client(&request.headers, conn.peer.ip(), |ip| {
        config.trusted_proxies.contains(&ip)
    });
    let endpoint = config.route(request.target);
    if endpoint.is_some_and(Endpoint::needs_hub) && ctx.hub.is_none() {
        conn.wants_hub = true;
        return true;
    }
    let keep_alive = keeps_alive(&request);
    match endpoint {
        None => {
            reader.refuse(now, RequestError::NotFound);
            flush_reader(reader, &mut conn.out, now);
        }
        Some(Endpoint::Stats) => {
            let body = ctx.stats.json(ctx.incoming.used());
            respond_ok(conn, "application/json", &body);
            answered(conn, keep_alive, now);
        }
        Some(Endpoint::Metrics) => {
            let body = super::metrics::render(ctx.stats, ctx.incoming.used(), now.as_millis());
            respond_ok(conn, super::metrics::CONTENT_TYPE, &body);
            answered(conn, keep_alive, now);
        }
        Some(Endpoint::Health) => {
            let draining = ctx.draining.load(std::sync::atomic::Ordering::Acquire);
            let _ = conn
                .out
                .write_with(256, |b| super::health::write(draining, b), |e| e.needed());
            answered(conn, keep_alive, now);
        }
        Some(Endpoint::Page) => {
            let path = request.target.split('?').next().unwrap_or_default();
            let page = super::page::asset(path);
            let _ = conn.out.write_with(
                page.body.len() + 512,
                |b| super::page::write(page, b),
                |e| e.needed(),
            );
            answered(conn, keep_alive, now);
        }
        Some(Endpoint::WebSocket {
            subprotocols,
            handler,
        }) => {
            let protocols: Vec<&str> = subprotocols.iter().map(String::as_str).collect();
            if let Some((subprotocol, admission)) = upgrade(conn, &request, &protocols, ctx) {
                let info = session_info(conn, &request, subprotocol, admission);
                start_websocket(conn, super::handler::create(handler, &info), ctx);
            }
        }
        Some(Endpoint::Stomp) => {
            if let Some((_, admission)) = upgrade(conn, &request, &WEBSOCKET_SUBPROTOCOLS, ctx) {
                let carrier = AnyCarrier::WebSocket(WebSocketCarrier::new(
                    stomp_ws(config, false),
                    out_store(config),
                ));
                start_stomp(conn, carrier, admission, ctx);
            }
        }
        Some(Endpoint::SockJs { app }) => {
            let prefix = config
                .route_prefix(request.target)
                .unwrap_or_default()
                .to_string();
            return sockjs(conn, &request, &prefix, app.clone(), keep_alive, ctx);
        }
    }
    true
}

/// Queues a `200 OK` carrying `body` of `content_type`.
fn respond_ok(conn: &mut Conn, content_type: &str, body: &str) {
    let _ = conn.out.write_with(
        body.len() + 256,
        |b| write_ok_response(content_type, body.as_bytes(), b),
        |e| e.needed(),
    );
}

/// The request's admission by the handshake interceptor; a refused request is answered
/// with the refusal's status and the connection finishes.
fn admit(conn: &mut Conn, request: &Request<'_, '_>, ctx: &Ctx<'_>) -> Option<Arc<Admission>> {
    let client = std::net::SocketAddr::new(conn.client, conn.peer.port());
    match ctx.gatekeeper.admit(request, client, ctx.now) {
        Ok(a) => Some(a),
        Err(e) => {
            log::debug!("{}: {} refused: {e}", conn.peer, request.target);
            ctx.stats.refused_handshakes.fetch_add(1, Relaxed);
            if e == RequestError::Unauthorized {
                ctx.stats.auth_failures.fetch_add(1, Relaxed);
            }
            if let Phase::Http(reader, _) = &mut conn.phase {
                reader.refuse(ctx.now, e);
                flush_reader(reader, &mut conn.out, ctx.now);
            }
            None
        }
    }
}

/// The WebSocket handshake: the interceptor's admission, then the 101, or the refusal
/// (then the connection finishes). Returns the chosen subprotocol and the admission on
/// success.
fn upgrade(
    conn: &mut Conn,
    request: &Request<'_, '_>,
    protocols: &[&str],
    ctx: &Ctx<'_>,
) -> Option<(Option<String>, Arc<Admission>)> {
    let admission = admit(conn, request, ctx)?;
    let (names, others) = origin_lists(ctx.config, conn, request);
    let handshake = HandshakeConfig {
        subprotocols: protocols,
        origins: AllowedOrigins::Named {
            names: &names,
            others: &others,
        },
        limits: Default::default(),
    };
    let accepted = accept(request, &handshake);
    let written = match &accepted {
        Ok(a) => conn
            .out
            .write_with(256, |b| a.write_response(&[], b), |e| e.needed())
            .is_ok(),
        Err(r) => {
            log::debug!("{}: handshake refused: {:?}", conn.peer, r.reason);
            ctx.stats.refused_handshakes.fetch_add(1, Relaxed);
            let _ = conn
                .out
                .write_with(256, |b| r.write_response(b), |e| Some(e.needed));
            false
        }
    };
    match accepted {
        Ok(a) if written => {
            if let Phase::Http(reader, _) = &mut conn.phase {
                reader.finish();
            }
            Some((a.subprotocol().map(str::to_string), admission))
        }
        _ => {
            conn.finish(ctx.now);
            None
        }
    }
}

/// The server's names and the other allowed origins, borrowed for a handshake. With no
/// names configured, a request through a trusted proxy is checked against the host the
/// proxy says the client asked for (its own `Host` is the proxy's choice).
fn origin_lists<'a>(
    config: &'a ServerConfig,
    conn: &Conn,
    request: &Request<'_, 'a>,
) -> (Vec<&'a str>, Vec<&'a str>) {
    fn strs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let mut names = strs(&config.public_names);
    if names.is_empty() && config.trusted_proxies.contains(&conn.peer.ip()) {
        names.extend(forwarded_host(&request.headers));
    }
    (names, strs(&config.allowed_origins))
}

/// A server WebSocket connection with the server's limits.
fn ws(config: &ServerConfig) -> Connection {
    Connection::new(Role::Server, config.ws, 0)
}

/// A server WebSocket connection carrying STOMP (in SockJS messages, with `sockjs`),
/// its limits raised to let the largest STOMP frame through.
fn stomp_ws(config: &ServerConfig, sockjs: bool) -> Connection {
    Connection::new(Role::Server, config.stomp_ws(sockjs), 0)
}

/// An outbound store for a session: its limit is where it is closed as a slow consumer.
fn out_store(config: &ServerConfig) -> VecBytes {
    VecBytes::new(config.session_output_limit())
}

/// The largest message a peer may send.
fn max_message(config: &ServerConfig) -> usize {
    usize::try_from(config.ws.max_message_size).unwrap_or(usize::MAX)
}

/// A store for what a peer sends, up to `limit` (its largest message) and what the
/// server-wide incoming budget has left.
fn in_store(ctx: &Ctx<'_>, limit: usize) -> VecBytes {
    VecBytes::pooled(limit, ctx.incoming.clone())
}

/// What a handler is told of the request that opened its session.
fn session_info(
    conn: &Conn,
    request: &Request<'_, '_>,
    subprotocol: Option<String>,
    admission: Arc<Admission>,
) -> SessionInfo {
    SessionInfo {
        target: request.target.to_string(),
        subprotocol,
        peer: conn.peer,
        admission,
    }
}

fn start_websocket(
    conn: &mut Conn,
    mut handler: Box<dyn super::handler::WsHandler>,
    ctx: &Ctx<'_>,
) {
    let config = ctx.config;
    let out = VecBytes::new(config.max_write_buffer.saturating_add(max_message(config)));
    let mut messages = Box::new(WebSocketMessages::new(
        ws(config),
        in_store(ctx, max_message(config)),
        out,
    ));
    let mut out = Outbox {
        to: To::WebSocket(messages.reply(ctx.now)),
    };
    super::handler::call(&mut handler, &mut out, |h, out| h.on_open(out));
    conn.phase = Phase::Ws(messages, handler);
}

/// A new STOMP session on `carrier` for the client at `peer`, registered with the hub at
/// this slot.
pub fn stomp_session(
    carrier: AnyCarrier<VecBytes>,
    peer: std::net::IpAddr,
    admission: Arc<Admission>,
    ctx: &mut Ctx<'_>,
) -> Box<StompConn> {
    let config = ctx.config;
    let number = ctx
        .next_session
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let session = ServerSession::new(
        config.stomp_session(),
        Id::from_decimal(u64::from(number)),
        ctx.now,
    );
    let limit = config.stomp.limits.max_body.saturating_add(64 * 1024);
    let stack = StompStack::new(carrier, session, VecBytes::new(limit));
    let id = SessionId(number);
    if let Some(h) = ctx.hub.as_mut() {
        let seat = Seat::new(Where::Slot(ctx.slot), peer, admission);
        h.hub.sessions.insert(id, seat);
    }
    Box::new(BrokerSession::new(stack, id, VecBytes::new(limit)))
}

fn start_stomp(
    conn: &mut Conn,
    carrier: AnyCarrier<VecBytes>,
    admission: Arc<Admission>,
    ctx: &mut Ctx<'_>,
) {
    conn.phase = Phase::Stomp(stomp_session(carrier, conn.client, admission, ctx));
}

/// A connection on the STOMP-over-TCP listener: it authenticates at `CONNECT`.
pub fn stomp_tcp(conn: &mut Conn, ctx: &mut Ctx<'_>) {
    let carrier = AnyCarrier::Tcp(TcpCarrier::new(out_store(ctx.config)));
    let nobody = ctx.gatekeeper.nobody();
    start_stomp(conn, carrier, nobody, ctx);
}

/// A request under a SockJS prefix. Returns false while a send's body is awaited.
fn sockjs(
    conn: &mut Conn,
    request: &Request<'_, '_>,
    prefix: &str,
    app: SockJsApp,
    keep_alive: bool,
    ctx: &mut Ctx<'_>,
) -> bool {
    let now = ctx.now;
    let settings = &ctx.config.sockjs;
    let (names, others) = origin_lists(ctx.config, conn, request);
    let mut entropy = [0u8; 4];
    let _ = getrandom::fill(&mut entropy);
    let expires = a_year_from_now();
    let service = Service {
        prefix,
        config: settings.core(),
        origins: AllowedOrigins::Named {
            names: &names,
            others: &others,
        },
        entropy: u32::from_le_bytes(entropy),
        expires: &expires,
    };
    let mut decided = None;
    let _ = conn.out.write_with(
        4096,
        |b| match answer(&service, request, b) {
            Ok(Answer::Respond { len }) => Ok(len),
            Ok(other) => {
                decided = Some(other.clone());
                Ok(0)
            }
            Err(e) => Err(e),
        },
        |e| e.needed(),
    );
    let ctx_fields = RequestContext::from_headers(&request.headers);
    match decided {
        None => answered(conn, keep_alive, now),
        Some(Answer::Respond { .. }) => {}
        Some(Answer::RawWebSocket) => {
            if matches!(app, SockJsApp::Stomp) {
                if let Some((_, admission)) = upgrade(conn, request, &WEBSOCKET_SUBPROTOCOLS, ctx) {
                    let carrier = AnyCarrier::WebSocket(WebSocketCarrier::new(
                        stomp_ws(ctx.config, false),
                        out_store(ctx.config),
                    ));
                    start_stomp(conn, carrier, admission, ctx);
                }
            } else if let Some((_, admission)) = upgrade(conn, request, &[], ctx) {
                let info = session_info(conn, request, None, admission);
                if let Some(handler) = super::handler::for_sockjs(&app, &info) {
                    start_websocket(conn, handler, ctx);
                }
            }
        }
        Some(Answer::WebSocket { .. }) => {
            if let Some((_, admission)) = upgrade(conn, request, &[], ctx) {
                let config = ctx.config;
                let ws = match app {
                    SockJsApp::Stomp => stomp_ws(config, true),
                    SockJsApp::Echo | SockJsApp::Handler(_) => ws(config),
                };
                let limit = usize::try_from(ws.config().max_message_size).unwrap_or(usize::MAX);
                let stores = SockJsStores {
                    incoming: in_store(ctx, limit),
                    decoded: in_store(ctx, limit),
                    queue: out_store(config),
                    out: out_store(config),
                };
                let mut sockjs = SockJsWebSocket::new(ws, &settings.core(), stores, now);
                let info = session_info(conn, request, None, admission.clone());
                match super::handler::for_sockjs(&app, &info) {
                    None => start_stomp(conn, AnyCarrier::SockJs(sockjs), admission, ctx),
                    Some(mut handler) => {
                        let mut out = Outbox {
                            to: To::SockJs(&mut sockjs, now),
                        };
                        super::handler::call(&mut handler, &mut out, |h, out| h.on_open(out));
                        conn.phase = Phase::SockJs(Box::new(sockjs), handler);
                    }
                }
            }
        }
        Some(Answer::Receive {
            session,
            transport,
            callback,
        }) => {
            let Some(admission) = admit(conn, request, ctx) else {
                return true;
            };
            let key = format!("{prefix}/{session}");
            let info = session_info(conn, request, None, admission.clone());
            let Some(h) = ctx.hub.as_mut() else {
                return true;
            };
            let attach = super::sockjs::Attaching {
                key: &key,
                transport,
                callback: &callback,
                ctx: &ctx_fields,
                slot: ctx.slot,
                peer: conn.client,
                info: &info,
                app: &app,
                keep_alive,
            };
            match h.registry.receive(
                &attach,
                ctx.next_session,
                &mut h.hub.sessions,
                now,
                ctx.config,
                &mut conn.out,
            ) {
                Received::Attached(response) => conn.phase = Phase::Receiving(key, response),
                Received::Answered => answered(conn, keep_alive, now),
                Received::Refused => {
                    log::debug!("{}: over the SockJS session caps: refused", conn.peer);
                    ctx.stats.refused_connections.fetch_add(1, Relaxed);
                    answered(conn, keep_alive, now);
                }
            }
        }
        Some(Answer::Send {
            session,
            transport,
            encoding,
        }) => {
            let Some(admission) = admit(conn, request, ctx) else {
                return true;
            };
            let framing = BodyFraming::of(request);
            let Phase::Http(reader, send) = &mut conn.phase else {
                return true;
            };
            match framing.and_then(|f| reader.expect_body(now, f)) {
                Ok(()) => {
                    let kept = |v: Option<&str>| {
                        v.filter(|v| v.len() <= MAX_KEPT_HEADER).map(str::to_string)
                    };
                    *send = Some(Box::new(SockJsSend {
                        key: format!("{prefix}/{session}"),
                        transport,
                        encoding,
                        origin: kept(ctx_fields.origin),
                        jsessionid: kept(ctx_fields.jsessionid),
                        principal: admission.principal.as_ref().map(|p| p.name.clone()),
                        keep_alive,
                    }));
                    return false;
                }
                Err(e) => {
                    reader.refuse(now, e);
                    flush_reader(reader, &mut conn.out, now);
                }
            }
        }
    }
    true
}

/// A SockJS send's body is in: hand it to its session and answer.
fn on_body(conn: &mut Conn, ctx: &mut Ctx<'_>) {
    let now = ctx.now;
    let Phase::Http(reader, send) = &mut conn.phase else {
        return;
    };
    let Some(send) = send.take() else {
        // A request without a body the server reads.
        return;
    };
    let body = reader.body().to_vec();
    if let Some(h) = ctx.hub.as_mut() {
        super::sockjs::send(&send, &body, h, ctx.stats, now, ctx.config, &mut conn.out);
    }
    answered(conn, send.keep_alive, now);
}

/// An HTTP date a year ahead, for `Expires` on cacheable answers.
fn a_year_from_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    sockwire_core::http::imf_fixdate(secs.saturating_add(365 * 24 * 3600)).to_string()
}
