//! The application API end to end over loopback: handlers that panic end only their
//! own session, routes with destination variables, replies to one session and to a
//! subscription, session events.

use std::sync::Arc;
use std::time::Duration;

use sockwire_core::stomp::AckMode;
use sockwire_core::ws::DataKind;
use sockwire_std::client::WsClient;
use sockwire_std::message::Message;
use sockwire_std::server::{
    Answer, AppHandler, AppMessage, AppRouter, AppSession, AppSubscription, DefaultApp, Endpoint,
    Outbox, Publish, Server, ServerConfig, WsHandler,
};
use sockwire_std::stomp::{StompClient, StompEvent, StompMessage, StompOptions};

const WAIT: Duration = Duration::from_secs(5);

fn config() -> ServerConfig {
    ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        // One worker: the sessions that must survive share it with the one that fails.
        workers: 1,
        ..ServerConfig::default()
    }
}

fn stomp(server: &Server) -> StompClient {
    let url = format!("ws://{}/ws", server.local_addr());
    StompClient::connect(&url, &StompOptions::default()).unwrap()
}

/// The next event, failing after 5 s.
fn event(c: &mut StompClient) -> StompEvent {
    c.next_event(WAIT).unwrap().expect("an event within 5 s")
}

fn message(c: &mut StompClient) -> StompMessage {
    match event(c) {
        StompEvent::Message(m) => m,
        other => panic!("expected a MESSAGE, got {other:?}"),
    }
}

/// Echoes, and panics on `boom`.
struct Fragile;

impl WsHandler for Fragile {
    fn on_message(&mut self, kind: DataKind, data: &[u8], out: &mut Outbox<'_>) {
        assert_ne!(data, b"boom", "the handler was told to fail");
        out.send(kind, data).unwrap();
    }
}

#[test]
fn a_panicking_websocket_handler_closes_its_session_with_1011_only() {
    let mut config = config();
    config.routes.push((
        "/fragile".into(),
        Endpoint::WebSocket {
            subprotocols: Vec::new(),
            handler: Arc::new(|_| Box::new(Fragile)),
        },
    ));
    let server = Server::start(config).unwrap();
    let url = format!("ws://{}/fragile", server.local_addr());
    let mut survivor = WsClient::connect(&url).unwrap();
    let mut victim = WsClient::connect(&url).unwrap();
    victim.send_text("boom").unwrap();
    match victim.read_for(Some(WAIT)).unwrap() {
        Some(Message::Close { code, reason }) => {
            assert_eq!(code, Some(1011));
            assert_eq!(reason, "internal error");
        }
        other => panic!("expected a close, got {other:?}"),
    }
    survivor.send_text("still here").unwrap();
    assert_eq!(
        survivor.read_for(Some(WAIT)).unwrap(),
        Some(Message::Text("still here".into()))
    );
    let mut late = WsClient::connect(&url).unwrap();
    late.send_text("new").unwrap();
    assert_eq!(
        late.read_for(Some(WAIT)).unwrap(),
        Some(Message::Text("new".into()))
    );
}

/// The default application, and a panic on `/app/boom`.
struct FragileApp;

impl AppHandler for FragileApp {
    fn on_message(&mut self, message: &AppMessage<'_>) -> Vec<Answer> {
        assert_ne!(
            message.destination, "/app/boom",
            "the handler was told to fail"
        );
        DefaultApp.on_message(message)
    }
}

#[test]
fn a_panicking_app_handler_ends_its_stomp_session_with_an_error_only() {
    let mut config = config();
    config.app = Arc::new(|| Box::new(FragileApp));
    let server = Server::start(config).unwrap();
    let mut survivor = stomp(&server);
    survivor
        .subscribe("/topic/broadcast", "b", AckMode::Auto, &[], true)
        .unwrap();
    let mut victim = stomp(&server);
    victim.send("/app/boom", &[], b"x", None, false).unwrap();
    match event(&mut victim) {
        StompEvent::Error { message, .. } => {
            assert_eq!(message.as_deref(), Some("internal error"))
        }
        other => panic!("expected an ERROR, got {other:?}"),
    }
    // The hub still runs the application for everyone else.
    let mut sender = stomp(&server);
    sender
        .send("/app/broadcast", &[], b"after", None, false)
        .unwrap();
    assert_eq!(message(&mut survivor).body, b"after");
}

/// A server whose `/app` destinations `app` handles, and whose logins are trusted.
fn serve(app: impl Fn() -> Box<dyn AppHandler> + Send + Sync + 'static) -> Server {
    let mut config = config();
    config.app = Arc::new(app);
    config.security.trust_login = true;
    Server::start(config).unwrap()
}

fn login(server: &Server, user: &str) -> StompClient {
    let url = format!("ws://{}/ws", server.local_addr());
    let options = StompOptions {
        login: Some(user.into()),
        passcode: Some("secret".into()),
        ..StompOptions::default()
    };
    StompClient::connect(&url, &options).unwrap()
}

