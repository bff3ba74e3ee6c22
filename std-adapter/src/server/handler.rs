//! What an application plugs into a WebSocket endpoint.

use std::sync::Arc;

use sockwire_core::stack::{Reply, SendMessageError, APPLICATION_FAILED, APPLICATION_FAILED_CLOSE};
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

/// What stands in for a handler that panicked: the session is closing, nothing more
/// reaches the application.
struct Failed;

impl WsHandler for Failed {
    fn on_message(&mut self, _: DataKind, _: &[u8], _: &mut Outbox<'_>) {}
}

/// What stands in for the handler a factory panicked creating: the session closes with
/// 1011 as soon as it opens.
struct NotCreated;

impl WsHandler for NotCreated {
    fn on_open(&mut self, out: &mut Outbox<'_>) {
        let _ = out.close(APPLICATION_FAILED_CLOSE, APPLICATION_FAILED);
    }
    fn on_message(&mut self, _: DataKind, _: &[u8], _: &mut Outbox<'_>) {}
}

/// A handler from `factory` for the session `info` describes, a panic contained.
pub(crate) fn create(factory: &HandlerFactory, info: &SessionInfo) -> Box<dyn WsHandler> {
    super::contain::contain("WebSocket handler factory", || factory(info))
        .unwrap_or_else(|| Box::new(NotCreated))
}

/// Calls `handler` with `out`; when it panics, the session closes with 1011 and the
/// handler is never called again (nothing else on the worker is touched).
pub(crate) fn call(
    handler: &mut Box<dyn WsHandler>,
    out: &mut Outbox<'_>,
    f: impl FnOnce(&mut dyn WsHandler, &mut Outbox<'_>),
) {
    if super::contain::contain("WebSocket handler", || f(handler.as_mut(), out)).is_none() {
        *handler = Box::new(Failed);
        let _ = out.close(APPLICATION_FAILED_CLOSE, APPLICATION_FAILED);
    }
}

/// Tells `handler` its session ended, a panic contained.
pub(crate) fn closed(handler: &mut Box<dyn WsHandler>, code: Option<u16>) {
    let _ = super::contain::contain("WebSocket handler", || handler.on_close(code));
    *handler = Box::new(Failed);
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
