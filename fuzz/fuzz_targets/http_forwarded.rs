//! Reads `Forwarded`, `X-Forwarded-For` and `X-Forwarded-Host` from arbitrary request
//! heads: nothing panics, a forwarded host is a plain authority,
//! an untrusted peer is never replaced, and the answer is the peer or an address the
//! chain names.
#![no_main]
use core::net::IpAddr;
use libfuzzer_sys::fuzz_target;
use sockwire_core::http::{forwarded_client, forwarded_host, Header, Request};

fuzz_target!(|data: &[u8]| {
    let mut head = b"GET / HTTP/1.1\r\n".to_vec();
    head.extend_from_slice(data);
    head.extend_from_slice(b"\r\n\r\n");
    let mut fields = [Header::EMPTY; 32];
    let Ok(Some((request, _))) = Request::parse(&head, &mut fields) else {
        return;
    };
    let trusted = |ip: IpAddr| matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 10);
    let outsider = IpAddr::from([192, 0, 2, 1]);
    assert_eq!(
        forwarded_client(&request.headers, outsider, trusted),
        outsider
    );
    if let Some(host) = forwarded_host(&request.headers) {
        assert!(
            !host.is_empty() && !host.contains(['/', '@', ' ']),
            "{host:?}"
        );
    }
    let proxy = IpAddr::from([10, 0, 0, 1]);
    let got = forwarded_client(&request.headers, proxy, trusted);
    if got != proxy {
        let text = String::from_utf8_lossy(data).to_lowercase();
        let named = match got {
            IpAddr::V4(v4) => text.contains(&v4.to_string()),
            IpAddr::V6(_) => text.contains(':'),
        };
        assert!(named, "{got} is not in the chain");
    }
});
