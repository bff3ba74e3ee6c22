//! Broker-level tests: routing scenarios and a model check.

extern crate std;

use super::*;
use std::string::{String, ToString};
use std::vec::Vec;

type Test = SimpleBroker<'static, FixedStore<16, 32>, FixedInFlight<8, 32, 64>>;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    session: u32,
    sub: String,
    id: String,
    dest: String,
    body: Vec<u8>,
    redelivered: bool,
}

/// The tests subscribe to queues by pattern too.
const WILDCARDS: BrokerConfig<'static> = BrokerConfig {
    queue_wildcards: true,
    ..BrokerConfig::DEFAULT
};

fn broker() -> Test {
    SimpleBroker::new(WILDCARDS, FixedStore::new(), FixedInFlight::new())
}

fn collect(out: &mut Vec<Got>) -> impl FnMut(Delivery<'_>) -> Handoff + '_ {
    |d| {
        out.push(Got {
            session: d.session.0,
            sub: d.subscription.to_string(),
            id: d.message_id.to_string(),
            dest: d.destination.to_string(),
            body: d.body.to_vec(),
            redelivered: d.redelivered,
        });
        Handoff::Taken
    }
}

fn sub<B: Broker>(b: &mut B, session: u32, id: &str, dest: &str, ack: AckMode) -> Vec<Got> {
    sub_full(b, session, id, dest, ack, None, None).unwrap()
}

fn sub_full<B: Broker>(
    b: &mut B,
    session: u32,
    id: &str,
    destination: &str,
    ack: AckMode,
    selector: Option<&str>,
    user: Option<&str>,
) -> Result<Vec<Got>, BrokerError> {
    let mut out = Vec::new();
    let request = Subscribe {
        session: SessionId(session),
        id,
        destination,
        ack,
        selector,
        user,
    };
    b.subscribe(request, &mut collect(&mut out))?;
    Ok(out)
}

fn publish<B: Broker>(
    b: &mut B,
    dest: &str,
    headers: &[u8],
    body: &[u8],
) -> (Result<Routed, BrokerError>, Vec<Got>) {
    let mut out = Vec::new();
    let message = Message {
        destination: dest,
        headers: HeaderLines::new(headers),
        body,
    };
    let r = b.publish(SessionId(99), message, &mut collect(&mut out));
    (r, out)
}

fn who(got: &[Got]) -> Vec<(u32, &str)> {
    got.iter().map(|g| (g.session, g.sub.as_str())).collect()
}

#[test]
fn topic_fan_out() {
    let mut b = broker();
    sub(&mut b, 1, "a", "/topic/x", AckMode::Auto);
    sub(&mut b, 2, "a", "/topic/x", AckMode::Auto);
    sub(&mut b, 2, "b", "/topic/*", AckMode::Auto);
    sub(&mut b, 3, "a", "/topic/y", AckMode::Auto);
    let (r, got) = publish(&mut b, "/topic/x", b"", b"m1");
    assert_eq!(r, Ok(Routed::Delivered(3)));
    let mut w = who(&got);
    w.sort();
    assert_eq!(w, [(1, "a"), (2, "a"), (2, "b")]);
    assert!(got
        .iter()
        .all(|g| g.id == got[0].id && g.dest == "/topic/x" && g.body == b"m1"));
    let (r, got) = publish(&mut b, "/topic/z/deeper", b"", b"");
    assert_eq!((r, got.len()), (Ok(Routed::Delivered(0)), 0));
}

#[test]
fn ordering_per_publisher() {
    let mut b = broker();
    sub(&mut b, 1, "a", "/topic/**", AckMode::Auto);
    let mut bodies = Vec::new();
    for i in 0..5u8 {
        let (_, got) = publish(&mut b, "/topic/q", b"", &[i]);
        bodies.extend(
            got.into_iter()
                .map(|g| (g.id.parse::<u64>().unwrap(), g.body[0])),
        );
    }
    assert_eq!(bodies, [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4)]);
}

#[test]
fn queue_round_robin() {
    let mut b = broker();
    sub(&mut b, 1, "a", "/queue/w", AckMode::Auto);
    sub(&mut b, 2, "a", "/queue/w", AckMode::Auto);
    sub(&mut b, 3, "a", "/queue/*", AckMode::Auto);
    let mut order = Vec::new();
    for _ in 0..6 {
        let (r, got) = publish(&mut b, "/queue/w", b"", b"job");
        assert_eq!(r, Ok(Routed::Delivered(1)));
        order.push(got[0].session);
    }
    assert_eq!(order, [1, 2, 3, 1, 2, 3]);
    assert!(b.in_flight().is_empty());
}

