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
    /// case-insensitively; an entry `"*"` allows any.
    List(&'c [&'c str]),
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
            AllowedOrigins::List(list) => list
                .iter()
                .any(|allowed| *allowed == "*" || allowed.as_bytes().eq_ignore_ascii_case(origin)),
        }
    }
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
    }
}
