//! Drives a STOMP client stack (TCP, or a client-role WebSocket) with arbitrary server
//! bytes, chunked and timed by the input, interleaved with client frames: nothing may
//! panic, consumed counts stay in bounds, nothing is reported after the terminal event,
//! and the output drains through a small buffer.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::machine::{Machine, Status};
use sockwire_core::stack::{
    AnyCarrier, ClientStackEvent, StompClientStack, TcpCarrier, WebSocketCarrier,
};
use sockwire_core::stomp::{
    AckFrame, AckMode, ClientSession, ConnectOptions, HeartBeat, Limits, SendFrame, SubscribeFrame,
};
use sockwire_core::store::FixedBytes;
use sockwire_core::time::Instant;
use sockwire_core::ws::{Config, Connection, DataKind, Fragment, Role};

type Store = FixedBytes<2048>;
type Stack = StompClientStack<AnyCarrier<Store>, Store, 2, 2, 8>;

const LIMITS: Limits = Limits {
    max_headers: 16,
    max_header_line: 256,
    max_body: 1024,
};

fuzz_target!(|input: &[u8]| {
    // Layout: [mode][ops][chunk][data...]; mode bit 0: WebSocket, bit 1: wrap each
    // chunk in a server frame (else the chunk is raw wire bytes).
    let [mode, ops, chunk, data @ ..] = input else {
        return;
    };
    let websocket = mode & 1 == 1;
    let wrap = mode & 2 == 2;
    let carrier = if websocket {
        let ws = Connection::new(Role::Client, Config::default(), u64::from(*ops));
        AnyCarrier::WebSocket(WebSocketCarrier::new(ws, Store::new()))
    } else {
        AnyCarrier::Tcp(TcpCarrier::new(Store::new()))
    };
    let mut stack = Stack::new(carrier, ClientSession::new(LIMITS), Store::new());
    let mut server = Connection::new(Role::Server, Config::default(), 0);
    let options = ConnectOptions {
        heart_beat: HeartBeat {
            send_ms: u64::from(*ops % 7),
            receive_ms: u64::from(*ops % 5),
        },
        ..ConnectOptions::default()
    };
    let _ = stack.send(Instant(0), |s, now, out| s.connect(now, &options, out));
    let mut out = [0u8; 7];
    let mut over = false;
    let mut now = 0u64;
    let step = usize::from(*chunk % 48).max(1);
    for (i, piece) in data.chunks(step).enumerate() {
        now += u64::from(piece[0] % 8);
        let t = Instant(now);
        let mut wire = if websocket && wrap {
            let mut frame = vec![0u8; piece.len() + 14];
            let fragment = Fragment::Whole(DataKind::Binary);
            match server.send(t, fragment, piece, &mut frame) {
                Ok(n) => frame[..n].to_vec(),
                Err(_) => piece.to_vec(),
            }
        } else {
            piece.to_vec()
        };
        let mut pos = 0;
        while pos <= wire.len() {
            let read = stack.read(&mut wire[pos..], t);
            assert!(read.consumed <= wire.len() - pos);
            pos += read.consumed;
            match read.status {
                Status::Event(ClientStackEvent::Stomp(_)) => over |= stack.session().is_closed(),
                Status::Event(_) => over = true,
                Status::Closed => {
                    over = true;
                    break;
                }
                Status::NeedMore | Status::Paused(_) => break,
            }
            if pos == wire.len() {
                break;
            }
        }
        if let Some(e) = stack.handle_timeout(t) {
            assert!(!over, "a timeout event after the end");
            assert!(!matches!(e, ClientStackEvent::FrameTooLarge));
            over = true;
        }
        let rid = ["r0", "r1"][i % 2];
        let _ = match ops.wrapping_add(piece[0]) % 5 {
            0 => {
                let frame = SubscribeFrame {
                    destination: "/q",
                    id: ["a", "b"][i % 2],
                    ack: AckMode::Client,
                    headers: &[],
                    receipt: Some(rid),
                };
                stack.send(t, |s, now, out| s.subscribe(now, &frame, out))
            }
            1 => {
                let frame = SendFrame {
                    destination: "/q",
                    headers: &[("x", "a:b\n")],
                    body: piece,
                    transaction: None,
                    receipt: None,
                };
                stack.send(t, |s, now, out| s.send(now, &frame, out))
            }
            2 => {
                let frame = AckFrame {
                    ack_id: "m",
                    subscription: "a",
                    transaction: None,
                    receipt: Some(rid),
                };
                stack.send(t, |s, now, out| s.ack(now, &frame, out))
            }
            3 => stack.send(t, |s, now, out| s.disconnect(now, Some(rid), out)),
            _ => Ok(()),
        };
        // Drain through a small buffer.
        for _ in 0..1024 {
            match stack.poll_transmit(t, &mut out) {
                Ok(Some(n)) => assert!(n <= out.len()),
                Ok(None) | Err(_) => break,
            }
        }
        if over {
            let mut again = *b"RECEIPT\nreceipt-id:r0\n\n\0";
            let read = stack.read(&mut again, t);
            assert!(
                matches!(read.status, Status::Closed),
                "an event after the end"
            );
        }
    }
});