#[test]
fn nack_redelivers_to_another_subscriber() {
    let mut b = broker();
    sub(&mut b, 1, "a", "/queue/w", AckMode::ClientIndividual);
    sub(&mut b, 2, "b", "/queue/w", AckMode::ClientIndividual);
    let (_, got) = publish(&mut b, "/queue/w", b"k:v\n", b"job");
    assert_eq!(who(&got), [(1, "a")]);
    let id = got[0].id.clone();
    assert_eq!(
        b.ack(SessionId(2), &id, &mut |_| Handoff::Taken),
        Err(BrokerError::UnknownMessage)
    );
    let mut again = Vec::new();
    b.nack(SessionId(1), &id, &mut collect(&mut again)).unwrap();
    assert_eq!(who(&again), [(2, "b")]);
    assert!(again[0].redelivered && again[0].id == id && again[0].body == b"job");
    assert_eq!(
        b.nack(SessionId(1), &id, &mut |_| Handoff::Taken),
        Err(BrokerError::UnknownMessage)
    );
    b.ack(SessionId(2), &id, &mut |_| Handoff::Taken).unwrap();
    assert!(b.in_flight().is_empty());
    // Alone, a subscriber gets its nacked message back.
    b.unsubscribe(SessionId(2), "b", &mut |_| Handoff::Taken)
        .unwrap();
    let (_, got) = publish(&mut b, "/queue/w", b"", b"j2");
    let mut again = Vec::new();
    b.nack(SessionId(1), &got[0].id, &mut collect(&mut again))
        .unwrap();
    assert_eq!(who(&again), [(1, "a")]);
}

#[test]
fn disconnect_redelivers_unacked() {
    let mut b = broker();
    sub(&mut b, 1, "a", "/queue/w", AckMode::Client);
    sub(&mut b, 2, "a", "/queue/w", AckMode::Auto);
    let (_, first) = publish(&mut b, "/queue/w", b"", b"one");
    let (_, second) = publish(&mut b, "/queue/w", b"", b"two");
    let (_, third) = publish(&mut b, "/queue/w", b"", b"three");
    assert_eq!(who(&first), [(1, "a")]);
    assert_eq!(who(&second), [(2, "a")]);
    assert_eq!(who(&third), [(1, "a")]);
    assert_eq!(b.in_flight().len(), 2);
    let mut again = Vec::new();
    b.disconnect(SessionId(1), &mut collect(&mut again));
    assert_eq!(who(&again), [(2, "a"), (2, "a")]);
    assert_eq!(again[0].body, b"one");
    assert_eq!(again[1].body, b"three");
    assert!(again.iter().all(|g| g.redelivered));
    assert!(b.in_flight().is_empty());
    assert_eq!(b.subscriptions().len(), 1);
}

#[test]
fn held_until_a_subscriber_comes() {
    let mut b = broker();
    assert_eq!(
        publish(&mut b, "/queue/w", b"", b"early").0,
        Ok(Routed::Held)
    );
    sub(&mut b, 1, "t", "/topic/w", AckMode::Auto);
    let got = sub(&mut b, 1, "a", "/queue/*", AckMode::ClientIndividual);
    assert_eq!(who(&got), [(1, "a")]);
    assert!(!got[0].redelivered);
    // Unacked when the session leaves with nobody else: held again.
    b.disconnect(SessionId(1), &mut |_| panic!("nobody to deliver to"));
    assert_eq!(b.in_flight().len(), 1);
    let got = sub(&mut b, 2, "a", "/queue/w", AckMode::Auto);
    assert_eq!(got[0].body, b"early");
    assert!(b.in_flight().is_empty());
}

/// A consumer with a window of `window` unacknowledged messages, as a session is.
struct Window {
    session: u32,
    window: usize,
    got: Vec<Got>,
}

