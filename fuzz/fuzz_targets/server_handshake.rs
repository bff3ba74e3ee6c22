//! The server handshake driven by a request arriving in chunks chosen by the input:
//! find the head, parse it, accept or reject, write the answer. Nothing may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::http::{HeadLimits, Header, Request};
use sockwire_core::ws::handshake::{
    accept, AllowedOrigins, Rejection, ServerConfig, ServerHandshake,
};

#[path = "../common/chunked_feed.rs"]
mod chunked_feed;
use chunked_feed::feed_in_chunks;

fuzz_target!(|data: &[u8]| {
    let Some((&[chunk_seed, config_seed], wire)) = data.split_first_chunk::<2>() else {
        return;
    };
    let origins = match config_seed % 4 {
        0 => AllowedOrigins::SameOrigin,
        1 => AllowedOrigins::Any,
        2 => AllowedOrigins::List(&["http://example.com", "https://*.a.example:8443"]),
        _ => AllowedOrigins::Named {
            names: &["example.com", "[::1]:8080"],
            others: &["https://*.example.org", "http://b.example"],
        },
    };
    let config = ServerConfig {
        subprotocols: &["v12.stomp", "chat", "superchat"],
        origins,
        limits: HeadLimits {
            max_head_len: 1024 + usize::from(config_seed) * 16,
            max_headers: 8 + usize::from(config_seed % 64),
        },
    };
    let mut out = [0u8; 512];
    let mut handshake = ServerHandshake::new(config.limits);
    let head_len = match feed_in_chunks(wire, chunk_seed, |input| handshake.feed(input)) {
        Ok(Some(len)) => len,
        Ok(None) => return,
        Err(e) => {
            let len = Rejection::from(e).write_response(&mut out).unwrap();
            assert!(len <= out.len());
            return;
        }
    };
    let mut headers = [Header::EMPTY; 80];
    let request = match Request::parse(&wire[..head_len], &mut headers) {
        Ok(Some((request, len))) => {
            assert_eq!(len, head_len);
            request
        }
        Ok(None) => panic!("scanner found a head the parser did not"),
        Err(e) => {
            Rejection::from(e).write_response(&mut out).unwrap();
            return;
        }
    };
    match accept(&request, &config) {
        Ok(accepted) => {
            accepted.write_response(&[], &mut out).unwrap();
        }
        Err(rejection) => {
            rejection.write_response(&mut out).unwrap();
        }
    }
});
