//! Which `Origin`s a server accepts (RFC 6455 §4.2.2 and §10.2).

/// The origins allowed to open a WebSocket. A request without `Origin` comes from a
/// non-browser client and is always allowed; browsers always send one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AllowedOrigins<'c> {
    /// Only the origin whose `host[:port]` is the request's `Host` (the scheme's default
    /// port when absent: 80 for http/ws, 443 for https/wss).
    #[default]
    SameOrigin,
    /// Any origin.
    Any,
    /// The listed origins, such as `"https://example.com:8443"`, compared
    /// case-insensitively, or patterns such as `"https://*.example.com"` (any subdomain);
    /// an entry `"*"` allows any.
    List(&'c [&'c str]),
    /// The server's own origins and the listed others. An origin is the server's own when
    /// its `host[:port]` is one of `names`, the authorities the server is reached at
    /// (`"chat.example.com"`, `"127.0.0.1:8080"`), whatever `Host` the request carries: a
    /// page on a rebound DNS name sends its own name in both, and is refused. With no
    /// `names`, the request's `Host` is taken as the server's name (as
    /// [`AllowedOrigins::SameOrigin`]). `others` are as in [`AllowedOrigins::List`].
    Named {
        /// The server's authorities, `host[:port]`.
        names: &'c [&'c str],
        /// Other origins allowed: exact, patterns, or `"*"`.
        others: &'c [&'c str],
    },
}

impl AllowedOrigins<'_> {
    /// Whether a request with this `Origin` value (if any) and `Host` value is allowed.
    ///
    /// ```
    /// use sockwire_core::ws::handshake::AllowedOrigins;
    /// let same = AllowedOrigins::SameOrigin;
    /// assert!(same.allows(Some(b"https://Example.com"), b"example.com:443"));
    /// assert!(!same.allows(Some(b"https://evil.com"), b"example.com"));
    /// assert!(same.allows(None, b"example.com"));
    /// ```
    pub fn allows(&self, origin: Option<&[u8]>, host: &[u8]) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        match self {
            AllowedOrigins::Any => true,
            AllowedOrigins::SameOrigin => same_origin(origin, host),
            AllowedOrigins::List(list) => listed(list, origin),
            AllowedOrigins::Named { names, others } => {
                listed(others, origin)
                    || if names.is_empty() {
                        same_origin(origin, host)
                    } else {
                        names.iter().any(|n| same_origin(origin, n.as_bytes()))
                    }
            }
        }
    }
}

/// Whether `origin` is in `list`: `"*"`, the same origin (case-insensitive), or a
/// pattern `scheme://*.domain[:port]` it is a subdomain of.
fn listed(list: &[&str], origin: &[u8]) -> bool {
    list.iter().any(|allowed| {
        let allowed = allowed.as_bytes();
        if allowed == b"*" || allowed.eq_ignore_ascii_case(origin) {
            return true;
        }
        // `https://*.example.com` matches `https://a.example.com`, not `https://example.com`
        // nor `https://evil-example.com`.
        let Some(star) = allowed.windows(4).position(|w| w == b"://*") else {
            return false;
        };
        let (Some(scheme), Some(suffix)) = (allowed.get(..star + 3), allowed.get(star + 4..))
        else {
            return false;
        };
        let Some((head, rest)) = origin.split_at_checked(scheme.len()) else {
            return false;
        };
        let Some(sub_len) = rest.len().checked_sub(suffix.len()) else {
            return false;
        };
        let (sub, tail) = rest.split_at(sub_len);
        suffix.first() == Some(&b'.')
            && !sub.is_empty()
            && head.eq_ignore_ascii_case(scheme)
            && tail.eq_ignore_ascii_case(suffix)
            && !sub.iter().any(|&b| b == b'/' || b == b':' || b == b'@')
    })
}

/// Whether the serialized origin `scheme://host[:port]` names the authority `host[:port]`.
fn same_origin(origin: &[u8], host: &[u8]) -> bool {
    let Some(sep) = origin.windows(3).position(|w| w == b"://") else {
        return false;
    };
    let (scheme, rest) = origin.split_at(sep);
    let authority = rest.get(3..).unwrap_or(&[]);
    let default_port = if scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"ws")
    {
        80
    } else if scheme.eq_ignore_ascii_case(b"https") || scheme.eq_ignore_ascii_case(b"wss") {
        443
    } else {
        return false;
    };
    match (
        split_authority(authority, default_port),
        split_authority(host, default_port),
    ) {
        (Some((oh, op)), Some((hh, hp))) => op == hp && oh.eq_ignore_ascii_case(hh),
        _ => false,
    }
}

