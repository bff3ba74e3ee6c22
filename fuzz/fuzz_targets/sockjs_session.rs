//! The SockJS session driven by arbitrary operations and time: never panics, delivers
//! messages in order and exactly once, never queues past its bound.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::machine::Machine;
use sockwire_core::sockjs::{
    Attach, BodyEncoding, Config, SendBody, SockJsSession, Transport, ALL_TRANSPORTS,
};
use sockwire_core::store::FixedBytes;
use sockwire_core::time::Instant;

fuzz_target!(|data: &[u8]| {
    let config = Config {
        heartbeat_ms: 100,
        disconnect_delay_ms: 50,
        response_limit: 200,
        ..Config::default()
    };
    let mut session = SockJsSession::new(&config, FixedBytes::<128>::new(), Instant(0));
    let mut now = 0u64;
    let mut sent: Vec<String> = Vec::new();
    let mut delivered = 0usize;
    let mut counter = 0u32;
    let mut out = [0u8; 512];
    for chunk in data.chunks(2) {
        let (op, arg) = (chunk[0], chunk.get(1).copied().unwrap_or(0));
        now += u64::from(arg % 64);
        let transport = ALL_TRANSPORTS[usize::from(arg) % ALL_TRANSPORTS.len()];
        match op % 8 {
            0 | 1 => {
                let m = format!("{counter}{}", "\u{2028}\"".repeat(usize::from(arg % 8)));
                counter += 1;
                if session.send(Instant(now), &m).is_ok() {
                    sent.push(m);
                }
            }
            2 => {
                let had = session.receiver_transport();
                let attach = session.attach_receiver(Instant(now), transport, "cb");
                if attach == Attach::AnotherConnectionStillOpen {
                    assert_eq!(session.receiver_transport(), had);
                } else {
                    assert_eq!(session.receiver_transport(), Some(transport));
                }
            }
            3 => session.detach_receiver(Instant(now)),
            4 => {
                if session.handle_timeout(Instant(now)).is_some() {
                    assert!(session.is_closed() && !session.has_receiver());
                }
            }
            5 => session.close(Instant(now), u16::from(arg) + 3000, "bye"),
            6 => session.receiver_interrupted(Instant(now)),
            _ => {
                // Only the websocket framing leaves frames as bare JSON to check here;
                // other transports are driven for panics only.
                let Some(transport) = session.receiver_transport() else {
                    continue;
                };
                let limit = usize::from(arg) * 2;
                while let Ok(Some(n)) = session.poll_transmit(Instant(now), &mut out[..limit]) {
                    let frame = &out[..n];
                    if transport == Transport::WebSocket && frame.first() == Some(&b'a') {
                        let body = SendBody::parse(&frame[1..], BodyEncoding::Json).unwrap();
                        let mut buf = [0u8; 256];
                        let mut it = body.messages();
                        while let Some(m) = it.next_into(&mut buf) {
                            assert_eq!(Some(m.unwrap()), sent.get(delivered).map(String::as_str));
                            delivered += 1;
                        }
                    } else if frame.first() == Some(&b'a')
                        || transport.needs_callback()
                        || transport.is_streaming()
                        || transport == Transport::Xhr
                    {
                        // Count deliveries by the queue instead.
                        delivered = sent.len() - session.queued_messages();
                    }
                    if !session.has_receiver() {
                        break;
                    }
                }
            }
        }
        assert!(session.queued_bytes() <= 128);
        assert_eq!(session.queued_messages(), sent.len() - delivered);
    }
});
