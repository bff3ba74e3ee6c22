//! In-process routing cost of `SimpleBroker::publish` at 10, 1,000 and 100,000
//! subscriptions, over the std adapter's growable stores (`VecStore`, `VecInFlight`) and,
//! where their setup stays cheap, the core's fixed ones (`FixedStore`, `FixedInFlight`).
//!
//! Cases:
//! - `exact`: N subscriptions, each on its own `/topic/t.{i}`; each publish goes to the
//!   next of them, round robin, and reaches one subscriber. The exact-destination index
//!   should keep the cost flat as N grows.
//! - `exact+10wild`: the same with 10 wildcard subscriptions that never match, so each
//!   publish also scans the pattern list.
//! - `fanout`: N subscriptions on one topic; each publish reaches all N.
//! - `queue`: N subscribers on `/queue/q` with auto ack; each publish reaches one, chosen
//!   round robin (least recently served).
//!
//! The sink counts deliveries and sums body lengths, the least a session does with a
//! delivery before encoding its `MESSAGE` frame. After criterion's runs, a table computed
//! from plain timed loops (best of 5) is printed, so it appears even with short runs.
//!
//! `FixedStore` at 100,000 is left out: its insert and the broker's duplicate-id check
//! scan the slot array, so setting up 100,000 subscriptions is quadratic (and the store
//! alone is megabytes of stack).
//!
//! Round robin over N exact destinations touches a different map entry and subscription
//! each publish, so at 100,000 (megabytes of store) the cost includes cache misses that
//! publishing to one hot destination would not show: the index itself stays flat.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use sockwire_core::broker::{
    AckMode, Broker, BrokerConfig, Delivery, FixedInFlight, FixedStore, Handoff, HeaderLines,
    InFlightStore, Message, Routed, SessionId, SimpleBroker, Subscribe, SubscriptionStore,
};
use sockwire_std::broker::{VecInFlight, VecStore};

const SUBS: [usize; 3] = [10, 1_000, 100_000];
const HEADERS: &[u8] = b"content-type:application/json\npriority:5\n";
const BODY: &[u8] = &[b'x'; 64];
const WILDCARDS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Exact,
    ExactWild,
    FanOut,
    Queue,
}

const SHAPES: [Shape; 4] = [Shape::Exact, Shape::ExactWild, Shape::FanOut, Shape::Queue];

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Exact => "exact",
            Shape::ExactWild => "exact+10wild",
            Shape::FanOut => "fanout",
            Shape::Queue => "queue",
        }
    }

    /// Deliveries per publish with `n` subscriptions.
    fn fan(self, n: usize) -> usize {
        match self {
            Shape::FanOut => n,
            Shape::Exact | Shape::ExactWild | Shape::Queue => 1,
        }
    }
}

/// What the sink does with each delivery: count it and add up body bytes.
#[derive(Debug, Default)]
struct Tally {
    deliveries: u64,
    body_bytes: u64,
}

impl Tally {
    fn take(&mut self, d: Delivery<'_>) {
        self.deliveries += 1;
        self.body_bytes += black_box(d.body).len() as u64;
    }
}

/// A broker with its subscriptions in place and the destinations to publish to.
struct Routing<S, F> {
    broker: SimpleBroker<'static, S, F>,
    destinations: Vec<String>,
    next: usize,
    tally: Tally,
}

impl<S: SubscriptionStore, F: InFlightStore> Routing<S, F> {
    fn new(shape: Shape, n: usize, subs: S, in_flight: F) -> Self {
        let mut broker = SimpleBroker::new(BrokerConfig::default(), subs, in_flight);
        let ignore = &mut |_: Delivery<'_>| Handoff::Taken;
        let destinations: Vec<String> = match shape {
            Shape::Exact | Shape::ExactWild => (0..n).map(|i| format!("/topic/t.{i}")).collect(),
            Shape::FanOut => vec!["/topic/fan".to_string()],
            Shape::Queue => vec!["/queue/q".to_string()],
        };
        let mut subscribe = |session: usize, destination: &str| {
            let request = Subscribe {
                session: SessionId(session as u32),
                id: "sub-0",
                destination,
                ack: AckMode::Auto,
                selector: None,
                user: None,
            };
            broker.subscribe(request, ignore).expect("subscribe");
        };
        for i in 0..n {
            subscribe(i, &destinations[i % destinations.len()]);
        }
        if shape == Shape::ExactWild {
            for i in 0..WILDCARDS {
                // Half one-segment wildcards, half multi-segment ones; none matches.
                let pattern = if i % 2 == 0 {
                    format!("/topic/w.{i}.*")
                } else {
                    format!("/topic/**/w{i}")
                };
                subscribe(n + i, &pattern);
            }
        }
        Routing {
            broker,
            destinations,
            next: 0,
            tally: Tally::default(),
        }
    }

