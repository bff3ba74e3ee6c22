//! The std adapter's growable session tables ([`GrowableStorage`]) behave exactly like
//! the core's fixed ones ([`FixedStorage`]): two STOMP server sessions with the same
//! small capacities, one of each, are driven by the same pseudo-random client frames
//! (legal and not, with receipts, transactions, acknowledgements and MESSAGE writes,
//! hitting every limit) and must report the same events and send the same bytes.

use sockwire_core::machine::{Machine, Pause, Status};
use sockwire_core::stomp::{
    FixedStorage, HeaderLines, Id, OutgoingMessage, ServerSession, ServerSessionConfig,
    SessionStorage,
};
use sockwire_core::time::Instant;
use sockwire_std::table::GrowableStorage;

type Session<T> = ServerSession<3, 2, 4, 160, T>;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// What the client believes the session holds, to make most frames legal.
#[derive(Default)]
struct Client {
    subs: Vec<u64>,
    txs: Vec<u64>,
    acks: Vec<String>,
}

impl Client {
    /// One client frame, chosen at random: now and then one that breaks a rule.
    fn frame(&mut self, rng: &mut Rng, label: usize) -> Vec<u8> {
        let receipt = if rng.below(2) == 0 {
            format!("receipt:r{label}\n")
        } else {
            String::new()
        };
        let wild = rng.below(12) == 0;
        let pick = |known: &[u64], rng: &mut Rng| match known.len() {
            n if n > 0 && !wild => known[rng.below(n as u64) as usize],
            _ => rng.below(5),
        };
        let mut kind = rng.below(12);
        // Without a subscription, transaction or message to name, a legal frame instead.
        if !wild
            && ((kind == 2 && self.subs.is_empty())
                || ((4..=8).contains(&kind) && self.txs.is_empty())
                || ((9..=10).contains(&kind) && self.acks.is_empty()))
        {
            kind = [1, 3, 6][rng.below(3) as usize];
        }
        let text = match kind {
            0 if wild => "CONNECT\naccept-version:1.2\n\n\0".to_string(),
            0 | 1 => {
                let sub = rng.below(5);
                if !self.subs.contains(&sub) {
                    self.subs.push(sub);
                }
                let modes = ["auto", "client", "client-individual", "never"];
                let ack = modes[rng.below(if wild { 4 } else { 3 }) as usize];
                format!("SUBSCRIBE\nid:s{sub}\ndestination:/q\nack:{ack}\n{receipt}\n\0")
            }
            2 => {
                let sub = pick(&self.subs, rng);
                self.subs.retain(|&s| s != sub);
                format!("UNSUBSCRIBE\nid:s{sub}\n{receipt}\n\0")
            }
            3 => format!("SEND\ndestination:/q\n{receipt}\nplain {label}\0"),
            4 | 5 => {
                let tx = pick(&self.txs, rng);
                let body = "x".repeat(rng.below(50) as usize);
                format!("SEND\ndestination:/q\ntransaction:t{tx}\n{receipt}\n{body}{label}\0")
            }
            6 => {
                let tx = rng.below(4);
                if !self.txs.contains(&tx) {
                    self.txs.push(tx);
                }
                format!("BEGIN\ntransaction:t{tx}\n{receipt}\n\0")
            }
            7 | 8 => {
                let tx = pick(&self.txs, rng);
                self.txs.retain(|&t| t != tx);
                let cmd = if rng.below(2) == 0 { "COMMIT" } else { "ABORT" };
                format!("{cmd}\ntransaction:t{tx}\n{receipt}\n\0")
            }
            9 | 10 => {
                let cmd = if rng.below(3) == 0 { "NACK" } else { "ACK" };
                let n = self.acks.len() as u64;
                let id = match self.acks.get(rng.below(n.max(1)) as usize) {
                    Some(id) if !wild => id.clone(),
                    _ => rng.below(20).to_string(),
                };
                format!("{cmd}\nid:{id}\n{receipt}\n\0")
            }
            _ => "\n".to_string(),
        };
        text.into_bytes()
    }

    /// Remembers the `ack` header of a MESSAGE the session wrote.
    fn saw(&mut self, message: &str) {
        if let Some(ack) = message
            .lines()
            .find_map(|l| l.strip_prefix("ack:"))
            .filter(|_| message.starts_with("MESSAGE"))
        {
            self.acks.push(ack.to_string());
        }
    }
}

