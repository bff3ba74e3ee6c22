//! [`StompOptions`]: how a [`StompClient`](super::StompClient) connects.

use std::time::Duration;

use sockwire_core::stomp::{HeartBeat, Limits, VersionSet};

use crate::connector::Connector;

/// Header lines accepted per server frame.
const MAX_HEADERS: usize = 64;

/// How to connect.
#[derive(Debug, Clone)]
pub struct StompOptions {
    /// `login` header.
    pub login: Option<String>,
    /// `passcode` header.
    pub passcode: Option<String>,
    /// `host` header (virtual host); the URL's host when `None`.
    pub host: Option<String>,
    /// Versions offered (all three by default).
    pub accept_version: VersionSet,
    /// Heart-beats offered: (can send, want to receive), 10 s each way by default.
    pub heart_beat: HeartBeat,
    /// How long to wait for `CONNECTED` and for receipts (10 s by default).
    pub timeout: Duration,
    /// Limits on the server's frames.
    pub limits: Limits,
    /// How to reach the server: TLS roots, a proxy.
    pub connector: Connector,
}

impl Default for StompOptions {
    fn default() -> Self {
        StompOptions {
            login: None,
            passcode: None,
            host: None,
            accept_version: VersionSet::ALL,
            heart_beat: HeartBeat {
                send_ms: 10_000,
                receive_ms: 10_000,
            },
            timeout: Duration::from_secs(10),
            limits: Limits {
                max_headers: MAX_HEADERS,
                max_header_line: 64 * 1024,
                max_body: 16 * 1024 * 1024,
            },
            connector: Connector::default(),
        }
    }
}
