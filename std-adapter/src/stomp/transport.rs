//! The byte pipes a STOMP session runs over: a TCP stream or a WebSocket connection.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use crate::client::{ClientOptions, WsClient};
use crate::message::Message;

/// The subprotocols offered over WebSocket, newest first.
pub const STOMP_SUBPROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];

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

/// A connected byte pipe.
pub enum Transport {
    /// STOMP straight over TCP.
    Tcp(TcpStream),
    /// STOMP over WebSocket: each client frame is one message; a server message may
    /// hold part of a frame, one frame, or several.
    Ws(Box<WsClient>),
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Transport {
    /// Opens the pipe to `url`.
    pub fn open(url: &StompUrl) -> io::Result<Transport> {
        match url {
            StompUrl::Tcp { host, port } => {
                let stream = TcpStream::connect((host.as_str(), *port))?;
                stream.set_nodelay(true)?;
                Ok(Transport::Tcp(stream))
            }
            StompUrl::Ws { url, .. } => {
                let options = ClientOptions {
                    subprotocols: STOMP_SUBPROTOCOLS.iter().map(|s| s.to_string()).collect(),
                    ..ClientOptions::default()
                };
                Ok(Transport::Ws(Box::new(WsClient::connect_with(
                    url, &options,
                )?)))
            }
        }
    }

    /// Sends bytes: over WebSocket as one text message (binary when not UTF-8).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.write_all(bytes),
            Transport::Ws(ws) => match std::str::from_utf8(bytes) {
                Ok(text) => ws.send_text(text),
                Err(_) => ws.send_binary(bytes),
            },
        }
    }

    /// Waits up to `wait` for bytes and appends them to `buf`; `Ok(false)` when none came.
    pub fn read_into(&mut self, buf: &mut Vec<u8>, wait: Duration) -> io::Result<bool> {
        let wait = wait.max(Duration::from_millis(1));
        match self {
            Transport::Tcp(s) => {
                s.set_read_timeout(Some(wait))?;
                let mut chunk = [0u8; 16 * 1024];
                match s.read(&mut chunk) {
                    Ok(0) => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "server closed the connection",
                    )),
                    Ok(n) => {
                        buf.extend_from_slice(&chunk[..n]);
                        Ok(true)
                    }
                    Err(e) if timed_out(&e) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Transport::Ws(ws) => match ws.read_for(Some(wait))? {
                Some(Message::Text(t)) => {
                    buf.extend_from_slice(t.as_bytes());
                    Ok(true)
                }
                Some(Message::Binary(b)) => {
                    buf.extend_from_slice(&b);
                    Ok(true)
                }
                Some(Message::Ping(_) | Message::Pong(_)) | None => Ok(false),
                Some(Message::Close { code, reason }) => Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    format!("server closed the WebSocket: {code:?} {reason}"),
                )),
            },
        }
    }

    /// Closes the pipe (WebSocket closing handshake, or TCP shutdown).
    pub fn close(&mut self) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.shutdown(Shutdown::Both),
            Transport::Ws(ws) => {
                if !ws.is_closed() {
                    ws.close(1000, "")?;
                    let _ = ws.read_for(Some(Duration::from_millis(500)));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            StompUrl::parse("stomp://127.0.0.1:61613").unwrap(),
            StompUrl::Tcp {
                host: "127.0.0.1".into(),
                port: 61613
            }
        );
        assert_eq!(
            StompUrl::parse("tcp://localhost").unwrap(),
            StompUrl::Tcp {
                host: "localhost".into(),
                port: 61613
            }
        );
        let ws = StompUrl::parse("ws://127.0.0.1:15674/ws").unwrap();
        assert_eq!(ws.host(), "127.0.0.1");
        assert!(StompUrl::parse("ftp://x").is_err());
        assert!(StompUrl::parse("stomp://:1").is_err());
    }
}
