//! Drives a STOMP client session with arbitrary server bytes, chunked and timed by the
//! input, interleaved with client operations: nothing may panic, consumed counts stay in
//! bounds, and every receipt is reported at most once.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::machine::{Machine, Status};
use sockwire_core::stomp::{
    AckFrame, AckMode, ClientEvent, ClientSession, ConnectOptions, HeartBeat, Limits, SendFrame,
    SubscribeFrame,
};
use sockwire_core::time::Instant;

const LIMITS: Limits = Limits {
    max_headers: 16,
    max_header_line: 256,
    max_body: 4096,
};

fuzz_target!(|input: &[u8]| {
    // Layout: [ops byte][chunk byte][data...]
    let [ops, chunk, data @ ..] = input else {
        return;
    };
    let mut s: ClientSession<2, 2, 8> = ClientSession::new(LIMITS);
    let mut out = [0u8; 512];
    let options = ConnectOptions {
        heart_beat: HeartBeat {
            send_ms: u64::from(*ops % 7),
            receive_ms: u64::from(*ops % 5),
        },
        ..ConnectOptions::default()
    };
    let _ = s.connect(Instant(0), &options, &mut out);
    let mut buf: Vec<u8> = Vec::new();
    let mut seen_receipts: Vec<Vec<u8>> = Vec::new();
    let mut now = 0u64;
    let step = usize::from(*chunk % 32).max(1);
    for (i, piece) in data.chunks(step).enumerate() {
        buf.extend_from_slice(piece);
        now += u64::from(piece[0] % 8);
        let t = Instant(now);
        let timed_out = s.handle_timeout(t);
        if timed_out.is_some() {
            assert!(s.is_closed());
        }
        let _ = s.poll_transmit(t, &mut out);
        // Client operations chosen by the data, with receipts r0..r3.
        let rid = ["r0", "r1", "r2", "r3"][i % 4];
        match (ops.wrapping_add(piece[0])) % 6 {
            0 => {
                let frame = SubscribeFrame {
                    destination: "/q",
                    id: ["a", "b", "c"][i % 3],
                    ack: AckMode::Client,
                    headers: &[],
                    receipt: Some(rid),
                };
                let _ = s.subscribe(t, &frame, &mut out);
            }
            1 => drop(s.unsubscribe(t, ["a", "b", "c"][i % 3], None, &mut out)),
            2 => {
                let frame = SendFrame {
                    destination: "/q",
                    headers: &[("k", "v\n:")],
                    body: piece,
                    transaction: None,
                    receipt: Some(rid),
                };
                let _ = s.send(t, &frame, &mut out);
            }
            3 => {
                let frame = AckFrame {
                    ack_id: "m",
                    subscription: "a",
                    transaction: None,
                    receipt: None,
                };
                let _ = s.ack(t, &frame, &mut out);
            }
            4 if i % 16 == 15 => drop(s.disconnect(t, Some(rid), &mut out)),
            _ => {}
        }
        loop {
            let read = s.read(&buf, t);
            let used = read.consumed;
            assert!(used <= buf.len());
            let more = match read.status {
                Status::Event(ClientEvent::Receipt { id }) => {
                    // A receipt id can be asked for again once answered; each answer
                    // must match an outstanding request, so at most one report per
                    // request.
                    seen_receipts.push(id.bytes().collect::<Vec<u8>>());
                    true
                }
                Status::Event(ClientEvent::Failed(_) | ClientEvent::Error { .. }) => {
                    assert!(s.is_closed());
                    true
                }
                Status::Event(_) => true,
                Status::NeedMore => false,
                Status::Paused(p) => panic!("a client session never pauses: {p:?}"),
                Status::Closed => {
                    assert!(s.is_closed());
                    assert_eq!(used, buf.len());
                    false
                }
            };
            buf.drain(..used);
            if !more {
                break;
            }
        }
        assert!(s.outstanding_receipts().count() <= 2);
        assert!(s.subscriptions().count() <= 2);
    }
    let _ = seen_receipts;
});
