//! The client behind proxies: `Forwarded` (RFC 7239) and `X-Forwarded-For`, believed
//! only as far as the caller trusts the hops that wrote them.

use core::net::IpAddr;

use super::Headers;

/// The address of the client a request comes from, read through the proxies the caller
/// trusts: starting from `peer` (the connection's address), while the current hop is
/// trusted, the hop it says it forwarded for is taken instead, right to left through
/// `Forwarded` (or, without it, `X-Forwarded-For`). A value that is not an address
/// (`unknown`, an obfuscated name, garbage) stops the walk at the hop that wrote it, so
/// a client can never name an address its first trusted proxy did not see.
///
/// ```
/// use core::net::IpAddr;
/// use sockwire_core::http::{forwarded_client, Header, Request};
///
/// let head = b"GET / HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6, 198.51.100.7\r\n\r\n";
/// let mut fields = [Header::EMPTY; 8];
/// let (request, _) = Request::parse(head, &mut fields).unwrap().unwrap();
/// let proxy: IpAddr = [10, 0, 0, 1].into();
/// let trusted = |ip: IpAddr| ip == proxy;
/// // The proxy saw 198.51.100.7; the 6.6.6.6 before it is the client's own claim.
/// assert_eq!(forwarded_client(&request.headers, proxy, trusted), IpAddr::from([198, 51, 100, 7]));
/// // Not through a trusted proxy: the header is the client's, and ignored.
/// let other: IpAddr = [192, 0, 2, 1].into();
/// assert_eq!(forwarded_client(&request.headers, other, trusted), other);
/// ```
pub fn forwarded_client(
    headers: &Headers<'_, '_>,
    peer: IpAddr,
    trusted: impl Fn(IpAddr) -> bool,
) -> IpAddr {
    if !trusted(peer) {
        return peer;
    }
    let standard = headers.get("forwarded").is_some();
    let name = if standard {
        "forwarded"
    } else {
        "x-forwarded-for"
    };
    // Hops, last field last, each field's elements left to right: walk them backwards.
    let fields = headers
        .all(name)
        .filter_map(|v| core::str::from_utf8(v).ok());
    let mut current = peer;
    // Fields are few; walk them from the last without collecting.
    let count = headers.count(name);
    for i in (0..count).rev() {
        let Some(field) = fields.clone().nth(i) else {
            return current;
        };
        for element in field.rsplit(',') {
            if !trusted(current) {
                return current;
            }
            let hop = if standard {
                forwarded_for(element)
            } else {
                parse_node(element.trim())
            };
            match hop {
                Some(ip) => current = ip,
                None => return current,
            }
        }
    }
    current
}

/// The `Host` the client asked for, as the nearest proxy says: `host=` of the last
/// `Forwarded` element, or else the last `X-Forwarded-Host` value; `None` when neither is
/// there or the value is not a plain `host[:port]`. Ask only when the connection's peer
/// is a proxy the caller trusts.
///
/// ```
/// use sockwire_core::http::{forwarded_host, Header, Request};
///
/// let head = b"GET / HTTP/1.1\r\nHost: backend:8080\r\nForwarded: for=1.2.3.4;host=chat.example.com;proto=https\r\n\r\n";
/// let mut fields = [Header::EMPTY; 8];
/// let (request, _) = Request::parse(head, &mut fields).unwrap().unwrap();
/// assert_eq!(forwarded_host(&request.headers), Some("chat.example.com"));
/// ```
pub fn forwarded_host<'a>(headers: &Headers<'_, 'a>) -> Option<&'a str> {
    let text = |v: &'a [u8]| core::str::from_utf8(v).ok();
    let value = if headers.get("forwarded").is_some() {
        let last = headers.all("forwarded").filter_map(text).last()?;
        let element = last.rsplit(',').next()?;
        element.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("host")
                .then(|| value.trim().trim_matches('"'))
        })?
    } else {
        let last = headers.all("x-forwarded-host").filter_map(text).last()?;
        last.rsplit(',').next()?.trim()
    };
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b);
    (!value.is_empty() && value.bytes().all(plain)).then_some(value)
}

