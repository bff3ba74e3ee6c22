//! What an application plugs into a WebSocket endpoint.

use std::sync::Arc;

use sockwire_core::stack::{Reply, SendMessageError};
use sockwire_core::ws::{CloseCode, DataKind, SendError};

use crate::store::VecBytes;

/// The request that opened a WebSocket session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The request target (path and query).
    pub target: String,
    /// The subprotocol chosen in the handshake.
    pub subprotocol: Option<String>,
    /// The peer's address.
    pub peer: std::net::SocketAddr,
    /// Who the handshake interceptor said the client is, and the session's attributes.
    pub admission: std::sync::Arc<crate::auth::Admission>,
}

/// An application's side of one WebSocket session. Called on the worker thread that owns
/// the connection: keep each call short.
pub trait WsHandler: Send {
    /// The handshake completed.
    fn on_open(&mut self, _out: &mut Outbox<'_>) {}
    /// A whole message arrived.
    fn on_message(&mut self, kind: DataKind, data: &[u8], out: &mut Outbox<'_>);
    /// The session ended: `code` is the peer's close code, `None` when the connection was
    /// lost or the close frame had no code.
    fn on_close(&mut self, _code: Option<u16>) {}
}

/// Creates a handler for each new session of an endpoint.
pub type HandlerFactory = Arc<dyn Fn(&SessionInfo) -> Box<dyn WsHandler> + Send + Sync>;

/// Sends on behalf of a handler: messages wait in the session's bounded output queue.
pub struct Outbox<'a> {
    pub(crate) reply: Reply<'a, VecBytes>,
}

impl Outbox<'_> {
    /// Queues a message of the given kind. When the queue is full (the peer does not read
    /// what it is sent) the session is closed as a slow consumer (1008) rather than the
    /// message dropped; fails too when the session is closing.
    pub fn send(&mut self, kind: DataKind, data: &[u8]) -> Result<(), SendMessageError> {
        self.reply.send_or_end(kind, data)
    }

    /// Queues a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendMessageError> {
        self.send(DataKind::Text, text.as_bytes())
    }

    /// Starts the closing handshake.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.reply.close(code, reason)
    }

    /// Bytes queued and not yet written to the socket.
    pub fn queued_bytes(&self) -> usize {
        self.reply.queued()
    }
}

/// Echoes every message back to its sender.
#[derive(Debug, Default)]
pub struct EchoHandler;

impl WsHandler for EchoHandler {
    fn on_message(&mut self, kind: DataKind, data: &[u8], out: &mut Outbox<'_>) {
        if let Err(e) = out.send(kind, data) {
            log::debug!("echo not sent: {e}");
        }
    }
}
