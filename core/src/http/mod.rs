//! HTTP/1.1 message heads (owned by the handshake work).