impl Window {
    fn sink(&mut self) -> impl FnMut(Delivery<'_>) -> Handoff + '_ {
        |d| {
            let mine = d.session.0 == self.session;
            if mine && self.got.len() >= self.window {
                return Handoff::Refused;
            }
            if mine {
                collect(&mut self.got)(d);
            }
            Handoff::Taken
        }
    }
}

#[test]
fn queue_messages_wait_while_the_consumer_window_is_full_and_flow_on_ack() {
    let mut b = broker();
    sub(&mut b, 1, "a", "/queue/w", AckMode::ClientIndividual);
    let mut c = Window {
        session: 1,
        window: 2,
        got: Vec::new(),
    };
    let message = |body: &'static [u8]| Message {
        destination: "/queue/w",
        headers: HeaderLines::new(b""),
        body,
    };
    for (i, body) in [&b"m0"[..], b"m1", b"m2", b"m3"].into_iter().enumerate() {
        let routed = b
            .publish(SessionId(9), message(body), &mut c.sink())
            .unwrap();
        let expected = if i < 2 {
            Routed::Delivered(1)
        } else {
            Routed::Held
        };
        assert_eq!(routed, expected, "message {i}");
    }
    assert_eq!(b.in_flight().len(), 4, "nothing is lost");
    // Each ACK opens the window by one: the next waiting message, in order.
    for (acked, next) in [(0, &b"m2"[..]), (1, b"m3")] {
        let id = c.got[acked].id.clone();
        c.window += 1;
        b.ack(SessionId(1), &id, &mut c.sink()).unwrap();
        assert_eq!(c.got.last().unwrap().body, next);
        assert!(!c.got.last().unwrap().redelivered);
    }
    assert_eq!(c.got.len(), 4);
    assert_eq!(b.in_flight().len(), 2);
}

#[test]
fn a_refused_queue_message_goes_to_a_consumer_that_takes_it() {
    let mut b = broker();
    sub(&mut b, 1, "a", "/queue/w", AckMode::Auto);
    sub(&mut b, 2, "a", "/queue/w", AckMode::Auto);
    let mut got = Vec::new();
    // Session 1 refuses everything; every message goes to session 2.
    for _ in 0..3 {
        let message = Message {
            destination: "/queue/w",
            headers: HeaderLines::new(b""),
            body: b"x",
        };
        let routed = b
            .publish(SessionId(9), message, &mut |d| {
                if d.session.0 == 1 {
                    return Handoff::Refused;
                }
                collect(&mut got)(d)
            })
            .unwrap();
        assert_eq!(routed, Routed::Delivered(1));
    }
    assert_eq!(who(&got), [(2, "a"), (2, "a"), (2, "a")]);
    assert!(b.in_flight().is_empty());
    // Nobody takes it: held, and given to the next subscriber.
    let message = Message {
        destination: "/queue/w",
        headers: HeaderLines::new(b""),
        body: b"late",
    };
    let routed = b.publish(SessionId(9), message, &mut |_| Handoff::Refused);
    assert_eq!(routed, Ok(Routed::Held));
    assert_eq!(b.in_flight().len(), 1);
    b.disconnect(SessionId(1), &mut |_| Handoff::Refused);
    b.disconnect(SessionId(2), &mut |_| Handoff::Refused);
    let got = sub(&mut b, 3, "a", "/queue/w", AckMode::Auto);
    assert_eq!(got[0].body, b"late");
    assert!(b.in_flight().is_empty());
}

#[test]
fn client_ack_is_cumulative() {
    let mut b = broker();
    sub(&mut b, 1, "a", "/queue/w", AckMode::Client);
    sub(&mut b, 1, "b", "/queue/v", AckMode::Client);
    let ids: Vec<String> = (0..3)
        .map(|_| publish(&mut b, "/queue/w", b"", b"").1[0].id.clone())
        .collect();
    let other = publish(&mut b, "/queue/v", b"", b"").1[0].id.clone();
    b.ack(SessionId(1), &ids[1], &mut |_| Handoff::Taken)
        .unwrap();
    assert_eq!(b.in_flight().len(), 2);
    assert_eq!(
        b.ack(SessionId(1), &ids[0], &mut |_| Handoff::Taken),
        Err(BrokerError::UnknownMessage)
    );
    b.ack(SessionId(1), &ids[2], &mut |_| Handoff::Taken)
        .unwrap();
    b.ack(SessionId(1), &other, &mut |_| Handoff::Taken)
        .unwrap();
    assert!(b.in_flight().is_empty());
    assert_eq!(
        b.ack(SessionId(1), "not-a-number", &mut |_| Handoff::Taken),
        Err(BrokerError::UnknownMessage)
    );
}

