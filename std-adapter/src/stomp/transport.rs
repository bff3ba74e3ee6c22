//! Where a STOMP client connects, and the carrier it frames its session with there: TCP
//! (or TLS) or a WebSocket.

use std::io;

use sockwire_core::stack::{AnyCarrier, TcpCarrier, WebSocketCarrier};
use sockwire_core::stomp::WEBSOCKET_SUBPROTOCOLS;

use crate::client::{ClientOptions, Handshaken};
use crate::connector::{BoxStream, Connector};
use crate::store::VecBytes;

/// Where to reach a STOMP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StompUrl {
    /// `stomp://host[:port]` or `tcp://host[:port]` (port 61613 when absent), or
    /// `stomp+ssl://host[:port]` for TLS (port 61614 when absent).
    Tcp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
        /// Whether the connection is TLS.
        tls: bool,
    },
    /// `ws://host[:port]/path` or `wss://...`.
    Ws {
        /// The whole URL.
        url: String,
        /// Host name or address.
        host: String,
    },
}

impl StompUrl {
    /// Parses a `stomp://`, `tcp://`, `stomp+ssl://`, `ws://` or `wss://` URL.
    pub fn parse(url: &str) -> io::Result<StompUrl> {
        let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {m}"));
        if ["ws://", "wss://", "http://", "https://"]
            .iter()
            .any(|s| url.starts_with(s))
        {
            let parsed = crate::url::WsUrl::parse(url).map_err(|e| bad(&e.to_string()))?;
            return Ok(StompUrl::Ws {
                url: url.to_string(),
                host: parsed.host,
            });
        }
        let tls = url.strip_prefix("stomp+ssl://");
        let rest = url
            .strip_prefix("stomp://")
            .or_else(|| url.strip_prefix("tcp://"))
            .or(tls)
            .ok_or_else(|| bad("expected stomp://, tcp://, stomp+ssl://, ws:// or wss://"))?;
        let tls = tls.is_some();
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse().map_err(|_| bad("bad port"))?)
            }
            _ => (authority, if tls { 61614 } else { 61613 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        Ok(StompUrl::Tcp {
            host: host.to_string(),
            port,
            tls,
        })
    }

    /// The host part, the default `host` header of `CONNECT`.
    pub fn host(&self) -> &str {
        match self {
            StompUrl::Tcp { host, .. } | StompUrl::Ws { host, .. } => host,
        }
    }
}

/// A connected stream and the carrier that frames STOMP on it, with the bytes that
/// already arrived after a WebSocket handshake.
pub struct Opened {
    /// The connected stream.
    pub stream: BoxStream,
    /// TCP or WebSocket (client role) framing.
    pub carrier: AnyCarrier<VecBytes>,
    /// Bytes read past the handshake.
    pub rest: Vec<u8>,
}

/// Connects to `url` through `connector`: over WebSocket, offering STOMP's subprotocols.
pub fn open(url: &StompUrl, connector: &Connector) -> io::Result<Opened> {
    let out = VecBytes::new(usize::MAX);
    match url {
        StompUrl::Tcp { host, port, tls } => {
            let stream = connector.connect(host, *port, *tls)?;
            let carrier = AnyCarrier::Tcp(TcpCarrier::new(out));
            Ok(Opened {
                stream,
                carrier,
                rest: Vec::new(),
            })
        }
        StompUrl::Ws { url, .. } => {
            let options = ClientOptions {
                subprotocols: WEBSOCKET_SUBPROTOCOLS.map(str::to_string).to_vec(),
                connector: connector.clone(),
                ..ClientOptions::default()
            };
            let open = Handshaken::connect(url, &options)?;
            let carrier = AnyCarrier::WebSocket(WebSocketCarrier::new(open.connection, out));
            Ok(Opened {
                stream: open.stream,
                carrier,
                rest: open.rest,
            })
        }
    }
}
