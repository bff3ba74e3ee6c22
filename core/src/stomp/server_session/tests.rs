//! Byte-level tests of the server session, and a proptest model check.

extern crate std;
use super::*;
use crate::machine::{Pause, Read, Status, StatusKind};
use crate::stomp::{Decoded, Decoder, Limits, MAX_ID_LEN};
use std::string::String;
use std::vec;
use std::vec::Vec;

type Session = ServerSession<4, 2, 4, 256>;

/// An owned copy of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Connect {
        version: Version,
        host: Option<String>,
        login: Option<String>,
        passcode: Option<String>,
    },
    Subscribe {
        id: String,
        destination: String,
        ack: AckMode,
        selector: Option<String>,
    },
    Unsubscribe(String),
    Send {
        destination: String,
        transaction: Option<String>,
        body: Vec<u8>,
    },
    Ack {
        subscription: String,
        message_id: String,
        settled: usize,
        transaction: Option<String>,
    },
    Nack {
        subscription: String,
        message_id: String,
        settled: usize,
        transaction: Option<String>,
    },
    Begin(String),
    Commit(String, usize),
    Abort(String, usize),
    Disconnect,
    HeartbeatTimeout,
    ConnectTimeout,
    Error(SessionError),
}

fn text(t: HeaderText<'_>) -> String {
    String::from_utf8(t.bytes().collect()).unwrap()
}

fn id_text(id: &Id) -> String {
    String::from_utf8(id.as_bytes().to_vec()).unwrap()
}

fn own(ev: ServerEvent<'_>) -> Ev {
    match ev {
        ServerEvent::Connect {
            version,
            host,
            login,
            passcode,
            ..
        } => Ev::Connect {
            version,
            host: host.map(text),
            login: login.map(text),
            passcode: passcode.map(text),
        },
        ServerEvent::Subscribe {
            id,
            destination,
            ack,
            selector,
            ..
        } => Ev::Subscribe {
            id: text(id),
            destination: text(destination),
            ack,
            selector: selector.map(text),
        },
        ServerEvent::Unsubscribe { id, .. } => Ev::Unsubscribe(id_text(&id)),
        ServerEvent::Send {
            destination,
            transaction,
            frame,
        } => Ev::Send {
            destination: text(destination),
            transaction: transaction.map(text),
            body: frame.body().to_vec(),
        },
        ServerEvent::Ack {
            subscription,
            message_id,
            settled,
            transaction,
            ..
        } => Ev::Ack {
            subscription: id_text(&subscription),
            message_id: id_text(&message_id),
            settled,
            transaction: transaction.map(text),
        },
        ServerEvent::Nack {
            subscription,
            message_id,
            settled,
            transaction,
            ..
        } => Ev::Nack {
            subscription: id_text(&subscription),
            message_id: id_text(&message_id),
            settled,
            transaction: transaction.map(text),
        },
        ServerEvent::Begin { transaction, .. } => Ev::Begin(text(transaction)),
        ServerEvent::Commit {
            transaction, held, ..
        } => Ev::Commit(text(transaction), held),
        ServerEvent::Abort {
            transaction,
            discarded,
            ..
        } => Ev::Abort(text(transaction), discarded),
        ServerEvent::Disconnect { .. } => Ev::Disconnect,
        ServerEvent::HeartbeatTimeout => Ev::HeartbeatTimeout,
        ServerEvent::ConnectTimeout => Ev::ConnectTimeout,
        ServerEvent::ProtocolError(e) => Ev::Error(e),
    }
}

/// A frame the server sent, or a heart-beat (`command` None).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Out {
    command: Option<Command>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Out {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_out(bytes: &[u8], version: Version) -> Out {
    let mut dec = Decoder::new(Limits::default());
    dec.set_version(version);
    match dec.decode(bytes).unwrap() {
        Decoded::Frame { frame, consumed } => {
            assert_eq!(consumed, bytes.len());
            Out {
                command: Some(frame.command()),
                headers: frame.headers().map(|(n, v)| (text(n), text(v))).collect(),
                body: frame.body().to_vec(),
            }
        }
        Decoded::HeartBeat { consumed } => {
            assert_eq!(consumed, bytes.len());
            Out {
                command: None,
                headers: vec![],
                body: vec![],
            }
        }
        Decoded::Incomplete => panic!("incomplete output {bytes:?}"),
    }
}

/// A caller: keeps unconsumed bytes, reads until the session wants more, accepts or
/// rejects connects, replays commits, drains owed frames.
struct Driver {
    s: Session,
    pending: Vec<u8>,
    now: Instant,
    reject: Option<&'static str>,
    events: Vec<Ev>,
    sent: Vec<Out>,
}

impl Driver {
    fn new() -> Self {
        Driver::with(ServerSessionConfig::default())
    }

    fn with(config: ServerSessionConfig) -> Self {
        Driver {
            s: Session::new(config, Id::new(b"sess-1").unwrap(), Instant(0)),
            pending: Vec::new(),
            now: Instant(0),
            reject: None,
            events: Vec::new(),
            sent: Vec::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) -> &mut Self {
        self.pending.extend_from_slice(bytes);
        loop {
            let input = self.pending.clone();
            let read = self.s.read(&input, self.now);
            let used = read.consumed;
            assert!(used <= input.len());
            let status = read.status.map(own);
            self.pending.drain(..used);
            let stop = match status {
                Status::Event(ev) => {
                    self.on_event(ev);
                    false
                }
                Status::Paused(Pause::Transmit) => used == 0 && !self.s.owes_frames(),
                Status::NeedMore | Status::Paused(_) | Status::Closed => true,
            };
            self.drain();
            if stop {
                break;
            }
        }
        self
    }

    fn on_event(&mut self, ev: Ev) {
        let connect = matches!(ev, Ev::Connect { .. });
        self.events.push(ev);
        if connect {
            match self.reject {
                Some(m) => self.s.reject_connect(self.now, m).unwrap(),
                None => self.s.accept_connect(self.now).unwrap(),
            }
        }
    }

    fn drain(&mut self) {
        let mut out = [0u8; 512];
        while let Some(n) = self.s.poll_transmit(self.now, &mut out).unwrap() {
            let version = self.s.version();
            self.sent.push(parse_out(&out[..n], version));
        }
    }

    fn advance(&mut self, ms: u64) -> &mut Self {
        self.now = self.now.add_millis(ms);
        if let Some(ev) = self.s.handle_timeout(self.now) {
            self.events.push(own(ev));
        }
        self.drain();
        self
    }

    fn take_events(&mut self) -> Vec<Ev> {
        core::mem::take(&mut self.events)
    }

    fn take_sent(&mut self) -> Vec<Out> {
        core::mem::take(&mut self.sent)
    }

    fn connected(version: &str) -> Self {
        let mut d = Driver::new();
        d.feed(format!("CONNECT\naccept-version:{version}\nhost:h\n\n\0").as_bytes());
        assert!(d.s.is_connected());
        d.take_events();
        d.take_sent();
        d
    }

    fn message(&mut self, sub: &str, id: &str) -> Result<Out, MessageError> {
        let mut out = [0u8; 512];
        let message = OutgoingMessage {
            subscription: sub.as_bytes(),
            message_id: id.as_bytes(),
            destination: b"/queue/a".iter().copied(),
            headers: HeaderLines::new(b"x:y\n"),
            body: b"hi",
        };
        let n = self.s.write_message(self.now, message, &mut out)?;
        Ok(parse_out(&out[..n], self.s.version()))
    }
}

use std::format;

fn commands(sent: &[Out]) -> Vec<Option<Command>> {
    sent.iter().map(|o| o.command).collect()
}

#[test]
fn connect_negotiates_and_sends_connected() {
    let mut d = Driver::new();
    d.feed(b"CONNECT\naccept-version:1.0,1.1,2.0\nhost:vh\nlogin:me\npasscode:pw\nheart-beat:0,0\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Connect {
            version: Version::V1_1,
            host: Some("vh".into()),
            login: Some("me".into()),
            passcode: Some("pw".into()),
        }]
    );
    let sent = d.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].command, Some(Command::Connected));
    assert_eq!(sent[0].header("version"), Some("1.1"));
    assert_eq!(sent[0].header("heart-beat"), Some("10000,10000"));
    assert_eq!(sent[0].header("server"), Some("sockwire"));
    assert_eq!(sent[0].header("session"), Some("sess-1"));
    assert_eq!(d.s.version(), Version::V1_1);
    assert!(d.s.is_connected());
    assert_eq!(d.s.poll_timeout(), None); // client asked for no heart-beats
}

