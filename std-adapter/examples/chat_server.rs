//! An embedded server with an application of its own on `/app`: chat rooms routed by
//! destination variable, a reply to the asking session alone, a one-shot answer to a
//! subscription, session events, and a clock published from another thread.
//!
//! ```text
//! cargo run -p sockwire-std --example chat_server
//! sockwire stomp subscribe ws://127.0.0.1:8080/ws /topic/chat.kitchen
//! sockwire stomp send ws://127.0.0.1:8080/ws /app/chat/kitchen hello
//! ```

use std::sync::Arc;
use std::time::Duration;

use sockwire_std::server::{
    Answer, AppHandler, AppMessage, AppRouter, AppSession, AppSubscription, Publish, Server,
    ServerConfig,
};

/// The routes, and a count of who is connected.
struct Chat {
    routes: AppRouter,
    online: usize,
}

impl Chat {
    fn new() -> Chat {
        let routes = AppRouter::new()
            // Everyone in the room hears it.
            .message("/app/chat/{room}", |m, vars| {
                let room = vars.get("room").unwrap_or("lobby");
                let line = [m.session.user.as_bytes(), b": ", m.body].concat();
                vec![Answer::Publish(Publish::new(
                    format!("/topic/chat.{room}"),
                    line,
                ))]
            })
            // Only the asking session hears it (it subscribed to /user/queue/whoami).
            .message("/app/whoami", |m, _| {
                let me = format!("you are {} (session {})", m.session.user, m.session.id);
                vec![Answer::ToSession(Publish::new("/user/queue/whoami", me))]
            })
            // SUBSCRIBE /app/rooms gets the list once.
            .subscribe("/app/rooms", |s, _| {
                vec![Answer::ToSession(Publish::new(
                    s.destination,
                    "lobby, kitchen",
                ))]
            });
        Chat { routes, online: 0 }
    }
}

impl AppHandler for Chat {
    fn on_message(&mut self, message: &AppMessage<'_>) -> Vec<Answer> {
        self.routes.on_message(message)
    }

    fn on_subscribe(&mut self, subscription: &AppSubscription<'_>) -> Vec<Answer> {
        self.routes.on_subscribe(subscription)
    }

    fn on_connected(&mut self, session: &AppSession<'_>) {
        self.online += 1;
        println!("{} connected; {} online", session.user, self.online);
    }

    fn on_disconnected(&mut self, session: &AppSession<'_>) {
        self.online = self.online.saturating_sub(1);
        println!("{} left; {} online", session.user, self.online);
    }
}

fn main() -> std::io::Result<()> {
    let config = ServerConfig {
        http: "127.0.0.1:8080".parse().expect("an address"),
        app: Arc::new(|| Box::new(Chat::new())),
        ..ServerConfig::default()
    };
    let server = Server::start(config)?;
    println!("STOMP over WebSocket at ws://{}/ws", server.local_addr());
    let publisher = server.publisher();
    std::thread::spawn(move || {
        for tick in 0u64.. {
            std::thread::sleep(Duration::from_secs(1));
            let body = format!("tick {tick}");
            if let Err(e) = publisher.publish("/topic/clock", &[], body.as_bytes()) {
                eprintln!("{e}");
            }
        }
    });
    server.join();
    Ok(())
}