#[test]
fn user_destinations_across_sessions() {
    let mut b = broker();
    for (session, user) in [(1, "ann"), (2, "ann"), (3, "bob")] {
        sub_full(
            &mut b,
            session,
            "s",
            "/user/queue/x",
            AckMode::Auto,
            None,
            Some(user),
        )
        .unwrap();
    }
    assert_eq!(
        sub_full(&mut b, 4, "s", "/user/queue/x", AckMode::Auto, None, None),
        Err(BrokerError::NoUser)
    );
    let (r, got) = publish(&mut b, "/user/ann/queue/x", b"", b"hi ann");
    assert_eq!(r, Ok(Routed::Delivered(2)));
    let mut w = who(&got);
    w.sort();
    assert_eq!(w, [(1, "s"), (2, "s")]);
    assert!(got.iter().all(|g| g.dest == "/user/queue/x"));
    let (_, got) = publish(&mut b, "/user/bob/queue/x", b"", b"hi bob");
    assert_eq!(who(&got), [(3, "s")]);
    assert_eq!(
        publish(&mut b, "/user/carl/queue/x", b"", b"").0,
        Ok(Routed::Delivered(0))
    );
    // Wildcards stay inside the user's own destinations.
    sub_full(&mut b, 3, "w", "/user/**", AckMode::Auto, None, Some("bob")).unwrap();
    let (_, got) = publish(&mut b, "/user/ann/queue/x", b"", b"");
    assert!(got.iter().all(|g| g.session != 3));
}

#[test]
fn application_and_unknown_destinations() {
    let mut b = broker();
    assert_eq!(
        publish(&mut b, "/app/greet", b"", b"").0,
        Ok(Routed::Application)
    );
    assert_eq!(
        sub_full(&mut b, 1, "a", "/app/greet", AckMode::Auto, None, None).map(|g| g.len()),
        Ok(0)
    );
    let mut out = Vec::new();
    let r = b.subscribe(
        Subscribe {
            session: SessionId(1),
            id: "a",
            destination: "/app/x",
            ack: AckMode::Auto,
            selector: None,
            user: None,
        },
        &mut collect(&mut out),
    );
    assert_eq!(r, Ok(Subscribed::Application));
    assert!(b.subscriptions().is_empty());
    assert_eq!(
        publish(&mut b, "/elsewhere", b"", b"").0,
        Err(BrokerError::UnknownDestination)
    );
    assert_eq!(
        publish(&mut b, "/topic/*", b"", b"").0,
        Err(BrokerError::InvalidDestination)
    );
    assert_eq!(
        publish(&mut b, "", b"", b"").0,
        Err(BrokerError::InvalidDestination)
    );
    for bad in ["/**", "/top*/x", "/elsewhere", ""] {
        assert!(
            sub_full(&mut b, 1, "z", bad, AckMode::Auto, None, None).is_err(),
            "{bad}"
        );
    }
    assert_eq!(
        sub_full(&mut b, 1, "z", "/topic/a**", AckMode::Auto, None, None),
        Err(BrokerError::InvalidPattern(
            PatternError::DoubleStarInSegment
        ))
    );
}

#[test]
fn selectors_filter_and_bad_ones_are_refused() {
    let mut b = broker();
    sub_full(
        &mut b,
        1,
        "a",
        "/topic/t",
        AckMode::Auto,
        Some("kind = 'x'"),
        None,
    )
    .unwrap();
    sub_full(
        &mut b,
        2,
        "a",
        "/topic/t",
        AckMode::Auto,
        Some("kind != 'x'"),
        None,
    )
    .unwrap();
    let (_, got) = publish(&mut b, "/topic/t", b"kind:x\n", b"");
    assert_eq!(who(&got), [(1, "a")]);
    let (_, got) = publish(&mut b, "/topic/t", b"kind:y\n", b"");
    assert_eq!(who(&got), [(2, "a")]);
    let (_, got) = publish(&mut b, "/topic/t", b"", b"");
    assert!(got.is_empty());
    let err = sub_full(
        &mut b,
        3,
        "a",
        "/topic/t",
        AckMode::Auto,
        Some("kind = "),
        None,
    );
    let Err(BrokerError::InvalidSelector(e)) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.kind, SelectorErrorKind::ExpectedLiteral);
    assert_eq!(b.subscriptions().len(), 2);
}

#[test]
fn dot_separator_patterns() {
    let mut b: Test = SimpleBroker::new(
        BrokerConfig {
            separator: b'.',
            ..BrokerConfig::default()
        },
        FixedStore::new(),
        FixedInFlight::new(),
    );
    sub(&mut b, 1, "a", "/topic/price.stock.*", AckMode::Auto);
    sub(&mut b, 2, "a", "/topic/price.**", AckMode::Auto);
    let (_, got) = publish(&mut b, "/topic/price.stock.ibm", b"", b"");
    assert_eq!(got.len(), 2);
    let (_, got) = publish(&mut b, "/topic/price.stock.ibm.nyse", b"", b"");
    assert_eq!(who(&got), [(2, "a")]);
}

