//! Session lifecycle tests and property tests across the SockJS pieces.
extern crate std;

use super::*;
use crate::machine::Machine;
use crate::store::FixedBytes;
use crate::time::Instant;
use proptest::prelude::*;
use std::string::String;
use std::vec::Vec;

type Session = SockJsSession<FixedBytes<4096>>;

fn session(config: &Config<'_>) -> Session {
    SockJsSession::new(config, FixedBytes::new(), Instant(0))
}

/// The next frame for the attached receiver, and whether the response ended with it.
fn poll(s: &mut Session, now: u64) -> Option<(String, bool)> {
    let mut out = [0u8; 8192];
    let attached = s.has_receiver();
    s.poll_transmit(Instant(now), &mut out).unwrap().map(|n| {
        (
            String::from_utf8(out[..n].to_vec()).unwrap(),
            attached && !s.has_receiver(),
        )
    })
}

const XHR: Transport = Transport::Xhr;
const STREAM: Transport = Transport::XhrStreaming;

#[test]
fn open_frame_once_then_queued_messages_in_order() {
    let mut s = session(&Config::default());
    assert_eq!(poll(&mut s, 0), None);
    s.send(Instant(0), "a").unwrap();
    assert_eq!(s.attach_receiver(Instant(0), XHR, ""), Attach::Opened);
    assert_eq!(poll(&mut s, 0), Some(("o\n".into(), true)));
    assert!(!s.has_receiver());
    s.send(Instant(0), "b").unwrap();
    assert_eq!(s.attach_receiver(Instant(1), XHR, ""), Attach::Resumed);
    assert_eq!(poll(&mut s, 1), Some(("a[\"a\",\"b\"]\n".into(), true)));
    assert_eq!(s.attach_receiver(Instant(2), XHR, ""), Attach::Resumed);
    assert_eq!(poll(&mut s, 2), None);
    s.send(Instant(3), "c").unwrap();
    assert_eq!(poll(&mut s, 3), Some(("a[\"c\"]\n".into(), true)));
}

#[test]
fn heartbeat_every_25s_while_attached() {
    let mut s = session(&Config::default());
    s.attach_receiver(Instant(0), STREAM, "");
    assert_eq!(poll(&mut s, 0), Some(("o\n".into(), false)));
    assert_eq!(s.poll_timeout(), Some(Instant(25_000)));
    assert_eq!(s.handle_timeout(Instant(24_999)), None);
    assert_eq!(poll(&mut s, 24_999), None);
    assert_eq!(s.handle_timeout(Instant(25_000)), None);
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(poll(&mut s, 25_000), Some(("h\n".into(), false)));
    assert_eq!(s.poll_timeout(), Some(Instant(50_000)));
    // A message resets the heart-beat timer.
    s.send(Instant(30_000), "x").unwrap();
    assert!(poll(&mut s, 30_000).is_some());
    assert_eq!(s.poll_timeout(), Some(Instant(55_000)));
}

#[test]
fn second_receiver_gets_2010() {
    let mut s = session(&Config::default());
    s.attach_receiver(Instant(0), STREAM, "");
    poll(&mut s, 0);
    assert_eq!(
        s.attach_receiver(Instant(1), XHR, ""),
        Attach::AnotherConnectionStillOpen
    );
    let mut out = [0u8; 64];
    let n = Framing::new(XHR)
        .write_frame(
            &Frame::Close(CloseFrame::ANOTHER_CONNECTION_STILL_OPEN),
            &mut out,
        )
        .unwrap();
    assert_eq!(&out[..n], b"c[2010,\"Another connection still open\"]\n");
    assert!(s.has_receiver());
    assert_eq!(s.receiver_transport(), Some(STREAM));
    assert!(!s.is_ending());
}

#[test]
fn disconnect_delay_closes() {
    let mut s = session(&Config::default());
    s.attach_receiver(Instant(0), XHR, "");
    poll(&mut s, 0);
    assert_eq!(s.poll_timeout(), Some(Instant(5_000)));
    s.attach_receiver(Instant(4_000), XHR, "");
    s.detach_receiver(Instant(4_500));
    assert_eq!(s.handle_timeout(Instant(9_499)), None);
    assert!(!s.is_ending());
    assert_eq!(s.handle_timeout(Instant(9_500)), Some(Expired));
    assert!(s.is_ending() && s.is_closed());
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.send(Instant(9_600), "x"), Err(QueueError::Closed));
}

