//! Where a STOMP client connects, and the carrier it frames its session with there: TCP
//! or a WebSocket.

use std::io;
use std::net::TcpStream;

use sockwire_core::stack::{AnyCarrier, TcpCarrier, WebSocketCarrier};
use sockwire_core::stomp::WEBSOCKET_SUBPROTOCOLS;

use crate::client::{ClientOptions, Handshaken};
use crate::store::VecBytes;

/// Where to reach a STOMP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StompUrl {
    /// `stomp://host[:port]` or `tcp://host[:port]` (port 61613 when absent).
    Tcp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// `ws://host[:port]/path`.
    Ws {
        /// The whole URL.
        url: String,
        /// Host name or address.
        host: String,
    },
}

impl StompUrl {
    /// Parses a `stomp://`, `tcp://` or `ws://` URL.
    pub fn parse(url: &str) -> io::Result<StompUrl> {
        let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {m}"));
        if url.starts_with("ws://") || url.starts_with("http://") {
            let parsed = crate::url::WsUrl::parse(url).map_err(|e| bad(&e.to_string()))?;
            return Ok(StompUrl::Ws {
                url: url.to_string(),
                host: parsed.host,
            });
        }
        let rest = url
            .strip_prefix("stomp://")
            .or_else(|| url.strip_prefix("tcp://"))
            .ok_or_else(|| bad("expected stomp://, tcp:// or ws://"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse().map_err(|_| bad("bad port"))?)
            }
            _ => (authority, 61613),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        Ok(StompUrl::Tcp {
            host: host.to_string(),
            port,
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
    pub stream: TcpStream,
    /// TCP or WebSocket (client role) framing.
    pub carrier: AnyCarrier<VecBytes>,
    /// Bytes read past the handshake.
    pub rest: Vec<u8>,
}

/// Connects to `url`: over WebSocket, offering STOMP's subprotocols.
pub fn open(url: &StompUrl) -> io::Result<Opened> {
    let out = VecBytes::new(usize::MAX);
    match url {
        StompUrl::Tcp { host, port } => {
            let stream = TcpStream::connect((host.as_str(), *port))?;
            stream.set_nodelay(true)?;
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