#[test]
fn stomp_frame_and_missing_accept_version_means_1_0() {
    let mut d = Driver::new();
    d.feed(b"STOMP\nhost:h\n\n\0");
    assert!(matches!(
        d.take_events()[..],
        [Ev::Connect {
            version: Version::V1_0,
            ..
        }]
    ));
    let sent = d.take_sent();
    assert_eq!(sent[0].header("version"), Some("1.0"));
    assert_eq!(sent[0].header("heart-beat"), None);
}

#[test]
fn unsupported_version_is_an_error_with_version_header() {
    let config = ServerSessionConfig {
        versions: VersionSet::only(Version::V1_2),
        ..ServerSessionConfig::default()
    };
    let mut d = Driver::with(config);
    d.feed(b"CONNECT\naccept-version:1.0,1.1\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::UnsupportedVersion(
            VersionSet::only(Version::V1_2)
        ))]
    );
    let sent = d.take_sent();
    assert_eq!(commands(&sent), vec![Some(Command::Error)]);
    assert_eq!(sent[0].header("version"), Some("1.2"));
    assert!(sent[0].header("message").is_some());
    assert!(d.s.is_closed());
}

#[test]
fn invalid_heart_beat_header() {
    let mut d = Driver::new();
    d.feed(b"CONNECT\naccept-version:1.2\nheart-beat:x\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::InvalidHeartBeat)]
    );
}

#[test]
fn auth_hook_waits_and_rejects() {
    let mut d = Driver::new();
    d.reject = Some("bad\ncredentials");
    // A pipelined SUBSCRIBE after the CONNECT must not be read before the answer.
    d.feed(b"CONNECT\naccept-version:1.2\nlogin:u\npasscode:p\n\n\0SUBSCRIBE\nid:0\ndestination:/a\n\n\0");
    assert_eq!(d.take_events().len(), 1);
    let sent = d.take_sent();
    assert_eq!(commands(&sent), vec![Some(Command::Error)]);
    assert_eq!(sent[0].header("message"), Some("bad credentials"));
    assert!(d.s.is_closed());
    assert_eq!(d.s.accept_connect(Instant(0)), Err(ActionError::Closed));
}

#[test]
fn read_blocks_until_connect_answered() {
    let mut s = Session::new(
        ServerSessionConfig::default(),
        Id::from_decimal(7),
        Instant(0),
    );
    let input = b"CONNECT\naccept-version:1.2\n\n\0SEND\ndestination:/a\n\nx\0";
    let read = s.read(input, Instant(0));
    let n = read.consumed;
    assert!(matches!(
        read.status,
        Status::Event(ServerEvent::Connect { .. })
    ));
    assert_eq!(
        s.read(&input[n..], Instant(0)),
        Read::paused(0, Pause::Decision)
    );
    assert_eq!(s.accept_connect(Instant(0)), Ok(()));
    assert_eq!(
        s.accept_connect(Instant(0)),
        Err(ActionError::NoPendingConnect)
    );
    let read = s.read(&input[n..], Instant(0));
    assert!(matches!(
        read.status,
        Status::Event(ServerEvent::Send { .. })
    ));
}

#[test]
fn connected_names_the_user_it_was_accepted_as() {
    for (name, told) in [
        ("session-7", Some("session-7")),
        ("", None),
        ("a:b", None),
        ("a\nb", None),
    ] {
        let mut s = Session::new(
            ServerSessionConfig::default(),
            Id::from_decimal(7),
            Instant(0),
        );
        let connect = b"CONNECT\naccept-version:1.2\n\n\0";
        let _ = s.read(connect, Instant(0));
        s.accept_connect_as(Instant(0), name).unwrap();
        let mut out = [0u8; 256];
        let n = s.poll_transmit(Instant(0), &mut out).unwrap().unwrap();
        let frame = parse_out(&out[..n], s.version());
        assert_eq!(frame.header("user-name"), told, "{name:?}");
    }
}

#[test]
fn frames_before_connect_unknown_and_server_commands() {
    for input in [
        &b"SEND\ndestination:/a\n\n\0"[..],
        b"FOO\n\n\0",
        b"CONNECTED\nversion:1.2\n\n\0",
    ] {
        let mut d = Driver::new();
        d.feed(input);
        assert_eq!(d.take_events().len(), 1);
        assert!(matches!(d.events[..], []));
        assert_eq!(commands(&d.take_sent()), vec![Some(Command::Error)]);
        assert!(d.s.is_closed());
    }
    let mut d = Driver::connected("1.2");
    d.feed(b"MESSAGE\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::UnexpectedCommand)]
    );
    let mut d = Driver::connected("1.2");
    d.feed(b"CONNECT\naccept-version:1.2\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::AlreadyConnected)]
    );
    let mut d = Driver::connected("1.2");
    d.feed(b"BOGUS\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::Decode(DecodeError::UnknownCommand))]
    );
}

#[test]
fn subscribe_rules_per_version() {
    let mut d = Driver::connected("1.2");
    d.feed(b"SUBSCRIBE\ndestination:/a\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::MissingHeader("id"))]
    );
    assert_eq!(d.sent[0].header("message"), Some("missing id header"));

    let mut d = Driver::connected("1.0");
    d.feed(b"SUBSCRIBE\ndestination:/a\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Subscribe {
            id: "/a".into(),
            destination: "/a".into(),
            ack: AckMode::Auto,
            selector: None
        }]
    );
    d.feed(b"UNSUBSCRIBE\ndestination:/a\n\n\0");
    assert_eq!(d.take_events(), vec![Ev::Unsubscribe("/a".into())]);

    let mut d = Driver::connected("1.2");
    d.feed(b"SUBSCRIBE\nid:0\ndestination:/a\nack:client\nselector:x = 1\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Subscribe {
            id: "0".into(),
            destination: "/a".into(),
            ack: AckMode::Client,
            selector: Some("x = 1".into())
        }]
    );
    assert_eq!(d.s.subscription_ack_mode(b"0"), Some(AckMode::Client));
    d.feed(b"SUBSCRIBE\nid:0\ndestination:/b\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::DuplicateSubscription)]
    );

    for (input, e) in [
        (
            &b"SUBSCRIBE\nid:0\n\n\0"[..],
            SessionError::MissingHeader("destination"),
        ),
        (
            b"SUBSCRIBE\nid:0\ndestination:/a\nack:sometimes\n\n\0",
            SessionError::InvalidAckMode,
        ),
        (
            b"UNSUBSCRIBE\nid:9\n\n\0",
            SessionError::UnknownSubscription,
        ),
        (b"UNSUBSCRIBE\n\n\0", SessionError::MissingHeader("id")),
    ] {
        let mut d = Driver::connected("1.2");
        d.feed(input);
        assert_eq!(d.take_events(), vec![Ev::Error(e)], "{input:?}");
        assert!(d.s.is_closed());
    }
}

