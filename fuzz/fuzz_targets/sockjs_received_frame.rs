//! SockJS frames as a client receives them: arbitrary bytes never panic; a frame that
//! parses decodes within its stated sizes, and writing what it held with the server's
//! writer parses back to the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::sockjs::{CloseFrame, Frame, ReceivedFrame, SendBody};

fn decode(body: &SendBody<'_>) -> Vec<String> {
    let mut buf = vec![0u8; body.max_message_len()];
    let mut it = body.messages();
    let mut all = Vec::new();
    while let Some(m) = it.next_into(&mut buf) {
        all.push(m.expect("max_message_len is enough").to_owned());
    }
    assert_eq!(all.len(), body.len());
    all
}

fuzz_target!(|data: &[u8]| {
    let mut out = vec![0u8; 64 + data.len() * 12];
    match ReceivedFrame::parse(data) {
        Ok(ReceivedFrame::Messages(body)) => {
            let messages = decode(&body);
            let refs: Vec<&str> = messages.iter().map(String::as_str).collect();
            let n = Frame::Messages(&refs)
                .write(&mut out)
                .expect("sized generously");
            match ReceivedFrame::parse(&out[..n]) {
                Ok(ReceivedFrame::Messages(again)) => assert_eq!(decode(&again), messages),
                other => panic!("own frame misread: {other:?}"),
            }
        }
        Ok(ReceivedFrame::Close { code, reason }) => {
            let reason = decode(&reason);
            assert_eq!(reason.len(), 1);
            let close = CloseFrame {
                code,
                reason: &reason[0],
            };
            let n = Frame::Close(close)
                .write(&mut out)
                .expect("sized generously");
            match ReceivedFrame::parse(&out[..n]) {
                Ok(ReceivedFrame::Close { code: c, reason: r }) => {
                    assert_eq!(c, code);
                    assert_eq!(decode(&r), reason);
                }
                other => panic!("own frame misread: {other:?}"),
            }
        }
        Ok(ReceivedFrame::Open | ReceivedFrame::Heartbeat) | Err(_) => {}
    }
});
