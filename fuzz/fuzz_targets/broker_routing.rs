//! Drives `SimpleBroker` with sessions and operations decoded from the input, checking
//! that nothing panics, that no message reaches a session that is not subscribed to a
//! matching destination, that a queue message has one holder at a time, and that the
//! store is empty once every session has disconnected.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::broker::{
    AckMode, Broker, BrokerConfig, BrokerError, FixedInFlight, FixedStore, Handoff, HeaderLines,
    InFlightStore, Message, QueueLimits, SessionId, SimpleBroker, Subscribe, SubscriptionStore,
};

const SUB_DESTS: [&str; 10] = [
    "/topic/a",
    "/topic/b",
    "/topic/*",
    "/topic/**",
    "/queue/a",
    "/queue/b",
    "/queue/*",
    "/user/queue/a",
    "/app/x",
    "/topic/a.*",
];
const PUB_DESTS: [&str; 7] = [
    "/topic/a",
    "/topic/b",
    "/queue/a",
    "/queue/b",
    "/user/u0/queue/a",
    "/user/u1/queue/a",
    "/app/x",
];
const SELECTORS: [Option<&str>; 4] = [
    None,
    Some("k = 'v'"),
    Some("k != 'v' or z = 'q'"),
    Some("k = "),
];
const HEADERS: [&[u8]; 3] = [b"", b"k:v\n", b"k:w\nz:q\n"];
const USERS: [Option<&str>; 3] = [None, Some("u0"), Some("u1")];

/// Whether subscription destination `sub` (as subscribed by a session of `user`) should
/// receive a message published to `publ`: written out by hand, independent of the broker.
fn expected(sub: &str, user: Option<&str>, publ: &str) -> bool {
    match sub {
        "/topic/*" => publ.starts_with("/topic/") && !publ["/topic/".len()..].contains('/'),
        "/topic/**" => publ.starts_with("/topic/"),
        "/queue/*" => publ.starts_with("/queue/") && !publ["/queue/".len()..].contains('/'),
        "/topic/a.*" => false,
        "/user/queue/a" => match user {
            Some(u) => {
                publ.strip_prefix("/user/").and_then(|r| r.strip_prefix(u)) == Some("/queue/a")
            }
            None => false,
        },
        _ => sub == publ,
    }
}

fn selector_passes(selector: Option<&str>, headers: &[u8]) -> bool {
    match selector {
        None => true,
        Some("k = 'v'") => headers.starts_with(b"k:v\n"),
        Some("k != 'v' or z = 'q'") => headers == b"k:w\nz:q\n",
        Some(_) => false,
    }
}

struct Sub {
    session: u32,
    id: u8,
    dest: usize,
    selector: Option<&'static str>,
    user: Option<&'static str>,
}

type Fuzzed = SimpleBroker<'static, FixedStore<12, 24>, FixedInFlight<6, 24, 16>>;