#[test]
fn too_many_subscriptions() {
    let mut d = Driver::connected("1.2");
    for i in 0..4 {
        d.feed(format!("SUBSCRIBE\nid:{i}\ndestination:/a\n\n\0").as_bytes());
    }
    assert_eq!(d.s.subscription_count(), 4);
    d.feed(b"SUBSCRIBE\nid:4\ndestination:/a\n\n\0");
    assert_eq!(
        d.take_events().last(),
        Some(&Ev::Error(SessionError::TooManySubscriptions))
    );
}

#[test]
fn receipts_answered_once_and_on_errors() {
    let mut d = Driver::connected("1.2");
    d.feed(b"SUBSCRIBE\nid:0\ndestination:/a\nreceipt:r\\c1\n\n\0");
    let sent = d.take_sent();
    assert_eq!(commands(&sent), vec![Some(Command::Receipt)]);
    assert_eq!(sent[0].header("receipt-id"), Some("r:1"));
    d.feed(b"UNSUBSCRIBE\nid:nope\nreceipt:r2\n\n\0");
    let sent = d.take_sent();
    assert_eq!(commands(&sent), vec![Some(Command::Error)]);
    assert_eq!(sent[0].header("receipt-id"), Some("r2"));
    assert_eq!(sent[0].header("message"), Some("unknown subscription"));
    d.feed(b"SEND\ndestination:/a\nreceipt:r3\n\n\0");
    assert!(d.take_sent().is_empty());
}

#[test]
fn split_several_and_heart_beats() {
    let stream = b"\n\r\nCONNECT\r\naccept-version:1.2\r\n\r\n\0\nSEND\ndestination:/a\n\nx\0SEND\ndestination:/b\ncontent-length:3\n\na\0b\0\n\n";
    let mut whole = Driver::new();
    whole.feed(stream);
    let mut bytewise = Driver::new();
    for b in stream {
        bytewise.feed(&[*b]);
    }
    let expected = vec![
        Ev::Connect {
            version: Version::V1_2,
            host: None,
            login: None,
            passcode: None,
        },
        Ev::Send {
            destination: "/a".into(),
            transaction: None,
            body: b"x".to_vec(),
        },
        Ev::Send {
            destination: "/b".into(),
            transaction: None,
            body: b"a\0b".to_vec(),
        },
    ];
    assert_eq!(whole.take_events(), expected);
    assert_eq!(bytewise.take_events(), expected);
    assert!(whole.pending.is_empty() && bytewise.pending.is_empty());
}

#[test]
fn body_only_on_send() {
    let mut d = Driver::connected("1.2");
    d.feed(b"BEGIN\ntransaction:t\n\nx\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::UnexpectedBody)]
    );
}

#[test]
fn transactions_hold_until_commit_and_drop_on_abort() {
    let mut d = Driver::connected("1.2");
    d.feed(b"BEGIN\ntransaction:t1\nreceipt:b\n\n\0");
    d.feed(b"SEND\ndestination:/a\ntransaction:t1\nreceipt:s1\n\none\0");
    d.feed(b"SEND\ndestination:/a\n\nplain\0");
    d.feed(b"SEND\ndestination:/b\ntransaction:t1\n\ntwo\0");
    assert_eq!(
        d.take_events(),
        vec![
            Ev::Begin("t1".into()),
            Ev::Send {
                destination: "/a".into(),
                transaction: None,
                body: b"plain".to_vec()
            }
        ]
    );
    assert_eq!(d.take_sent().len(), 2); // receipts for BEGIN and the held SEND
    d.feed(b"COMMIT\ntransaction:t1\nreceipt:c\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![
            Ev::Commit("t1".into(), 2),
            Ev::Send {
                destination: "/a".into(),
                transaction: Some("t1".into()),
                body: b"one".to_vec()
            },
            Ev::Send {
                destination: "/b".into(),
                transaction: Some("t1".into()),
                body: b"two".to_vec()
            },
        ]
    );
    assert_eq!(d.take_sent()[0].header("receipt-id"), Some("c"));
    assert_eq!(d.s.open_transactions(), 0);

    d.feed(b"BEGIN\ntransaction:t1\n\n\0SEND\ndestination:/a\ntransaction:t1\n\nlost\0ABORT\ntransaction:t1\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Begin("t1".into()), Ev::Abort("t1".into(), 1)]
    );
    // The aborted transaction's name is free again and held nothing.
    d.feed(b"BEGIN\ntransaction:t1\n\n\0COMMIT\ntransaction:t1\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Begin("t1".into()), Ev::Commit("t1".into(), 0)]
    );
}

#[test]
fn transaction_errors() {
    for (input, e) in [
        (
            &b"SEND\ndestination:/a\ntransaction:x\n\n\0"[..],
            SessionError::UnknownTransaction,
        ),
        (
            b"COMMIT\ntransaction:x\n\n\0",
            SessionError::UnknownTransaction,
        ),
        (
            b"ABORT\ntransaction:x\n\n\0",
            SessionError::UnknownTransaction,
        ),
        (b"BEGIN\n\n\0", SessionError::MissingHeader("transaction")),
        (
            b"BEGIN\ntransaction:a\n\n\0BEGIN\ntransaction:a\n\n\0",
            SessionError::DuplicateTransaction,
        ),
        (
            b"BEGIN\ntransaction:a\n\n\0BEGIN\ntransaction:b\n\n\0BEGIN\ntransaction:c\n\n\0",
            SessionError::TooManyTransactions,
        ),
        (
            b"ACK\nid:0\ntransaction:x\n\n\0",
            SessionError::UnknownTransaction,
        ),
    ] {
        let mut d = Driver::connected("1.2");
        d.feed(input);
        assert_eq!(d.take_events().last(), Some(&Ev::Error(e)), "{input:?}");
    }
    // The byte store (256 octets) overflows: ERROR, and nothing held is ever delivered.
    let mut d = Driver::connected("1.2");
    d.feed(b"BEGIN\ntransaction:t\n\n\0");
    let body = [b'x'; 120];
    for _ in 0..3 {
        let mut f = b"SEND\ndestination:/a\ntransaction:t\n\n".to_vec();
        f.extend_from_slice(&body);
        f.push(0);
        d.feed(&f);
    }
    assert_eq!(
        d.take_events(),
        vec![
            Ev::Begin("t".into()),
            Ev::Error(SessionError::TransactionTooLarge)
        ]
    );
    assert_eq!(d.s.open_transactions(), 0);
}

#[test]
fn client_ack_is_cumulative_1_2() {
    let mut d = Driver::connected("1.2");
    d.feed(b"SUBSCRIBE\nid:a\ndestination:/q\nack:client\n\n\0SUBSCRIBE\nid:b\ndestination:/q\nack:client\n\n\0");
    let m1 = d.message("a", "m1").unwrap();
    let _ = d.message("b", "m2").unwrap();
    let m3 = d.message("a", "m3").unwrap();
    assert_eq!(m1.header("subscription"), Some("a"));
    assert_eq!(m1.header("message-id"), Some("m1"));
    assert_eq!(m1.header("destination"), Some("/queue/a"));
    assert_eq!(m1.header("x"), Some("y"));
    assert_eq!(m1.body, b"hi");
    assert_eq!(d.s.unacked_count(), 3);
    let ack = m3.header("ack").unwrap().to_string();
    d.take_events();
    d.feed(format!("ACK\nid:{ack}\n\n\0").as_bytes());
    assert_eq!(
        d.take_events(),
        vec![Ev::Ack {
            subscription: "a".into(),
            message_id: "m3".into(),
            settled: 2,
            transaction: None
        }]
    );
    assert!(d.s.is_unacked(b"b", b"m2"));
    assert!(!d.s.is_unacked(b"a", b"m1"));
    // Acking m1 again: no longer awaiting.
    let ack1 = m1.header("ack").unwrap().to_string();
    d.feed(format!("ACK\nid:{ack1}\nreceipt:r\n\n\0").as_bytes());
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::UnknownMessage)]
    );
    assert_eq!(d.take_sent()[0].header("receipt-id"), Some("r"));
}

