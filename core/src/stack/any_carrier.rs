//! [`AnyCarrier`]: one carrier type for STOMP over TCP, WebSocket or SockJS over
//! WebSocket, so that a server keeps all its STOMP sessions as one type.

use super::carrier::{Carrier, FrameError, TcpCarrier, TransportClosed};
use super::sockjs_websocket::SockJsWebSocket;
use super::websocket::WebSocketCarrier;
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Read};
use crate::store::ByteStore;
use crate::time::Instant;

/// Whichever carrier a STOMP session runs on.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "a server that wants the variants smaller boxes the whole stack; the core cannot"
)]
pub enum AnyCarrier<S> {
    /// A byte stream.
    Tcp(TcpCarrier<S>),
    /// A WebSocket.
    WebSocket(WebSocketCarrier<S>),
    /// A SockJS session on its `websocket` transport.
    SockJs(SockJsWebSocket<S>),
}

/// Calls `$method` on whichever carrier `$self` holds.
macro_rules! each {
    ($self:expr, $c:ident => $body:expr) => {
        match $self {
            AnyCarrier::Tcp($c) => $body,
            AnyCarrier::WebSocket($c) => $body,
            AnyCarrier::SockJs($c) => $body,
        }
    };
}

impl<S: ByteStore> Carrier for AnyCarrier<S> {
    fn receive<T: ByteStore>(
        &mut self,
        input: &mut [u8],
        now: Instant,
        stomp: &mut T,
    ) -> Read<TransportClosed> {
        each!(self, c => c.receive(input, now, stomp))
    }

    fn send_frame<E>(
        &mut self,
        now: Instant,
        guess: usize,
        encode: impl FnMut(&mut [u8]) -> Result<usize, E>,
        needed: impl Fn(&E) -> Option<usize>,
    ) -> Result<(), FrameError<E>> {
        each!(self, c => c.send_frame(now, guess, encode, needed))
    }

    fn end(&mut self, now: Instant) {
        each!(self, c => c.end(now))
    }

    fn outbound(&self) -> &[u8] {
        each!(self, c => c.outbound())
    }

    fn advance(&mut self, now: Instant, n: usize) {
        each!(self, c => c.advance(now, n))
    }

    fn outbound_room(&self) -> usize {
        each!(self, c => c.outbound_room())
    }
}

impl<S: ByteStore> Machine for AnyCarrier<S> {
    type TimeoutEvent = TransportClosed;

    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        each!(self, c => c.poll_transmit(now, out))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        each!(self, c => c.poll_timeout())
    }

    fn handle_timeout(&mut self, now: Instant) -> Option<TransportClosed> {
        each!(self, c => c.handle_timeout(now))
    }

    fn is_closed(&self) -> bool {
        each!(self, c => c.is_closed())
    }
}
