//! The growable byte store and the core machines that write into it.

use sockwire_core::machine::{Machine, Status};
use sockwire_core::stack::{MessageEvent, WebSocketMessages};
use sockwire_core::store::ByteStore;
use sockwire_core::time::Instant;
use sockwire_core::ws::{Config, Connection, Event, Role};
use sockwire_std::store::VecBytes;

#[test]
fn grows_to_the_limit_and_releases_when_drained() {
    let mut s = VecBytes::new(100_000);
    assert_eq!(s.capacity(), 0);
    s.push(&[7; 60_000]).unwrap();
    assert!(s.push(&[7; 50_000]).is_err());
    assert_eq!(s.len(), 60_000);
    s.discard(10_000);
    s.push(&[8; 50_000]).unwrap();
    assert_eq!(s.len(), 100_000);
    assert_eq!(s.as_slice()[49_999], 7);
    assert_eq!(s.as_slice()[50_000], 8);
    s.discard(100_000);
    assert!(s.is_empty());
    assert_eq!(s.capacity(), 0);
}

/// A growable store hands out exactly the room asked for, so the room asked for a control
/// frame must cover a client's mask (Autobahn 2.4 caught it asking too little).
#[test]
fn a_client_queues_its_masked_pong_to_the_longest_ping() {
    let mut server = Connection::new(Role::Server, Config::default(), 0);
    let ws = Connection::new(Role::Client, Config::default(), 9);
    let mut client = WebSocketMessages::new(ws, VecBytes::new(1024), VecBytes::new(1024));
    let payload = [b'p'; 125];
    server.ping(Instant(0), &payload).unwrap();
    let mut wire = vec![0; 256];
    let n = server
        .poll_transmit(Instant(0), &mut wire)
        .unwrap()
        .unwrap();
    wire.truncate(n);
    let read = client.read(&mut wire, Instant(0));
    assert_eq!(read.consumed, n);
    assert!(matches!(read.status, Status::Event(MessageEvent::Ping(p)) if p.as_bytes() == payload));
    // 2 header bytes, the 4-byte mask and the payload, queued at once.
    let mut pong = client.outbound().to_vec();
    assert_eq!(pong.len(), 2 + 4 + 125);
    let got = server.read(&mut pong, Instant(0));
    assert!(matches!(got.status, Status::Event(Event::Pong(p)) if p.as_bytes() == payload));
}
