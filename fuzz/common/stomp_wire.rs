//! STOMP bytes for the stack targets: client frames from a table that reaches deep
//! states (or from the input), and the checks of what a server wrote.

use crate::input::Input;
use sockwire_core::stomp::{Command, Decoded, Decoder, Limits, Version};

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
