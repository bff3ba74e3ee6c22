//! Configuration of a SockJS service.

/// Settings of one SockJS service (one URL prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config<'a> {
    /// Milliseconds without a frame to a receiving request before an `h` frame is owed.
    pub heartbeat_ms: u64,
    /// Milliseconds a session waits for a new receiving request before it closes.
    pub disconnect_delay_ms: u64,
    /// Frame bytes after which a streaming response ends so the client reconnects.
    pub response_limit: usize,
    /// Whether transports set the `JSESSIONID` cookie (for sticky load balancers).
    pub cookie_needed: bool,
    /// Whether the `websocket` transports are offered.
    pub websocket_enabled: bool,
    /// The sockjs-client script loaded by the iframe page.
    pub client_library_url: &'a str,
}

impl Config<'static> {
    /// The defaults of the protocol: heart-beats every 25 s, a 5 s disconnect delay,
    /// streaming responses ended after 128 KiB, no cookie, WebSocket enabled.
    pub const DEFAULT: Config<'static> = Config {
        heartbeat_ms: 25_000,
        disconnect_delay_ms: 5_000,
        response_limit: 128 * 1024,
        cookie_needed: false,
        websocket_enabled: true,
        client_library_url: "https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js",
    };
}

impl Default for Config<'static> {
    fn default() -> Self {
        Config::DEFAULT
    }
}
