//! Tests of the client session: unit cases and properties.

extern crate std;

use std::string::String as StdString;
use std::vec::Vec as StdVec;

use proptest::prelude::*;

use super::*;
use crate::machine::{Machine, Status};
use crate::time::Instant;

type Session = ClientSession<4, 4, 16>;

fn decode_one(
    bytes: &[u8],
    version: Version,
) -> (Command, StdVec<(StdString, StdString)>, StdVec<u8>) {
    let mut dec = Decoder::new(Limits::default());
    dec.set_version(version);
    match dec.decode(bytes) {
        Ok(Decoded::Frame { frame, consumed }) => {
            assert_eq!(consumed, bytes.len());
            let hs = frame
                .headers()
                .map(|(n, v)| {
                    (
                        StdString::from_utf8(n.bytes().collect()).unwrap(),
                        StdString::from_utf8(v.bytes().collect()).unwrap(),
                    )
                })
                .collect();
            (frame.command(), hs, frame.body().to_vec())
        }
        other => panic!("not a frame: {other:?}"),
    }
}

fn connected(server_hb: &str, client_hb: HeartBeat) -> Session {
    let mut s = Session::new(Limits::default());
    let mut out = [0u8; 256];
    let opts = ConnectOptions {
        host: "vh",
        login: Some("guest"),
        passcode: Some("pw"),
        heart_beat: client_hb,
        ..ConnectOptions::default()
    };
    let n = s.connect(Instant(0), &opts, &mut out).unwrap();
    let (c, hs, _) = decode_one(&out[..n], Version::V1_2);
    assert_eq!(c, Command::Connect);
    assert!(hs.contains(&("accept-version".into(), "1.0,1.1,1.2".into())));
    assert!(hs.contains(&("host".into(), "vh".into())));
    assert!(hs.contains(&("login".into(), "guest".into())));
    let input = std::format!(
        "CONNECTED\nversion:1.2\nserver:x/1\nsession:s1\nheart-beat:{server_hb}\n\n\0"
    );
    let read = s.read(input.as_bytes(), Instant(0));
    assert_eq!(read.consumed, input.len());
    match read.status {
        Status::Event(ClientEvent::Connected {
            version,
            server,
            session,
            ..
        }) => {
            assert_eq!(version, Version::V1_2);
            assert!(server.unwrap() == "x/1");
            assert!(session.unwrap() == "s1");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.state(), SessionState::Connected);
    s
}

fn feed(
    s: &mut Session,
    input: &[u8],
    now: u64,
) -> Result<(usize, Option<ClientEvent<'static>>), ServerViolation> {
    // Leak the input per call: fine in tests.
    let input: &'static [u8] = std::boxed::Box::leak(input.to_vec().into_boxed_slice());
    let read = s.read(input, Instant(now));
    match read.status {
        Status::Event(ClientEvent::Failed(v)) => Err(v),
        status => Ok((read.consumed, status.event())),
    }
}

#[test]
fn builders_need_connected() {
    let mut s = Session::new(Limits::default());
    let mut out = [0u8; 256];
    assert_eq!(
        s.send(
            Instant(0),
            &SendFrame {
                destination: "/q",
                headers: &[],
                body: b"x",
                transaction: None,
                receipt: None
            },
            &mut out
        ),
        Err(ClientError::NotConnected)
    );
    s.connect(Instant(0), &ConnectOptions::default(), &mut out)
        .unwrap();
    assert_eq!(
        s.connect(Instant(0), &ConnectOptions::default(), &mut out),
        Err(ClientError::AlreadyConnecting)
    );
    assert_eq!(
        s.subscribe(
            Instant(0),
            &SubscribeFrame {
                destination: "/q",
                id: "1",
                ack: AckMode::Auto,
                headers: &[],
                receipt: None
            },
            &mut out
        ),
        Err(ClientError::NotConnected)
    );
    // A MESSAGE before CONNECTED breaks the protocol.
    let r = feed(
        &mut s,
        b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:1\n\n\0",
        0,
    );
    assert_eq!(r, Err(ServerViolation::UnexpectedFrame(Command::Message)));
    assert_eq!(s.state(), SessionState::Closed);
}

#[test]
fn subscribe_message_ack_receipt() {
    let mut s = connected("0,0", HeartBeat::NONE);
    let mut out = [0u8; 256];
    let n = s
        .subscribe(
            Instant(0),
            &SubscribeFrame {
                destination: "/queue/a",
                id: "sub-1",
                ack: AckMode::ClientIndividual,
                headers: &[("x-a", "b:c")],
                receipt: Some("r1"),
            },
            &mut out,
        )
        .unwrap();
    let (c, hs, _) = decode_one(&out[..n], Version::V1_2);
    assert_eq!(c, Command::Subscribe);
    assert!(hs.contains(&("ack".into(), "client-individual".into())));
    assert!(hs.contains(&("x-a".into(), "b:c".into())));
    assert!(hs.contains(&("receipt".into(), "r1".into())));
    assert!(out[..n].windows(4).any(|w| w == br"b\cc"));
    assert_eq!(s.ack_mode(b"sub-1"), Some(AckMode::ClientIndividual));
    assert!(s.is_receipt_outstanding("r1"));
    assert_eq!(
        s.subscribe(
            Instant(0),
            &SubscribeFrame {
                destination: "/queue/b",
                id: "sub-1",
                ack: AckMode::Auto,
                headers: &[],
                receipt: None
            },
            &mut out
        ),
        Err(ClientError::DuplicateSubscription)
    );
    assert_eq!(
        s.send(
            Instant(0),
            &SendFrame {
                destination: "/q",
                headers: &[],
                body: b"",
                transaction: None,
                receipt: Some("r1")
            },
            &mut out
        ),
        Err(ClientError::DuplicateReceipt)
    );

    let r = b"RECEIPT\nreceipt-id:r1\n\n\0RECEIPT\nreceipt-id:r1\n\n\0";
    let (used, ev) = feed(&mut s, r, 1).unwrap();
    assert!(matches!(ev, Some(ClientEvent::Receipt { id }) if id == "r1"));
    let (_, ev) = feed(&mut s, &r[used..], 1).unwrap();
    assert_eq!(ev, None, "a receipt is reported once");

    let m = b"MESSAGE\ndestination:/queue/a\nmessage-id:m1\nsubscription:sub-1\nack:A\\c1\ncontent-length:3\n\na\0b\0\n";
    let (used, ev) = feed(&mut s, m, 2).unwrap();
    assert_eq!(used, m.len() - 1);
    let ev = ev.unwrap();
    let ack = ev.ack_id().unwrap();
    assert!(ack == "A:1");
    match ev {
        ClientEvent::Message {
            subscription,
            message_id,
            destination,
            body,
            frame,
            ..
        } => {
            assert!(subscription.unwrap() == "sub-1");
            assert!(message_id == "m1");
            assert!(destination == "/queue/a");
            assert_eq!(body, b"a\0b");
            assert!(frame.header("content-length").unwrap() == "3");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(feed(&mut s, b"\n", 3).unwrap(), (1, None));
    let n = s
        .ack(
            Instant(0),
            &AckFrame {
                ack_id: "A:1",
                subscription: "sub-1",
                transaction: Some("tx"),
                receipt: None,
            },
            &mut out,
        )
        .unwrap();
    let (c, hs, _) = decode_one(&out[..n], Version::V1_2);
    assert_eq!(c, Command::Ack);
    assert_eq!(
        hs,
        [
            ("id".into(), "A:1".into()),
            ("transaction".into(), "tx".into())
        ]
    );

    let n = s.unsubscribe(Instant(0), "sub-1", None, &mut out).unwrap();
    assert_eq!(decode_one(&out[..n], Version::V1_2).0, Command::Unsubscribe);
    assert_eq!(s.subscriptions().count(), 0);
    assert_eq!(
        s.unsubscribe(Instant(0), "sub-1", None, &mut out),
        Err(ClientError::UnknownSubscription)
    );
}

#[test]
fn too_small_buffer_changes_nothing() {
    let mut s = connected("0,0", HeartBeat::NONE);
    let mut out = [0u8; 8];
    match s.subscribe(
        Instant(0),
        &SubscribeFrame {
            destination: "/queue/a",
            id: "1",
            ack: AckMode::Auto,
            headers: &[],
            receipt: Some("r"),
        },
        &mut out,
    ) {
        Err(ClientError::Encode(EncodeError::BufferTooSmall(e))) => assert!(e.needed > 8),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.subscriptions().count(), 0);
    assert_eq!(s.outstanding_receipts().count(), 0);
}

#[test]
fn capacity_is_bounded() {
    let mut s = connected("0,0", HeartBeat::NONE);
    let mut out = [0u8; 256];
    for i in 0..4 {
        let id = std::format!("{i}");
        s.subscribe(
            Instant(0),
            &SubscribeFrame {
                destination: "/q",
                id: &id,
                ack: AckMode::Auto,
                headers: &[],
                receipt: Some(&id),
            },
            &mut out,
        )
        .unwrap();
    }
    assert_eq!(
        s.subscribe(
            Instant(0),
            &SubscribeFrame {
                destination: "/q",
                id: "9",
                ack: AckMode::Auto,
                headers: &[],
                receipt: None
            },
            &mut out
        ),
        Err(ClientError::TooManySubscriptions)
    );
    assert_eq!(
        s.send(
            Instant(0),
            &SendFrame {
                destination: "/q",
                headers: &[],
                body: b"",
                transaction: None,
                receipt: Some("9")
            },
            &mut out
        ),
        Err(ClientError::TooManyReceipts)
    );
    assert_eq!(
        s.send(
            Instant(0),
            &SendFrame {
                destination: "/q",
                headers: &[],
                body: b"",
                transaction: None,
                receipt: Some("0123456789abcdefg")
            },
            &mut out
        ),
        Err(ClientError::InvalidId)
    );
}

#[test]
fn error_ends_session() {
    let mut s = connected("0,0", HeartBeat::NONE);
    let (_, ev) = feed(&mut s, b"ERROR\nmessage:bad\nreceipt-id:r\n\noops\0", 0).unwrap();
    match ev {
        Some(ClientEvent::Error {
            message,
            receipt_id,
            body,
        }) => {
            assert!(message.unwrap() == "bad");
            assert!(receipt_id.unwrap() == "r");
            assert_eq!(body, b"oops");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.state(), SessionState::Closed);
    let mut out = [0u8; 64];
    assert_eq!(
        s.send(
            Instant(0),
            &SendFrame {
                destination: "/q",
                headers: &[],
                body: b"",
                transaction: None,
                receipt: None
            },
            &mut out
        ),
        Err(ClientError::NotConnected)
    );
}

#[test]
fn disconnect_waits_for_receipt() {
    let mut s = connected("0,0", HeartBeat::NONE);
    let mut out = [0u8; 64];
    let n = s.disconnect(Instant(0), Some("bye"), &mut out).unwrap();
    assert_eq!(decode_one(&out[..n], Version::V1_2).0, Command::Disconnect);
    assert_eq!(s.state(), SessionState::Disconnecting);
    let (_, ev) = feed(&mut s, b"RECEIPT\nreceipt-id:bye\n\n\0", 0).unwrap();
    assert!(matches!(ev, Some(ClientEvent::Receipt { .. })));
    assert_eq!(s.state(), SessionState::Closed);
}

#[test]
fn version_must_be_offered() {
    let mut s = Session::new(Limits::default());
    let mut out = [0u8; 256];
    let opts = ConnectOptions {
        accept_version: VersionSet::only(Version::V1_1),
        ..ConnectOptions::default()
    };
    s.connect(Instant(0), &opts, &mut out).unwrap();
    assert_eq!(
        feed(&mut s, b"CONNECTED\nversion:1.2\n\n\0", 0),
        Err(ServerViolation::UnsupportedVersion)
    );
}

#[test]
fn stomp_1_1_acks_name_the_subscription() {
    let mut s = Session::new(Limits::default());
    let mut out = [0u8; 256];
    s.connect(Instant(0), &ConnectOptions::default(), &mut out)
        .unwrap();
    feed(&mut s, b"CONNECTED\nversion:1.1\n\n\0", 0).unwrap();
    assert_eq!(s.version(), Version::V1_1);
    let n = s
        .nack(
            Instant(0),
            &AckFrame {
                ack_id: "m1",
                subscription: "s1",
                transaction: None,
                receipt: None,
            },
            &mut out,
        )
        .unwrap();
    let (c, hs, _) = decode_one(&out[..n], Version::V1_1);
    assert_eq!(c, Command::Nack);
    assert_eq!(
        hs,
        [
            ("message-id".into(), "m1".into()),
            ("subscription".into(), "s1".into())
        ]
    );
}

#[test]
fn heart_beats_sent_and_loss_reported() {
    let mut s = connected(
        "1000,500",
        HeartBeat {
            send_ms: 200,
            receive_ms: 2000,
        },
    );
    // Client sends every max(200, 500) = 500 ms; expects every max(1000, 2000) = 2000 ms.
    assert_eq!(s.heart_beat().send_every_ms, Some(500));
    assert_eq!(s.heart_beat().expect_every_ms, Some(2000));
    assert_eq!(s.poll_timeout(), Some(Instant(500)));
    let mut out = [0u8; 4];
    assert_eq!(s.handle_timeout(Instant(499)), None);
    assert_eq!(s.poll_transmit(Instant(0), &mut out), Ok(None));
    assert_eq!(s.handle_timeout(Instant(500)), None);
    assert_eq!(s.poll_transmit(Instant(0), &mut out), Ok(Some(1)));
    assert_eq!(out[0], b'\n');
    assert_eq!(s.poll_transmit(Instant(0), &mut out), Ok(None));
    // The server's heart-beat keeps the session alive.
    feed(&mut s, b"\n", 2500).unwrap();
    assert_eq!(s.handle_timeout(Instant(5499)), None);
    assert_eq!(
        s.handle_timeout(Instant(5500)),
        Some(ClientEvent::HeartbeatLost)
    );
    assert_eq!(
        s.handle_timeout(Instant(9000)),
        None,
        "loss is reported once"
    );
    assert!(s.is_closed());
}

#[derive(Debug, Clone)]
enum Op {
    Subscribe(u8, AckMode, bool),
    Unsubscribe(u8),
    Send(StdString, StdString, StdVec<u8>, bool),
    Ack(u8),
    Begin(u8),
    Commit(u8),
    Abort(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let text = "[a-z:\\\\\r\n/é]{0,8}";
    prop_oneof![
        (
            0u8..6,
            prop_oneof![
                Just(AckMode::Auto),
                Just(AckMode::Client),
                Just(AckMode::ClientIndividual)
            ],
            any::<bool>()
        )
            .prop_map(|(i, a, r)| Op::Subscribe(i, a, r)),
        (0u8..6).prop_map(Op::Unsubscribe),
        (
            "[a-z]{1,6}",
            text,
            proptest::collection::vec(any::<u8>(), 0..40),
            any::<bool>()
        )
            .prop_map(|(n, v, b, r)| Op::Send(n, v, b, r)),
        (0u8..6).prop_map(Op::Ack),
        (0u8..6).prop_map(Op::Begin),
        (0u8..6).prop_map(Op::Commit),
        (0u8..6).prop_map(Op::Abort),
    ]
}

proptest! {
    #[test]
    fn operations_encode_what_was_asked(ops in proptest::collection::vec(op(), 0..30), v in 0usize..3) {
        let version = Version::ALL[v];
        let mut s = Session::new(Limits::default());
        let mut out = [0u8; 1024];
        s.connect(Instant(0), &ConnectOptions::default(), &mut out).unwrap();
        let connected = std::format!("CONNECTED\nversion:{}\n\n\0", version.as_str());
        feed(&mut s, connected.as_bytes(), 0).unwrap();
        let mut receipt_no = 0u32;
        for op in ops {
            receipt_no += 1;
            let rid = std::format!("r{receipt_no}");
            let subs_before = s.subscriptions().count();
            let (result, command, expected): (_, Command, StdVec<(StdString, StdString)>) = match &op {
                Op::Subscribe(i, a, r) => {
                    let id = std::format!("s{i}");
                    let mut e = std::vec![("destination".into(), "/topic/t".into()), ("id".into(), id.clone()), ("ack".into(), a.as_str().into())];
                    if *r { e.push(("receipt".into(), rid.clone())); }
                    (s.subscribe(Instant(0), &SubscribeFrame { destination: "/topic/t", id: &id, ack: *a, headers: &[], receipt: r.then_some(rid.as_str()) }, &mut out), Command::Subscribe, e)
                }
                Op::Unsubscribe(i) => {
                    let id = std::format!("s{i}");
                    (s.unsubscribe(Instant(0), &id, None, &mut out), Command::Unsubscribe, std::vec![("id".into(), id)])
                }
                Op::Send(n, val, body, r) => {
                    let mut e = std::vec![("destination".into(), "/queue/q".into()), (n.clone(), val.clone())];
                    if *r { e.push(("receipt".into(), rid.clone())); }
                    if !body.is_empty() { e.push(("content-length".into(), std::format!("{}", body.len()))); }
                    (s.send(Instant(0), &SendFrame { destination: "/queue/q", headers: &[(n, val)], body, transaction: None, receipt: r.then_some(rid.as_str()) }, &mut out), Command::Send, e)
                }
                Op::Ack(i) => {
                    let id = std::format!("m{i}");
                    let e = match version {
                        Version::V1_2 => std::vec![("id".into(), id.clone())],
                        Version::V1_1 => std::vec![("message-id".into(), id.clone()), ("subscription".into(), "s".into())],
                        Version::V1_0 => std::vec![("message-id".into(), id.clone())],
                    };
                    (s.ack(Instant(0), &AckFrame { ack_id: &id, subscription: "s", transaction: None, receipt: None }, &mut out), Command::Ack, e)
                }
                Op::Begin(t) | Op::Commit(t) | Op::Abort(t) => {
                    let t = std::format!("t{t}");
                    let (r, c) = match &op {
                        Op::Begin(_) => (s.begin(Instant(0), &t, None, &mut out), Command::Begin),
                        Op::Commit(_) => (s.commit(Instant(0), &t, None, &mut out), Command::Commit),
                        _ => (s.abort(Instant(0), &t, None, &mut out), Command::Abort),
                    };
                    (r, c, std::vec![("transaction".into(), t)])
                }
            };
            match result {
                Ok(n) => {
                    let (c, hs, body) = decode_one(&out[..n], version);
                    prop_assert_eq!(c, command);
                    prop_assert_eq!(hs, expected);
                    if let Op::Send(_, _, b, _) = &op { prop_assert_eq!(&body, b); }
                }
                Err(ClientError::Encode(EncodeError::InvalidHeader { .. })) => {
                    // Unrepresentable in this version (1.0 cannot carry a line feed).
                    prop_assert!(version != Version::V1_2);
                    prop_assert_eq!(s.subscriptions().count(), subs_before);
                }
                Err(ClientError::DuplicateSubscription | ClientError::UnknownSubscription
                    | ClientError::TooManySubscriptions | ClientError::TooManyReceipts) => {
                    prop_assert_eq!(s.subscriptions().count(), subs_before);
                }
                Err(e) => prop_assert!(false, "unexpected {:?}", e),
            }
            // Answer outstanding receipts now and then; each is reported exactly once.
            if receipt_no % 3 == 0 {
                let pending: StdVec<StdString> = s.outstanding_receipts().map(StdString::from).collect();
                for r in pending {
                    let frame = std::format!("RECEIPT\nreceipt-id:{r}\n\n\0");
                    let (_, ev) = feed(&mut s, frame.as_bytes(), 1).unwrap();
                    let is_receipt = matches!(ev, Some(ClientEvent::Receipt { .. }));
                    prop_assert!(is_receipt);
                    let (_, ev) = feed(&mut s, frame.as_bytes(), 1).unwrap();
                    prop_assert_eq!(ev, None);
                }
            }
        }
    }

    #[test]
    fn arbitrary_server_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512), chunk in 1usize..64) {
        let mut s = Session::new(Limits::default());
        let mut out = [0u8; 256];
        s.connect(Instant(0), &ConnectOptions { heart_beat: HeartBeat { send_ms: 10, receive_ms: 10 }, ..ConnectOptions::default() }, &mut out).unwrap();
        let mut input = b"CONNECTED\nversion:1.2\nheart-beat:5,5\n\n\0".to_vec();
        input.extend_from_slice(&data);
        let mut buf = StdVec::new();
        let mut now = 0u64;
        for piece in input.chunks(chunk) {
            buf.extend_from_slice(piece);
            now += 3;
            let _ = s.handle_timeout(Instant(now));
            let _ = s.poll_transmit(Instant(now), &mut out);
            loop {
                let read = s.read(&buf, Instant(now));
                let n = read.consumed;
                prop_assert!(n <= buf.len());
                let more = matches!(read.status, Status::Event(_));
                buf.drain(..n);
                if !more {
                    break;
                }
            }
        }
    }
}
