//! The application API end to end over loopback: handlers that panic end only their
//! own session.

use std::sync::Arc;
use std::time::Duration;

use sockwire_core::stomp::AckMode;
use sockwire_core::ws::DataKind;
use sockwire_std::client::WsClient;
use sockwire_std::message::Message;
use sockwire_std::server::{
    AppHandler, AppMessage, DefaultApp, Endpoint, Outbox, Publish, Server, ServerConfig, WsHandler,
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
    fn on_message(&mut self, message: &AppMessage<'_>) -> Vec<Publish> {
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
