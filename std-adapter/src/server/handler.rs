//! What an application plugs into a WebSocket or SockJS endpoint.

use std::sync::Arc;

use sockwire_core::sockjs::{CloseFrame, QueueError, SockJsSession};
use sockwire_core::stack::{
    Reply, SendMessageError, SockJsWebSocket, APPLICATION_FAILED, APPLICATION_FAILED_CLOSE,
};
use sockwire_core::time::Instant;
use sockwire_core::ws::{CloseCode, DataKind, SendError};

use super::config::SockJsApp;
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
    pub(crate) to: To<'a>,
}

/// Where an [`Outbox`] sends.
pub(crate) enum To<'a> {
    /// A raw WebSocket session.
    WebSocket(Reply<'a, VecBytes>),
    /// A SockJS session, on any transport.
    SockJs(&'a mut dyn SockJsOut, Instant),
}

/// A SockJS session as a handler's output: the WebSocket transport's or an HTTP one's.
pub(crate) trait SockJsOut {
    fn send(&mut self, now: Instant, message: &str) -> Result<(), QueueError>;
    fn close(&mut self, now: Instant, code: u16, reason: &str);
    fn queued_bytes(&self) -> usize;
}

impl SockJsOut for SockJsWebSocket<VecBytes> {
    fn send(&mut self, now: Instant, message: &str) -> Result<(), QueueError> {
        SockJsWebSocket::send(self, now, message)
    }
    fn close(&mut self, now: Instant, code: u16, reason: &str) {
        SockJsWebSocket::close(self, now, code, reason)
    }
    fn queued_bytes(&self) -> usize {
        self.session().queued_bytes()
    }
}

impl SockJsOut for SockJsSession<VecBytes> {
    fn send(&mut self, now: Instant, message: &str) -> Result<(), QueueError> {
        SockJsSession::send(self, now, message)
    }
    fn close(&mut self, now: Instant, code: u16, reason: &str) {
        SockJsSession::close(self, now, code, reason)
    }
    fn queued_bytes(&self) -> usize {
        SockJsSession::queued_bytes(self)
    }
}

/// Why an [`Outbox`] did not take a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxError {
    /// A WebSocket session refused it.
    WebSocket(SendMessageError),
    /// A SockJS session refused it: it is closed, or its queue was full and it is
    /// closing ("session not reliable") rather than drop the message.
    SockJs(QueueError),
    /// SockJS carries text only: a binary message, or text that is not UTF-8.
    NotText,
}

impl std::fmt::Display for OutboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutboxError::WebSocket(e) => e.fmt(f),
            OutboxError::SockJs(e) => e.fmt(f),
            OutboxError::NotText => f.write_str("SockJS carries text messages only"),
        }
    }
}

impl std::error::Error for OutboxError {}

impl Outbox<'_> {
    /// Queues a message of the given kind. When the queue is full (the peer does not read
    /// what it is sent) the session is closed as a slow consumer (WebSocket 1008, SockJS
    /// "session not reliable") rather than the message dropped; fails too when the
    /// session is closing, and for binary messages on SockJS.
    pub fn send(&mut self, kind: DataKind, data: &[u8]) -> Result<(), OutboxError> {
        match &mut self.to {
            To::WebSocket(reply) => reply
                .send_or_end(kind, data)
                .map_err(OutboxError::WebSocket),
            To::SockJs(session, now) => {
                let text = match kind {
                    DataKind::Text => {
                        std::str::from_utf8(data).map_err(|_| OutboxError::NotText)?
                    }
                    DataKind::Binary => return Err(OutboxError::NotText),
                };
                let sent = session.send(*now, text);
                if sent == Err(QueueError::Full) {
                    let close = CloseFrame::SESSION_NOT_RELIABLE;
                    session.close(*now, close.code, close.reason);
                }
                sent.map_err(OutboxError::SockJs)
            }
        }
    }

    /// Queues a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), OutboxError> {
        self.send(DataKind::Text, text.as_bytes())
    }

    /// Starts the closing handshake (on SockJS, the close frame with this code).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        match &mut self.to {
            To::WebSocket(reply) => reply.close(code, reason),
            To::SockJs(session, now) => {
                session.close(*now, code.as_u16(), reason);
                Ok(())
            }
        }
    }

    /// Bytes queued and not yet written to the socket.
    pub fn queued_bytes(&self) -> usize {
        match &self.to {
            To::WebSocket(reply) => reply.queued(),
            To::SockJs(session, _) => session.queued_bytes(),
        }
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

/// The handler a SockJS endpoint's application gives a session (`None`: it carries
/// STOMP).
pub(crate) fn for_sockjs(app: &SockJsApp, info: &SessionInfo) -> Option<Box<dyn WsHandler>> {
    match app {
        SockJsApp::Echo => Some(Box::new(EchoHandler)),
        SockJsApp::Handler(factory) => Some(create(factory, info)),
        SockJsApp::Stomp => None,
    }
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