fuzz_target!(|data: &[u8]| {
    // The first byte picks small queue limits, so that SENDs are refused now and then.
    let limit = usize::from(data.first().copied().unwrap_or(0) % 8) + 1;
    let config = BrokerConfig {
        limits: QueueLimits {
            messages_per_queue: limit,
            bytes_per_queue: limit * 12,
            held_bytes: limit * 24,
        },
        queue_wildcards: true,
        ..BrokerConfig::default()
    };
    let data = data.get(1..).unwrap_or_default();
    let mut broker: Fuzzed = SimpleBroker::new(config, FixedStore::new(), FixedInFlight::new());
    let mut subs: Vec<Sub> = Vec::new();
    let mut sessions_user: [Option<&'static str>; 4] = [None; 4];
    // Queue messages with an unacknowledged holder: (message id, session).
    let mut held: Vec<(u64, u32)> = Vec::new();
    // Sessions whose window is closed: they refuse deliveries.
    let mut refusing = [false; 4];
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();

    while let Some(op) = next() {
        let session = u32::from(op >> 4) % 4;
        let mut deliveries: Vec<(u32, String, String, u64, bool)> = Vec::new();
        let closed = refusing;
        let mut sink = |d: sockwire_core::broker::Delivery<'_>| {
            if closed.get(d.session.0 as usize) == Some(&true) {
                return Handoff::Refused;
            }
            let id = d.message_id.parse().unwrap_or(u64::MAX);
            deliveries.push((
                d.session.0,
                d.subscription.to_string(),
                d.destination.to_string(),
                id,
                d.ack != AckMode::Auto,
            ));
            Handoff::Taken
        };
        let mut published: Option<(&str, &[u8])> = None;
        match op % 7 {
            0 => {
                let (Some(a), Some(b)) = (next(), next()) else {
                    break;
                };
                let id = a % 4;
                let dest = usize::from(b) % SUB_DESTS.len();
                let selector = SELECTORS[usize::from(b >> 4) % SELECTORS.len()];
                let ack = [AckMode::Auto, AckMode::Client, AckMode::ClientIndividual]
                    [usize::from(a >> 2) % 3];
                let user = *sessions_user[session as usize]
                    .get_or_insert(USERS[usize::from(a >> 4) % USERS.len()].unwrap_or("u0"));
                let user = if a & 0x80 != 0 { None } else { Some(user) };
                let id_text = id.to_string();
                let r = broker.subscribe(
                    Subscribe {
                        session: SessionId(session),
                        id: &id_text,
                        destination: SUB_DESTS[dest],
                        ack,
                        selector,
                        user,
                    },
                    &mut sink,
                );
                if let Ok(sockwire_core::broker::Subscribed::Broker) = r {
                    assert!(!subs.iter().any(|s| s.session == session && s.id == id));
                    subs.push(Sub {
                        session,
                        id,
                        dest,
                        selector,
                        user,
                    });
                }
            }
            1 => {
                let Some(a) = next() else { break };
                let id = a % 4;
                let r = broker.unsubscribe(SessionId(session), &id.to_string(), &mut sink);
                let before = subs.len();
                subs.retain(|s| !(s.session == session && s.id == id));
                assert_eq!(r.is_ok(), subs.len() < before);
                // The broker reassigns what the subscription held; recount from its table.
                held.clear();
            }
            2 | 3 => {
                let Some(a) = next() else { break };
                let dest = PUB_DESTS[usize::from(a) % PUB_DESTS.len()];
                let headers = HEADERS[usize::from(a >> 4) % HEADERS.len()];
                let held_before = broker.in_flight().len();
                let routed = broker.publish(
                    SessionId(session),
                    Message {
                        destination: dest,
                        headers: HeaderLines::new(headers),
                        body: &[a],
                    },
                    &mut sink,
                );
                if let Err(BrokerError::QueueFull | BrokerError::StorageFull) = routed {
                    // A refused SEND leaves no trace: nothing delivered, nothing held.
                    assert!(deliveries.is_empty());
                    assert_eq!(broker.in_flight().len(), held_before);
                }
                published = Some((dest, headers));
            }
            4 => {
                let Some(a) = next() else { break };
                let id = u64::from(a % 16).to_string();
                if a & 0x80 != 0 {
                    let _ = broker.ack(SessionId(session), &id, &mut sink);
                } else {
                    let _ = broker.nack(SessionId(session), &id, &mut sink);
                }
            }
            6 => {
                refusing[session as usize] = !refusing[session as usize];
                if !refusing[session as usize] {
                    broker.resume(SessionId(session), &mut sink);
                }
            }
            _ => {
                broker.disconnect(SessionId(session), &mut sink);
                subs.retain(|s| s.session != session);
                sessions_user[session as usize] = None;
            }
        }
        for (s, sub_id, dest, _, _) in &deliveries {
            let sub = subs
                .iter()
                .find(|x| x.session == *s && x.id.to_string() == *sub_id)
                .unwrap_or_else(|| {
                    panic!("delivery to a session that is not subscribed: {s} {sub_id}")
                });
            let seen = if dest.starts_with("/user/") {
                published.map_or(dest.as_str(), |p| p.0)
            } else {
                dest.as_str()
            };
            assert!(
                expected(SUB_DESTS[sub.dest], sub.user, seen),
                "{} does not match {seen}",
                SUB_DESTS[sub.dest]
            );
            if let Some((_, headers)) = published {
                assert!(selector_passes(sub.selector, headers));
            }
        }
        if let Some((dest, headers)) = published {
            if dest.starts_with("/topic") || dest.starts_with("/user") {
                let want = subs
                    .iter()
                    .filter(|s| !refusing[s.session as usize])
                    .filter(|s| expected(SUB_DESTS[s.dest], s.user, dest))
                    .filter(|s| selector_passes(s.selector, headers))
                    .count();
                assert_eq!(deliveries.len(), want, "fan-out to {dest}");
            } else {
                assert!(deliveries.len() <= 1);
            }
        }
        // One holder per queue message, and only subscribed sessions hold messages.
        held.clear();
        let table = broker.in_flight();
        let mut after = None;
        while let Some(seq) = table.next_after(after) {
            after = Some(seq);
            if let Some(owner) = table.get(seq).and_then(|h| h.owner) {
                assert!(!held.iter().any(|h| h.0 == seq));
                assert!(subs.iter().any(
                    |s| s.session == owner.session.0 && s.id.to_string() == owner.subscription
                ));
                held.push((seq, owner.session.0));
            }
        }
        assert_eq!(broker.subscriptions().len(), subs.len());
    }
    for s in 0..4 {
        broker.disconnect(SessionId(s), &mut |_| Handoff::Taken);
    }
    assert!(broker.subscriptions().is_empty());
});