/// The `for=` parameter of one `Forwarded` element as an address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        parse_node(value.trim().trim_matches('"'))
    })
}

/// A node: `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]`, `[2001:db8::1]:80`, or a bare
/// IPv6 address (as `X-Forwarded-For` writes it).
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (addr, _) = rest.split_once(']')?;
        return addr.parse().ok();
    }
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    let (addr, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    addr.parse::<core::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::http::{Header, Request};
    use proptest::prelude::*;
    use std::format;

    const PROXY: IpAddr = IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 1));
    const INNER: IpAddr = IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 2));

    fn client(head: &str, peer: IpAddr) -> IpAddr {
        let mut fields = [Header::EMPTY; 16];
        let (request, _) = Request::parse(head.as_bytes(), &mut fields)
            .unwrap()
            .unwrap();
        forwarded_client(&request.headers, peer, |ip| ip == PROXY || ip == INNER)
    }

    #[test]
    fn forwarded_elements_and_fields_right_to_left() {
        let head = "GET / HTTP/1.1\r\nForwarded: for=6.6.6.6\r\nForwarded: for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.1\r\n\r\n";
        // INNER saw PROXY, PROXY saw the IPv6 client; the first field is the client's claim.
        assert_eq!(
            client(head, INNER),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
        let head = "GET / HTTP/1.1\r\nForwarded: for=unknown\r\n\r\n";
        assert_eq!(client(head, PROXY), PROXY);
        // Forwarded wins over X-Forwarded-For.
        let head =
            "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nForwarded: for=2.2.2.2:80\r\n\r\n";
        assert_eq!(client(head, PROXY), IpAddr::from([2, 2, 2, 2]));
        let head = "GET / HTTP/1.1\r\nX-Forwarded-For: 2001:db8::1, garbage, 3.3.3.3\r\n\r\n";
        assert_eq!(client(head, PROXY), IpAddr::from([3, 3, 3, 3]));
        let head = "GET / HTTP/1.1\r\n\r\n";
        assert_eq!(client(head, PROXY), PROXY);
    }

    #[test]
    fn the_host_the_nearest_proxy_saw() {
        let host = |head: &str| {
            let mut fields = [Header::EMPTY; 16];
            let (request, _) = Request::parse(head.as_bytes(), &mut fields)
                .unwrap()
                .unwrap();
            forwarded_host(&request.headers).map(std::string::String::from)
        };
        let h = "GET / HTTP/1.1\r\nX-Forwarded-Host: evil, chat.example:8443\r\n\r\n";
        assert_eq!(host(h).as_deref(), Some("chat.example:8443"));
        let h =
            "GET / HTTP/1.1\r\nForwarded: host=\"a.example\", for=1.1.1.1;host=b.example\r\n\r\n";
        assert_eq!(host(h).as_deref(), Some("b.example"));
        let h = "GET / HTTP/1.1\r\nX-Forwarded-Host: a/b@c\r\n\r\n";
        assert_eq!(host(h), None);
        assert_eq!(host("GET / HTTP/1.1\r\n\r\n"), None);
    }

    proptest! {
        /// Whatever a client writes before the trusted proxy's own entry, the answer is
        /// the address that proxy saw.
        #[test]
        fn a_client_cannot_choose_its_address(claim in "[ -~]{0,40}", seen in any::<[u8; 4]>()) {
            let seen = IpAddr::from(seen);
            prop_assume!(seen != PROXY && seen != INNER);
            let head = format!("GET / HTTP/1.1\r\nX-Forwarded-For: {claim}, {seen}\r\n\r\n");
            let mut fields = [Header::EMPTY; 16];
            if let Ok(Some((request, _))) = Request::parse(head.as_bytes(), &mut fields) {
                let got = forwarded_client(&request.headers, PROXY, |ip| ip == PROXY || ip == INNER);
                prop_assert_eq!(got, seen);
            }
        }
    }
}
