//! The WebSocket opening handshake (owned by the handshake work).
