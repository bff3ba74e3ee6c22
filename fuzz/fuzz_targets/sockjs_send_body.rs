//! SockJS send bodies: arbitrary bytes never panic; a body that parses yields exactly
//! `len()` messages, each within `max_message_len()`, and re-encoding them as a frame
//! parses back to the same messages.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::sockjs::{BodyEncoding, Frame, SendBody};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let parsed = match selector % 3 {
        0 => SendBody::parse(body, BodyEncoding::Json),
        1 => SendBody::parse(body, BodyEncoding::Form),
        _ => match SendBody::parse_websocket(body) {
            Ok(Some(b)) => Ok(b),
            _ => return,
        },
    };
    let Ok(parsed) = parsed else { return };
    let mut buf = vec![0u8; parsed.max_message_len()];
    let mut it = parsed.messages();
    let mut messages = Vec::new();
    while let Some(m) = it.next_into(&mut buf) {
        let m = m.expect("max_message_len is enough");
        assert!(m.len() <= parsed.max_message_len());
        messages.push(m.to_owned());
    }
    assert_eq!(messages.len(), parsed.len());
    let refs: Vec<&str> = messages.iter().map(String::as_str).collect();
    let mut out = vec![0u8; 16 + messages.iter().map(|m| m.len() * 12 + 3).sum::<usize>()];
    let n = Frame::Messages(&refs)
        .write(&mut out)
        .expect("sized generously");
    let again = SendBody::parse(&out[1..n], BodyEncoding::Json).expect("own frames parse");
    let mut it = again.messages();
    for m in &messages {
        assert_eq!(it.next_into(&mut buf), Some(Ok(m.as_str())));
    }
});
