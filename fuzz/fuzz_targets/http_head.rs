//! HTTP heads: the incremental scanner (fed in chunks chosen by the input) must agree with
//! one-shot scanning and with the parsers; nothing may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::http::{
    write_error_response, HeadLimits, HeadScanner, Header, Request, Response,
};

fuzz_target!(|data: &[u8]| {
    let Some((&[chunk_seed, limit_seed], wire)) = data.split_first_chunk::<2>() else {
        return;
    };
    let limits = HeadLimits {
        max_head_len: usize::from(limit_seed) * 8,
        max_headers: usize::from(limit_seed % 16),
    };

    // Incremental, in chunks of 1..=16 bytes chosen by the input.
    let mut scanner = HeadScanner::new(limits);
    let mut end = 0;
    let mut step = 0usize;
    let incremental = loop {
        let size = usize::from((chunk_seed >> (step % 8)) & 0x0f) + 1;
        step += 1;
        end = (end + size).min(wire.len());
        match scanner.scan(&wire[..end]) {
            Ok(None) if end < wire.len() => continue,
            other => break other,
        }
    };
    let one_shot = HeadScanner::new(limits).scan(wire);
    assert_eq!(incremental, one_shot);

    // The parsers agree with an unlimited scanner on where the head ends.
    let head_end = HeadScanner::new(HeadLimits::UNLIMITED).scan(wire).unwrap();
    let mut headers = [Header::EMPTY; 16];
    match Request::parse(wire, &mut headers) {
        Ok(Some((request, len))) => {
            assert_eq!(Some(len), head_end);
            let _ = request.path();
            let _ = request.headers.get("host");
            let _ = request.headers.tokens("connection").count();
        }
        Ok(None) => assert_eq!(head_end, None),
        Err(e) => {
            let mut out = [0u8; 128];
            write_error_response(e.status(), &[], &mut out).unwrap();
        }
    }
    let mut headers = [Header::EMPTY; 16];
    match Response::parse(wire, &mut headers) {
        Ok(Some((response, len))) => {
            assert_eq!(Some(len), head_end);
            assert!((100..=999).contains(&response.status));
        }
        Ok(None) => assert_eq!(head_end, None),
        Err(_) => {}
    }
});