#[test]
fn cleanup_leaves_nothing() {
    let mut b = broker();
    sub(&mut b, 1, "a", "/topic/x", AckMode::Auto);
    sub(&mut b, 1, "b", "/topic/*", AckMode::Auto);
    sub(&mut b, 2, "a", "/queue/x", AckMode::Client);
    assert_eq!(
        sub_full(&mut b, 1, "a", "/topic/y", AckMode::Auto, None, None),
        Err(BrokerError::DuplicateSubscription)
    );
    assert_eq!(
        b.unsubscribe(SessionId(1), "zz", &mut |_| Handoff::Taken),
        Err(BrokerError::NotSubscribed)
    );
    b.unsubscribe(SessionId(1), "a", &mut |_| Handoff::Taken)
        .unwrap();
    assert_eq!(b.subscriptions().len(), 2);
    b.disconnect(SessionId(1), &mut |_| Handoff::Taken);
    b.disconnect(SessionId(2), &mut |_| Handoff::Taken);
    assert!(b.subscriptions().is_empty());
    let (_, got) = publish(&mut b, "/topic/x", b"", b"");
    assert!(got.is_empty());
}

#[test]
fn capacity_exhaustion() {
    let mut b: SimpleBroker<'_, FixedStore<2, 12>, FixedInFlight<1, 12, 4>> = SimpleBroker::new(
        BrokerConfig::default(),
        FixedStore::new(),
        FixedInFlight::new(),
    );
    sub(&mut b, 1, "a", "/queue/x", AckMode::Client);
    assert_eq!(
        sub_full(
            &mut b,
            1,
            "b",
            "/topic/way-too-long",
            AckMode::Auto,
            None,
            None
        ),
        Err(BrokerError::TextTooLong)
    );
    sub(&mut b, 1, "b", "/topic/y", AckMode::Auto);
    assert_eq!(
        sub_full(&mut b, 1, "c", "/topic/z", AckMode::Auto, None, None),
        Err(BrokerError::TooManySubscriptions)
    );
    assert_eq!(
        publish(&mut b, "/queue/x", b"", b"12345").0,
        Err(BrokerError::MessageTooLarge)
    );
    assert_eq!(
        publish(&mut b, "/queue/x", b"", b"1").0,
        Ok(Routed::Delivered(1))
    );
    let (r, got) = publish(&mut b, "/queue/x", b"", b"2");
    assert_eq!(r, Err(BrokerError::InFlightFull));
    assert!(got.is_empty());
    assert_eq!(
        BrokerError::InFlightFull.message(),
        "too many unacknowledged messages"
    );
}

#[test]
fn a_recovered_broker_offers_what_its_store_held_and_numbers_on_after_it() {
    let mut store: FixedInFlight<8, 32, 64> = FixedInFlight::new();
    for (seq, body) in [(41u64, &b"a"[..]), (42, b"b")] {
        let message = Message {
            destination: "/queue/r",
            headers: HeaderLines::new(b""),
            body,
        };
        store.insert(seq, message, None).unwrap();
    }
    let mut b: Test = SimpleBroker::recovered(BrokerConfig::default(), FixedStore::new(), store);
    // A new message queues behind the recovered ones, with the next id.
    assert_eq!(publish(&mut b, "/queue/r", b"", b"c").0, Ok(Routed::Held));
    let got = sub(&mut b, 1, "s", "/queue/r", AckMode::Auto);
    let seen: Vec<(&str, &[u8])> = got
        .iter()
        .map(|g| (g.id.as_str(), g.body.as_slice()))
        .collect();
    assert_eq!(seen, [("41", &b"a"[..]), ("42", b"b"), ("43", b"c")]);
}

#[test]
fn queues_are_not_subscribed_to_by_pattern_unless_allowed() {
    let mut b: Test = SimpleBroker::new(
        BrokerConfig::default(),
        FixedStore::new(),
        FixedInFlight::new(),
    );
    for pattern in ["/queue/**", "/queue/*", "/queue/a.*"] {
        assert_eq!(
            sub_full(&mut b, 1, "w", pattern, AckMode::Auto, None, None),
            Err(BrokerError::QueueWildcard),
            "{pattern}"
        );
    }
    assert!(sub_full(&mut b, 1, "q", "/queue/a", AckMode::Auto, None, None).is_ok());
    assert!(sub_full(&mut b, 1, "t", "/topic/**", AckMode::Auto, None, None).is_ok());
    let mut allowed = broker();
    assert!(sub_full(&mut allowed, 1, "w", "/queue/**", AckMode::Auto, None, None).is_ok());
}