use std::string::ToString;

#[test]
fn client_individual_and_nack_1_1() {
    let mut d = Driver::connected("1.1");
    d.feed(b"SUBSCRIBE\nid:a\ndestination:/q\nack:client-individual\n\n\0");
    d.message("a", "m1").unwrap();
    d.message("a", "m2").unwrap();
    d.take_events();
    d.feed(b"NACK\nmessage-id:m2\nsubscription:a\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Nack {
            subscription: "a".into(),
            message_id: "m2".into(),
            settled: 1,
            transaction: None
        }]
    );
    assert!(d.s.is_unacked(b"a", b"m1"));
    d.feed(b"ACK\nmessage-id:m1\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::MissingHeader("subscription"))]
    );
    let mut d = Driver::connected("1.1");
    d.feed(b"ACK\nmessage-id:m1\nsubscription:zz\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Error(SessionError::UnknownSubscription)]
    );
}

#[test]
fn ack_1_0_by_message_id_and_in_transaction() {
    let mut d = Driver::connected("1.0");
    d.feed(b"SUBSCRIBE\ndestination:/q\nack:client\n\n\0BEGIN\ntransaction:t\n\n\0");
    d.message("/q", "m1").unwrap();
    d.take_events();
    d.feed(b"ACK\nmessage-id:m1\ntransaction:t\n\n\0");
    assert_eq!(d.take_events(), vec![]);
    assert!(d.s.is_unacked(b"/q", b"m1"));
    d.feed(b"COMMIT\ntransaction:t\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![
            Ev::Commit("t".into(), 1),
            Ev::Ack {
                subscription: "/q".into(),
                message_id: "m1".into(),
                settled: 1,
                transaction: Some("t".into())
            }
        ]
    );
    assert!(!d.s.is_unacked(b"/q", b"m1"));
}

/// A 1.2 session subscribed as `a` in `mode`, with messages `m1`..`m{count}` sent;
/// returns their `ack` header values.
fn with_messages(mode: &str, count: usize) -> (Driver, Vec<String>) {
    let mut d = Driver::connected("1.2");
    d.feed(format!("SUBSCRIBE\nid:a\ndestination:/q\nack:{mode}\n\n\0").as_bytes());
    let acks = (1..=count)
        .map(|i| {
            let m = d.message("a", &format!("m{i}")).unwrap();
            m.header("ack").unwrap().to_string()
        })
        .collect();
    d.take_events();
    (d, acks)
}

/// The event for an `ACK` or `NACK` (`cmd`) of message `m` of subscription `a`.
fn acked(cmd: &str, m: &str, settled: usize, tx: Option<&str>) -> Ev {
    let (subscription, message_id, transaction) = ("a".into(), m.into(), tx.map(String::from));
    if cmd == "ACK" {
        Ev::Ack {
            subscription,
            message_id,
            settled,
            transaction,
        }
    } else {
        Ev::Nack {
            subscription,
            message_id,
            settled,
            transaction,
        }
    }
}

#[test]
fn acks_in_a_transaction_settle_at_commit_in_order_with_its_sends() {
    let (mut d, acks) = with_messages("client-individual", 2);
    d.feed(b"BEGIN\ntransaction:t\n\n\0");
    d.feed(format!("ACK\nid:{}\ntransaction:t\nreceipt:r\n\n\0", acks[0]).as_bytes());
    d.feed(b"SEND\ndestination:/a\ntransaction:t\n\none\0");
    d.feed(format!("NACK\nid:{}\ntransaction:t\n\n\0", acks[1]).as_bytes());
    // Held: no event, both messages still await acknowledgement, the receipt is sent.
    assert_eq!(d.take_events(), vec![Ev::Begin("t".into())]);
    assert!(d.s.is_unacked(b"a", b"m1") && d.s.is_unacked(b"a", b"m2"));
    assert_eq!(d.s.unacked_count(), 2);
    assert_eq!(d.take_sent()[0].header("receipt-id"), Some("r"));
    d.feed(b"COMMIT\ntransaction:t\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![
            Ev::Commit("t".into(), 3),
            acked("ACK", "m1", 1, Some("t")),
            Ev::Send {
                destination: "/a".into(),
                transaction: Some("t".into()),
                body: b"one".to_vec()
            },
            acked("NACK", "m2", 1, Some("t")),
        ]
    );
    assert_eq!(d.s.unacked_count(), 0);
    assert_eq!(d.s.open_transactions(), 0);
}

#[test]
fn abort_drops_the_acks_of_its_transaction() {
    let (mut d, acks) = with_messages("client", 2);
    d.feed(b"BEGIN\ntransaction:t\n\n\0");
    d.feed(format!("ACK\nid:{}\ntransaction:t\n\n\0", acks[1]).as_bytes());
    d.feed(b"ABORT\ntransaction:t\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![Ev::Begin("t".into()), Ev::Abort("t".into(), 1)]
    );
    assert_eq!(d.s.unacked_count(), 2);
    // Still acknowledgeable, cumulatively, outside a transaction.
    d.feed(format!("ACK\nid:{}\n\n\0", acks[1]).as_bytes());
    assert_eq!(d.take_events(), vec![acked("ACK", "m2", 2, None)]);
}

#[test]
fn a_committed_ack_of_a_message_settled_meanwhile_is_skipped() {
    let (mut d, acks) = with_messages("client-individual", 2);
    d.feed(b"BEGIN\ntransaction:t\n\n\0");
    // m1 twice in the transaction, then outside it; m2 in it, then its subscription ends.
    for _ in 0..2 {
        d.feed(format!("ACK\nid:{}\ntransaction:t\n\n\0", acks[0]).as_bytes());
    }
    d.feed(format!("NACK\nid:{}\ntransaction:t\n\n\0", acks[1]).as_bytes());
    d.feed(format!("ACK\nid:{}\n\n\0", acks[0]).as_bytes());
    d.feed(b"COMMIT\ntransaction:t\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![
            Ev::Begin("t".into()),
            acked("ACK", "m1", 1, None),
            Ev::Commit("t".into(), 3),
            acked("NACK", "m2", 1, Some("t")),
        ]
    );
    let (mut d, acks) = with_messages("client-individual", 1);
    d.feed(b"BEGIN\ntransaction:t\n\n\0");
    d.feed(format!("ACK\nid:{}\ntransaction:t\n\n\0", acks[0]).as_bytes());
    d.feed(b"UNSUBSCRIBE\nid:a\n\n\0COMMIT\ntransaction:t\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![
            Ev::Begin("t".into()),
            Ev::Unsubscribe("a".into()),
            Ev::Commit("t".into(), 1),
        ]
    );
    assert!(d.s.is_connected());
}

