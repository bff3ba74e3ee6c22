//! WebSocket (RFC 6455).

pub mod handshake;