#[test]
fn queue_limits_refuse_the_send_and_keep_what_waits() {
    let limits = QueueLimits {
        messages_per_queue: 2,
        bytes_per_queue: 10,
        held_bytes: 14,
    };
    let mut b: Test = SimpleBroker::new(
        BrokerConfig {
            limits,
            ..BrokerConfig::default()
        },
        FixedStore::new(),
        FixedInFlight::new(),
    );
    // Two messages wait; a third to the same queue is over the message limit.
    assert_eq!(publish(&mut b, "/queue/a", b"", b"1").0, Ok(Routed::Held));
    assert_eq!(publish(&mut b, "/queue/a", b"", b"2").0, Ok(Routed::Held));
    assert_eq!(
        publish(&mut b, "/queue/a", b"", b"3").0,
        Err(BrokerError::QueueFull)
    );
    // Another queue has its own limit: 10 bytes fit, 11 do not.
    assert_eq!(
        publish(&mut b, "/queue/b", b"", b"12345678901").0,
        Err(BrokerError::QueueFull)
    );
    assert_eq!(
        publish(&mut b, "/queue/b", b"k:v\n", b"1234").0,
        Ok(Routed::Held)
    );
    // All queues together hold 1 + 1 + 8 bytes; 5 more would pass 14.
    assert_eq!(
        publish(&mut b, "/queue/c", b"", b"12345").0,
        Err(BrokerError::StorageFull)
    );
    // Topics hold nothing and are not limited.
    sub(&mut b, 2, "t", "/topic/t", AckMode::Auto);
    assert_eq!(
        publish(&mut b, "/topic/t", b"", b"1234").0,
        Ok(Routed::Delivered(1))
    );
    // Nothing refused was stored; everything that waited is delivered, in order.
    let got = sub(&mut b, 1, "a", "/queue/a", AckMode::Auto);
    let bodies: Vec<&[u8]> = got.iter().map(|g| g.body.as_slice()).collect();
    assert_eq!(bodies, [&b"1"[..], b"2"]);
    // The queue has room again.
    assert_eq!(
        publish(&mut b, "/queue/a", b"", b"3").0,
        Ok(Routed::Delivered(1))
    );
    assert_eq!(
        BrokerError::QueueFull.message(),
        "queue full: message refused"
    );
}

mod model {
    //! Random operations against a Vec-based model.
    use super::*;
    use proptest::prelude::*;
    use std::format;

    const SUB_DESTS: [&str; 7] = [
        "/topic/a",
        "/topic/b",
        "/topic/*",
        "/queue/a",
        "/queue/b",
        "/queue/*",
        "/topic/**",
    ];
    const PUB_DESTS: [&str; 4] = ["/topic/a", "/topic/b", "/queue/a", "/queue/b"];

