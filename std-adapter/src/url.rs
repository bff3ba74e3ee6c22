//! `ws://host:port/path` and `wss://host:port/path` addresses (`http://` and `https://`
//! too, for SockJS).

use std::fmt;

/// A parsed `ws://` or `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// Host name or address, without brackets for IPv6.
    pub host: String,
    /// TCP port (80 when absent, 443 with TLS).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Whether the connection is TLS (`wss://`, `https://`).
    pub tls: bool,
}

/// Why a URL was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(pub &'static str);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid URL: {}", self.0)
    }
}

impl std::error::Error for UrlError {}

impl WsUrl {
    /// Parses `ws://host[:port][/path]` or `wss://...` (TLS); `http://` and `https://`
    /// are accepted as synonyms.
    pub fn parse(url: &str) -> Result<WsUrl, UrlError> {
        let plain = url
            .strip_prefix("ws://")
            .or_else(|| url.strip_prefix("http://"));
        let tls = url
            .strip_prefix("wss://")
            .or_else(|| url.strip_prefix("https://"));
        let rest = plain
            .or(tls)
            .ok_or(UrlError("expected ws://host[:port]/path or wss://..."))?;
        let tls = tls.is_some();
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or(UrlError("unclosed [ in host"))?;
            let port = &v6[end + 1..];
            (&v6[..end], port.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(UrlError("empty host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| UrlError("bad port"))?,
            None => default_port(tls),
        };
        Ok(WsUrl {
            host: host.to_string(),
            port,
            path,
            tls,
        })
    }

    /// The value of the `Host` header: the port is included when it is not the scheme's
    /// default (80, or 443 with TLS).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default_port(self.tls) {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

fn default_port(tls: bool) -> u16 {
    if tls {
        443
    } else {
        80
    }
}
