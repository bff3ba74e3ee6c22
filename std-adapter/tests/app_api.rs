//! The application API end to end over loopback: handlers that panic end only their
//! own session, routes with destination variables, replies to one session and to a
//! subscription, session events.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
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
struct Recorder(Arc<Mutex<Vec<String>>>);

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
    let events = Arc::new(Mutex::new(Vec::new()));
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

/// Writes down the numbers of the sessions that connect; on `/app/wait`, says it waits
/// and waits until told to go on (holding the hub worker).
struct Sessions {
    ids: Arc<Mutex<Vec<u32>>>,
    waiting: SyncSender<()>,
    go: Receiver<()>,
}

impl AppHandler for Sessions {
    fn on_message(&mut self, m: &AppMessage<'_>) -> Vec<Answer> {
        if m.destination == "/app/wait" {
            let _ = self.waiting.send(());
            let _ = self.go.recv_timeout(WAIT);
        }
        Vec::new()
    }
    fn on_connected(&mut self, s: &AppSession<'_>) {
        self.ids.lock().unwrap().push(s.id);
    }
}

/// The two ends of a [`Sessions`]' wait: told it waits, and telling it to go on.
type Wait = (Receiver<()>, SyncSender<()>);

/// A server whose application records session numbers, and its wait.
fn recording() -> (Server, Arc<Mutex<Vec<u32>>>, Wait) {
    let ids = Arc::new(Mutex::new(Vec::new()));
    let (waiting, is_waiting) = sync_channel(1);
    let (go, on) = sync_channel(1);
    let ends = Mutex::new(Some((waiting, on)));
    let log = ids.clone();
    let server = serve(move || {
        let (waiting, go) = ends.lock().unwrap().take().expect("one application");
        Box::new(Sessions {
            ids: log.clone(),
            waiting,
            go,
        })
    });
    (server, ids, (is_waiting, go))
}

#[test]
fn a_publisher_sends_from_another_thread_to_a_destination_a_user_and_a_session() {
    let (server, ids, _go) = recording();
    let publisher = server.publisher();
    let mut first = login(&server, "dora");
    let mut second = login(&server, "dora");
    for c in [&mut first, &mut second] {
        c.subscribe("/topic/news", "t", AckMode::Auto, &[], true)
            .unwrap();
        c.subscribe("/user/queue/inbox", "u", AckMode::Auto, &[], true)
            .unwrap();
    }
    let sender = publisher.clone();
    std::thread::spawn(move || {
        sender
            .publish("/topic/news", &[("kind", "a:b")], b"extra")
            .unwrap()
    })
    .join()
    .unwrap();
    for c in [&mut first, &mut second] {
        let m = message(c);
        assert_eq!(m.body, b"extra");
        assert_eq!(m.header("kind"), Some("a:b"));
    }
    publisher
        .to_user("dora", "/queue/inbox", &[], b"for dora")
        .unwrap();
    for c in [&mut first, &mut second] {
        let m = message(c);
        assert_eq!(m.body, b"for dora");
        assert_eq!(m.header("destination"), Some("/user/queue/inbox"));
    }
    let first_id = ids.lock().unwrap()[0];
    publisher
        .to_session(first_id, "/user/queue/inbox", &[], b"for one")
        .unwrap();
    assert_eq!(message(&mut first).body, b"for one");
    nothing(&mut second);
}

