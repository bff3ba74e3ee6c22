//! SockJS 0.3.3: WebSocket emulation over HTTP (owned by the SockJS work).
