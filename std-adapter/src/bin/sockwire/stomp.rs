//! `sockwire stomp send|subscribe`: one-shot STOMP clients.

use std::io::{self, Write};
use std::time::Duration;

use clap::{Args, Subcommand};
use sockwire_core::stomp::AckMode;
use sockwire_std::stomp::{StompClient, StompEvent, StompOptions};

use crate::network::Network;

/// What to do on the STOMP server.
#[derive(Subcommand)]
pub enum StompCommand {
    /// Sends one message and waits for its receipt.
    Send {
        /// `stomp://HOST:PORT`, `stomp+ssl://HOST:PORT`, `ws://HOST:PORT/PATH` or `wss://...`.
        url: String,
        /// Where to send it, like /topic/news.
        destination: String,
        /// The message body.
        body: String,
        #[command(flatten)]
        login: Login,
        #[command(flatten)]
        network: Network,
    },
    /// Subscribes and prints each message body on a line.
    Subscribe {
        /// `stomp://HOST:PORT`, `stomp+ssl://HOST:PORT`, `ws://HOST:PORT/PATH` or `wss://...`.
        url: String,
        /// What to subscribe to, like /topic/news.
        destination: String,
        /// Stops after this many messages.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        #[command(flatten)]
        login: Login,
        #[command(flatten)]
        network: Network,
    },
}

/// Who connects, and to which virtual host.
#[derive(Args)]
pub struct Login {
    /// The `login` header.
    #[arg(long)]
    login: Option<String>,
    /// The `passcode` header.
    #[arg(long)]
    passcode: Option<String>,
    /// The `host` header: the broker's virtual host. `/` is RabbitMQ's default vhost and
    /// what most brokers accept (sockwire and ActiveMQ ignore it); a RabbitMQ vhost of
    /// another name is given here.
    #[arg(long, value_name = "VHOST", default_value = "/")]
    host: String,
}

fn connect(url: &str, login: Login, network: &Network) -> Result<StompClient, String> {
    let options = StompOptions {
        login: login.login,
        passcode: login.passcode,
        host: Some(login.host),
        connector: network.connector()?,
        ..StompOptions::default()
    };
    StompClient::connect(url, &options).map_err(|e| format!("{url}: {e}"))
}

/// Runs a STOMP subcommand.
pub fn run(command: StompCommand) -> Result<(), String> {
    let text = |e: io::Error| e.to_string();
    match command {
        StompCommand::Send {
            url,
            destination,
            body,
            login,
            network,
        } => {
            let mut c = connect(&url, login, &network)?;
            c.send(&destination, &[], body.as_bytes(), None, true)
                .map_err(text)?;
            c.disconnect().map_err(text)?;
        }
        StompCommand::Subscribe {
            url,
            destination,
            count,
            login,
            network,
        } => {
            let mut c = connect(&url, login, &network)?;
            c.subscribe(&destination, "0", AckMode::Auto, &[], true)
                .map_err(text)?;
            let mut stdout = io::stdout();
            let mut received = 0u64;
            while count.is_none_or(|n| received < n) {
                match c.next_event(Duration::from_secs(1)).map_err(text)? {
                    Some(StompEvent::Message(m)) => {
                        received += 1;
                        stdout.write_all(&m.body).map_err(text)?;
                        writeln!(stdout).map_err(text)?;
                        stdout.flush().map_err(text)?;
                    }
                    Some(StompEvent::Error { message, body, .. }) => {
                        return Err(format!(
                            "server error: {} {}",
                            message.unwrap_or_default(),
                            String::from_utf8_lossy(&body)
                        ))
                    }
                    Some(StompEvent::HeartbeatLost) => return Err("server heart-beat lost".into()),
                    Some(StompEvent::Receipt(_)) | None => {}
                }
            }
            c.disconnect().map_err(text)?;
        }
    }
    Ok(())
}