#[test]
fn acks_in_a_transaction_are_checked_when_they_arrive() {
    let (mut d, _) = with_messages("client", 1);
    d.feed(b"BEGIN\ntransaction:t\n\n\0ACK\nid:999\ntransaction:t\n\n\0");
    assert_eq!(
        d.take_events(),
        vec![
            Ev::Begin("t".into()),
            Ev::Error(SessionError::UnknownMessage)
        ]
    );
    // A session that ends with an ACK held leaves its message unacknowledged.
    let (mut d, acks) = with_messages("client", 1);
    d.feed(b"BEGIN\ntransaction:t\n\n\0");
    d.feed(format!("ACK\nid:{}\ntransaction:t\n\n\0DISCONNECT\n\n\0", acks[0]).as_bytes());
    assert_eq!(d.take_events(), vec![Ev::Begin("t".into()), Ev::Disconnect]);
    assert!(d.s.is_unacked(b"a", b"m1"));
}

#[test]
fn write_message_rules() {
    let mut d = Driver::connected("1.2");
    assert_eq!(
        d.message("a", "m").unwrap_err(),
        MessageError::UnknownSubscription
    );
    d.feed(
        b"SUBSCRIBE\nid:a\ndestination:/q\n\n\0SUBSCRIBE\nid:c\ndestination:/q\nack:client\n\n\0",
    );
    let m = d.message("a", "m").unwrap();
    assert_eq!(m.header("ack"), None); // auto mode
    assert_eq!(d.s.unacked_count(), 0);
    for i in 0..4 {
        d.message("c", &format!("m{i}")).unwrap();
    }
    assert_eq!(
        d.message("c", "m9").unwrap_err(),
        MessageError::TooManyUnacked
    );
    let long = "x".repeat(MAX_ID_LEN + 1);
    d.feed(b"UNSUBSCRIBE\nid:c\n\n\0");
    assert_eq!(d.s.unacked_count(), 0);
    d.feed(b"SUBSCRIBE\nid:c\ndestination:/q\nack:client\n\n\0");
    assert_eq!(
        d.message("c", &long).unwrap_err(),
        MessageError::MessageIdTooLong
    );
    assert_eq!(
        d.message("gone", "m").unwrap_err(),
        MessageError::UnknownSubscription
    );
    // Too small a buffer: needed size reported, nothing recorded.
    let mut small = [0u8; 10];
    let r =
        d.s.write_message(d.now, outgoing(b"c", b"m", b"a:b\n"), &mut small);
    assert!(matches!(
        r,
        Err(MessageError::Encode(EncodeError::BufferTooSmall(_)))
    ));
    assert_eq!(d.s.unacked_count(), 0);
    // Escaping in 1.2.
    let mut out = [0u8; 256];
    let n =
        d.s.write_message(d.now, outgoing(b"a", b"m:1", b"k:v\\nw\n"), &mut out)
            .unwrap();
    let text = core::str::from_utf8(&out[..n]).unwrap();
    assert!(text.contains("message-id:m\\c1\n") && text.contains("k:v\\nw\n"));
    // Headers escaped under other rules are escaped again; frame headers are not carried.
    let lines = HeaderLines::with_escaping(b"k:a:b\\\nreceipt:1\n", Escaping::None);
    let message = OutgoingMessage {
        headers: lines,
        ..outgoing(b"a", b"m2", b"")
    };
    let n = d.s.write_message(d.now, message, &mut out).unwrap();
    let text = core::str::from_utf8(&out[..n]).unwrap();
    assert!(
        text.contains("\nk:a\\cb\\\\\n") && !text.contains("receipt"),
        "{text}"
    );
}

fn outgoing<'m>(
    subscription: &'m [u8],
    message_id: &'m [u8],
    headers: &'m [u8],
) -> OutgoingMessage<'m, core::iter::Copied<core::slice::Iter<'m, u8>>> {
    OutgoingMessage {
        subscription,
        message_id,
        destination: b"/q".iter().copied(),
        headers: HeaderLines::new(headers),
        body: b"",
    }
}

#[test]
fn heart_beats_sent_and_silence_closes() {
    let mut d = Driver::new();
    d.feed(b"CONNECT\naccept-version:1.2\nheart-beat:5000,20000\n\n\0");
    d.take_sent();
    d.take_events();
    let hb = d.s.heart_beat_intervals();
    assert_eq!(hb.send_every_ms, Some(20000));
    assert_eq!(hb.expect_every_ms, Some(10000));
    // Receive deadline 2 x 10000; send deadline 20000.
    assert_eq!(d.s.poll_timeout(), Some(Instant(20000)));
    d.advance(9000);
    d.feed(b"\n"); // client heart-beat at 9000
    assert_eq!(d.s.poll_timeout(), Some(Instant(20000)));
    d.advance(11000); // 20000: our heart-beat is due
    assert_eq!(commands(&d.take_sent()), vec![None]);
    assert_eq!(d.s.poll_timeout(), Some(Instant(29000)));
    d.advance(8999);
    assert!(!d.s.is_closed());
    d.advance(1);
    assert_eq!(d.take_events(), vec![Ev::HeartbeatTimeout]);
    assert!(d.s.is_closed());
    assert_eq!(d.s.poll_timeout(), None);
    d.feed(b"SEND\ndestination:/a\n\n\0");
    assert!(d.take_events().is_empty());
}

#[test]
fn messages_postpone_heart_beats_and_tolerance_configurable() {
    let config = ServerSessionConfig {
        heart_beat: HeartBeat {
            send_ms: 1000,
            receive_ms: 1000,
        },
        heart_beat_tolerance_percent: 150,
        ..ServerSessionConfig::default()
    };
    let mut d = Driver::with(config);
    d.feed(b"CONNECT\naccept-version:1.2\nheart-beat:1000,1000\n\n\0SUBSCRIBE\nid:a\ndestination:/q\n\n\0");
    d.take_sent();
    assert_eq!(d.s.poll_timeout(), Some(Instant(1000)));
    d.now = Instant(800);
    d.s.handle_timeout(d.now);
    d.message("a", "m").unwrap();
    assert_eq!(d.s.poll_timeout(), Some(Instant(1500))); // receive: 1.5 x 1000
    d.advance(700); // 1500
    assert_eq!(d.take_events().last(), Some(&Ev::HeartbeatTimeout));
}

#[test]
fn disconnect_with_and_without_receipt() {
    let mut d = Driver::connected("1.2");
    d.feed(b"BEGIN\ntransaction:t\n\n\0SEND\ndestination:/a\ntransaction:t\n\nx\0");
    d.take_events();
    let read = d.s.read(b"DISCONNECT\nreceipt:77\n\n\0", Instant(0));
    assert!(matches!(
        read.status,
        Status::Event(ServerEvent::Disconnect { .. })
    ));
    assert!(!d.s.is_closed());
    assert_eq!(d.s.open_transactions(), 0);
    d.drain();
    let sent = d.take_sent();
    assert_eq!(commands(&sent), vec![Some(Command::Receipt)]);
    assert_eq!(sent[0].header("receipt-id"), Some("77"));
    assert!(d.s.is_closed());
    d.feed(b"SEND\ndestination:/a\nreceipt:x\n\n\0");
    assert!(d.take_events().is_empty() && d.take_sent().is_empty());

    let mut d = Driver::connected("1.2");
    d.feed(b"DISCONNECT\n\n\0");
    assert_eq!(d.take_events(), vec![Ev::Disconnect]);
    assert!(d.s.is_closed());
    assert!(d.take_sent().is_empty());
    assert_eq!(d.message("a", "m").unwrap_err(), MessageError::NotConnected);
}

