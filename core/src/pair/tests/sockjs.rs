//! A SockJS session on HTTP transports against a scripted receiver: transport changes,
//! a second receiver, heart-beats and the disconnect delay.

extern crate std;

use crate::machine::Machine;

use super::super::{
    ClientRecord, Pair, ServerRecord, SockJsFrame, SockJsHttp, SockJsHttpRecord, SockJsReceiver,
    SockJsStompHttp, StompClientOps, StompSockJsClient,
};
use super::times;
use crate::sockjs::{Attach, Config, SockJsSession, Transport};
use crate::stack::SockJsStomp;
use crate::store::FixedBytes;
use crate::time::Instant;
use std::string::String;
use std::vec::Vec;

type HttpPair = Pair<SockJsReceiver, SockJsHttp<FixedBytes<4096>>>;

fn http_pair() -> HttpPair {
    let config = Config {
        heartbeat_ms: 1000,
        disconnect_delay_ms: 5000,
        ..Config::default()
    };
    let session = SockJsSession::new(&config, FixedBytes::new(), Instant(0));
    Pair::new(SockJsReceiver::default(), SockJsHttp::new(session))
}

/// Every message the receiver got, in order.
fn messages(events: &[SockJsFrame]) -> Vec<String> {
    events
        .iter()
        .flat_map(|e| match e {
            SockJsFrame::Messages(m) => m.clone(),
            _ => Vec::new(),
        })
        .collect()
}

fn queue(pair: &mut HttpPair, messages: &[&str]) {
    let now = pair.now();
    for m in messages {
        pair.server_mut().session.send(now, m).unwrap();
    }
}

#[test]
fn queued_messages_reach_the_next_receiver_whatever_its_transport() {
    let mut pair = http_pair();
    assert_eq!(pair.request(Transport::XhrStreaming), Attach::Opened);
    queue(&mut pair, &["a", "b"]);
    pair.drive();
    assert_eq!(
        pair.take_client_events(),
        [
            SockJsFrame::Prelude,
            SockJsFrame::Open,
            SockJsFrame::Messages(std::vec![String::from("a"), String::from("b")]),
        ]
    );
    // The streaming response ends; messages wait for the next request.
    let now = pair.now();
    pair.server_mut().session.detach_receiver(now);
    queue(&mut pair, &["c", "d\"", "e\u{2028}"]);
    pair.advance(100);
    assert!(pair.client_events().is_empty());
    assert_eq!(pair.request(Transport::Xhr), Attach::Resumed);
    // Polling: one frame, and the response ends.
    assert!(!pair.server().session.has_receiver());
    queue(&mut pair, &["f"]);
    pair.advance(100);
    assert_eq!(pair.request(Transport::EventSource), Attach::Resumed);
    let all = pair.client_events();
    assert_eq!(
        all[0],
        SockJsFrame::Messages(std::vec!["c".into(), "d\"".into(), "e\u{2028}".into()])
    );
    assert_eq!(
        all[1..],
        [
            SockJsFrame::Prelude,
            SockJsFrame::Messages(std::vec!["f".into()])
        ]
    );
    assert_eq!(pair.server().session.queued_messages(), 0);
}

#[test]
fn a_second_receiver_is_refused_with_2010() {
    let mut pair = http_pair();
    pair.request(Transport::XhrStreaming);
    assert_eq!(
        pair.request(Transport::Xhr),
        Attach::AnotherConnectionStillOpen
    );
    assert_eq!(
        SockJsHttp::<FixedBytes<4096>>::refusal(Transport::Xhr),
        b"c[2010,\"Another connection still open\"]\n"
    );
    // The first receiver is still the one messages go to.
    assert_eq!(
        pair.server().session.receiver_transport(),
        Some(Transport::XhrStreaming)
    );
    queue(&mut pair, &["x"]);
    pair.drive();
    assert_eq!(messages(&pair.client_events()), ["x"]);
}

#[test]
fn a_receiver_gets_heart_beats_after_the_interval() {
    let mut pair = http_pair();
    pair.request(Transport::XhrStreaming);
    pair.advance(1500);
    queue(&mut pair, &["m"]);
    pair.advance(3000);
    // h at 1000; the message at 1500 postpones the next to 2500, then 3500, 4500.
    assert_eq!(
        times(pair.client_log(), |e| *e == SockJsFrame::Heartbeat),
        [1000, 2500, 3500, 4500]
    );
    assert!(pair.server_events().is_empty());
}

#[test]
fn the_disconnect_delay_expires_a_session_without_a_receiver() {
    let mut pair = http_pair();
    assert_eq!(pair.request(Transport::Xhr), Attach::Opened);
    // The poll ended at 0: a new one must come within 5 s.
    pair.advance(4000);
    assert_eq!(pair.request(Transport::Xhr), Attach::Resumed);
    assert!(pair.server_events().is_empty());
    // A long poll: it waits for a frame, the heart-beat at 5000, and ends with it.
    pair.advance(10_000);
    assert_eq!(
        times(pair.client_log(), |e| *e == SockJsFrame::Heartbeat),
        [5000]
    );
    assert_eq!(
        times(pair.server_log(), |e| *e == SockJsHttpRecord::Expired),
        [10_000]
    );
    assert!(pair.server().is_closed());
    assert_eq!(pair.request(Transport::Xhr), Attach::Closed);
    assert_eq!(
        pair.client_events().last(),
        Some(&SockJsFrame::Close {
            code: 3000,
            reason: String::from("Go away!")
        })
    );
}

