//! A second binding of `sockwire-core`, on tokio, to prove the core is wrappable by a
//! runtime other than `sockwire-std`'s: STOMP over WebSocket at `ws://127.0.0.1:PORT/ws`
//! with the core's embedded broker, in a few hundred lines and nothing from
//! `sockwire-std`.
//!
//! ```text
//! sockwire-tokio-binding [PORT]     (default 9004, loopback only)
//! ```
//!
//! Per connection a task reads the request head with the core's `RequestReader`,
//! performs the WebSocket handshake with `ws::handshake::accept` (subprotocols
//! `v12.stomp`, `v11.stomp`, `v10.stomp`, any origin), then drives one
//! `stack::BrokerSession` against the one shared `broker::SimpleBroker`: it writes what
//! the session owes after every read, delivery and timeout, sleeps until the session's
//! `poll_timeout`, and closes the socket once the session `is_closed`.
//!
//! The application accepts every `CONNECT` (the user is its `login`, or `session-N`),
//! answers a `SEND` to `/app/echo` on `/user/{user}/queue/echo` and republishes one to
//! `/app/broadcast` on `/topic/broadcast`.

#![forbid(unsafe_code)]

mod clock;
mod handshake;
mod hub;
mod session;
mod store;
mod transmit;

use std::io;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::clock::Clock;
use crate::handshake::{handshake, Outcome, PATH};
use crate::hub::{Hub, SharedHub};

/// The port served when none is given.
const DEFAULT_PORT: u16 = 9004;

/// How long to wait before accepting again after `accept` failed (out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let port = match port(std::env::args().skip(1)) {
        Ok(port) => port,
        Err(message) => {
            eprintln!("sockwire-tokio-binding: {message}\nusage: sockwire-tokio-binding [PORT]");
            return ExitCode::from(2);
        }
    };
    let hub: SharedHub = Arc::new(Mutex::new(Hub::new()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let served = runtime.and_then(|rt| rt.block_on(serve(port, hub)));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sockwire-tokio-binding: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The port from the arguments: none (the default) or one number.
fn port(mut args: impl Iterator<Item = String>) -> Result<u16, String> {
    let port = match args.next() {
        None => DEFAULT_PORT,
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("not a port number: {arg:?}"))?,
    };
    match args.next() {
        None => Ok(port),
        Some(extra) => Err(format!("unexpected argument {extra:?}")),
    }
}

/// Accepts connections on `127.0.0.1:port`, a task each, forever.
async fn serve(port: u16, hub: SharedHub) -> io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let clock = Clock::start();
    eprintln!(
        "sockwire-tokio-binding: STOMP over WebSocket at ws://{}{PATH}",
        listener.local_addr()?
    );
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("sockwire-tokio-binding: accept: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let hub = Arc::clone(&hub);
        tokio::spawn(async move {
            match connection(stream, hub, clock).await {
                Err(e) if !is_client_gone(&e) => eprintln!("sockwire-tokio-binding: {peer}: {e}"),
                _ => {}
            }
        });
    }
}

/// One connection: the handshake, then the STOMP session.
async fn connection(mut stream: TcpStream, hub: SharedHub, clock: Clock) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut input = Vec::new();
    match handshake(&mut stream, &mut input, &clock).await? {
        Outcome::Upgraded => session::serve(stream, input, hub, clock).await,
        Outcome::Refused => Ok(()),
    }
}

/// Whether `e` only says the client went away without closing (not worth a log line).
fn is_client_gone(e: &io::Error) -> bool {
    use io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    matches!(e.kind(), BrokenPipe | ConnectionAborted | ConnectionReset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn port_argument() {
        assert_eq!(port(args(&[])), Ok(DEFAULT_PORT));
        assert_eq!(port(args(&["9100"])), Ok(9100));
        assert!(port(args(&["x"])).is_err());
        assert!(port(args(&["1", "2"])).is_err());
    }
}