#[test]
fn after_error_nothing_more() {
    let mut d = Driver::connected("1.2");
    d.feed(b"SUBSCRIBE\nid:a\ndestination:/q\n\n\0");
    d.feed(b"NOPE\n\n\0SEND\ndestination:/a\nreceipt:r\n\n\0");
    assert_eq!(commands(&d.take_sent()), vec![Some(Command::Error)]);
    assert!(d.s.is_closed());
    assert_eq!(d.message("a", "m").unwrap_err(), MessageError::NotConnected);
    d.advance(1_000_000);
    assert!(d.take_sent().is_empty());
    let mut out = [0u8; 64];
    assert_eq!(d.s.poll_transmit(d.now, &mut out), Ok(None));
    assert_eq!(d.s.poll_timeout(), None);
    assert_eq!(d.s.close(d.now, "again"), Err(ActionError::Closed));
    assert_eq!(d.s.poll_transmit(d.now, &mut out), Ok(None));
    assert_eq!(d.s.read(b"SEND\n", d.now), Read::closed(5));
}

#[test]
fn server_initiated_error() {
    let mut d = Driver::connected("1.2");
    d.s.close(d.now, "destination forbidden").unwrap();
    let sent = d.take_sent();
    assert!(sent.is_empty());
    d.drain();
    let sent = d.take_sent();
    assert_eq!(sent[0].header("message"), Some("destination forbidden"));
    assert!(d.s.is_closed());
}

#[test]
fn a_refused_frame_gets_its_receipt_in_the_error_only() {
    let mut d = Driver::connected("1.2");
    // Read the frame without draining, as a broker session does before it decides.
    let read = d.s.read(
        b"SUBSCRIBE\nid:0\ndestination:/**\nreceipt:r-9\n\n\0",
        d.now,
    );
    assert!(matches!(
        read.status,
        Status::Event(ServerEvent::Subscribe { .. })
    ));
    d.s.refuse(d.now, "bad pattern").unwrap();
    d.drain();
    let sent = d.take_sent();
    assert_eq!(commands(&sent), vec![Some(Command::Error)]);
    assert_eq!(sent[0].header("receipt-id"), Some("r-9"));
    assert_eq!(sent[0].header("message"), Some("bad pattern"));
    // A receipt already sent is not taken back.
    let mut d = Driver::connected("1.2");
    d.feed(b"SUBSCRIBE\nid:0\ndestination:/a\nreceipt:r-1\n\n\0");
    d.s.refuse(d.now, "late").unwrap();
    d.drain();
    let sent = d.take_sent();
    assert_eq!(
        commands(&sent),
        vec![Some(Command::Receipt), Some(Command::Error)]
    );
    assert_eq!(sent[1].header("receipt-id"), None);
}

#[test]
fn receipt_queue_back_pressure_and_small_buffers() {
    let now = Instant(0);
    let mut s = Session::new(ServerSessionConfig::default(), Id::from_decimal(1), now);
    let mut input = b"CONNECT\naccept-version:1.2\n\n\0".to_vec();
    for i in 0..6 {
        input.extend_from_slice(format!("SEND\ndestination:/a\nreceipt:{i}\n\n\0").as_bytes());
    }
    let mut at = 0;
    let mut events = 0;
    let paused = loop {
        let read = s.read(&input[at..], now);
        at += read.consumed;
        match read.status {
            Status::Event(ServerEvent::Connect { .. }) => s.accept_connect(now).unwrap(),
            Status::Event(_) => events += 1,
            other => break other.kind(),
        }
    };
    assert_eq!(paused, StatusKind::Paused(Pause::Transmit));
    assert_eq!(events, RECEIPT_QUEUE);
    let mut tiny = [0u8; 4];
    let needed = match s.poll_transmit(now, &mut tiny) {
        Err(BufferTooSmall { needed }) => needed,
        other => panic!("{other:?}"),
    };
    let mut out = vec![0u8; needed];
    assert_eq!(s.poll_transmit(now, &mut out), Ok(Some(needed)));
    assert!(out.starts_with(b"CONNECTED\n"));
    let mut out = [0u8; 64];
    let mut receipts = 0;
    while let Some(n) = s.poll_transmit(now, &mut out).unwrap() {
        assert!(out[..n].starts_with(b"RECEIPT\nreceipt-id:"));
        receipts += 1;
    }
    assert_eq!(receipts, RECEIPT_QUEUE);
    let read = s.read(&input[at..], now);
    assert!(read.consumed > 0 && matches!(read.status, Status::Event(ServerEvent::Send { .. })));
}

#[test]
fn invalid_ids_rejected() {
    let mut d = Driver::connected("1.2");
    let long = "x".repeat(MAX_ID_LEN + 1);
    d.feed(format!("SUBSCRIBE\nid:{long}\ndestination:/a\n\n\0").as_bytes());
    assert_eq!(d.take_events(), vec![Ev::Error(SessionError::InvalidId)]);
    let mut d = Driver::connected("1.1");
    // A receipt ending in CR cannot be echoed in 1.1.
    d.feed(b"SEND\ndestination:/a\nreceipt:r\r\r\n\n\0");
    assert_eq!(d.take_events(), vec![Ev::Error(SessionError::InvalidId)]);
    assert_eq!(d.take_sent()[0].header("receipt-id"), None);
}

mod model {
    //! Random sequences of legal and illegal client frames, chunked at random, with time
    //! advances and MESSAGE writes; the session's invariants are checked against a model.
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[derive(Debug, Clone)]
    enum ClientFrame {
        Connect(u8),
        Subscribe { sub: u8, ack: u8 },
        Unsubscribe { sub: u8 },
        Send { tx: Option<u8> },
        Begin { tx: u8 },
        Commit { tx: u8 },
        Abort { tx: u8 },
        Ack { msg: u8, nack: bool, tx: Option<u8> },
        Disconnect,
        Garbage(Vec<u8>),
        HeartBeat,
    }

    #[derive(Debug, Clone)]
    enum Op {
        Frame(ClientFrame, bool, Vec<usize>),
        Advance(u64),
        Message(u8),
    }

    fn client_frame() -> impl Strategy<Value = ClientFrame> {
        prop_oneof![
            1 => (0u8..4).prop_map(ClientFrame::Connect),
            3 => (0u8..4, 0u8..4).prop_map(|(sub, ack)| ClientFrame::Subscribe { sub, ack }),
            1 => (0u8..4).prop_map(|sub| ClientFrame::Unsubscribe { sub }),
            3 => proptest::option::of(0u8..3).prop_map(|tx| ClientFrame::Send { tx }),
            2 => (0u8..3).prop_map(|tx| ClientFrame::Begin { tx }),
            1 => (0u8..3).prop_map(|tx| ClientFrame::Commit { tx }),
            1 => (0u8..3).prop_map(|tx| ClientFrame::Abort { tx }),
            3 => (any::<u8>(), any::<bool>(), proptest::option::of(0u8..3))
                .prop_map(|(msg, nack, tx)| ClientFrame::Ack { msg, nack, tx }),
            1 => Just(ClientFrame::Disconnect),
            1 => proptest::collection::vec(any::<u8>(), 0..12).prop_map(ClientFrame::Garbage),
            1 => Just(ClientFrame::HeartBeat),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (client_frame(), any::<bool>(), proptest::collection::vec(1usize..40, 1..4))
                .prop_map(|(f, r, c)| Op::Frame(f, r, c)),
            1 => (0u64..25_000).prop_map(Op::Advance),
            2 => (0u8..5).prop_map(Op::Message),
        ]
    }

