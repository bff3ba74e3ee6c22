//! Drives a STOMP server session with input-chosen chunks of client bytes (raw or from a
//! table of frames that reach deep states), timer advances and MESSAGE writes, drains
//! everything it owes, and checks its invariants: no MESSAGE for a subscription the
//! client does not hold, every receipt answered at most once, nothing after ERROR.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::machine::{Machine, Pause, Status};
use sockwire_core::stomp::{
    Command, Decoded, Decoder, HeaderLines, Id, Limits, OutgoingMessage, ServerEvent,
    ServerSession, ServerSessionConfig, Version, VersionSet,
};
use sockwire_core::time::Instant;
use std::collections::HashMap;
use std::collections::HashSet;

const FRAMES: &[&[u8]] = &[
    b"CONNECT\naccept-version:1.0,1.1,1.2\nheart-beat:100,100\n\n\0",
    b"CONNECT\naccept-version:1.1\n\n\0",
    b"STOMP\nhost:h\n\n\0",
    b"SUBSCRIBE\nid:0\ndestination:/a\nack:client\nreceipt:r\n\n\0",
    b"SUBSCRIBE\nid:1\ndestination:/a\nack:client-individual\n\n\0",
    b"SUBSCRIBE\nid:2\ndestination:/b\n\n\0",
    b"SUBSCRIBE\ndestination:/c\n\n\0",
    b"UNSUBSCRIBE\nid:0\nreceipt:u\n\n\0",
    b"UNSUBSCRIBE\nid:1\n\n\0",
    b"BEGIN\ntransaction:t\n\n\0",
    b"BEGIN\ntransaction:u\nreceipt:b\n\n\0",
    b"SEND\ndestination:/a\ntransaction:t\n\naborted?\0",
    b"SEND\ndestination:/a\ntransaction:u\ncontent-length:2\n\n\0\0\0",
    b"SEND\ndestination:/a\nreceipt:s\n\nplain\0",
    b"COMMIT\ntransaction:t\n\n\0",
    b"ABORT\ntransaction:t\n\n\0",
    b"ABORT\ntransaction:u\n\n\0",
    b"COMMIT\ntransaction:u\nreceipt:c\n\n\0",
    b"ACK\nid:0\n\n\0",
    b"ACK\nid:1\ntransaction:t\n\n\0",
    b"NACK\nid:2\n\n\0",
    b"ACK\nmessage-id:m0\nsubscription:0\n\n\0",
    b"ACK\nmessage-id:m1\n\n\0",
    b"DISCONNECT\nreceipt:d\n\n\0",
    b"\n",
    b"\r\n",
];

type Session = ServerSession<4, 2, 4, 128>;

struct Harness {
    s: Session,
    pending: Vec<u8>,
    now: Instant,
    subscribed: HashSet<Vec<u8>>,
    /// Receipt-ids the server wrote, with how often.
    receipts_answered: HashMap<Vec<u8>, usize>,
    error_sent: bool,
    next_message: u64,
}

impl Harness {
    fn drain(&mut self, cap: usize) {
        let mut out = vec![0u8; cap];
        loop {
            match self.s.poll_transmit(self.now, &mut out) {
                Ok(Some(n)) => {
                    assert!(!self.error_sent, "output after ERROR");
                    self.check_out(&out[..n]);
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(e.needed > out.len());
                    out.resize(e.needed, 0);
                }
            }
        }
    }

    fn check_out(&mut self, bytes: &[u8]) {
        let mut dec = Decoder::new(Limits::default());
        dec.set_version(self.s.version());
        match dec.decode(bytes) {
            Ok(Decoded::Frame { frame, consumed }) => {
                assert_eq!(consumed, bytes.len());
                let receipt = frame
                    .header("receipt-id")
                    .map(|r| r.bytes().collect::<Vec<u8>>());
                match frame.command() {
                    Command::Connected | Command::Receipt => {}
                    Command::Error => {
                        self.error_sent = true;
                        self.subscribed.clear();
                        assert!(frame.header("message").is_some());
                    }
                    c => panic!("unexpected {c:?}"),
                }
                if let Some(r) = receipt {
                    *self.receipts_answered.entry(r).or_default() += 1;
                }
            }
            Ok(Decoded::HeartBeat { consumed }) => assert_eq!(consumed, bytes.len()),
            other => panic!("server wrote {other:?}"),
        }
    }

