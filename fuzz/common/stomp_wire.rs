//! STOMP bytes for the stack targets: client frames from a table that reaches deep
//! states (or from the input), the STOMP-over-WebSocket stack they are fed to, and the
//! checks of what a server wrote. Not every target uses every helper.
#![allow(dead_code)]

use crate::input::Input;
use sockwire_core::pair::{Decide, Pair, Peer, StompServer};
use sockwire_core::stack::{StompStack, WebSocketCarrier};
use sockwire_core::stomp::{
    Command, Decoded, Decoder, HeartBeat, Id, Limits, ServerSession, ServerSessionConfig, Version,
};
use sockwire_core::store::FixedBytes;
use sockwire_core::time::Instant;
use sockwire_core::ws::{Config, Connection, Role};

/// The stores of the stacks under test.
pub type Store = FixedBytes<512>;

/// STOMP over WebSocket, with small capacities.
pub type WsStack = StompStack<WebSocketCarrier<Store>, Store, 4, 2, 8, 256>;

/// A heart-beat header from two bits each of `b`: 0 to 300 ms.
pub fn heart_beat(b: u8) -> HeartBeat {
    HeartBeat {
        send_ms: u64::from(b & 3) * 100,
        receive_ms: u64::from((b >> 2) & 3) * 100,
    }
}

/// The STOMP-over-WebSocket stack as a server peer: heart-beats as `cfg`'s low bits
/// say, a 2 s CONNECT deadline, `CONNECT`s refused when `reject`.
pub fn ws_stomp_server(cfg: u8, ws_config: Config, reject: bool) -> StompServer<WsStack> {
    let config = ServerSessionConfig {
        heart_beat: heart_beat(cfg),
        connect_timeout_ms: Some(2000),
        ..ServerSessionConfig::default()
    };
    let ws = Connection::new(Role::Server, ws_config, 0);
    let session = ServerSession::new(config, Id::from_decimal(1), Instant(0));
    let stack = StompStack::new(
        WebSocketCarrier::new(ws, Store::new()),
        session,
        Store::new(),
    );
    let mut server = StompServer::new(stack);
    if reject {
        server.decide = Decide::Reject("no");
    }
    server
}

/// Client frames that get a session somewhere: connected, subscribed, in transactions.
pub const FRAMES: &[&[u8]] = &[
    b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:100,100\n\n\0",
    b"CONNECT\naccept-version:1.0,1.1\nhost:h\n\n\0",
    b"SUBSCRIBE\nid:0\ndestination:/queue/a\nack:client\nreceipt:r0\n\n\0",
    b"SUBSCRIBE\nid:1\ndestination:/topic/b\n\n\0",
    b"SUBSCRIBE\nid:2\ndestination:/queue/a\nack:client-individual\n\n\0",
    b"UNSUBSCRIBE\nid:0\nreceipt:u\n\n\0",
    b"SEND\ndestination:/queue/a\nreceipt:s\n\nhello\0",
    b"SEND\ndestination:/topic/b\ncontent-length:3\n\n\0\0\0\0",
    b"SEND\ndestination:/app/x\ntransaction:t\n\nheld\0",
    b"BEGIN\ntransaction:t\n\n\0",
    b"COMMIT\ntransaction:t\nreceipt:c\n\n\0",
    b"ABORT\ntransaction:t\n\n\0",
    b"ACK\nid:0\n\n\0",
    b"NACK\nid:1\n\n\0",
    b"DISCONNECT\nreceipt:d\n\n\0",
    b"\n",
];

/// The server sends a MESSAGE for subscription `sub`, its body from the input (`n`
/// numbers the message ids).
pub fn server_message<C: Peer>(
    pair: &mut Pair<C, StompServer<WsStack>>,
    input: &mut Input<'_>,
    sub: &str,
    n: &mut u32,
) {
    let len = usize::from(input.byte());
    let body = input.take(len).to_vec();
    *n += 1;
    let now = pair.now();
    let id = format!("m{n}");
    let _ = pair.server_mut().message(now, sub, &id, "/queue/a", &body);
}

/// A frame from the table, or (rarely) bytes from the input.
pub fn frame(input: &mut Input<'_>) -> Vec<u8> {
    let pick = input.byte();
    if pick == 0xFF {
        let len = usize::from(input.byte());
        return input.take(len).to_vec();
    }
    FRAMES[usize::from(pick) % FRAMES.len()].to_vec()
}

/// Checks a server's STOMP byte stream: only server frames and heart-beats, nothing
/// after an ERROR, and at most one CONNECTED, first.
pub fn check_server_stream(stream: &[u8]) {
    let mut decoder = Decoder::new(Limits::default());
    let mut rest = stream;
    let mut frames = 0usize;
    let mut error = false;
    loop {
        match decoder.decode(rest) {
            Ok(Decoded::Frame { frame, consumed }) => {
                assert!(!error, "a frame after ERROR");
                match frame.command() {
                    Command::Connected => {
                        assert_eq!(frames, 0, "CONNECTED after other frames");
                        if let Some(v) = frame.header("version") {
                            let v = Version::parse(v.raw()).expect("a version");
                            decoder.set_version(v);
                        } else {
                            decoder.set_version(Version::V1_0);
                        }
                    }
                    Command::Message | Command::Receipt => {}
                    Command::Error => error = true,
                    c => panic!("the server sent {c:?}"),
                }
                frames += 1;
                rest = &rest[consumed..];
            }
            Ok(Decoded::HeartBeat { consumed }) => rest = &rest[consumed..],
            Ok(Decoded::Incomplete) => {
                assert!(rest.is_empty(), "the server left half a frame");
                return;
            }
            Err(e) => panic!("the server wrote what does not decode: {e:?}"),
        }
    }
}
