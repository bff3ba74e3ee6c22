//! Drives a `Connection` of either role with chunked peer input and local calls chosen by
//! the fuzzer's bytes, and checks its invariants.
use sockwire_core::machine::{Machine, Status};
use sockwire_core::time::Instant;
use sockwire_core::ws::frame::RSV1;
use sockwire_core::ws::{
    CloseCode, Config, Connection, DataKind, Event, Fragment, Role, SendError, State,
};

struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

#[derive(Default)]
struct Checker {
    in_msg: bool,
    msg_len: u64,
    text: Vec<u8>,
    text_checked: bool,
    finished: bool,
    close_seen: bool,
}

/// Runs one fuzz input against a connection of `role`.
pub fn drive(role: Role, data: &[u8]) {
    let mut input = Bytes(data);
    let (Some(a), Some(b), Some(c)) = (input.byte(), input.byte(), input.byte()) else {
        return;
    };
    let config = Config {
        max_frame_size: u64::from(a) * 4,
        max_message_size: u64::from(b) * 8,
        close_timeout_ms: 1000,
        allowed_rsv: c & 0b111,
        ping_interval_ms: (c & 0b1000 != 0).then_some(100),
        idle_timeout_ms: (c & 0b1_0000 != 0).then_some(300),
    };
    let mut conn = Connection::new(role, config, u64::from(a) << 8 | u64::from(b));
    let mut pending: Vec<u8> = Vec::new();
    let mut check = Checker::default();
    let mut now = 0u64;
    let mut out = vec![0u8; 512];
    let mut was_closed = false;

    while let Some(op) = input.byte() {
        match op % 8 {
            0..=3 => {
                let n = usize::from(input.byte().unwrap_or(0));
                pending.extend_from_slice(input.take(n));
                drain(&mut conn, &mut pending, &mut check, Instant(now), &config);
            }
            4 => {
                let size = usize::from(input.byte().unwrap_or(0));
                match conn.poll_transmit(Instant(now), &mut out[..size]) {
                    Ok(Some(n)) => assert!(n <= size),
                    Ok(None) => {}
                    Err(e) => assert!(e.needed > size),
                }
            }
            5 => {
                let flags = input.byte().unwrap_or(0);
                let n = usize::from(input.byte().unwrap_or(0));
                let payload = input.take(n);
                let size = usize::from(flags >> 3) * 16;
                let kind = if flags & 1 == 0 {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                let fragment = Fragment::new(kind, flags & 2 != 0, flags & 4 != 0);
                match conn.send(Instant(now), fragment, payload, &mut out[..size]) {
                    Ok(n) => assert!(n <= size && n >= payload.len() + 2),
                    Err(SendError::BufferTooSmall(e)) => assert!(e.needed > size),
                    Err(_) => {}
                }
            }
            6 => {
                let sel = input.byte().unwrap_or(0);
                if sel & 1 == 0 {
                    let n = usize::from(input.byte().unwrap_or(0));
                    let _ = conn.ping(Instant(now), input.take(n));
                } else {
                    let code = u16::from_be_bytes([
                        input.byte().unwrap_or(3),
                        input.byte().unwrap_or(0xE8),
                    ]);
                    let r = conn.close(Instant(now), CloseCode(code), "fuzz");
                    if r.is_ok() {
                        assert!(CloseCode(code).is_valid_on_wire());
                        assert_ne!(conn.state(), State::Open);
                    }
                }
            }
            _ => {
                let sel = input.byte().unwrap_or(0);
                if sel & 1 == 0 {
                    now += u64::from(sel) * 20;
                    if let Some(ev) = conn.handle_timeout(Instant(now)) {
                        assert_eq!(ev, Event::TimedOut);
                        assert!(conn.is_closed());
                        check.finished = true;
                    }
                    // A handled timer is never due again at once (no busy loop).
                    if let Some(t) = conn.poll_timeout() {
                        assert!(t > Instant(now), "timer {t:?} still due at {now}");
                    }
                } else {
                    let len = u64::from(input.byte().unwrap_or(0));
                    let fragment = Fragment::new(DataKind::Binary, sel & 2 != 0, sel & 4 != 0);
                    if let Ok(head) = conn.frame_head(Instant(now), fragment, len) {
                        assert!(head.as_bytes().len() >= 2 && head.as_bytes().len() <= 14);
                        assert_eq!(head.mask.is_some(), role == Role::Client);
                    }
                }
            }
        }
        if let Some(t) = conn.poll_timeout() {
            assert!(t.as_millis() >= now.min(t.as_millis()));
        }
        if was_closed {
            assert!(conn.is_closed(), "closed is final");
        }
        was_closed = conn.is_closed();
    }
}

fn drain(
    conn: &mut Connection,
    pending: &mut Vec<u8>,
    check: &mut Checker,
    now: Instant,
    config: &Config,
) {
    for _ in 0..10_000 {
        let len = pending.len();
        let read = conn.read(pending, now);
        let n = read.consumed;
        assert!(n <= len);
        let settled = match read.status {
            Status::Event(ev) => {
                observe(check, ev, config);
                false
            }
            Status::NeedMore => {
                assert!(!check.finished && !check.close_seen);
                true
            }
            Status::Paused(p) => panic!("a WebSocket connection never pauses: {p:?}"),
            Status::Closed => {
                assert!(
                    check.finished || check.close_seen,
                    "closed without a terminal event"
                );
                assert_eq!(n, len, "closed consumes everything");
                true
            }
        };
        pending.drain(..n);
        if settled {
            return;
        }
    }
    panic!("read did not settle");
}

fn observe(check: &mut Checker, ev: Event<'_>, config: &Config) {
    match ev {
        Event::Data {
            kind,
            payload,
            first,
            fin,
            rsv,
        } => {
            assert!(
                !check.finished && !check.close_seen,
                "data after close or failure"
            );
            assert_eq!(first, !check.in_msg, "first flag out of sequence");
            assert!(payload.len() as u64 <= config.max_frame_size);
            if first {
                check.msg_len = 0;
                check.text.clear();
                check.text_checked =
                    kind == DataKind::Text && !(config.allowed_rsv & RSV1 != 0 && rsv & RSV1 != 0);
            }
            check.msg_len += payload.len() as u64;
            assert!(check.msg_len <= config.max_message_size);
            assert_eq!(rsv & !config.allowed_rsv, 0);
            if check.text_checked {
                check.text.extend_from_slice(payload);
                if fin {
                    assert!(
                        std::str::from_utf8(&check.text).is_ok(),
                        "invalid text delivered"
                    );
                }
            }
            check.in_msg = !fin;
        }
        Event::Ping(p) | Event::Pong(p) => {
            assert!(!check.finished && !check.close_seen);
            assert!(p.len() <= 125);
        }
        Event::Closed { code, reason } => {
            assert!(!check.finished && !check.close_seen);
            check.close_seen = true;
            check.in_msg = false;
            if let Some(code) = code {
                assert!(code.is_valid_on_wire());
            }
            assert!(reason.as_str().is_some());
        }
        Event::Failed(e) => {
            assert!(!check.finished && !check.close_seen);
            let _ = e.close_code();
            check.finished = true;
            check.in_msg = false;
        }
        Event::TimedOut => panic!("a timeout is reported by handle_timeout only"),
    }
}
