//! Arbitrary bytes into SockJS over WebSocket (`SockJsWebSocket`), through the two-peer
//! harness: raw bytes or client frames carrying SockJS messages (from a table that
//! includes broken framing and oversized messages, or from the input), the server's
//! sends and closes, and time. The harness asserts the machine contract (one terminal
//! Closed, nothing after it); afterwards what the server wrote must decode as a client
//! would read it: unmasked WebSocket frames, `o` first, SockJS frames only, nothing but
//! the WebSocket close after `c[...]`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::pair::{
    parse_sockjs_frame, sockjs_stores, Dir, Pair, RawPeer, SockJsFrame, SockJsWsServer,
};
use sockwire_core::sockjs::Config as SockJsConfig;
use sockwire_core::stack::SockJsWebSocket;
use sockwire_core::store::FixedBytes;
use sockwire_core::time::Instant;
use sockwire_core::ws::{Config, Connection, Role};

#[path = "../common/input.rs"]
mod input;
#[path = "../common/wire.rs"]
mod wire;
use input::Input;

type Store = FixedBytes<256>;

const MESSAGES: &[&[u8]] = &[
    br#"["a"]"#,
    br#"["a","b\"c"]"#,
    br#""single""#,
    br#"["\u00e9\u2028"]"#,
    br#"[]"#,
    b"",
    br#"["x"#,
    br#"[1]"#,
    br#"["\ud800"]"#,
];

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let cfg = input.byte();
    let config = SockJsConfig {
        heartbeat_ms: u64::from(cfg % 8) * 100 + 100,
        ..SockJsConfig::default()
    };
    let stores = sockjs_stores::<Store>();
    let ws_config = Config {
        close_timeout_ms: 1000,
        ..Config::default()
    };
    let ws = Connection::new(Role::Server, ws_config, 0);
    let mut server = SockJsWsServer::new(SockJsWebSocket::new(ws, &config, stores, Instant(0)));
    server.echo = cfg & 0x80 == 0;
    let mut pair = Pair::new(RawPeer::default(), server);
    while let Some(op) = input.next() {
        let now = pair.now();
        match op % 8 {
            0 | 1 => {
                let message = match input.byte() {
                    0xF0..=0xFF => {
                        let len = usize::from(input.byte()) * 2;
                        let mut big = b"[\"".to_vec();
                        big.resize(len + 2, b'y');
                        big.extend_from_slice(b"\"]");
                        big
                    }
                    b => MESSAGES[usize::from(b) % MESSAGES.len()].to_vec(),
                };
                let frame = wire::client_frame(&mut input, &message);
                pair.client_mut().write(&frame);
            }
            2 => {
                let len = usize::from(input.byte());
                let raw = input.take(len).to_vec();
                let frame = wire::client_frame(&mut input, &raw);
                pair.client_mut().write(&frame);
            }
            3 => {
                let len = usize::from(input.byte());
                let raw = input.take(len).to_vec();
                pair.client_mut().write(&raw);
            }
            4 => {
                let len = usize::from(input.byte());
                let text = String::from_utf8_lossy(input.take(len)).into_owned();
                let _ = pair.server_mut().machine.send(now, &text);
            }
            5 => pair.advance(u64::from(input.byte()) * 10),
            6 => {
                let code = 3000 + u16::from(input.byte());
                pair.server_mut().machine.close(now, code, "bye");
            }
            _ => wire::change_link(&mut pair, &mut input),
        }
        pair.drive();
    }
    pair.advance(10_000);
    let messages = wire::server_messages(&pair.link(Dir::ToClient).sent_bytes());
    let mut closed = false;
    for (i, m) in messages.iter().enumerate() {
        assert!(!closed, "a frame after the close frame");
        let frame = parse_sockjs_frame(m);
        if i == 0 {
            assert_eq!(frame, SockJsFrame::Open, "the first frame is o");
        } else {
            assert_ne!(frame, SockJsFrame::Open, "o twice");
        }
        closed = matches!(frame, SockJsFrame::Close { .. });
    }
});