    fn feed(&mut self, bytes: &[u8], out_cap: usize) {
        self.pending.extend_from_slice(bytes);
        loop {
            let input = self.pending.clone();
            let ended = self.error_sent || self.s.is_closed();
            let read = self.s.read(&input, self.now);
            let used = read.consumed;
            assert!(used <= input.len());
            if ended {
                assert_eq!(read.status, Status::Closed, "event after close");
            }
            let mut decide = false;
            let go_on = match read.status {
                Status::Event(ev) => {
                    match ev {
                        ServerEvent::Connect { .. } => decide = true,
                        ServerEvent::Subscribe { id, .. } => {
                            self.subscribed.insert(id.bytes().collect());
                        }
                        ServerEvent::Unsubscribe { id, .. } => {
                            self.subscribed.remove(id.as_bytes());
                        }
                        ServerEvent::Send {
                            frame, transaction, ..
                        } => {
                            // Transactional SENDs come only from a COMMIT's replay.
                            assert_eq!(
                                frame.header("transaction").is_some(),
                                transaction.is_some()
                            );
                            if transaction.is_some() {
                                assert_eq!(used, 0, "a replayed SEND consumes no input");
                            }
                        }
                        ServerEvent::ProtocolError(_) | ServerEvent::Disconnect { .. } => {
                            self.subscribed.clear();
                        }
                        _ => {}
                    }
                    true
                }
                Status::NeedMore => false,
                Status::Paused(Pause::Transmit) => true,
                Status::Paused(Pause::Decision) => panic!("CONNECT left unanswered"),
                Status::Closed => false,
            };
            if decide {
                if input.len() % 7 == 3 {
                    self.s.reject_connect(self.now, "no").unwrap();
                } else {
                    self.s.accept_connect(self.now).unwrap();
                }
            }
            self.pending.drain(..used);
            self.drain(out_cap);
            if !go_on {
                break;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, mut rest)) = data.split_first() else {
        return;
    };
    let versions = match cfg % 4 {
        0 => VersionSet::ALL,
        1 => VersionSet::only(Version::V1_2),
        2 => VersionSet::only(Version::V1_0).with(Version::V1_1),
        _ => VersionSet::only(Version::V1_1),
    };
    let config = ServerSessionConfig {
        versions,
        heart_beat: sockwire_core::stomp::HeartBeat {
            send_ms: u64::from(cfg / 4) * 10,
            receive_ms: 100,
        },
        ..ServerSessionConfig::default()
    };
    let mut h = Harness {
        s: Session::new(config, Id::from_decimal(u64::from(cfg)), Instant(0)),
        pending: Vec::new(),
        now: Instant(0),
        subscribed: HashSet::new(),
        receipts_answered: HashMap::new(),
        error_sent: false,
        next_message: 0,
    };
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        let arg = rest.first().copied().unwrap_or(0);
        rest = rest.get(1..).unwrap_or_default();
        let out_cap = usize::from(op >> 3) * 4;
        match op % 5 {
            0 => {
                let n = usize::from(arg).min(rest.len());
                let (chunk, tail) = rest.split_at(n);
                rest = tail;
                h.feed(chunk, out_cap);
            }
            1 | 2 => {
                let frame = FRAMES[usize::from(arg) % FRAMES.len()];
                // Split the frame in two pieces at an input-chosen point.
                let at = usize::from(op >> 3) % (frame.len() + 1);
                h.feed(&frame[..at], out_cap);
                h.feed(&frame[at..], out_cap);
            }
            3 => {
                h.now = h.now.add_millis(u64::from(arg) * 5);
                let ev = h.s.handle_timeout(h.now);
                if ev.is_some() {
                    h.subscribed.clear();
                    assert!(h.s.is_closed());
                }
                h.drain(out_cap);
                // Handled deadlines move on: the next one is in the future.
                if let Some(t) = h.s.poll_timeout() {
                    assert!(t > h.now);
                }
            }
            _ => {
                let sub: &[u8] = match arg % 5 {
                    0 => b"0",
                    1 => b"1",
                    2 => b"2",
                    3 => b"/c",
                    _ => b"9",
                };
                let id = format!("m{}", h.next_message);
                let mut out = vec![0u8; usize::from(arg)];
                let message = OutgoingMessage {
                    subscription: sub,
                    message_id: id.as_bytes(),
                    destination: b"/a".iter().copied(),
                    headers: HeaderLines::new(b"k:v\n"),
                    body: b"x",
                };
                let r = h.s.write_message(h.now, message, &mut out);
                if r.is_ok() {
                    assert!(h.subscribed.contains(sub), "MESSAGE for an unsubscribed id");
                    assert!(!h.error_sent && !h.s.is_closed());
                    h.next_message += 1;
                }
            }
        }
    }
    // Receipts come only from frames that asked for one (the table's receipt ids).
    for r in h.receipts_answered.keys() {
        assert!(
            [&b"r"[..], b"u", b"b", b"s", b"c", b"d"].contains(&r.as_slice()),
            "unexpected receipt-id {r:?}"
        );
    }
    if h.error_sent {
        let mut out = [0u8; 256];
        assert_eq!(h.s.poll_transmit(h.now, &mut out), Ok(None));
        assert!(h.s.is_closed());
    }
});
