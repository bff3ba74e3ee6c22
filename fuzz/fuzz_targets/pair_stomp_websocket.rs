//! A whole pair from one input: a STOMP client over a client WebSocket against the
//! STOMP-over-WebSocket stack, through the two-peer harness, with input-chosen
//! operations, message chunking, wire cuts, silent or slow links and time. The harness
//! asserts the machine contract on both sides (no event after a terminal one, reads
//! within their input, closed is final, deadlines move on, no byte lost on a link);
//! this target adds that every receipt comes at most once, and only if asked for.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::pair::{ClientRecord, Pair, StompClientOps, StompWsClient, WsChunking};
use sockwire_core::stomp::AckMode;
use sockwire_core::ws::{CloseCode, Config, Connection, Role};
use std::collections::HashSet;

#[path = "../common/input.rs"]
mod input;
#[path = "../common/stomp_wire.rs"]
mod stomp_wire;
#[path = "../common/wire.rs"]
mod wire;
use input::Input;

const DESTINATIONS: [&str; 3] = ["/queue/a", "/topic/b", "/app/x"];
const ACKS: [AckMode; 3] = [AckMode::Auto, AckMode::Client, AckMode::ClientIndividual];

/// A fresh id with `prefix` when `flag` is set.
fn maybe(flag: bool, prefix: &str, n: &mut u32) -> Option<String> {
    flag.then(|| {
        *n += 1;
        format!("{prefix}{n}")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let (cfg, more) = (input.byte(), input.byte());
    let ws_config = Config {
        close_timeout_ms: 1000,
        ..Config::default()
    };
    let server = stomp_wire::ws_stomp_server(cfg, ws_config, more & 0x80 != 0);
    let mut client = StompWsClient::new(Connection::new(Role::Client, ws_config, u64::from(cfg)));
    client.chunking = match (cfg >> 4) & 3 {
        0 => WsChunking::Frame,
        1 => WsChunking::Pieces(usize::from(more & 0x1f) + 1),
        2 => WsChunking::Batch,
        _ => WsChunking::Pieces(1),
    };
    client.fragment = (cfg & 0x40 != 0).then_some(usize::from(more >> 5) + 1);
    let mut pair = Pair::new(client, server);
    let mut asked: HashSet<String> = HashSet::new();
    let mut n = 0u32;
    let mut last_ack: Option<(String, String)> = None;
    while let Some(op) = input.next() {
        let now = pair.now();
        let arg = input.byte();
        let sub = format!("s{}", arg % 3);
        match op % 16 {
            0 => {
                let _ = pair.client_mut().connect(now, stomp_wire::heart_beat(arg));
            }
            1 => {
                let receipt = maybe(arg & 0x80 != 0, "r", &mut n);
                let dest = DESTINATIONS[usize::from(arg >> 2) % 3];
                let ack = ACKS[usize::from(arg >> 4) % 3];
                if pair
                    .client_mut()
                    .subscribe(now, &sub, dest, ack, receipt.as_deref())
                    .is_ok()
                {
                    asked.extend(receipt);
                }
            }
            2 => {
                let receipt = maybe(arg & 0x80 != 0, "r", &mut n);
                let c = pair.client_mut();
                if c.build(now, |s, out| {
                    s.unsubscribe(now, &sub, receipt.as_deref(), out)
                })
                .is_ok()
                {
                    asked.extend(receipt);
                }
            }
            3 => {
                let len = usize::from(input.byte());
                let body = input.take(len).to_vec();
                let receipt = maybe(arg & 0x80 != 0, "r", &mut n);
                let tx = (arg & 0x40 != 0).then(|| format!("t{}", arg % 2));
                let dest = DESTINATIONS[usize::from(arg >> 2) % 3];
                if pair
                    .client_mut()
                    .send(now, dest, &body, tx.as_deref(), receipt.as_deref())
                    .is_ok()
                {
                    asked.extend(receipt);
                }
            }
            4..=6 => {
                let tx = format!("t{}", arg % 2);
                let receipt = maybe(arg & 0x80 != 0, "r", &mut n);
                let c = pair.client_mut();
                let built = match op % 16 {
                    4 => c.begin(now, &tx, receipt.as_deref()),
                    5 => c.commit(now, &tx, receipt.as_deref()),
                    _ => c.abort(now, &tx, receipt.as_deref()),
                };
                if built.is_ok() {
                    asked.extend(receipt);
                }
            }
            7 => {
                if let Some((ack_id, sub)) = &last_ack {
                    let _ = pair.client_mut().ack(now, ack_id, sub, None);
                }
            }
            8 => stomp_wire::server_message(&mut pair, &mut input, &sub, &mut n),
            9 => pair.advance(u64::from(arg) * 10),
            10 => {
                pair.advance_to_next_timeout();
            }
            11 => {
                let _ = pair.server_mut().close(now, "bye");
            }
            12 => {
                let receipt = maybe(arg & 0x80 != 0, "d", &mut n);
                if pair
                    .client_mut()
                    .disconnect(now, receipt.as_deref())
                    .is_ok()
                {
                    asked.extend(receipt);
                }
            }
            13 => {
                let _ = pair.client_mut().ws.close(now, CloseCode::NORMAL, "");
            }
            14 => pair.client_mut().flush_batch(now),
            _ => wire::change_link(&mut pair, &mut input),
        }
        pair.drive();
        for e in pair.client_events().iter().rev().take(4) {
            if let ClientRecord::Message {
                ack_id,
                subscription: Some(sub),
                ..
            } = e
            {
                last_ack = Some((ack_id.clone(), sub.clone()));
                break;
            }
        }
    }
    pair.advance(10_000);
    let mut seen = HashSet::new();
    for e in pair.client_events() {
        if let ClientRecord::Receipt(r) = e {
            assert!(asked.contains(&r), "a receipt nobody asked for: {r}");
            assert!(seen.insert(r.clone()), "receipt {r} twice");
        }
    }
    let _ = wire::server_messages(&pair.link(sockwire_core::pair::Dir::ToClient).sent_bytes());
});
