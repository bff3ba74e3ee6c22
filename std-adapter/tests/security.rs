//! Who a client is and what it may do, over STOMP on TCP, WebSocket and the SockJS
//! transports: checked CONNECTs, HTTP Basic at the handshake, access rules with their
//! receipts, the attempt limit, SockJS sessions bound to their client, and the hooks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sockwire_core::broker::access::Attempt;
use sockwire_core::http::{cookie, Credentials, Request, RequestError};
use sockwire_std::auth::{
    AccessRule, Action, Admission, AttemptLimit, HandshakeInterceptor, MessageInterceptor,
    Principal, Security, UsersFile,
};
use sockwire_std::client::{ClientOptions, WsClient};
use sockwire_std::message::Message;
use sockwire_std::server::{
    Answer, AppHandler, AppMessage, Publish, Server, ServerConfig, SockJsSettings,
};
use sockwire_std::sockjs_client::{SockJsClient, SockJsTransport};
use sockwire_std::stomp::{StompClient, StompEvent, StompOptions};

mod common;
use common::http::{open_stream_with, read_until, request, serde_like_array};

/// alice (role admin, password "wonderland") and bob ("builder"), hashed once.
fn users() -> Arc<UsersFile> {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| {
        let a = sockwire_std::auth::hash_password("wonderland").unwrap();
        let b = sockwire_std::auth::hash_password("builder").unwrap();
        format!(
            "[users.alice]\npassword = '{a}'\nroles = ['admin']\n[users.bob]\npassword = '{b}'\n"
        )
    });
    Arc::new(UsersFile::parse(text).unwrap())
}

fn rule(destinations: &[&str], roles: &[&str], action: Action) -> AccessRule {
    AccessRule {
        destinations: destinations.iter().map(|d| d.to_string()).collect(),
        commands: Vec::new(),
        users: Vec::new(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        who: None,
        action,
    }
}

/// A server authenticating against [`users`]: `/topic/admin/**` for admins only.
fn start(tune: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut config = ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        stomp_tcp: Some("127.0.0.1:0".parse().unwrap()),
        workers: 2,
        security: Security {
            authenticator: Some(users()),
            access: vec![
                rule(&["/topic/admin/**"], &["admin"], Action::Allow),
                rule(&["/topic/admin/**"], &[], Action::Deny),
            ],
            ..Security::default()
        },
        ..ServerConfig::default()
    };
    tune(&mut config);
    Server::start(config).unwrap()
}

fn tcp(server: &Server) -> String {
    format!("stomp://{}", server.stomp_addr().unwrap())
}

fn ws(server: &Server) -> String {
    format!("ws://{}/ws", server.local_addr())
}

fn connect(url: &str, login: Option<(&str, &str)>) -> std::io::Result<StompClient> {
    let options = StompOptions {
        login: login.map(|l| l.0.to_string()),
        passcode: login.map(|l| l.1.to_string()),
        timeout: Duration::from_secs(5),
        ..StompOptions::default()
    };
    StompClient::connect(url, &options)
}

fn basic(user: &str, password: &str) -> String {
    use base64ct::{Base64, Encoding};
    format!(
        "Basic {}",
        Base64::encode_string(format!("{user}:{password}").as_bytes())
    )
}

/// STOMP over TCP, raw: sends `frames` and reads until the server closes.
fn tcp_exchange(server: &Server, frames: &[&str]) -> String {
    common::exchange(server.stomp_addr().unwrap(), frames.concat().as_bytes())
}

/// A STOMP over WebSocket client whose handshake carries `headers`.
fn ws_stomp(server: &Server, headers: &[(&str, &str)]) -> std::io::Result<WsClient> {
    let options = ClientOptions {
        subprotocols: vec!["v12.stomp".into()],
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        ..ClientOptions::default()
    };
    WsClient::connect_with(&ws(server), &options)
}

