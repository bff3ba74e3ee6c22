//! Arbitrary client bytes into the STOMP-over-WebSocket stack
//! (`StompStack<WebSocketCarrier<_>, _>`), through the two-peer harness: raw bytes or
//! client frames (mostly masked, some odd) carrying STOMP frames from a table, cut
//! anywhere, with the server's own actions and time. The harness asserts the machine
//! contract; afterwards everything the server wrote must decode as a client would read
//! it: unmasked WebSocket frames, nothing after the close, and STOMP server frames with
//! nothing after an ERROR.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::pair::{Dir, Pair, RawPeer};
use sockwire_core::ws::Config;

#[path = "../common/input.rs"]
mod input;
#[path = "../common/stomp_wire.rs"]
mod stomp_wire;
#[path = "../common/wire.rs"]
mod wire;
use input::Input;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let cfg = input.byte();
    let ws_config = Config {
        max_frame_size: 1024,
        max_message_size: 2048,
        close_timeout_ms: 1000,
        allowed_rsv: 0,
        ping_interval_ms: (cfg & 0x40 != 0).then_some(500),
        idle_timeout_ms: None,
    };
    let server = stomp_wire::ws_stomp_server(cfg, ws_config, cfg & 0x80 != 0);
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
                stomp_wire::server_message(&mut pair, &mut input, &sub, &mut n);
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
