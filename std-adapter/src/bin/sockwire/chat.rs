//! `sockwire connect`: a line-oriented WebSocket or SockJS client.

use std::io::{self, BufRead, Write};
use std::sync::mpsc;
use std::time::Duration;

use clap::Args;
use sockwire_std::client::{ClientOptions, WsClient};
use sockwire_std::message::Message;
use sockwire_std::sockjs_client::{SockJsClient, SockJsTransport};

use crate::network::Network;

/// Where to connect and how.
#[derive(Args)]
pub struct ConnectArgs {
    /// `ws://HOST:PORT/PATH` (`wss://` for TLS), or with `--sockjs`
    /// `http://HOST:PORT/PREFIX` (`https://`).
    url: String,
    /// A subprotocol to offer (repeat for more, in order of preference).
    #[arg(long = "protocol", value_name = "NAME")]
    protocols: Vec<String>,
    /// The `Origin` header to send.
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    /// Connects through SockJS: websocket, else xhr_streaming, else xhr polling.
    #[arg(long)]
    sockjs: bool,
    #[command(flatten)]
    network: Network,
}

/// What `sockwire connect` needs of a client: a WebSocket or a SockJS session.
trait Chat {
    fn send(&mut self, text: &str) -> io::Result<()>;
    fn poll(&mut self, wait: Duration) -> io::Result<Option<Message>>;
    /// Ends the session; `true` when a closing handshake will deliver what is in flight.
    fn finish(&mut self) -> io::Result<bool>;
    fn is_done(&self) -> bool;
}

impl Chat for WsClient {
    fn send(&mut self, text: &str) -> io::Result<()> {
        self.send_text(text)
    }
    fn poll(&mut self, wait: Duration) -> io::Result<Option<Message>> {
        self.read_for(Some(wait))
    }
    fn finish(&mut self) -> io::Result<bool> {
        self.close(1000, "").map(|_| true)
    }
    fn is_done(&self) -> bool {
        self.is_closed()
    }
}

impl Chat for SockJsClient {
    fn send(&mut self, text: &str) -> io::Result<()> {
        self.send_text(text)
    }
    fn poll(&mut self, wait: Duration) -> io::Result<Option<Message>> {
        self.read_for(wait)
    }
    fn finish(&mut self) -> io::Result<bool> {
        // SockJS has no closing handshake: wait for replies in flight first.
        Ok(false)
    }
    fn is_done(&self) -> bool {
        self.is_closed()
    }
}

/// Sends the lines of stdin and prints what arrives until either side ends.
pub fn run(args: ConnectArgs) -> Result<(), String> {
    let url = args.url;
    let sockjs = args.sockjs;
    let connector = args.network.connector()?;
    let options = ClientOptions {
        subprotocols: args.protocols,
        origin: args.origin,
        connector: connector.clone(),
        ..ClientOptions::default()
    };
    let mut client: Box<dyn Chat> = if sockjs {
        let c = SockJsClient::connect_via(&url, &SockJsTransport::ALL, &connector)
            .map_err(|e| format!("{url}: {e}"))?;
        eprintln!("connected to {url} (SockJS over {:?})", c.transport());
        Box::new(c)
    } else {
        let c = WsClient::connect_with(&url, &options).map_err(|e| format!("{url}: {e}"))?;
        match c.subprotocol() {
            Some(p) => eprintln!("connected to {url} (subprotocol {p})"),
            None => eprintln!("connected to {url}"),
        }
        Box::new(c)
    };

    let (lines_tx, lines) = mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            match line {
                Ok(l) => {
                    if lines_tx.send(Some(l)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = lines_tx.send(None);
    });

    let mut stdout = io::stdout();
    let mut closing = false;
    // Without a closing handshake, leave after this long without a message.
    let mut quiet_until: Option<std::time::Instant> = None;
    loop {
        loop {
            match lines.try_recv() {
                Ok(Some(line)) => client.send(&line).map_err(|e| e.to_string())?,
                Ok(None) if !closing => {
                    closing = true;
                    if !client.finish().map_err(|e| e.to_string())? {
                        quiet_until = Some(std::time::Instant::now() + Duration::from_millis(1000));
                    }
                }
                _ => break,
            }
        }
        if quiet_until.is_some_and(|t| std::time::Instant::now() > t) {
            return Ok(());
        }
        let message = match client.poll(Duration::from_millis(50)) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) if closing || client.is_done() => {
                log::debug!("after close: {e}");
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        if let Some(t) = quiet_until.as_mut() {
            *t = std::time::Instant::now() + Duration::from_millis(1000);
        }
        let shown = match message {
            Message::Text(t) => t,
            Message::Binary(b) => format!("<binary {} bytes>", b.len()),
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close { code, reason } => {
                eprintln!("{}", Message::close_sentence(code, &reason));
                return Ok(());
            }
        };
        writeln!(stdout, "{shown}").map_err(|e| e.to_string())?;
    }
}
