//! Properties of a STOMP client/server pair driven by random operations, wire cuts,
//! buffer sizes and time.

extern crate std;

use super::super::{
    ClientRecord, Cut, Dir, Pair, ServerRecord, StompClient, StompClientOps, StompServer,
};
use crate::stomp::{AckMode, HeartBeat, Id, ServerSession, ServerSessionConfig};
use crate::time::Instant;
use proptest::prelude::*;
use std::collections::HashMap;
use std::format;
use std::string::String;
use std::vec::Vec;

/// One thing the test does to the pair.
#[derive(Debug, Clone)]
enum Op {
    /// A SEND, maybe in a transaction, maybe asking for a receipt.
    Send {
        tx: Option<u8>,
        receipt: bool,
    },
    Begin(u8),
    Commit(u8),
    Abort(u8),
    Subscribe(u8),
    /// A MESSAGE from the server for a subscription.
    Message(u8),
    /// Time passes.
    Advance(u16),
    /// The server ends the session with an ERROR.
    ServerClose,
    /// The client sends DISCONNECT.
    Disconnect {
        receipt: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (proptest::option::of(0u8..3), any::<bool>())
            .prop_map(|(tx, receipt)| Op::Send { tx, receipt }),
        1 => (0u8..3).prop_map(Op::Begin),
        1 => (0u8..3).prop_map(Op::Commit),
        1 => (0u8..3).prop_map(Op::Abort),
        1 => (0u8..3).prop_map(Op::Subscribe),
        2 => (0u8..4).prop_map(Op::Message),
        2 => (0u16..400).prop_map(Op::Advance),
        1 => Just(Op::ServerClose),
        1 => any::<bool>().prop_map(|receipt| Op::Disconnect { receipt }),
    ]
}

fn cut() -> impl Strategy<Value = Cut> {
    prop_oneof![
        Just(Cut::Whole),
        proptest::collection::vec(1usize..16, 1..5).prop_map(Cut::Pieces),
    ]
}

/// What the server should report as SENDs, from what the client built.
#[derive(Default)]
struct Model {
    expected_sends: Vec<Vec<u8>>,
    held: HashMap<u8, Vec<Vec<u8>>>,
    receipts: Vec<String>,
    messages: Vec<Vec<u8>>,
    /// The client sent DISCONNECT (what comes later it may ignore).
    disconnected: bool,
    next: u32,
}

impl Model {
    fn body(&mut self) -> Vec<u8> {
        self.next += 1;
        format!("b{}", self.next).into_bytes()
    }

    fn receipt(&mut self, wanted: bool) -> Option<String> {
        wanted.then(|| {
            self.next += 1;
            format!("r{}", self.next)
        })
    }
}

type StompPair = Pair<StompClient, StompServer<ServerSession<4, 2, 8, 512>>>;

fn pair(cuts: (Cut, Cut), caps: (usize, usize)) -> StompPair {
    let beats = HeartBeat {
        send_ms: 100,
        receive_ms: 100,
    };
    let config = ServerSessionConfig {
        heart_beat: beats,
        ..ServerSessionConfig::default()
    };
    let server = ServerSession::new(config, Id::from_decimal(7), Instant(0));
    let mut pair = Pair::new(StompClient::new(), StompServer::new(server));
    pair.link(Dir::ToServer).cut = cuts.0;
    pair.link(Dir::ToClient).cut = cuts.1;
    pair.link(Dir::ToServer).out_cap = caps.0;
    pair.link(Dir::ToClient).out_cap = caps.1;
    pair.client_mut().connect(Instant(0), beats).unwrap();
    pair.drive();
    pair
}

/// Whether `part` is `whole` with some elements left out, in the same order.
fn is_subsequence<T: PartialEq>(part: &[T], whole: &[T]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}