    #[derive(Debug, Clone)]
    enum Op {
        Subscribe(u32, u8, usize, u8),
        Unsubscribe(u32, u8),
        Publish(usize),
        Ack(u32, usize),
        Nack(u32, usize),
        Disconnect(u32),
        /// The session's window closes (it refuses deliveries) or opens.
        Refuse(u32, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..3u32, 0..3u8, 0..SUB_DESTS.len(), 0..3u8)
                .prop_map(|(s, i, d, a)| Op::Subscribe(s, i, d, a)),
            1 => (0..3u32, 0..3u8).prop_map(|(s, i)| Op::Unsubscribe(s, i)),
            4 => (0..PUB_DESTS.len()).prop_map(Op::Publish),
            2 => (0..3u32, 0..8usize).prop_map(|(s, i)| Op::Ack(s, i)),
            2 => (0..3u32, 0..8usize).prop_map(|(s, i)| Op::Nack(s, i)),
            1 => (0..3u32).prop_map(Op::Disconnect),
            2 => (0..3u32, any::<bool>()).prop_map(|(s, r)| Op::Refuse(s, r)),
        ]
    }

    fn model_matches(pattern: &str, dest: &str) -> bool {
        match pattern.strip_suffix("/**") {
            Some(prefix) => dest.starts_with(prefix),
            None => match pattern.strip_suffix('*') {
                Some(prefix) => dest.starts_with(prefix) && !dest[prefix.len()..].contains('/'),
                None => pattern == dest,
            },
        }
    }

    #[derive(Default)]
    struct Model {
        /// (session, id, destination, ack)
        subs: Vec<(u32, String, &'static str, AckMode)>,
        /// Unacked queue message id -> (session, sub, ack)
        owned: Vec<(u64, u32, String, AckMode)>,
        /// Sessions whose window is closed.
        refusing: [bool; 3],
        /// Queue messages published and not yet consumed (taken by an auto-ack
        /// subscription, or acknowledged): what the broker must still hold.
        alive: usize,
        /// Queue messages delivered at least once.
        ever: std::collections::BTreeSet<u64>,
        /// The last first-time queue delivery per (session, subscription).
        last: std::collections::BTreeMap<(u32, String), u64>,
    }

    impl Model {
        fn check_delivery(&mut self, g: &Got, queue: bool) -> Result<(), TestCaseError> {
            let sub = self
                .subs
                .iter()
                .find(|(s, id, _, _)| *s == g.session && *id == g.sub);
            let Some((_, _, pattern, ack)) = sub else {
                return Err(TestCaseError::fail(format!(
                    "delivery to a non-subscriber {g:?}"
                )));
            };
            prop_assert!(model_matches(pattern, &g.dest), "{pattern} vs {}", g.dest);
            if queue {
                let seq: u64 = g.id.parse().unwrap();
                prop_assert!(
                    !self.owned.iter().any(|o| o.0 == seq),
                    "queue message {seq} delivered while another holds it"
                );
                // A queue keeps its order: first deliveries to a subscription go up.
                if self.ever.insert(seq) {
                    let key = (g.session, g.sub.clone());
                    let before = self.last.insert(key, seq);
                    prop_assert!(before.is_none_or(|b| b < seq), "{before:?} then {seq}");
                }
                if *ack != AckMode::Auto {
                    self.owned.push((seq, g.session, g.sub.clone(), *ack));
                } else {
                    self.alive -= 1;
                }
            }
            Ok(())
        }
    }

    /// A sink that refuses for the sessions `refusing` names and collects the rest.
    fn window<'a>(
        refusing: [bool; 3],
        out: &'a mut Vec<Got>,
    ) -> impl FnMut(Delivery<'_>) -> Handoff + 'a {
        let mut collect = collect(out);
        move |d| {
            if refusing.get(d.session.0 as usize) == Some(&true) {
                return Handoff::Refused;
            }
            collect(d)
        }
    }

    fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
        let mut b: SimpleBroker<'_, FixedStore<16, 32>, FixedInFlight<64, 32, 8>> =
            SimpleBroker::new(WILDCARDS, FixedStore::new(), FixedInFlight::new());
        let mut m = Model::default();
        for op in ops {
            let mut got = Vec::new();
            match op {
                Op::Subscribe(s, i, d, a) => {
                    let ack =
                        [AckMode::Auto, AckMode::Client, AckMode::ClientIndividual][a as usize];
                    let id = i.to_string();
                    let dest = SUB_DESTS[d];
                    let request = Subscribe {
                        session: SessionId(s),
                        id: &id,
                        destination: dest,
                        ack,
                        selector: None,
                        user: None,
                    };
                    let r = b
                        .subscribe(request, &mut window(m.refusing, &mut got))
                        .map(|_| ());
                    let dup = m.subs.iter().any(|(ss, ii, _, _)| *ss == s && *ii == id);
                    if dup {
                        prop_assert_eq!(r, Err(BrokerError::DuplicateSubscription));
                    } else {
                        r.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                        m.subs.push((s, id, dest, ack));
                    }
                }
                Op::Unsubscribe(s, i) => {
                    let id = i.to_string();
                    let known = m
                        .subs
                        .iter()
                        .position(|(ss, ii, _, _)| *ss == s && *ii == id);
                    let r = b.unsubscribe(SessionId(s), &id, &mut window(m.refusing, &mut got));
                    prop_assert_eq!(r.is_ok(), known.is_some());
                    if let Some(k) = known {
                        m.subs.remove(k);
                    }
                    m.owned.retain(|o| !(o.1 == s && o.2 == id));
                    m.last.remove(&(s, id));
                }
                Op::Refuse(s, refuse) => {
                    m.refusing[s as usize] = refuse;
                    // A window that opens is said, as a session does once it drained.
                    if !refuse {
                        b.resume(SessionId(s), &mut window(m.refusing, &mut got));
                    }
                }
                Op::Disconnect(s) => {
                    b.disconnect(SessionId(s), &mut window(m.refusing, &mut got));
                    m.subs.retain(|x| x.0 != s);
                    m.owned.retain(|o| o.1 != s);
                    m.last.retain(|k, _| k.0 != s);
                }
                Op::Publish(d) => {
                    let dest = PUB_DESTS[d];
                    let message = Message {
                        destination: dest,
                        headers: HeaderLines::new(b""),
                        body: b"x",
                    };
                    let r = b.publish(SessionId(99), message, &mut window(m.refusing, &mut got));
                    let refusing = m.refusing;
                    let matching: Vec<(u32, String)> = m
                        .subs
                        .iter()
                        .filter(|x| model_matches(x.2, dest) && !refusing[x.0 as usize])
                        .map(|x| (x.0, x.1.clone()))
                        .collect();
                    if dest.starts_with("/topic") {
                        let mut delivered: Vec<(u32, String)> =
                            got.iter().map(|g| (g.session, g.sub.clone())).collect();
                        delivered.sort();
                        let mut expected = matching;
                        expected.sort();
                        prop_assert_eq!(&delivered, &expected);
                        prop_assert_eq!(r, Ok(Routed::Delivered(expected.len())));
                    } else {
                        match r {
                            // Older waiting messages may go out first (a queue keeps
                            // its order).
                            Ok(Routed::Delivered(1)) => {
                                prop_assert!(!got.is_empty());
                                m.alive += 1;
                            }
                            Ok(Routed::Held) => {
                                prop_assert!(matching.is_empty());
                                m.alive += 1;
                            }
                            Err(BrokerError::InFlightFull) => prop_assert!(got.is_empty()),
                            other => return Err(TestCaseError::fail(format!("{other:?}"))),
                        }
                    }
                }
                Op::Ack(s, i) | Op::Nack(s, i) => {
                    let mine: Vec<(u64, String, AckMode)> = m
                        .owned
                        .iter()
                        .filter(|o| o.1 == s)
                        .map(|o| (o.0, o.2.clone(), o.3))
                        .collect();
                    let Some((seq, subid, ack)) = mine.get(i % mine.len().max(1)).cloned() else {
                        prop_assert!(b
                            .ack(SessionId(s), "12345678", &mut |_| Handoff::Taken)
                            .is_err());
                        continue;
                    };
                    if matches!(op, Op::Ack(..)) {
                        prop_assert_eq!(
                            b.ack(
                                SessionId(s),
                                &seq.to_string(),
                                &mut window(m.refusing, &mut got)
                            ),
                            Ok(())
                        );
                        let before = m.owned.len();
                        m.owned.retain(|o| {
                            !(o.0 == seq
                                || (ack == AckMode::Client
                                    && o.1 == s
                                    && o.2 == subid
                                    && o.0 < seq))
                        });
                        m.alive -= before - m.owned.len();
                    } else {
                        let r = b.nack(
                            SessionId(s),
                            &seq.to_string(),
                            &mut window(m.refusing, &mut got),
                        );
                        prop_assert_eq!(r, Ok(()));
                        m.owned.retain(|o| o.0 != seq);
                        // The nacked message first, if someone took it; then waiting ones.
                        prop_assert!(got
                            .iter()
                            .take(1)
                            .all(|g| g.id == seq.to_string() || !g.redelivered));
                    }
                }
            }
            let queue_ids: Vec<bool> = got.iter().map(|g| g.dest.starts_with("/queue")).collect();
            for (g, q) in got.iter().zip(queue_ids) {
                m.check_delivery(g, q)?;
            }
            // The broker's owners agree with the model's.
            let mut held = Vec::new();
            let mut after = None;
            while let Some(seq) = b.in_flight().next_after(after) {
                after = Some(seq);
                if let Some(o) = b.in_flight().get(seq).and_then(|h| h.owner) {
                    held.push((seq, o.session.0, o.subscription.to_string()));
                }
            }
            let mut expected: Vec<(u64, u32, String)> =
                m.owned.iter().map(|o| (o.0, o.1, o.2.clone())).collect();
            expected.sort();
            prop_assert_eq!(held, expected);
            prop_assert_eq!(b.subscriptions().len(), m.subs.len());
            // Nothing lost: every queue message not consumed is still held.
            prop_assert_eq!(b.in_flight().len(), m.alive);
        }
        for s in 0..3 {
            b.disconnect(SessionId(s), &mut |_| Handoff::Taken);
        }
        prop_assert!(b.subscriptions().is_empty());
        let mut after = None;
        while let Some(seq) = b.in_flight().next_after(after) {
            after = Some(seq);
            prop_assert!(b.in_flight().get(seq).is_some_and(|h| h.owner.is_none()));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn broker_agrees_with_model(ops in proptest::collection::vec(op(), 0..60)) {
            run(ops)?;
        }
    }
}