#[test]
fn a_full_publish_queue_gives_the_message_back_and_a_stopped_server_says_so() {
    use sockwire_std::server::{PublishError, PUBLISH_QUEUE};
    let (server, _, (waiting, go)) = recording();
    let publisher = server.publisher();
    let mut c = stomp(&server);
    c.subscribe("/topic/t", "t", AckMode::Auto, &[], true)
        .unwrap();
    // The hub worker waits in the application: nothing drains the queue.
    c.send("/app/wait", &[], b"", None, false).unwrap();
    waiting.recv_timeout(WAIT).unwrap();
    let mut taken = 0;
    let refused = loop {
        match publisher.publish("/topic/t", &[], taken.to_string().as_bytes()) {
            Ok(()) => taken += 1,
            Err(e) => break e,
        }
        assert!(taken <= PUBLISH_QUEUE, "the queue is bounded");
    };
    assert_eq!(taken, PUBLISH_QUEUE);
    match refused {
        PublishError::Full(p) => assert_eq!(p.body, PUBLISH_QUEUE.to_string().as_bytes()),
        other => panic!("expected Full, got {other:?}"),
    }
    go.send(()).unwrap();
    // Every message taken arrives, in order.
    for i in 0..taken {
        assert_eq!(message(&mut c).body, i.to_string().as_bytes());
    }
    server.stop();
    server.join();
    assert!(matches!(
        publisher.publish("/topic/t", &[], b"late"),
        Err(PublishError::Stopped(_))
    ));
}

/// Greets, answers, panics on `boom`, and writes down how its session ended.
struct Greeter(Arc<Mutex<Vec<String>>>);

impl WsHandler for Greeter {
    fn on_open(&mut self, out: &mut Outbox<'_>) {
        out.send_text("welcome").unwrap();
        // SockJS carries text only.
        assert!(out.send(DataKind::Binary, b"\x00").is_err());
    }
    fn on_message(&mut self, _: DataKind, data: &[u8], out: &mut Outbox<'_>) {
        assert_ne!(data, b"boom", "the handler was told to fail");
        let text = std::str::from_utf8(data).unwrap();
        out.send_text(&format!("you said {text}")).unwrap();
    }
    fn on_close(&mut self, _: Option<u16>) {
        self.0.lock().unwrap().push("closed".into());
    }
}

#[test]
fn one_handler_serves_sockjs_on_websocket_and_http_transports() {
    use sockwire_std::server::SockJsApp;
    use sockwire_std::sockjs_client::{SockJsClient, SockJsTransport};
    let closes = Arc::new(Mutex::new(Vec::new()));
    let log = closes.clone();
    let mut config = config();
    config.routes.push((
        "/greet".into(),
        Endpoint::SockJs {
            app: SockJsApp::Handler(Arc::new(move |_| Box::new(Greeter(log.clone())))),
        },
    ));
    let server = Server::start(config).unwrap();
    let url = format!("http://{}/greet", server.local_addr());
    let read = |c: &mut SockJsClient| c.read_for(WAIT).unwrap().expect("a message in 5 s");
    let transports = [
        SockJsTransport::WebSocket,
        SockJsTransport::XhrStreaming,
        SockJsTransport::XhrPolling,
    ];
    for transport in transports {
        let mut c = SockJsClient::connect_with(&url, &[transport]).unwrap();
        assert_eq!(
            read(&mut c),
            Message::Text("welcome".into()),
            "{transport:?}"
        );
        c.send_text("hi").unwrap();
        assert_eq!(
            read(&mut c),
            Message::Text("you said hi".into()),
            "{transport:?}"
        );
        // A panic closes this session (1011) and no other.
        let mut other = SockJsClient::connect_with(&url, &[transport]).unwrap();
        assert_eq!(read(&mut other), Message::Text("welcome".into()));
        c.send_text("boom").unwrap();
        match read(&mut c) {
            Message::Close { code, reason } => {
                assert_eq!((code, reason.as_str()), (Some(1011), "internal error"))
            }
            m => panic!("{transport:?}: expected a close, got {m:?}"),
        }
        other.send_text("still").unwrap();
        assert_eq!(read(&mut other), Message::Text("you said still".into()));
    }
    // The WebSocket transport's surviving session hears that it closed (the HTTP ones
    // do when their sessions time out).
    let deadline = std::time::Instant::now() + WAIT;
    while closes.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(*closes.lock().unwrap(), ["closed"]);
}
