//! Property tests: a client's request is accepted by the server and the server's answer
//! validates on the client; arbitrary or mangled bytes never panic either side.

extern crate std;

use std::string::String;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::http::{HeadLimits, Header, Request, Response};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn host() -> impl Strategy<Value = String> {
    "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,10}){0,3}(:[0-9]{1,5})?"
}

fn path() -> impl Strategy<Value = String> {
    "/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,60}"
}

/// Feeds `wire` to `feed` in chunks of the given sizes, returning the head length.
fn feed_in_chunks(
    mut feed: impl FnMut(&[u8]) -> Result<Option<usize>, crate::http::HeadError>,
    wire: &[u8],
    chunks: &[usize],
) -> Option<usize> {
    let mut end = 0;
    let mut sizes = chunks.iter().cycle();
    loop {
        end = (end + sizes.next().copied().unwrap_or(1)).min(wire.len());
        if let Some(len) = feed(&wire[..end]).unwrap() {
            return Some(len);
        }
        if end == wire.len() {
            return None;
        }
    }
}

proptest! {
    #[test]
    fn client_request_is_accepted_and_101_validates(
        nonce in any::<[u8; 16]>(),
        host in host(),
        path in path(),
        origin in proptest::option::of("https?://[a-z]{1,10}\\.example(:[0-9]{2,4})?"),
        offered in proptest::collection::vec(token(), 0..5),
        ours_extra in proptest::collection::vec(token(), 0..3),
        pick in proptest::collection::vec(any::<bool>(), 0..5),
        extra in proptest::collection::vec(("X-[A-Za-z0-9-]{1,10}", "[ -~]{0,20}"), 0..4),
        chunks in proptest::collection::vec(1usize..64, 1..8),
    ) {
        // The server prefers some of the offered protocols and some of its own.
        let mut server_list: Vec<&str> = ours_extra.iter().map(String::as_str).collect();
        for (p, keep) in offered.iter().zip(pick.iter()) {
            if *keep {
                server_list.push(p);
            }
        }
        let offered: Vec<&str> = offered.iter().map(String::as_str).collect();
        let extra: Vec<(&str, &str)> = extra.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let config = ServerConfig {
            subprotocols: &server_list,
            origins: AllowedOrigins::Any,
            limits: HeadLimits::DEFAULT,
        };

        let mut client = ClientHandshake::new(nonce);
        let req = ClientRequest {
            host: &host,
            path: &path,
            origin: origin.as_deref(),
            subprotocols: &offered,
            extra_headers: &extra,
        };
        let mut wire = [0u8; 4096];
        let len = client.write_request(&req, &mut wire).unwrap();
        let wire = &wire[..len];

        let mut server = ServerHandshake::new(config.limits);
        let head_len = feed_in_chunks(|b| server.feed(b), wire, &chunks);
        prop_assert_eq!(head_len, Some(len));
        let mut headers = [Header::EMPTY; 32];
        let (request, parsed_len) = Request::parse(wire, &mut headers).unwrap().unwrap();
        prop_assert_eq!(parsed_len, len);
        prop_assert_eq!(request.target, path.as_str());
        prop_assert_eq!(request.headers.get("host"), Some(host.as_bytes()));
        let accepted = accept(&request, &config).unwrap();
        let expected = server_list.iter().copied().find(|p| offered.contains(p));
        prop_assert_eq!(accepted.subprotocol(), expected);

        let mut answer = [0u8; 1024];
        let len = accepted.write_response(&[("X-Server", "sockwire")], &mut answer).unwrap();
        let answer = &answer[..len];
        let head_len = feed_in_chunks(|b| client.feed(b), answer, &chunks);
        prop_assert_eq!(head_len, Some(len));
        let mut headers = [Header::EMPTY; 16];
        let (response, _) = Response::parse(answer, &mut headers).unwrap().unwrap();
        let negotiated = client.validate(&response, &offered).unwrap();
        prop_assert_eq!(negotiated.subprotocol, expected);

        // Same origin holds when the origin names the Host.
        let same = ServerConfig { origins: AllowedOrigins::SameOrigin, ..config };
        if origin.is_none() {
            prop_assert!(accept(&request, &same).is_ok());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&input);
    }

    #[test]
    fn mangled_handshakes_never_panic(
        at in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        response in any::<bool>(),
    ) {
        let mut wire: Vec<u8> = if response {
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n".to_vec()
        } else {
            b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n".to_vec()
        };
        for (index, byte) in at {
            let i = index.index(wire.len());
            wire[i] = byte;
        }
        exercise(&wire);
    }

    #[test]
    fn byte_at_a_time_finds_the_same_head_end(
        pieces in proptest::collection::vec(
            prop::sample::select(&["\r\n", "\n", "\r", "a", "Host: x", ":", " ", "\r\n\r\n"][..]),
            0..80,
        ),
        max_head_len in 0usize..300,
        max_headers in 0usize..10,
    ) {
        let wire: String = pieces.concat();
        let wire = wire.as_bytes();
        let limits = HeadLimits { max_head_len, max_headers };
        let one_shot = crate::http::HeadScanner::new(limits).scan(wire);
        let mut scanner = crate::http::HeadScanner::new(limits);
        let mut incremental = Ok(None);
        for end in 0..=wire.len() {
            incremental = scanner.scan(&wire[..end]);
            if incremental != Ok(None) {
                break;
            }
        }
        prop_assert_eq!(one_shot, incremental);
    }
}

/// Runs every parser and check on `input`; only panics matter.
fn exercise(input: &[u8]) {
    let mut scanner = crate::http::HeadScanner::new(HeadLimits {
        max_head_len: 256,
        max_headers: 8,
    });
    for end in 0..=input.len() {
        if scanner.scan(&input[..end]) != Ok(None) {
            break;
        }
    }
    let mut headers = [Header::EMPTY; 8];
    if let Ok(Some((request, _))) = Request::parse(input, &mut headers) {
        let _ = request.path();
        for origins in [
            AllowedOrigins::SameOrigin,
            AllowedOrigins::Any,
            AllowedOrigins::List(&["http://example.com", "*"]),
        ] {
            let config = ServerConfig {
                subprotocols: &["chat", "superchat"],
                origins,
                limits: HeadLimits::DEFAULT,
            };
            let mut out = [0u8; 64];
            match accept(&request, &config) {
                Ok(accepted) => {
                    let _ = accepted.write_response(&[], &mut out);
                }
                Err(rejection) => {
                    let _ = rejection.write_response(&mut out);
                }
            }
        }
    }
    let mut headers = [Header::EMPTY; 8];
    if let Ok(Some((response, _))) = Response::parse(input, &mut headers) {
        let client = ClientHandshake::new(*b"the sample nonce");
        let _ = client.validate(&response, &["chat"]);
    }
}
