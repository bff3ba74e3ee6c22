//! Three broker sessions over TCP carriers on one `SimpleBroker`, each fed arbitrary
//! bytes or STOMP frames (from a table that subscribes, publishes to shared topics and
//! queues, acknowledges and disconnects) cut anywhere, with time and server closes,
//! through the two-peer harness: deliveries one session's frame makes for another go
//! through the shared hub to that session. The harness asserts the machine contract
//! (one terminal Closed each); afterwards what every session wrote must be a valid
//! STOMP server stream, and once all sessions are closed nothing waits in the hub.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::broker::{BrokerConfig, FixedInFlight, FixedStore, SessionId, SimpleBroker};
use sockwire_core::pair::{drive_all, BrokerHub, BrokerPeer, Decide, Dir, Pair, RawPeer};
use sockwire_core::stack::{BrokerSession, StompStack, TcpCarrier};
use sockwire_core::stomp::{HeartBeat, Id, ServerSession, ServerSessionConfig};
use sockwire_core::store::FixedBytes;
use sockwire_core::time::Instant;

#[path = "../common/input.rs"]
mod input;
#[path = "../common/stomp_wire.rs"]
mod stomp_wire;
use input::Input;

type Store = FixedBytes<1024>;
type Broker = SimpleBroker<'static, FixedStore<8, 32>, FixedInFlight<4, 32, 512>>;
type Peer = BrokerPeer<StompStack<TcpCarrier<Store>, Store, 4, 2, 8, 256>, Store, Broker>;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let cfg = input.byte();
    let hub = BrokerHub::shared(SimpleBroker::new(
        BrokerConfig::default(),
        FixedStore::new(),
        FixedInFlight::new(),
    ));
    let mut pairs: Vec<Pair<RawPeer, Peer>> = (0..3u32)
        .map(|i| {
            let config = ServerSessionConfig {
                heart_beat: HeartBeat {
                    send_ms: u64::from(cfg & 3) * 200,
                    receive_ms: u64::from((cfg >> 2) & 3) * 200,
                },
                connect_timeout_ms: Some(3000),
                ..ServerSessionConfig::default()
            };
            let session = ServerSession::new(config, Id::from_decimal(u64::from(i)), Instant(0));
            let stack = StompStack::new(TcpCarrier::new(Store::new()), session, Store::new());
            let broker_session = BrokerSession::new(stack, SessionId(i), Store::new());
            let mut peer =
                BrokerPeer::new(broker_session, hub.clone(), ["a", "b", "a"][i as usize]);
            if cfg & 0x80 != 0 && i == 2 {
                peer.decide = Decide::Reject("no");
            }
            Pair::new(RawPeer::default(), peer)
        })
        .collect();
    while let Some(op) = input.next() {
        let k = usize::from(op >> 5) % 3;
        let pair = &mut pairs[k];
        let now = pair.now();
        match op % 5 {
            0 | 1 => {
                let frame = stomp_wire::frame(&mut input);
                let at = usize::from(input.byte()) % (frame.len() + 1);
                pair.client_mut().write(&frame[..at]);
                drive_all(&mut pairs);
                pairs[k].client_mut().write(&frame[at..]);
            }
            2 => {
                let len = usize::from(input.byte());
                let raw = input.take(len).to_vec();
                pair.client_mut().write(&raw);
            }
            3 => pair.advance(u64::from(input.byte()) * 20),
            _ => {
                let _ = pair.server_mut().session.close(now, "bye");
            }
        }
        drive_all(&mut pairs);
    }
    for pair in pairs.iter_mut() {
        pair.advance(10_000);
    }
    drive_all(&mut pairs);
    for pair in pairs.iter_mut() {
        stomp_wire::check_server_stream(&pair.link(Dir::ToClient).sent_bytes());
    }
    if pairs.iter().all(|p| p.server().session.is_released()) {
        assert!(
            hub.borrow().mail.is_empty(),
            "deliveries for sessions that are gone"
        );
    }
});
