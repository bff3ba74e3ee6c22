//! The client handshake: write a request, then read a response arriving in chunks chosen
//! by the input, parse it and validate it. Nothing may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::http::{HeadLimits, Header, Response};
use sockwire_core::ws::handshake::{ClientHandshake, ClientRequest};

#[path = "../common/chunked_feed.rs"]
mod chunked_feed;
use chunked_feed::feed_in_chunks;

fuzz_target!(|data: &[u8]| {
    let Some((&[chunk_seed, limit_seed], wire)) = data.split_first_chunk::<2>() else {
        return;
    };
    // The RFC 6455 sample nonce, so the fuzzer can reach a valid accept key
    // (s3pPLMBiTxaQ9kYGzzhZRbK+xOo=).
    let mut handshake = ClientHandshake::with_limits(
        *b"the sample nonce",
        HeadLimits {
            max_head_len: 256 + usize::from(limit_seed) * 32,
            max_headers: 4 + usize::from(limit_seed % 32),
        },
    );
    let offered = ["chat", "superchat"];
    let request = ClientRequest {
        host: "server.example.com",
        path: "/chat",
        origin: Some("http://example.com"),
        subprotocols: &offered,
        extra_headers: &[],
    };
    let mut out = [0u8; 512];
    handshake.write_request(&request, &mut out).unwrap();

    let Ok(Some(head_len)) = feed_in_chunks(wire, chunk_seed, |input| handshake.feed(input)) else {
        return;
    };
    let mut headers = [Header::EMPTY; 40];
    if let Ok(Some((response, len))) = Response::parse(&wire[..head_len], &mut headers) {
        assert_eq!(len, head_len);
        if let Ok(negotiated) = handshake.validate(&response, &offered) {
            assert_eq!(response.status, 101);
            if let Some(p) = negotiated.subprotocol {
                assert!(offered.contains(&p));
            }
        }
    }
});