    /// A frame held for a transaction: a `SEND`'s body, or the message id an `ACK` or
    /// `NACK` names (skipped at `COMMIT` when the message was settled meanwhile).
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Held {
        Send(Vec<u8>),
        Ack(String),
    }

    struct Model {
        d: Driver,
        next_receipt: usize,
        next_label: usize,
        next_message: usize,
        expected_receipts: BTreeSet<String>,
        subscribed: BTreeSet<String>,
        open_tx: BTreeMap<String, Vec<Held>>,
        dropped: BTreeSet<Vec<u8>>,
        replay: Vec<Held>,
        messages: Vec<(String, String, Option<String>)>,
        seen_events: usize,
        over: bool,
    }

    impl Model {
        fn render(&mut self, f: &ClientFrame, receipt: bool) -> (Vec<u8>, Option<String>) {
            let r = receipt.then(|| {
                self.next_receipt += 1;
                format!("r{}", self.next_receipt)
            });
            let rh = r
                .as_ref()
                .map(|r| format!("receipt:{r}\n"))
                .unwrap_or_default();
            let tx = |t: u8| format!("t{t}");
            let text = match f {
                ClientFrame::Connect(v) => {
                    let r = match v {
                        0 => "CONNECT\naccept-version:1.0,1.1,1.2\nheart-beat:0,1000\n\n\0",
                        1 => "CONNECT\naccept-version:1.1\n\n\0",
                        2 => "STOMP\n\n\0",
                        _ => "CONNECT\naccept-version:9.9\n\n\0",
                    };
                    return (r.as_bytes().to_vec(), None);
                }
                ClientFrame::Subscribe { sub, ack } => {
                    let ack = ["auto", "client", "client-individual", "never"][usize::from(*ack)];
                    format!("SUBSCRIBE\nid:s{sub}\ndestination:/q\nack:{ack}\n{rh}\n\0")
                }
                ClientFrame::Unsubscribe { sub } => format!("UNSUBSCRIBE\nid:s{sub}\n{rh}\n\0"),
                ClientFrame::Send { tx: t } => {
                    self.next_label += 1;
                    let label = format!("b{}", self.next_label);
                    let txh = match t {
                        Some(t) => {
                            let name = tx(*t);
                            if !self.over {
                                if let Some(held) = self.open_tx.get_mut(&name) {
                                    held.push(Held::Send(label.clone().into_bytes()));
                                }
                            }
                            format!("transaction:{name}\n")
                        }
                        None => String::new(),
                    };
                    format!("SEND\ndestination:/q\n{txh}{rh}\n{label}\0")
                }
                ClientFrame::Begin { tx: t } => format!("BEGIN\ntransaction:{}\n{rh}\n\0", tx(*t)),
                ClientFrame::Commit { tx: t } => {
                    format!("COMMIT\ntransaction:{}\n{rh}\n\0", tx(*t))
                }
                ClientFrame::Abort { tx: t } => format!("ABORT\ntransaction:{}\n{rh}\n\0", tx(*t)),
                ClientFrame::Ack { msg, nack, tx: t } => {
                    let cmd = if *nack { "NACK" } else { "ACK" };
                    let m = self
                        .messages
                        .get(usize::from(*msg) % self.messages.len().max(1))
                        .cloned()
                        .unwrap_or(("s0".into(), "m999".into(), Some("999".into())));
                    let txh = match t {
                        Some(t) => {
                            let name = tx(*t);
                            if let Some(held) = self.open_tx.get_mut(&name).filter(|_| !self.over) {
                                held.push(Held::Ack(m.1.clone()));
                            }
                            format!("transaction:{name}\n")
                        }
                        None => String::new(),
                    };
                    let h = if self.d.s.version() == Version::V1_2 {
                        format!("id:{}\n", m.2.unwrap_or("998".into()))
                    } else {
                        format!("message-id:{}\nsubscription:{}\n", m.1, m.0)
                    };
                    format!("{cmd}\n{h}{txh}{rh}\n\0")
                }
                ClientFrame::Disconnect => format!("DISCONNECT\n{rh}\n\0"),
                ClientFrame::Garbage(g) => {
                    let mut b = b"X".to_vec();
                    b.extend(g.iter().map(|&c| if c == 0 { b'0' } else { c }));
                    b.push(b'\n');
                    return (b, None);
                }
                ClientFrame::HeartBeat => return (b"\n".to_vec(), None),
            };
            (text.into_bytes(), r)
        }

        /// Checks the events that arrived since the last call against the model.
        fn observe(&mut self) {
            let events = self.d.events[self.seen_events..].to_vec();
            self.seen_events = self.d.events.len();
            for ev in events {
                assert!(!self.over, "event after the session ended: {ev:?}");
                let committed = matches!(
                    &ev,
                    Ev::Send {
                        transaction: Some(_),
                        ..
                    } | Ev::Ack {
                        transaction: Some(_),
                        ..
                    } | Ev::Nack {
                        transaction: Some(_),
                        ..
                    }
                );
                if !committed {
                    self.replayed();
                }
                match ev {
                    Ev::Subscribe { id, .. } => {
                        self.subscribed.insert(id);
                    }
                    Ev::Unsubscribe(id) => {
                        self.subscribed.remove(&id);
                        self.messages.retain(|m| m.0 != id);
                    }
                    Ev::Begin(t) => {
                        assert!(self.open_tx.insert(t, Vec::new()).is_none());
                    }
                    Ev::Commit(t, held) => {
                        let frames = self.open_tx.remove(&t).unwrap();
                        assert_eq!(held, frames.len());
                        self.replay = frames;
                    }
                    Ev::Abort(t, discarded) => {
                        let frames = self.open_tx.remove(&t).unwrap();
                        assert_eq!(discarded, frames.len());
                        self.drop_held(frames);
                    }
                    Ev::Send {
                        transaction, body, ..
                    } => {
                        assert!(!self.dropped.contains(&body), "aborted frame emitted");
                        if transaction.is_some() {
                            self.committed(Held::Send(body));
                        }
                    }
                    Ev::Ack {
                        message_id,
                        transaction: Some(_),
                        ..
                    }
                    | Ev::Nack {
                        message_id,
                        transaction: Some(_),
                        ..
                    } => self.committed(Held::Ack(message_id)),
                    Ev::Ack { .. } | Ev::Nack { .. } => {}
                    Ev::Connect { .. } => {}
                    Ev::Disconnect | Ev::HeartbeatTimeout | Ev::ConnectTimeout | Ev::Error(_) => {
                        self.end()
                    }
                }
            }
            self.replayed();
        }

        /// A frame of the commit being replayed was reported: the next held one, after
        /// `ACK`s skipped.
        fn committed(&mut self, held: Held) {
            self.skip_acks_until(|h| *h == held);
            assert!(
                !self.replay.is_empty(),
                "{held:?} before COMMIT, or out of order"
            );
            assert_eq!(self.replay.remove(0), held);
        }

        /// Drops the `ACK`s at the head of the replay (skipped by the session) up to
        /// the first frame that `is`.
        fn skip_acks_until(&mut self, is: impl Fn(&Held) -> bool) {
            while self
                .replay
                .first()
                .is_some_and(|h| matches!(h, Held::Ack(_)) && !is(h))
            {
                self.replay.remove(0);
            }
        }

        /// The commit being replayed is over: what it did not report may only be
        /// `ACK`s of messages settled meanwhile.
        fn replayed(&mut self) {
            self.skip_acks_until(|_| false);
            assert!(self.replay.is_empty(), "commit not fully replayed");
        }

        fn drop_held(&mut self, frames: impl IntoIterator<Item = Held>) {
            for h in frames {
                if let Held::Send(body) = h {
                    self.dropped.insert(body);
                }
            }
        }