#[test]
fn close_answers_later_receivers() {
    let mut s = session(&Config::default());
    s.attach_receiver(Instant(0), Transport::Jsonp, "x");
    assert_eq!(poll(&mut s, 0), Some(("/**/x(\"o\");\r\n".into(), true)));
    s.close(Instant(0), 3000, "Go away!");
    for t in 1..3 {
        assert_eq!(
            s.attach_receiver(Instant(t), Transport::Jsonp, "x"),
            Attach::Closed
        );
        assert_eq!(
            poll(&mut s, t),
            Some(("/**/x(\"c[3000,\\\"Go away!\\\"]\");\r\n".into(), true))
        );
    }
    // A streaming receiver gets the close frame and its response ends.
    assert_eq!(s.attach_receiver(Instant(3), STREAM, ""), Attach::Closed);
    assert_eq!(
        poll(&mut s, 3),
        Some(("c[3000,\"Go away!\"]\n".into(), true))
    );
    // The closed session is forgotten after the disconnect delay.
    assert_eq!(s.handle_timeout(Instant(5_003)), Some(Expired));
    assert!(s.is_closed());
}

#[test]
fn queued_messages_go_before_the_close_frame() {
    let mut s = session(&Config::default());
    s.attach_receiver(Instant(0), STREAM, "");
    poll(&mut s, 0);
    s.send(Instant(1), "last").unwrap();
    s.close(Instant(1), 3001, "bye");
    s.close(Instant(1), 3002, "ignored");
    assert_eq!(poll(&mut s, 1), Some(("a[\"last\"]\n".into(), false)));
    assert_eq!(poll(&mut s, 1), Some(("c[3001,\"bye\"]\n".into(), true)));
}

#[test]
fn interrupted_receiver_closes_1002() {
    let mut s = session(&Config::default());
    s.attach_receiver(Instant(0), STREAM, "");
    poll(&mut s, 0);
    s.receiver_interrupted(Instant(1));
    assert_eq!(s.attach_receiver(Instant(2), XHR, ""), Attach::Closed);
    assert_eq!(
        poll(&mut s, 2),
        Some(("c[1002,\"Connection interrupted\"]\n".into(), true))
    );
}

#[test]
fn streaming_limit_ends_the_response() {
    let config = Config {
        response_limit: 4096,
        ..Config::default()
    };
    let mut s = session(&config);
    s.attach_receiver(Instant(0), STREAM, "");
    assert_eq!(poll(&mut s, 0), Some(("o\n".into(), false)));
    let msg = "x".repeat(128);
    for i in 0..31 {
        s.send(Instant(1), &msg).unwrap();
        let (frame, end) = poll(&mut s, 1).unwrap();
        assert_eq!(frame, std::format!("a[\"{msg}\"]\n"));
        assert_eq!(end, i == 30, "message {i}");
    }
    assert!(!s.has_receiver());
    assert_eq!(s.response_bytes(), 0);
}

#[test]
fn websocket_never_ends_but_on_close() {
    let mut s = session(&Config::default());
    s.attach_receiver(Instant(0), Transport::WebSocket, "");
    assert_eq!(poll(&mut s, 0), Some(("o".into(), false)));
    for _ in 0..100 {
        s.send(Instant(0), &"y".repeat(2000)).unwrap();
        assert!(!poll(&mut s, 0).unwrap().1);
    }
    s.close(Instant(0), 3000, "Go away!");
    assert!(!s.is_closed());
    assert_eq!(poll(&mut s, 0), Some(("c[3000,\"Go away!\"]".into(), true)));
    assert!(s.is_closed(), "the close frame ends a websocket session");
}

