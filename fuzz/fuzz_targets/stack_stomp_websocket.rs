//! Arbitrary client bytes into the STOMP-over-WebSocket stack
//! (`StompStack<WebSocketCarrier<_>, _>`), through the two-peer harness: raw bytes or
//! client frames (mostly masked, some odd) carrying STOMP frames from a table, cut
//! anywhere, with the server's own actions and time. The harness asserts the machine
//! contract; afterwards everything the server wrote must decode as a client would read
//! it: unmasked WebSocket frames, nothing after the close, and STOMP server frames with
//! nothing after an ERROR.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::pair::{Decide, Dir, Pair, RawPeer, StompServer};
use sockwire_core::stack::{StompStack, WebSocketCarrier};
use sockwire_core::stomp::{HeartBeat, Id, ServerSession, ServerSessionConfig};
use sockwire_core::store::FixedBytes;
use sockwire_core::time::Instant;
use sockwire_core::ws::{Config, Connection, Role};

#[path = "../common/input.rs"]
mod input;
#[path = "../common/stomp_wire.rs"]
mod stomp_wire;
#[path = "../common/wire.rs"]
mod wire;
use input::Input;

type Store = FixedBytes<512>;
type Stack = StompStack<WebSocketCarrier<Store>, Store, 4, 2, 8, 256>;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let cfg = input.byte();
    let config = ServerSessionConfig {
        heart_beat: HeartBeat {
            send_ms: u64::from(cfg & 3) * 100,
            receive_ms: u64::from((cfg >> 2) & 3) * 100,
        },
        connect_timeout_ms: Some(2000),
        ..ServerSessionConfig::default()
    };
    let ws_config = Config {
        max_frame_size: 1024,
        max_message_size: 2048,
        close_timeout_ms: 1000,
        allowed_rsv: 0,
    };
    let ws = Connection::new(Role::Server, ws_config, 0);
    let session = ServerSession::new(config, Id::from_decimal(1), Instant(0));
    let stack: Stack = StompStack::new(
        WebSocketCarrier::new(ws, Store::new()),
        session,
        Store::new(),
    );
    let mut server = StompServer::new(stack);
    if cfg & 0x80 != 0 {
        server.decide = Decide::Reject("no");
    }
    let mut pair = Pair::new(RawPeer::default(), server);
    let mut n = 0u32;
    while let Some(op) = input.next() {
        let now = pair.now();
        match op % 8 {
            0 | 1 => {
                let frame = stomp_wire::frame(&mut input);
                let at = usize::from(input.byte()) % (frame.len() + 1);
                let first = wire::client_frame(&mut input, &frame[..at]);
                pair.client_mut().write(&first);
                let second = wire::client_frame(&mut input, &frame[at..]);
                pair.client_mut().write(&second);
            }
            2 => {
                let frame = stomp_wire::frame(&mut input);
                let frame = wire::client_frame(&mut input, &frame);
                let cut = usize::from(input.byte()) % (frame.len() + 1);
                pair.client_mut().write(&frame[..cut]);
                pair.drive();
                pair.client_mut().write(&frame[cut..]);
            }
            3 => {
                let len = usize::from(input.byte());
                let raw = input.take(len).to_vec();
                pair.client_mut().write(&raw);
            }
            4 => {
                let sub = format!("{}", input.byte() % 3);
                let len = usize::from(input.byte());
                let body = input.take(len).to_vec();
                n += 1;
                let _ = pair
                    .server_mut()
                    .message(now, &sub, &format!("m{n}"), "/queue/a", &body);
            }
            5 => pair.advance(u64::from(input.byte()) * 10),
            6 => {
                let _ = pair.server_mut().close(now, "bye");
            }
            _ => wire::change_link(&mut pair, &mut input),
        }
        pair.drive();
    }
    pair.advance(10_000);
    let messages = wire::server_messages(&pair.link(Dir::ToClient).sent_bytes());
    stomp_wire::check_server_stream(&messages.concat());
});
