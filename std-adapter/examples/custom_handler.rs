//! A WebSocket endpoint with a handler of your own: every message comes back in capitals,
//! `bye` closes the session.
//!
//! ```text
//! cargo run -p sockwire-std --example custom_handler
//! sockwire connect ws://127.0.0.1:8080/shout
//! ```

use std::sync::Arc;

use sockwire_core::ws::{CloseCode, DataKind};
use sockwire_std::server::{Endpoint, Outbox, Server, ServerConfig, SessionInfo, WsHandler};

/// One session's state: how many messages it has answered.
struct Shout {
    answered: usize,
}

impl WsHandler for Shout {
    fn on_open(&mut self, out: &mut Outbox<'_>) {
        let _ = out.send_text("say something");
    }

    fn on_message(&mut self, kind: DataKind, data: &[u8], out: &mut Outbox<'_>) {
        if data == b"bye" {
            let _ = out.close(CloseCode::NORMAL, "bye");
            return;
        }
        self.answered += 1;
        let _ = out.send(kind, &data.to_ascii_uppercase());
    }

    fn on_close(&mut self, code: Option<u16>) {
        println!("session closed ({code:?}) after {} answers", self.answered);
    }
}

fn main() -> std::io::Result<()> {
    let mut config = ServerConfig {
        http: "127.0.0.1:8080".parse().expect("an address"),
        ..ServerConfig::default()
    };
    let new_session = |info: &SessionInfo| -> Box<dyn WsHandler> {
        println!("new session from {}", info.peer);
        Box::new(Shout { answered: 0 })
    };
    config.routes.push((
        "/shout".into(),
        Endpoint::WebSocket {
            subprotocols: Vec::new(),
            handler: Arc::new(new_session),
        },
    ));
    let server = Server::start(config)?;
    println!("ws://{}/shout", server.local_addr());
    server.join();
    Ok(())
}