fn chat() -> AppRouter {
    AppRouter::new()
        .message("/app/chat/{room}", |m, vars| {
            let room = vars.get("room").unwrap();
            vec![Answer::Publish(Publish::new(
                format!("/topic/chat.{room}"),
                [room.as_bytes(), b": ", m.body].concat(),
            ))]
        })
        .message("/app/whoami", |m, _| {
            let me = format!("{} in session {}", m.session.user, m.session.id);
            vec![Answer::ToSession(Publish::new("/user/queue/whoami", me))]
        })
        .subscribe("/app/rooms/{floor}", |s, vars| {
            let rooms = format!("rooms on floor {}", vars.get("floor").unwrap());
            vec![Answer::ToSession(Publish::new(s.destination, rooms))]
        })
}

fn nothing(c: &mut StompClient) {
    if let Some(e) = c.next_event(Duration::from_millis(200)).unwrap() {
        panic!("expected nothing, got {e:?}");
    }
}

#[test]
fn routes_capture_destination_variables_and_publish_through_the_broker() {
    let server = serve(|| Box::new(chat()));
    let mut kitchen = stomp(&server);
    kitchen
        .subscribe("/topic/chat.kitchen", "k", AckMode::Auto, &[], true)
        .unwrap();
    let mut hall = stomp(&server);
    hall.subscribe("/topic/chat.hall", "h", AckMode::Auto, &[], true)
        .unwrap();
    let mut sender = stomp(&server);
    sender
        .send("/app/chat/kitchen", &[], b"hi", None, true)
        .unwrap();
    let m = message(&mut kitchen);
    assert_eq!(m.body, b"kitchen: hi");
    assert_eq!(m.header("destination"), Some("/topic/chat.kitchen"));
    nothing(&mut hall);
    // No route: nothing happens, the session stays.
    sender.send("/app/nowhere", &[], b"x", None, true).unwrap();
}

#[test]
fn a_reply_to_the_session_reaches_that_session_not_the_users_others() {
    let server = serve(|| Box::new(chat()));
    let mut first = login(&server, "alice");
    let mut second = login(&server, "alice");
    for c in [&mut first, &mut second] {
        c.subscribe("/user/queue/whoami", "w", AckMode::Auto, &[], true)
            .unwrap();
    }
    first.send("/app/whoami", &[], b"", None, false).unwrap();
    let m = message(&mut first);
    assert!(
        String::from_utf8(m.body.clone())
            .unwrap()
            .starts_with("alice in session "),
        "{m:?}"
    );
    assert_eq!(m.header("subscription"), Some("w"));
    assert_eq!(m.header("destination"), Some("/user/queue/whoami"));
    nothing(&mut second);
}

#[test]
fn a_subscription_to_an_app_destination_gets_one_reply() {
    let server = serve(|| Box::new(chat()));
    let mut c = stomp(&server);
    c.subscribe("/app/rooms/2", "r", AckMode::Auto, &[], false)
        .unwrap();
    let m = message(&mut c);
    assert_eq!(m.body, b"rooms on floor 2");
    assert_eq!(m.header("subscription"), Some("r"));
    assert_eq!(m.header("destination"), Some("/app/rooms/2"));
    // Once: a later message to the destination is not delivered to it.
    c.send("/app/rooms/2", &[], b"x", None, true).unwrap();
    nothing(&mut c);
}

/// Writes down the session events it hears of.
struct Recorder(Arc<std::sync::Mutex<Vec<String>>>);

impl AppHandler for Recorder {
    fn on_message(&mut self, _: &AppMessage<'_>) -> Vec<Answer> {
        Vec::new()
    }
    fn on_connected(&mut self, s: &AppSession<'_>) {
        self.0.lock().unwrap().push(format!("connected {}", s.user));
    }
    fn on_subscribed(&mut self, s: &AppSubscription<'_>) {
        let user = s.session.user;
        let line = format!("subscribed {user} {} {}", s.id, s.destination);
        self.0.lock().unwrap().push(line);
    }
    fn on_disconnected(&mut self, s: &AppSession<'_>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("disconnected {}", s.user));
    }
}

#[test]
fn the_application_hears_of_connects_subscriptions_and_disconnects() {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = events.clone();
    let server = serve(move || Box::new(Recorder(log.clone())));
    let mut c = login(&server, "bob");
    c.subscribe("/topic/a", "1", AckMode::Auto, &[], true)
        .unwrap();
    c.subscribe("/app/b", "2", AckMode::Auto, &[], true)
        .unwrap();
    assert!(c.disconnect().unwrap());
    // A connection dropped without DISCONNECT is an end too.
    drop(login(&server, "carol"));
    let expected = [
        "connected bob",
        "subscribed bob 1 /topic/a",
        "subscribed bob 2 /app/b",
        "disconnected bob",
        "connected carol",
        "disconnected carol",
    ];
    let deadline = std::time::Instant::now() + WAIT;
    while events.lock().unwrap().len() < expected.len() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(*events.lock().unwrap(), expected);
}
