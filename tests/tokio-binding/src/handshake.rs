//! The HTTP side of a connection: the request head read with the core's
//! [`RequestReader`], the route (`/ws` only), and the WebSocket handshake.

use std::io;

use sockwire_core::http::{
    write_error_response, Header, RequestEvent, RequestLimits, RequestReader,
};
use sockwire_core::machine::{Machine, Status};
use sockwire_core::store::FixedBytes;
use sockwire_core::time::Instant;
use sockwire_core::ws::handshake::{accept, AllowedOrigins, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::clock::{sleep_until, Clock};
use crate::transmit::collect;

/// The path STOMP over WebSocket is served at.
pub const PATH: &str = "/ws";

/// The STOMP subprotocols, most preferred first.
const SUBPROTOCOLS: &[&str] = &["v12.stomp", "v11.stomp", "v10.stomp"];

/// Room for a handshake answer (a 101 or an error head).
const ANSWER: usize = 1024;

/// Header fields parsed from a request head (the reader caps heads at 64 anyway).
const FIELDS: usize = 64;

/// How a connection's request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The 101 is written: the connection is a WebSocket now.
    Upgraded,
    /// The request was answered with an error (or the client left): close.
    Refused,
}

/// Reads the request head from `stream` into `input` and answers it. On
/// [`Outcome::Upgraded`], `input` holds what the client sent after the head (the first
/// WebSocket frames, if any).
pub async fn handshake(
    stream: &mut TcpStream,
    input: &mut Vec<u8>,
    clock: &Clock,
) -> io::Result<Outcome> {
    let mut reader = RequestReader::new(
        RequestLimits::default(),
        FixedBytes::<0>::new(),
        clock.now(),
    );
    loop {
        let now = clock.now();
        let read = reader.read(input, now);
        let consumed = read.consumed;
        let (answer, outcome) = match read.status {
            Status::Event(RequestEvent::Head(head)) => answer(&mut reader, now, head),
            Status::NeedMore => {
                let deadline = reader.poll_timeout();
                tokio::select! {
                    n = stream.read_buf(input) => if n? == 0 {
                        return Ok(Outcome::Refused);
                    },
                    () = sleep_until(clock, deadline) => {
                        let _ = reader.handle_timeout(clock.now());
                    }
                }
                if !reader.is_closed() {
                    continue;
                }
                (owed(&mut reader, clock.now()), Outcome::Refused)
            }
            // A broken or too slow request: its answer (400, 408, 431) is queued.
            _ => (owed(&mut reader, now), Outcome::Refused),
        };
        input.drain(..consumed.min(input.len()));
        stream.write_all(&answer).await?;
        return Ok(outcome);
    }
}

/// The answer to a complete request head.
fn answer(
    reader: &mut RequestReader<FixedBytes<0>>,
    now: Instant,
    head: &[u8],
) -> (Vec<u8>, Outcome) {
    let mut fields = [Header::EMPTY; FIELDS];
    let Some(request) = reader.parse(now, head, &mut fields) else {
        return (owed(reader, now), Outcome::Refused);
    };
    let mut out = vec![0u8; ANSWER];
    if request.path() != PATH {
        let n = write_error_response(404, &[], &mut out).unwrap_or(0);
        out.truncate(n);
        return (out, Outcome::Refused);
    }
    let config = ServerConfig {
        subprotocols: SUBPROTOCOLS,
        // A test server: any page may open it.
        origins: AllowedOrigins::Any,
        ..ServerConfig::default()
    };
    let (written, outcome) = match accept(&request, &config) {
        Ok(accepted) => {
            reader.finish();
            let n = accepted.write_response(&[], &mut out).ok();
            (n, Outcome::Upgraded)
        }
        Err(rejection) => (rejection.write_response(&mut out).ok(), Outcome::Refused),
    };
    match written {
        Some(n) => {
            out.truncate(n);
            (out, outcome)
        }
        // Cannot happen with ANSWER bytes; close without an answer rather than half one.
        None => (Vec::new(), Outcome::Refused),
    }
}

/// The error answer the reader has queued, if any.
fn owed(reader: &mut RequestReader<FixedBytes<0>>, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    collect(reader, now, &mut out, ANSWER);
    out
}
