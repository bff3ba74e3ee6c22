//! The stacks users run, each one value following the [machine contract](crate::machine):
//! STOMP over TCP, STOMP over WebSocket, SockJS over WebSocket (with or without STOMP),
//! a STOMP client over TCP or WebSocket, and the broker session that connects a STOMP server session to any
//! [`Broker`](crate::broker::Broker).

mod any_carrier;
mod broker_session;
mod carrier;
mod endpoint;
mod messages;
mod sockjs_stomp;
mod sockjs_websocket;
mod stomp_client;
mod stomp_stack;
mod websocket;

pub use any_carrier::AnyCarrier;
pub use broker_session::{handoff, BrokerSession, CloseReason, SessionEvent, MAX_USER};
pub use carrier::{Carrier, FrameError, TcpCarrier, TransportClosed};
pub use endpoint::StompEndpoint;
pub use messages::{
    MessageEvent, Reply, SendMessageError, WebSocketMessages, APPLICATION_FAILED_CLOSE,
    SLOW_CONSUMER_CLOSE,
};
pub use sockjs_stomp::{BodyError, SockJsStomp};
pub use sockjs_websocket::{SockJsEvent, SockJsStores, SockJsWebSocket};
pub use stomp_client::{ClientStackEvent, StompClientStack};
pub use stomp_stack::{
    DeliverError, StackEvent, StompStack, WhenFull, APPLICATION_FAILED, SLOW_CONSUMER,
};
pub use websocket::WebSocketCarrier;

#[cfg(test)]
mod tests;
