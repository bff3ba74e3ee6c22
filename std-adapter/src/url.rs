//! `ws://host:port/path` addresses.

use std::fmt;

/// A parsed `ws://` URL. (`wss://` needs TLS, which the adapter does not provide.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// Host name or address, without brackets for IPv6.
    pub host: String,
    /// TCP port (80 when absent).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
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
    /// Parses `ws://host[:port][/path]`; `http://` is accepted as a synonym.
    pub fn parse(url: &str) -> Result<WsUrl, UrlError> {
        let rest = url
            .strip_prefix("ws://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or(if url.starts_with("wss://") {
                UrlError("wss:// needs TLS, which sockwire-std does not provide")
            } else {
                UrlError("expected ws://host[:port]/path")
            })?;
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
            None => 80,
        };
        Ok(WsUrl {
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The value of the `Host` header: the port is included when it is not 80.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}