#[test]
fn sent_messages_are_read_once_in_order_across_requests() {
    let mut pair = http_pair();
    pair.request(Transport::XhrStreaming);
    pair.client_mut().send(&["1", "2"]);
    pair.client_mut().send(&[]);
    pair.client_mut().send(&["3"]);
    pair.link(super::super::Dir::ToServer).cut = super::super::Cut::Pieces(std::vec![2]);
    pair.drive();
    let got: Vec<SockJsHttpRecord> = pair.server_events();
    assert_eq!(
        got,
        ["1", "2", "3"].map(|m| SockJsHttpRecord::Message(String::from(m)))
    );
    // The echoes went out on the streaming response.
    assert_eq!(messages(&pair.client_events()), ["1", "2", "3"]);
}

type StompHttpPair = Pair<StompSockJsClient, SockJsStompHttp<FixedBytes<8192>>>;

fn stomp_http_pair() -> StompHttpPair {
    let config = Config {
        heartbeat_ms: 1000,
        disconnect_delay_ms: 5000,
        ..Config::default()
    };
    let session = super::server_session(1, crate::stomp::HeartBeat::NONE);
    let stack = SockJsStomp::new(
        &config,
        session,
        FixedBytes::new(),
        FixedBytes::new(),
        Instant(0),
    );
    Pair::new(StompSockJsClient::default(), SockJsStompHttp::new(stack))
}

fn deliver(pair: &mut StompHttpPair, bodies: &[&str]) {
    let now = pair.now();
    for body in bodies {
        let id = std::format!("m-{body}");
        let s = &mut pair.server_mut().server;
        s.message(now, "s", &id, "/queue/q", body.as_bytes())
            .unwrap();
    }
}

#[test]
fn stomp_over_sockjs_http_keeps_its_messages_across_transports() {
    let mut pair = stomp_http_pair();
    assert_eq!(pair.request(Transport::XhrStreaming), Attach::Opened);
    let now = pair.now();
    let c = &mut pair.client_mut().stomp;
    c.connect(now, crate::stomp::HeartBeat::NONE).unwrap();
    pair.drive();
    let c = &mut pair.client_mut().stomp;
    c.subscribe(now, "s", "/queue/q", crate::stomp::AckMode::Auto, Some("r"))
        .unwrap();
    pair.drive();
    deliver(&mut pair, &["1", "2"]);
    pair.drive();
    // The streaming response ends; what is delivered meanwhile waits in the session.
    let now = pair.now();
    pair.server_mut().server.machine.detach_receiver(now);
    deliver(&mut pair, &["3", "4", "5"]);
    pair.advance(100);
    assert_eq!(super::bodies(&pair.client_events()), [b"1", b"2"]);
    assert_eq!(pair.request(Transport::Xhr), Attach::Resumed);
    deliver(&mut pair, &["6"]);
    pair.advance(100);
    assert_eq!(pair.request(Transport::EventSource), Attach::Resumed);
    let events = pair.client_events();
    assert!(matches!(events[0], ClientRecord::Connected { .. }));
    assert_eq!(events[1], ClientRecord::Receipt(String::from("r")));
    let expected: Vec<Vec<u8>> = (1..=6).map(|i| std::format!("{i}").into_bytes()).collect();
    assert_eq!(super::bodies(&events), expected);
    // DISCONNECT goes out as a send request; its receipt and c[3000] come back.
    let now = pair.now();
    pair.client_mut()
        .stomp
        .disconnect(now, Some("bye"))
        .unwrap();
    pair.drive();
    assert_eq!(
        pair.client_events().last(),
        Some(&ClientRecord::Receipt(String::from("bye")))
    );
    assert_eq!(
        pair.server_events().last(),
        Some(&ServerRecord::Disconnect {
            receipt: Some(String::from("bye"))
        })
    );
    assert!(pair.server().server.machine.sockjs().is_ending());
    assert!(pair.server().refused.is_empty());
}

#[test]
fn stomp_over_sockjs_http_ends_when_no_receiver_comes_back() {
    let mut pair = stomp_http_pair();
    assert_eq!(pair.request(Transport::Xhr), Attach::Opened);
    let now = pair.now();
    pair.client_mut()
        .stomp
        .connect(now, crate::stomp::HeartBeat::NONE)
        .unwrap();
    pair.advance(10_000);
    // The poll ended with `o` at 0; the CONNECTED waits for a request that never comes.
    assert!(pair.client_events().is_empty());
    assert_eq!(
        times(pair.server_log(), |e| *e == ServerRecord::TransportClosed),
        [5000]
    );
    assert!(pair.server().is_closed());
    assert_eq!(pair.next_deadline(), None);
}