/// Sends a STOMP frame as a text message and returns the next text message.
fn ws_exchange(c: &mut WsClient, frame: &str) -> String {
    c.send_text(frame).unwrap();
    match c.read_for(Some(Duration::from_secs(5))).unwrap() {
        Some(Message::Text(t)) => t,
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// SockJS over xhr: opens session `id` of `/stomp`, sends `frames`, and returns what the
/// next poll receives, the requests carrying `headers`.
fn sockjs_exchange(a: SocketAddr, id: &str, headers: &[(&str, &str)], frames: &[&str]) -> String {
    let path = |t: &str| format!("/stomp/1/{id}/{t}");
    let (status, _, opened) = request(a, "POST", &path("xhr"), headers, b"");
    assert_eq!((status, opened.as_slice()), (200, &b"o\n"[..]));
    let body = serde_like_array(frames);
    assert_eq!(
        request(a, "POST", &path("xhr_send"), headers, body.as_bytes()).0,
        204
    );
    let (_, _, polled) = request(a, "POST", &path("xhr"), headers, b"");
    String::from_utf8(polled).unwrap()
}

const CONNECT_AS_MALLORY: &str =
    "CONNECT\naccept-version:1.2\nhost:h\nlogin:mallory\npasscode:x\n\n\0";

#[test]
fn connect_is_checked_over_tcp_websocket_and_sockjs() {
    let server = start(|_| {});
    for url in [tcp(&server), ws(&server)] {
        let alice = connect(&url, Some(("alice", "wonderland"))).unwrap();
        assert_eq!(alice.user_name(), Some("alice"), "{url}");
        for (login, why) in [
            (Some(("alice", "wrong")), "bad credentials"),
            (Some(("nobody", "wonderland")), "bad credentials"),
            (None, "authentication required"),
        ] {
            let refused = connect(&url, login).err().expect("refused");
            assert!(refused.to_string().contains(why), "{url}: {refused}");
        }
    }
    let a = server.local_addr();
    let ok = "CONNECT\naccept-version:1.2\nhost:h\nlogin:bob\npasscode:builder\n\n\0";
    let polled = sockjs_exchange(a, "good", &[], &[ok]);
    assert!(
        polled.contains("CONNECTED") && polled.contains("user-name:bob"),
        "{polled}"
    );
    let polled = sockjs_exchange(a, "bad", &[], &[CONNECT_AS_MALLORY]);
    assert!(
        polled.contains("ERROR\\nmessage:bad credentials"),
        "{polled}"
    );
    server.stop();
    server.join();
}

#[test]
fn anonymous_sessions_only_when_allowed() {
    let server = start(|c| c.security.allow_anonymous = true);
    let anon = connect(&tcp(&server), None).unwrap();
    assert!(anon.user_name().unwrap().starts_with("session-"));
    // A login is still checked: claiming one is no way to be anonymous.
    assert!(connect(&tcp(&server), Some(("alice", "guess"))).is_err());
    server.stop();
    server.join();
}

#[test]
fn handshake_credentials_name_the_user_whatever_connect_says() {
    let server = start(|_| {});
    let auth = basic("alice", "wonderland");
    let mut c = ws_stomp(&server, &[("Authorization", &auth)]).unwrap();
    let connected = ws_exchange(&mut c, CONNECT_AS_MALLORY);
    assert!(connected.starts_with("CONNECTED\n"), "{connected}");
    assert!(connected.contains("\nuser-name:alice\n"), "{connected}");
    // Wrong credentials: 401 with a challenge, no upgrade.
    let wrong = basic("alice", "nope");
    let refused = ws_stomp(&server, &[("Authorization", &wrong)])
        .err()
        .unwrap();
    assert!(refused.to_string().contains("401"), "{refused}");
    let a = server.local_addr();
    let head = common::exchange(
        a,
        format!(
            "GET /ws HTTP/1.1\r\nHost: {a}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Authorization: {wrong}\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
    assert!(
        head.contains("WWW-Authenticate: Basic realm=\"sockwire\""),
        "{head}"
    );
    // SockJS requests carry it too.
    let polled = sockjs_exchange(
        a,
        "basic",
        &[("Authorization", &auth)],
        &[CONNECT_AS_MALLORY],
    );
    assert!(polled.contains("user-name:alice"), "{polled}");
    let (status, _, _) = request(
        a,
        "POST",
        "/stomp/1/x/xhr",
        &[("Authorization", &wrong)],
        b"",
    );
    assert_eq!(status, 401);
    server.stop();
    server.join();
}

#[test]
fn rules_refuse_frames_with_their_receipt_on_every_transport() {
    let server = start(|_| {});
    let subscribe = "SUBSCRIBE\nid:1\ndestination:/topic/admin/keys\nreceipt:r-1\n\n\0";
    let pattern = "SUBSCRIBE\nid:2\ndestination:/topic/**\nreceipt:r-2\n\n\0";
    let drain = "SUBSCRIBE\nid:3\ndestination:/queue/**\nreceipt:r-3\n\n\0";
    let send = "SEND\ndestination:/topic/admin/keys\nreceipt:r-4\n\nforged\0";
    let connect_bob = "CONNECT\naccept-version:1.2\nhost:h\nlogin:bob\npasscode:builder\n\n\0";
    let cases = [
        (subscribe, "r-1", "access denied"),
        (pattern, "r-2", "access denied"),
        (drain, "r-3", "queues cannot be subscribed to by pattern"),
        (send, "r-4", "access denied"),
    ];
    for (i, (frame, receipt, why)) in cases.iter().enumerate() {
        let expected = format!("ERROR\nmessage:{why}\nreceipt-id:{receipt}\n");
        // STOMP over TCP and WebSocket.
        let got = tcp_exchange(&server, &[connect_bob, frame]);
        assert!(got.contains(&expected), "tcp: {got}");
        let mut bob = ws_stomp(&server, &[]).unwrap();
        assert!(ws_exchange(&mut bob, connect_bob).starts_with("CONNECTED"));
        let got = ws_exchange(&mut bob, frame);
        assert!(got.starts_with(&expected), "ws: {got}");
        // SockJS.
        let polled = sockjs_exchange(
            server.local_addr(),
            &format!("rule{i}"),
            &[],
            &[connect_bob, frame],
        );
        let escaped = expected.replace('\n', "\\n");
        assert!(polled.contains(&escaped), "{polled}");
        // SockJS's websocket and xhr_streaming transports.
        for transport in [SockJsTransport::WebSocket, SockJsTransport::XhrStreaming] {
            let url = format!("http://{}/stomp", server.local_addr());
            let mut c = SockJsClient::connect_with(&url, &[transport]).unwrap();
            c.send_text(connect_bob).unwrap();
            let next = |c: &mut SockJsClient| match c.read_for(Duration::from_secs(5)).unwrap() {
                Some(Message::Text(t)) => t,
                other => panic!("{transport:?}: {other:?}"),
            };
            assert!(next(&mut c).starts_with("CONNECTED"), "{transport:?}");
            c.send_text(frame).unwrap();
            let got = next(&mut c);
            assert!(got.starts_with(&expected), "{transport:?}: {got}");
        }
    }
    // The admin may, and what bob tried never reached the topic.
    let mut alice = connect(&ws(&server), Some(("alice", "wonderland"))).unwrap();
    alice
        .subscribe("/topic/admin/keys", "k", Default::default(), &[], true)
        .unwrap();
    alice
        .send("/topic/admin/keys", &[], b"mine", None, true)
        .unwrap();
    match alice.next_event(Duration::from_secs(5)).unwrap() {
        Some(StompEvent::Message(m)) => assert_eq!(m.body, b"mine"),
        other => panic!("{other:?}"),
    }
    server.stop();
    server.join();
}

#[test]
fn authentication_attempts_are_limited_per_address() {
    let server = start(|c| {
        c.security.attempts = AttemptLimit {
            burst: 3,
            per_minute: 1,
        }
    });
    for _ in 0..3 {
        let e = connect(&tcp(&server), Some(("alice", "guess")))
            .err()
            .unwrap();
        assert!(e.to_string().contains("bad credentials"), "{e}");
    }
    // Even the right password waits now: the guesser learns nothing.
    let e = connect(&tcp(&server), Some(("alice", "wonderland")))
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("too many authentication attempts"),
        "{e}"
    );
    let auth = basic("alice", "wonderland");
    let (status, _, _) = request(
        server.local_addr(),
        "POST",
        "/stomp/1/y/xhr",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(status, 429);
    server.stop();
    server.join();
}

#[test]
fn a_sockjs_session_belongs_to_its_client_on_every_transport() {
    let server = start(|c| c.security.allow_anonymous = true);
    let a = server.local_addr();
    let alice = basic("alice", "wonderland");
    let bob = basic("bob", "builder");
    for transport in [
        "xhr_streaming",
        "eventsource",
        "htmlfile?c=cb",
        "jsonp?c=cb",
        "xhr",
    ] {
        let name = transport.split('?').next().unwrap();
        let id = format!("own-{name}");
        let path = |t: &str| format!("/stomp/1/{id}/{t}");
        let mut receiver = if name == "xhr" {
            let (status, _, body) =
                request(a, "POST", &path("xhr"), &[("Authorization", &alice)], b"");
            assert_eq!((status, body.as_slice()), (200, &b"o\n"[..]));
            None
        } else {
            let mut s = open_stream_with(a, &path(transport), &[("Authorization", &alice)]);
            read_until(&mut s, b"o");
            Some(s)
        };
        let connect = serde_like_array(&["CONNECT\naccept-version:1.2\nhost:h\n\n\0"]);
        // Another user, or no user, holding the id is refused as if it did not exist.
        for headers in [vec![("Authorization", bob.as_str())], vec![]] {
            let (status, _, _) =
                request(a, "POST", &path("xhr_send"), &headers, connect.as_bytes());
            assert_eq!(status, 404, "{transport}: a send from another client");
            let (status, _, _) = request(a, "POST", &path("xhr"), &headers, b"");
            assert_eq!(status, 404, "{transport}: a poll from another client");
        }
        let form = format!("d={}", urlencode(&connect));
        let (status, _, _) = request(
            a,
            "POST",
            &path("jsonp_send"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        );
        assert_eq!(status, 404, "{transport}: a jsonp send from another client");
        // Its owner is served.
        let (status, _, _) = request(
            a,
            "POST",
            &path("xhr_send"),
            &[("Authorization", &alice)],
            connect.as_bytes(),
        );
        assert_eq!(status, 204, "{transport}");
        if name == "xhr" || name == "jsonp" {
            // A polling transport: the next poll gets what followed.
            let method = if name == "xhr" { "POST" } else { "GET" };
            let (_, _, body) = request(
                a,
                method,
                &path(transport),
                &[("Authorization", &alice)],
                b"",
            );
            let body = String::from_utf8(body).unwrap();
            assert!(body.contains("user-name:alice"), "{transport}: {body}");
        } else if let Some(r) = receiver.as_mut() {
            read_until(r, b"user-name:alice");
        }
    }
    server.stop();
    server.join();
}

#[test]
fn with_cookies_needed_a_session_is_bound_to_its_jsessionid() {
    let server = start(|c| {
        c.security.allow_anonymous = true;
        c.sockjs = SockJsSettings {
            cookie_needed: true,
            ..SockJsSettings::default()
        };
    });
    let a = server.local_addr();
    let mine = [("Cookie", "JSESSIONID=abc123")];
    let (status, _, _) = request(a, "POST", "/stomp/1/c/xhr", &mine, b"");
    assert_eq!(status, 200);
    let theirs = [("Cookie", "JSESSIONID=other")];
    assert_eq!(request(a, "POST", "/stomp/1/c/xhr", &theirs, b"").0, 404);
    assert_eq!(request(a, "POST", "/stomp/1/c/xhr", &[], b"").0, 404);
    let body = serde_like_array(&["CONNECT\naccept-version:1.2\nhost:h\n\n\0"]);
    assert_eq!(
        request(a, "POST", "/stomp/1/c/xhr_send", &theirs, body.as_bytes()).0,
        404
    );
    assert_eq!(
        request(a, "POST", "/stomp/1/c/xhr_send", &mine, body.as_bytes()).0,
        204
    );
    server.stop();
    server.join();
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Bearer tokens and a session cookie, the way an application would plug in its own.
struct Tokens;

impl HandshakeInterceptor for Tokens {
    fn before_handshake(
        &self,
        request: &Request<'_, '_>,
        _peer: SocketAddr,
    ) -> Result<Admission, RequestError> {
        let mut scratch = [0u8; 256];
        let name = match Credentials::from_headers(&request.headers, &mut scratch) {
            Ok(Credentials::Bearer("t-alice")) => "alice",
            _ => match cookie(&request.headers, "SESSION") {
                Some("c-bob") => "bob",
                _ => return Err(RequestError::Forbidden),
            },
        };
        let mut attributes = HashMap::new();
        attributes.insert("tenant".to_string(), format!("{name}-corp"));
        Ok(Admission {
            principal: Some(Principal::named(name)),
            attributes,
        })
    }
}

/// Refuses messages whose body says "forbidden".
struct NoForbiddenWords;

impl MessageInterceptor for NoForbiddenWords {
    fn pre_send(
        &self,
        attempt: &Attempt<'_>,
        principal: Option<&Principal>,
    ) -> Result<(), &'static str> {
        assert!(principal.is_some(), "every session here has a principal");
        if attempt.body.windows(9).any(|w| w == b"forbidden") {
            return Err("watch your language");
        }
        Ok(())
    }
}

/// Answers `/app/tenant` with the session's `tenant` attribute.
struct Tenant;

impl AppHandler for Tenant {
    fn on_message(&mut self, m: &AppMessage<'_>) -> Vec<Answer> {
        vec![Answer::Publish(Publish {
            destination: format!("/user/{}/queue/tenant", m.session.user),
            headers: Vec::new(),
            escaping: sockwire_core::stomp::Escaping::V1_2,
            body: m
                .session
                .attributes
                .get("tenant")
                .cloned()
                .unwrap_or_default()
                .into_bytes(),
        })]
    }
}

#[test]
fn applications_plug_in_their_own_handshake_and_message_checks() {
    let server = start(|c| {
        c.security.authenticator = None;
        c.security.handshake = Some(Arc::new(Tokens));
        c.security.interceptor = Some(Arc::new(NoForbiddenWords));
        c.app = Arc::new(|| Box::new(Tenant));
    });
    let mut c = ws_stomp(&server, &[("Authorization", "Bearer t-alice")]).unwrap();
    assert!(ws_exchange(&mut c, CONNECT_AS_MALLORY).contains("user-name:alice"));
    let sub = "SUBSCRIBE\nid:1\ndestination:/user/queue/tenant\nreceipt:s\n\n\0";
    assert!(ws_exchange(&mut c, sub).starts_with("RECEIPT"));
    let reply = ws_exchange(&mut c, "SEND\ndestination:/app/tenant\n\n\0");
    assert!(
        reply.starts_with("MESSAGE\n") && reply.ends_with("alice-corp\0"),
        "{reply}"
    );
    let refused = ws_exchange(
        &mut c,
        "SEND\ndestination:/topic/t\nreceipt:w\n\nforbidden\0",
    );
    assert!(
        refused.starts_with("ERROR\nmessage:watch your language\nreceipt-id:w\n"),
        "{refused}"
    );
    let mut c = ws_stomp(&server, &[("Cookie", "a=1; SESSION=c-bob")]).unwrap();
    assert!(ws_exchange(&mut c, CONNECT_AS_MALLORY).contains("user-name:bob"));
    let refused = ws_stomp(&server, &[]).err().unwrap();
    assert!(refused.to_string().contains("403"), "{refused}");
    server.stop();
    server.join();
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let limited = |c: &mut ServerConfig| {
        c.security.attempts = AttemptLimit {
            burst: 2,
            per_minute: 1,
        }
    };
    let wrong = basic("alice", "nope");
    let attempt = |server: &Server, client: &str| {
        let headers = [
            ("Authorization", wrong.as_str()),
            ("X-Forwarded-For", client),
        ];
        request(server.local_addr(), "POST", "/stomp/1/p/xhr", &headers, b"").0
    };
    let proxied = start(|c| {
        limited(c);
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    });
    assert_eq!(attempt(&proxied, "203.0.113.1"), 401);
    assert_eq!(attempt(&proxied, "203.0.113.1"), 401);
    assert_eq!(attempt(&proxied, "203.0.113.1"), 429);
    // Another client behind the same proxy has attempts of its own.
    assert_eq!(attempt(&proxied, "203.0.113.2"), 401);
    // Without the setting the header is the client's own claim: it changes nothing.
    let direct = start(limited);
    assert_eq!(attempt(&direct, "203.0.113.1"), 401);
    assert_eq!(attempt(&direct, "203.0.113.2"), 401);
    assert_eq!(attempt(&direct, "203.0.113.3"), 429);
    for s in [proxied, direct] {
        s.stop();
        s.join();
    }
}

#[test]
fn a_user_cannot_read_another_users_destinations() {
    let server = start(|c| c.security.allow_anonymous = true);
    let mut alice = connect(&tcp(&server), Some(("alice", "wonderland"))).unwrap();
    alice
        .subscribe("/user/queue/private", "p", Default::default(), &[], true)
        .unwrap();
    let mut bob = connect(&ws(&server), Some(("bob", "builder"))).unwrap();
    // Naming alice's destination in a SUBSCRIBE is refused or resolves to bob's own.
    let stolen = bob.subscribe(
        "/user/alice/queue/private",
        "s",
        Default::default(),
        &[],
        true,
    );
    let mut sender = connect(&tcp(&server), None).unwrap();
    sender
        .send("/user/alice/queue/private", &[], b"for alice", None, true)
        .unwrap();
    match alice.next_event(Duration::from_secs(5)).unwrap() {
        Some(StompEvent::Message(m)) => assert_eq!(m.body, b"for alice"),
        other => panic!("{other:?}"),
    }
    if stolen.is_ok() {
        let got = bob.next_event(Duration::from_millis(300)).unwrap();
        assert!(
            !matches!(got, Some(StompEvent::Message(_))),
            "bob read {got:?}"
        );
    }
    server.stop();
    server.join();
}
