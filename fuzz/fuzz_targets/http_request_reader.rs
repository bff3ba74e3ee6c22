//! The per-connection HTTP request reader driven by arbitrary bytes in input-chosen
//! pieces, with framing decided from each head as a server would: nothing panics, no
//! read consumes more than it was given, a body never exceeds its store, and a failure
//! is final and answered with an error status.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::http::{BodyFraming, Header, RequestEvent, RequestLimits, RequestReader};
use sockwire_core::machine::{Machine, Status};
use sockwire_core::store::FixedBytes;
use sockwire_core::time::Instant;

fuzz_target!(|data: &[u8]| {
    let Some((&step, wire)) = data.split_first() else {
        return;
    };
    let limits = RequestLimits {
        max_body: 200,
        timeout_ms: 1000,
        ..RequestLimits::default()
    };
    let mut r = RequestReader::new(limits, FixedBytes::<256>::new(), Instant(0));
    let mut pending: Vec<u8> = Vec::new();
    let mut failed = false;
    let mut now = 0u64;
    let step = usize::from(step % 64).max(1);
    for piece in wire.chunks(step) {
        pending.extend_from_slice(piece);
        now += u64::from(piece[0] % 50);
        if r.handle_timeout(Instant(now)).is_some() {
            failed = true;
        }
        loop {
            let read = r.read(&pending, Instant(now));
            let consumed = read.consumed;
            assert!(consumed <= pending.len());
            let mut head = None;
            let go_on = match read.status {
                Status::Event(RequestEvent::Head(h)) => {
                    assert!(!failed);
                    head = Some(h.to_vec());
                    true
                }
                Status::Event(RequestEvent::Body) => {
                    assert!(!failed);
                    assert!(r.body().len() <= 200);
                    r.next_request(Instant(now));
                    true
                }
                Status::Event(RequestEvent::Failed(e)) => {
                    assert!(!failed, "failed twice");
                    assert!(e.status() >= 400);
                    failed = true;
                    false
                }
                Status::NeedMore => false,
                Status::Paused(p) => panic!("left paused: {p:?}"),
                Status::Closed => {
                    assert!(failed);
                    assert_eq!(consumed, pending.len());
                    false
                }
            };
            pending.drain(..consumed);
            if let Some(head) = head {
                let mut fields = [Header::EMPTY; 64];
                match r.parse(Instant(now), &head, &mut fields) {
                    Some(req) => match BodyFraming::of(&req) {
                        Ok(f) => failed |= r.expect_body(Instant(now), f).is_err(),
                        Err(e) => {
                            r.refuse(Instant(now), e);
                            failed = true;
                        }
                    },
                    None => failed = true,
                }
            }
            if !go_on {
                break;
            }
        }
        let mut out = [0u8; 256];
        if let Ok(Some(n)) = r.poll_transmit(Instant(now), &mut out) {
            assert!(failed);
            assert!(out[..n].starts_with(b"HTTP/1.1 4") || out[..n].starts_with(b"HTTP/1.1 5"));
        }
        if failed {
            assert!(r.is_closed());
        }
    }
});