    fn publish(&mut self) -> Routed {
        let destination = &self.destinations[self.next];
        self.next += 1;
        if self.next == self.destinations.len() {
            self.next = 0;
        }
        let tally = &mut self.tally;
        let message = Message {
            destination,
            headers: HeaderLines::new(HEADERS),
            body: BODY,
        };
        let routed = self
            .broker
            .publish(SessionId(u32::MAX), message, &mut |d: Delivery<'_>| {
                tally.take(d);
                Handoff::Taken
            })
            .expect("publish");
        black_box(routed)
    }

    /// Checks that each publish reaches the subscribers it should before timing it.
    fn check(&mut self, shape: Shape, n: usize) {
        let before = self.tally.deliveries;
        assert_eq!(self.publish(), Routed::Delivered(shape.fan(n)));
        assert_eq!(self.tally.deliveries - before, shape.fan(n) as u64);
        if shape == Shape::Queue && n <= 1_000 {
            // Round robin: n publishes reach n different sessions.
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..n {
                let message = Message {
                    destination: "/queue/q",
                    headers: HeaderLines::new(HEADERS),
                    body: BODY,
                };
                self.broker
                    .publish(SessionId(u32::MAX), message, &mut |d: Delivery<'_>| {
                        seen.insert(d.session);
                        Handoff::Taken
                    })
                    .expect("publish");
            }
            assert_eq!(seen.len(), n);
        }
    }

    /// Nanoseconds per publish: best of 5 timed runs of a batch that takes at least
    /// 20 ms.
    fn ns_per_publish(&mut self) -> f64 {
        let run = Duration::from_millis(20);
        let mut batch = 1u64;
        loop {
            let start = Instant::now();
            for _ in 0..batch {
                self.publish();
            }
            if start.elapsed() >= run {
                break;
            }
            batch *= 2;
        }
        (0..5)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..batch {
                    self.publish();
                }
                start.elapsed().as_nanos() as f64 / batch as f64
            })
            .fold(f64::INFINITY, f64::min)
    }
}

struct Row {
    case: String,
    subs: usize,
    ns_per_publish: f64,
    ns_per_delivery: f64,
}

fn measure<S: SubscriptionStore, F: InFlightStore>(
    criterion: &mut Criterion,
    rows: &mut Vec<Row>,
    shape: Shape,
    n: usize,
    store: &str,
    subs: S,
    in_flight: F,
) {
    let mut routing = Routing::new(shape, n, subs, in_flight);
    routing.check(shape, n);
    let case = format!("{}/{}", shape.name(), store);
    let mut group = criterion.benchmark_group(format!("broker_routing/{case}"));
    group.throughput(Throughput::Elements(shape.fan(n) as u64));
    group.bench_function(BenchmarkId::from_parameter(n), |b| {
        b.iter(|| routing.publish())
    });
    group.finish();
    let ns_per_publish = routing.ns_per_publish();
    black_box(&routing.tally);
    rows.push(Row {
        case,
        subs: n,
        ns_per_publish,
        ns_per_delivery: ns_per_publish / shape.fan(n) as f64,
    });
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(600))
        .sample_size(10)
        // Plot rendering takes longer than the measurements.
        .without_plots()
        .configure_from_args();
    let mut rows = Vec::new();
    for shape in SHAPES {
        for n in SUBS {
            let c = &mut criterion;
            let r = &mut rows;
            measure(c, r, shape, n, "vec", VecStore::new(), VecInFlight::new());
            // Room for the wildcards; auto ack holds nothing in flight.
            let in_flight = FixedInFlight::<4, 32, 128>::new();
            match n {
                10 => measure(
                    c,
                    r,
                    shape,
                    n,
                    "fixed",
                    FixedStore::<32, 32>::new(),
                    in_flight,
                ),
                1_000 => measure(
                    c,
                    r,
                    shape,
                    n,
                    "fixed",
                    FixedStore::<1024, 32>::new(),
                    in_flight,
                ),
                _ => {}
            }
        }
    }
    criterion.final_summary();

    println!();
    println!(
        "{:<20} {:>7} {:>15} {:>16}",
        "case", "subs", "ns_per_publish", "ns_per_delivery"
    );
    for row in &rows {
        println!(
            "{:<20} {:>7} {:>15.1} {:>16.2}",
            row.case, row.subs, row.ns_per_publish, row.ns_per_delivery
        );
    }
    // Flatness of exact routing: cost at the largest N over cost at the smallest.
    for case in ["exact/vec", "exact+10wild/vec", "exact/fixed"] {
        let of = |n: usize| {
            rows.iter()
                .find(|r| r.case == case && r.subs == n)
                .map(|r| r.ns_per_publish)
        };
        let largest = SUBS.iter().rev().find_map(|&n| of(n).map(|v| (n, v)));
        if let (Some(small), Some((n, large))) = (of(SUBS[0]), largest) {
            println!(
                "{case}: {n} vs {} subscriptions: x{:.2}",
                SUBS[0],
                large / small
            );
        }
    }
}