/// Feeds `input` to the session, accepting CONNECTs and draining what it owes; returns
/// what happened, in order.
fn feed<T: SessionStorage>(s: &mut Session<T>, input: &[u8], now: Instant) -> Vec<String> {
    let mut log = Vec::new();
    let mut at = 0;
    let mut out = [0u8; 1024];
    for _ in 0..64 {
        let read = s.read(input.get(at..).unwrap_or_default(), now);
        at += read.consumed;
        let status = format!("{:?} after {}", read.status, read.consumed);
        let (connect, go_on) = match read.status {
            Status::Event(ev) => (
                matches!(ev, sockwire_core::stomp::ServerEvent::Connect { .. }),
                true,
            ),
            Status::Paused(Pause::Transmit) => (false, true),
            _ => (false, false),
        };
        log.push(status);
        if connect {
            log.push(format!("accept: {:?}", s.accept_connect(now)));
        }
        loop {
            match s.poll_transmit(now, &mut out) {
                Ok(Some(n)) => log.push(String::from_utf8_lossy(&out[..n]).into_owned()),
                other => {
                    log.push(format!("transmit: {other:?}"));
                    break;
                }
            }
        }
        if !go_on {
            break;
        }
    }
    log
}

fn message<T: SessionStorage>(s: &mut Session<T>, sub: u64, m: usize, now: Instant) -> String {
    let mut out = [0u8; 512];
    let sub = format!("s{sub}");
    let id = format!("m{m}");
    let message = OutgoingMessage {
        subscription: sub.as_bytes(),
        message_id: id.as_bytes(),
        destination: b"/q".iter().copied(),
        headers: HeaderLines::new(b""),
        body: b"hello",
    };
    match s.write_message(now, message, &mut out) {
        Ok(n) => String::from_utf8_lossy(&out[..n]).into_owned(),
        Err(e) => format!("{e:?}"),
    }
}

fn pair() -> (Session<FixedStorage>, Session<GrowableStorage>) {
    let config = ServerSessionConfig::default();
    let id = Id::from_decimal(1);
    (
        ServerSession::new(config, id.clone(), Instant(0)),
        ServerSession::new(config, id, Instant(0)),
    )
}

#[test]
fn growable_tables_behave_like_fixed_ones() {
    let connect = b"CONNECT\naccept-version:1.2\nheart-beat:0,0\n\n\0".to_vec();
    let (mut sessions, mut deepest) = (0, 0);
    let limits = [
        "TooManySubscriptions",
        "TooManyTransactions",
        "TransactionTooLarge",
        "TooManyUnacked",
        "Commit",
        "RECEIPT",
    ];
    let mut reached = std::collections::BTreeSet::<&str>::new();
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let now = Instant(0);
        let (mut fixed, mut grown) = pair();
        let mut input = connect.clone();
        let mut depth = 0;
        let mut client = Client::default();
        for step in 0..300 {
            if rng.below(4) == 0 {
                let sub = rng.below(5);
                let written = message(&mut fixed, sub, step, now);
                assert_eq!(
                    written,
                    message(&mut grown, sub, step, now),
                    "seed {seed}, step {step}: MESSAGE"
                );
                client.saw(&written);
                reached.extend(limits.iter().filter(|l| written.contains(**l)));
            }
            let (a, b) = (feed(&mut fixed, &input, now), feed(&mut grown, &input, now));
            assert_eq!(
                a,
                b,
                "seed {seed}, step {step}: {}",
                String::from_utf8_lossy(&input)
            );
            for line in &a {
                reached.extend(limits.iter().filter(|l| line.contains(**l)));
            }
            assert_eq!(fixed.subscription_count(), grown.subscription_count());
            assert_eq!(fixed.open_transactions(), grown.open_transactions());
            assert_eq!(fixed.unacked_count(), grown.unacked_count());
            assert_eq!(fixed.is_ending(), grown.is_ending());
            depth += 1;
            if fixed.is_ending() {
                // A broken rule ends the session: go on with a new pair.
                (fixed, grown) = pair();
                input = connect.clone();
                client = Client::default();
                sessions += 1;
                deepest = deepest.max(depth);
                depth = 0;
            } else {
                input = client.frame(&mut rng, step);
            }
        }
    }
    eprintln!("{sessions} session pairs, the longest {deepest} frames, reached {reached:?}");
    assert_eq!(reached.len(), limits.len(), "not every limit was reached");
}