        fn end(&mut self) {
            self.over = true;
            self.subscribed.clear();
            let open = core::mem::take(&mut self.open_tx);
            self.drop_held(open.into_values().flatten());
        }
    }

    fn run(ops: Vec<Op>) {
        let mut m = Model {
            d: Driver::new(),
            next_receipt: 0,
            next_label: 0,
            next_message: 0,
            expected_receipts: BTreeSet::new(),
            subscribed: BTreeSet::new(),
            open_tx: BTreeMap::new(),
            dropped: BTreeSet::new(),
            replay: Vec::new(),
            messages: Vec::new(),
            seen_events: 0,
            over: false,
        };
        for op in ops {
            match op {
                Op::Frame(f, receipt, chunks) => {
                    let (bytes, r) = m.render(&f, receipt);
                    if let Some(r) = r {
                        if !m.over {
                            m.expected_receipts.insert(r);
                        }
                    }
                    let mut rest = &bytes[..];
                    for size in chunks.iter().cycle() {
                        if rest.is_empty() {
                            break;
                        }
                        let (a, b) = rest.split_at((*size).min(rest.len()));
                        m.d.feed(a);
                        rest = b;
                    }
                    if m.over {
                        assert!(m.d.pending.is_empty());
                    }
                }
                Op::Advance(ms) => {
                    m.d.advance(ms);
                }
                Op::Message(sub) => {
                    let sub = format!("s{sub}");
                    m.next_message += 1;
                    let mid = format!("m{}", m.next_message);
                    match m.d.message(&sub, &mid) {
                        Ok(out) => {
                            assert!(m.subscribed.contains(&sub), "MESSAGE for unsubscribed id");
                            assert!(!m.over);
                            assert_eq!(out.header("subscription"), Some(sub.as_str()));
                            let ack = out.header("ack").map(String::from);
                            m.messages.push((sub, mid, ack));
                        }
                        Err(MessageError::UnknownSubscription) => {
                            assert!(!m.subscribed.contains(&sub))
                        }
                        Err(_) => {}
                    }
                }
            }
            m.observe();
        }
        // Every receipt asked for while the session was live is answered exactly once,
        // by a RECEIPT or by the ERROR frame; nothing follows an ERROR.
        let mut answered = Vec::new();
        for (i, out) in m.d.sent.iter().enumerate() {
            if out.command == Some(Command::Error) {
                assert_eq!(i + 1, m.d.sent.len(), "output after ERROR");
            }
            if let Some(r) = out.header("receipt-id") {
                answered.push(String::from(r));
            }
        }
        let unique: BTreeSet<String> = answered.iter().cloned().collect();
        assert_eq!(unique.len(), answered.len(), "a receipt answered twice");
        assert_eq!(unique, m.expected_receipts);
    }

    #[test]
    fn the_model_follows_an_ack_through_its_transaction() {
        let ops = vec![
            Op::Frame(ClientFrame::Connect(0), false, vec![64]),
            Op::Frame(ClientFrame::Subscribe { sub: 0, ack: 2 }, false, vec![64]),
            Op::Message(0),
            Op::Frame(ClientFrame::Begin { tx: 0 }, false, vec![64]),
            Op::Frame(
                ClientFrame::Ack {
                    msg: 0,
                    nack: false,
                    tx: Some(0),
                },
                false,
                vec![64],
            ),
            Op::Frame(ClientFrame::Send { tx: Some(0) }, false, vec![64]),
            Op::Frame(ClientFrame::Commit { tx: 0 }, false, vec![64]),
        ];
        run(ops);
    }

    /// Mostly legal frames around transactions and acknowledgements, so that sessions
    /// live long enough to commit and abort `ACK`s.
    fn transactional_op() -> impl Strategy<Value = Op> {
        let frame = prop_oneof![
            2 => (0u8..2, 1u8..3).prop_map(|(sub, ack)| ClientFrame::Subscribe { sub, ack }),
            1 => Just(ClientFrame::Unsubscribe { sub: 1 }),
            2 => proptest::option::of(0u8..2).prop_map(|tx| ClientFrame::Send { tx }),
            2 => (0u8..2).prop_map(|tx| ClientFrame::Begin { tx }),
            2 => (0u8..2).prop_map(|tx| ClientFrame::Commit { tx }),
            1 => (0u8..2).prop_map(|tx| ClientFrame::Abort { tx }),
            4 => (any::<u8>(), any::<bool>(), proptest::option::weighted(0.8, 0u8..2))
                .prop_map(|(msg, nack, tx)| ClientFrame::Ack { msg, nack, tx }),
        ];
        prop_oneof![
            4 => (frame, any::<bool>(), proptest::collection::vec(1usize..40, 1..3))
                .prop_map(|(f, r, c)| Op::Frame(f, r, c)),
            2 => (0u8..2).prop_map(Op::Message),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn acks_in_transactions_keep_the_invariants(
            ops in proptest::collection::vec(transactional_op(), 0..40),
            connect in 0u8..3,
        ) {
            let mut all = vec![Op::Frame(ClientFrame::Connect(connect), false, vec![64])];
            all.extend(ops);
            run(all);
        }

        #[test]
        fn session_keeps_its_invariants(
            ops in proptest::collection::vec(op(), 0..60),
            connect in 0u8..3,
        ) {
            let mut all = vec![Op::Frame(ClientFrame::Connect(connect), false, vec![64])];
            all.extend(ops);
            run(all);
        }

        #[test]
        fn session_keeps_its_invariants_without_connect(
            ops in proptest::collection::vec(op(), 0..30),
        ) {
            run(ops);
        }
    }
}

#[test]
fn an_error_for_a_frame_over_a_limit_names_the_limit() {
    let limits = Limits {
        max_body: 8,
        max_headers: 3,
        max_header_line: 20,
    };
    let config = ServerSessionConfig {
        limits,
        ..ServerSessionConfig::default()
    };
    for (frame, message) in [
        (&b"SEND\ndestination:/a\n\n12345678\0"[..], None),
        (
            b"SEND\ndestination:/a\n\n123456789\0",
            Some("frame body exceeds 8 bytes"),
        ),
        (
            b"SEND\ndestination:/a\ncontent-length:9\n\n123456789\0",
            Some("frame body exceeds 8 bytes"),
        ),
        (
            b"SEND\ndestination:/a\nx:aaaaaaaaaaaaaaaaaaaa\n\n\0",
            Some("header line exceeds 20 bytes"),
        ),
        (
            b"SEND\ndestination:/a\na:1\nb:2\nc:3\n\n\0",
            Some("more than 3 headers"),
        ),
    ] {
        let mut d = Driver::with(config);
        d.feed(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0");
        d.take_sent();
        d.feed(frame);
        let sent = d.take_sent();
        match message {
            None => assert!(sent.is_empty() && d.s.is_connected(), "{sent:?}"),
            Some(m) => {
                assert_eq!(sent.len(), 1, "{sent:?}");
                assert_eq!(sent[0].command, Some(Command::Error));
                assert_eq!(sent[0].header("message"), Some(m));
            }
        }
    }
    let mut buf = [0u8; LIMIT_MESSAGE_LEN];
    let huge = Limits {
        max_header_line: usize::MAX,
        ..limits
    };
    let e = SessionError::Decode(DecodeError::HeaderLineTooLong);
    assert!(e
        .message_with_limits(&huge, &mut buf)
        .ends_with("615 bytes"));
    let e = SessionError::UnknownMessage;
    assert_eq!(e.message_with_limits(&huge, &mut buf), e.message());
}