fn apply(pair: &mut StompPair, model: &mut Model, op: Op) {
    let now = pair.now();
    match op {
        Op::Send { tx, receipt } => {
            let body = model.body();
            let receipt = model.receipt(receipt);
            let tx_name = tx.map(|t| format!("t{t}"));
            let built = pair.client_mut().send(
                now,
                "/queue/q",
                &body,
                tx_name.as_deref(),
                receipt.as_deref(),
            );
            if built.is_ok() {
                model.receipts.extend(receipt);
                match tx {
                    Some(t) => model.held.entry(t).or_default().push(body),
                    None => model.expected_sends.push(body),
                }
            }
        }
        Op::Begin(t) => {
            if pair.client_mut().begin(now, &format!("t{t}"), None).is_ok() {
                model.held.insert(t, Vec::new());
            }
        }
        Op::Commit(t) => {
            if pair
                .client_mut()
                .commit(now, &format!("t{t}"), None)
                .is_ok()
            {
                let held = model.held.remove(&t).unwrap_or_default();
                model.expected_sends.extend(held);
            }
        }
        Op::Abort(t) => {
            if pair.client_mut().abort(now, &format!("t{t}"), None).is_ok() {
                model.held.remove(&t);
            }
        }
        Op::Subscribe(s) => {
            let id = format!("s{s}");
            let _ = pair
                .client_mut()
                .subscribe(now, &id, "/queue/q", AckMode::Auto, None);
        }
        Op::Message(s) => {
            let body = model.body();
            let id = format!("m{}", model.next);
            let sub = format!("s{s}");
            if pair
                .server_mut()
                .message(now, &sub, &id, "/queue/q", &body)
                .is_ok()
            {
                model.messages.push(body);
            }
        }
        Op::Advance(ms) => pair.advance(u64::from(ms)),
        Op::ServerClose => {
            let _ = pair.server_mut().close(now, "bye");
        }
        Op::Disconnect { receipt } => {
            let receipt = model.receipt(receipt);
            model.disconnected = true;
            if pair
                .client_mut()
                .disconnect(now, receipt.as_deref())
                .is_ok()
            {
                model.receipts.extend(receipt);
            }
        }
    }
    pair.drive();
}

proptest! {
    /// Whatever the cuts, buffer sizes, operations and time: heart-beats on time never
    /// time out; every receipt comes once and in order (all of them unless the server
    /// ended the session); the server reports exactly the SENDs the client made outside
    /// transactions and in committed ones, in order (a prefix of them if it ended);
    /// every MESSAGE the server wrote reaches a client that is still connected, and none
    /// follows an ERROR (the harness checks that no event follows a terminal one, and
    /// that no byte is lost on the links).
    #[test]
    fn a_stomp_pair_keeps_its_invariants(
        ops in proptest::collection::vec(op(), 0..40),
        cuts in (cut(), cut()),
        caps in (1usize..80, 1usize..80),
    ) {
        let mut pair = pair(cuts, caps);
        let mut model = Model::default();
        for op in ops {
            apply(&mut pair, &mut model, op);
        }
        pair.advance(1000);
        let client = pair.client_events();
        let server = pair.server_events();
        prop_assert!(!client.contains(&ClientRecord::HeartbeatLost), "{:?}", client);
        prop_assert!(!server.contains(&ServerRecord::HeartbeatTimeout), "{:?}", server);
        let receipts = super::receipts(&client);
        let sends = super::server_bodies(&server);
        let ended_by_server = server.iter().any(|e| matches!(e, ServerRecord::ProtocolError(_)))
            || client.iter().any(|e| matches!(e, ClientRecord::Error { .. }));
        prop_assert!(is_subsequence(&receipts, &model.receipts), "{:?} vs {:?}", receipts, model.receipts);
        if ended_by_server {
            prop_assert!(model.expected_sends.starts_with(&sends), "{:?} vs {:?}", sends, model.expected_sends);
        } else {
            prop_assert_eq!(&receipts, &model.receipts);
            prop_assert_eq!(&sends, &model.expected_sends);
        }
        let messages = super::bodies(&client);
        prop_assert!(model.messages.starts_with(&messages), "{:?} vs {:?}", messages, model.messages);
        if !model.disconnected {
            prop_assert_eq!(&messages, &model.messages);
        }
    }
}