/// Splits `host[:port]` (with `[v6]` literals), the port defaulting to `default_port`.
fn split_authority(authority: &[u8], default_port: u16) -> Option<(&[u8], u16)> {
    let colon = if authority.first() == Some(&b'[') {
        let close = authority.iter().position(|&b| b == b']')?;
        match authority.get(close.checked_add(1)?) {
            None => None,
            Some(b':') => Some(close.checked_add(1)?),
            Some(_) => return None,
        }
    } else {
        authority.iter().position(|&b| b == b':')
    };
    let (host, port) = match colon {
        None => (authority, default_port),
        Some(i) => {
            let (host, port) = authority.split_at(i);
            (host, parse_port(port.get(1..)?)?)
        }
    };
    if host.is_empty()
        || !host
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b'/' && b != b'@')
    {
        return None;
    }
    Some((host, port))
}

fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    u16::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_rules() {
        let s = AllowedOrigins::SameOrigin;
        assert!(s.allows(Some(b"http://example.com"), b"example.com"));
        assert!(s.allows(Some(b"http://example.com"), b"example.com:80"));
        assert!(s.allows(Some(b"http://example.com:80"), b"EXAMPLE.com"));
        assert!(s.allows(Some(b"https://example.com:8443"), b"example.com:8443"));
        assert!(s.allows(Some(b"http://[::1]:8080"), b"[::1]:8080"));
        assert!(s.allows(Some(b"http://[::1]"), b"[::1]"));
        assert!(!s.allows(Some(b"https://example.com"), b"example.com:80"));
        assert!(!s.allows(Some(b"http://example.com:8080"), b"example.com"));
        assert!(!s.allows(Some(b"http://example.com.evil"), b"example.com"));
        assert!(!s.allows(Some(b"null"), b"example.com"));
        assert!(!s.allows(Some(b"ftp://example.com"), b"example.com"));
        assert!(!s.allows(Some(b"http://example.com:99999"), b"example.com:99999"));
        assert!(!s.allows(Some(b"http://a@example.com"), b"a@example.com"));
        assert!(!s.allows(Some(b"http://example.com"), b""));
        assert!(s.allows(None, b""));
    }

    #[test]
    fn list_and_any() {
        let list = AllowedOrigins::List(&["https://a.example", "http://b.example:8080"]);
        assert!(list.allows(Some(b"https://A.example"), b"x"));
        assert!(list.allows(Some(b"http://b.example:8080"), b"x"));
        assert!(!list.allows(Some(b"http://b.example"), b"x"));
        assert!(list.allows(None, b"x"));
        let star = AllowedOrigins::List(&["*"]);
        assert!(star.allows(Some(b"https://anything"), b"x"));
        assert!(AllowedOrigins::Any.allows(Some(b"null"), b"x"));
        assert!(!AllowedOrigins::List(&[]).allows(Some(b"https://a.example"), b"x"));
        let pattern = AllowedOrigins::List(&["https://*.example.com"]);
        assert!(pattern.allows(Some(b"https://a.example.com"), b"x"));
        assert!(pattern.allows(Some(b"https://b.A.Example.com"), b"x"));
        assert!(!pattern.allows(Some(b"https://example.com"), b"x"));
        assert!(!pattern.allows(Some(b"https://evil-example.com"), b"x"));
        assert!(!pattern.allows(Some(b"http://a.example.com"), b"x"));
        assert!(!pattern.allows(Some(b"https://a.example.com:8443"), b"x"));
        assert!(!pattern.allows(Some(b"https://a/b.example.com"), b"x"));
    }

    #[test]
    fn named_servers_refuse_rebound_hosts() {
        let named = AllowedOrigins::Named {
            names: &["127.0.0.1:8080", "localhost:8080"],
            others: &["https://app.example"],
        };
        assert!(named.allows(Some(b"http://localhost:8080"), b"localhost:8080"));
        assert!(named.allows(Some(b"http://127.0.0.1:8080"), b"anything"));
        // A DNS-rebinding page: its name in Origin and Host alike.
        assert!(!named.allows(Some(b"http://evil.example:8080"), b"evil.example:8080"));
        // The allow-list does not take the server's own origin away.
        assert!(named.allows(Some(b"https://app.example"), b"localhost:8080"));
        assert!(named.allows(None, b"evil.example"));
        let by_host = AllowedOrigins::Named {
            names: &[],
            others: &["https://app.example"],
        };
        assert!(by_host.allows(Some(b"http://h:1"), b"h:1"));
        assert!(by_host.allows(Some(b"https://app.example"), b"h:1"));
        assert!(!by_host.allows(Some(b"https://other.example"), b"h:1"));
    }
}