#[test]
fn lossy_messages_are_valid_text() {
    let mut s = session(&Config::default());
    s.send_bytes(Instant(0), b"a\xffb\xe2\x82").unwrap();
    s.attach_receiver(Instant(0), Transport::WebSocket, "");
    poll(&mut s, 0);
    // U+FFFD is among the characters SockJS sends escaped.
    assert_eq!(
        poll(&mut s, 0),
        Some((r#"a["a\ufffdb\ufffd"]"#.into(), false))
    );
}

#[test]
fn bounded_queue_and_partial_drain() {
    let mut s = SockJsSession::new(&Config::default(), FixedBytes::<16>::new(), Instant(0));
    s.send(Instant(0), "abcd").unwrap(); // 8 bytes
    s.send(Instant(0), "efgh").unwrap(); // 16 bytes
    assert_eq!(s.send(Instant(0), ""), Err(QueueError::Full));
    assert_eq!(s.queued_bytes(), 16);
    s.attach_receiver(Instant(0), STREAM, "");
    let mut out = [0u8; 16];
    let n = s.poll_transmit(Instant(0), &mut out).unwrap().unwrap();
    assert_eq!(&out[..n], b"o\n");
    let mut small = [0u8; 10];
    assert_eq!(
        s.poll_transmit(Instant(0), &mut small[..5]),
        Err(crate::buf::BufferTooSmall { needed: 10 })
    );
    let n = s.poll_transmit(Instant(0), &mut small).unwrap().unwrap();
    assert_eq!(&small[..n], b"a[\"abcd\"]\n");
    let n = s.poll_transmit(Instant(0), &mut small).unwrap().unwrap();
    assert_eq!(&small[..n], b"a[\"efgh\"]\n");
    assert_eq!(s.queued_bytes(), 0);
}

#[test]
fn long_close_reason_is_cut() {
    let mut s = session(&Config::default());
    let reason = "é".repeat(100);
    s.close(Instant(0), 4000, &reason);
    assert_eq!(s.close_frame().unwrap().reason.len(), 122);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn send_body_round_trips_encoded_frames(messages in proptest::collection::vec(any::<String>(), 0..8)) {
        let refs: Vec<&str> = messages.iter().map(String::as_str).collect();
        let mut out = std::vec![0u8; 64 * 1024];
        let n = Frame::Messages(&refs).write(&mut out).unwrap();
        // Drop the `a` of the frame: the rest is the JSON array a client sends.
        let body = SendBody::parse(&out[1..n], BodyEncoding::Json).unwrap();
        prop_assert_eq!(body.len(), messages.len());
        let mut buf = std::vec![0u8; body.max_message_len()];
        let mut it = body.messages();
        for m in &messages {
            prop_assert_eq!(it.next_into(&mut buf), Some(Ok(m.as_str())));
        }
        prop_assert_eq!(it.next_into(&mut buf), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), method in 0usize..4) {
        let target = String::from_utf8_lossy(&bytes);
        let method = ["GET", "POST", "OPTIONS", "PUT"][method];
        let _ = Router::new("/echo", true).route(method, &target);
        let _ = Router::new("", false).route(method, &target);
        for enc in [BodyEncoding::Json, BodyEncoding::Form] {
            if let Ok(body) = SendBody::parse(&bytes, enc) {
                let mut buf = std::vec![0u8; body.max_message_len()];
                let mut it = body.messages();
                for _ in 0..body.len() {
                    prop_assert!(matches!(it.next_into(&mut buf), Some(Ok(_))));
                }
                prop_assert_eq!(it.next_into(&mut buf), None);
            }
        }
        let _ = SendBody::parse_websocket(&bytes);
        let mut cb = [0u8; 64];
        let _ = callback_from_query(&target, &mut cb);
    }

    #[test]
    fn session_model(ops in proptest::collection::vec((0u8..8, 0u16..3000, 0usize..40), 0..200)) {
        let config = Config { response_limit: 300, ..Config::default() };
        let mut s = SockJsSession::new(&config, FixedBytes::<256>::new(), Instant(0));
        let mut now = 0u64;
        let mut sent: Vec<String> = Vec::new();
        let mut delivered: Vec<String> = Vec::new();
        let mut next = 0u32;
        let mut out = [0u8; 128];
        for (op, dt, size) in ops {
            now += u64::from(dt) * 10;
            match op {
                0 | 1 => {
                    let m = std::format!("{next}{}", "\u{2028}".repeat(size % 8));
                    next += 1;
                    if s.send(Instant(now), &m).is_ok() { sent.push(m); }
                }
                2 => { let _ = s.attach_receiver(Instant(now), Transport::WebSocket, ""); }
                3 => s.detach_receiver(Instant(now)),
                4 => { let _ = s.handle_timeout(Instant(now)); }
                5 if size == 0 => s.close(Instant(now), 3000, "Go away!"),
                _ => {
                    let limit = size * 4;
                    loop {
                        let before = s.queued_messages();
                        match s.poll_transmit(Instant(now), &mut out[..limit.min(128)]) {
                            Ok(Some(n)) => {
                                let frame = &out[..n];
                                if frame.first() == Some(&b'a') {
                                    let body = SendBody::parse(&frame[1..], BodyEncoding::Json).unwrap();
                                    prop_assert_eq!(before - s.queued_messages(), body.len());
                                    let mut buf = [0u8; 128];
                                    let mut it = body.messages();
                                    while let Some(m) = it.next_into(&mut buf) {
                                        delivered.push(String::from(m.unwrap()));
                                    }
                                }
                            }
                            Ok(None) => break,
                            Err(_) => { prop_assert_eq!(before, s.queued_messages()); break; }
                        }
                    }
                }
            }
            prop_assert!(s.queued_bytes() <= 256);
            prop_assert!(delivered.len() <= sent.len());
            prop_assert_eq!(&sent[..delivered.len()], &delivered[..]);
            prop_assert_eq!(s.queued_messages(), sent.len() - delivered.len());
        }
    }
}
