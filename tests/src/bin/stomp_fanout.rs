//! A STOMP fan-out benchmark against any broker over TCP: N subscribers on one topic,
//! one publisher sending M messages of S bytes.
//!
//! ```text
//! stomp_fanout --addr 127.0.0.1:61613 --subscribers 100 --messages 10000 --size 64
//!     [--destination /topic/fanout.RANDOM] [--login guest --passcode guest --host /]
//!     [--timeout-secs 120] [--pid BROKER_PID] [--label NAME] [--threads T]
//! ```
//!
//! Every subscriber subscribes with a receipt; once all receipts are in, the publisher
//! sends M `SEND` frames as fast as its socket takes them. A body starts with the
//! sequence number and the send time (16 hex digits each, nanoseconds since a clock the
//! publisher and subscribers share) and is padded with `.` to S bytes. Subscribers are
//! spread over a few threads, each polling many sockets with mio and decoding with the
//! core's STOMP [`Decoder`].
//!
//! Prints one line, `key=value` pairs:
//!
//! - `deliveries_per_s`: distinct messages received by all subscribers, divided by the
//!   time from the first send to the last delivery (N×M / time when nothing is lost);
//! - `p50_us`, `p99_us`: send-to-receive latency over a sample (every k-th sequence);
//! - `lost`, `dup`, `reordered`: messages never received, received twice, received after
//!   a later one (counted over all subscribers);
//! - `rss_mib`: the broker's largest VmRSS sampled during the run (with `--pid`);
//! - `client_cpu`: this process's CPU time over the run, in cores, to tell whether the
//!   client was the bottleneck (near 1.0 with the client pinned to one core);
//! - `errors`: subscriber connections the broker closed or sent an `ERROR` on.
//!
//! Exit status: 0 when every subscriber got every message once, 1 otherwise, 2 when the
//! run could not start.
//!
//! `stomp_fanout --fake-broker 127.0.0.1:61699` serves a minimal broker instead (every
//! `SEND` goes to every subscriber, written in big batches, no routing), to measure how
//! many deliveries per second the client itself can take.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use sockwire_core::stomp::{encode, Command, Decoded, Decoder, Version};
use sockwire_tests::bench_stomp::{
    connect_frame_for, encode_vec, exit_status, expect_frame, limits,
};

/// Octets of a body taken by the sequence number and the timestamp.
const STAMP: usize = 32;
/// Read buffer shared by the sockets of one subscriber thread.
const READ_BUF: usize = 1 << 20;
/// The publisher writes when this much is encoded.
const WRITE_BATCH: usize = 64 << 10;
/// Latency samples kept over all subscribers, about.
const SAMPLES: u64 = 200_000;

#[derive(Debug, Clone)]
struct Args {
    addr: SocketAddr,
    subscribers: usize,
    messages: u64,
    size: usize,
    destination: String,
    login: String,
    passcode: String,
    host: String,
    timeout: Duration,
    pid: Option<u32>,
    label: String,
    threads: usize,
}

const USAGE: &str = "usage: stomp_fanout --addr HOST:PORT --subscribers N --messages M --size S
    [--destination /topic/NAME] [--login L --passcode P --host VHOST] [--timeout-secs 120]
    [--pid BROKER_PID] [--label NAME] [--threads T]";

fn parse_args() -> Result<Args, String> {
    let mut addr = None;
    let mut subscribers = None;
    let mut messages = None;
    let mut size = None;
    let mut destination = None;
    let mut login = "guest".to_string();
    let mut passcode = "guest".to_string();
    let mut host = "/".to_string();
    let mut timeout = 120u64;
    let mut pid = None;
    let mut label = None;
    let mut threads = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_string());
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--addr" => {
                addr = Some(
                    value
                        .to_socket_addrs()
                        .map_err(|e| bad(&e))?
                        .next()
                        .ok_or(bad(&"no address"))?,
                )
            }
            "--subscribers" => subscribers = Some(value.parse().map_err(|e| bad(&e))?),
            "--messages" => messages = Some(value.parse().map_err(|e| bad(&e))?),
            "--size" => size = Some(value.parse().map_err(|e| bad(&e))?),
            "--destination" => destination = Some(value),
            "--login" => login = value,
            "--passcode" => passcode = value,
            "--host" => host = value,
            "--timeout-secs" => timeout = value.parse().map_err(|e| bad(&e))?,
            "--pid" => pid = Some(value.parse().map_err(|e| bad(&e))?),
            "--label" => label = Some(value),
            "--threads" => threads = Some(value.parse().map_err(|e| bad(&e))?),
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    let addr: SocketAddr = addr.ok_or(format!("--addr is required\n{USAGE}"))?;
    let subscribers: usize = subscribers.ok_or(format!("--subscribers is required\n{USAGE}"))?;
    let messages: u64 = messages.ok_or(format!("--messages is required\n{USAGE}"))?;
    let size: usize = size.ok_or(format!("--size is required\n{USAGE}"))?;
    if subscribers == 0 || messages == 0 {
        return Err("--subscribers and --messages must be at least 1".into());
    }
    if size < STAMP {
        return Err(format!("--size must be at least {STAMP}"));
    }
    let destination = destination.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!("/topic/fanout.{}.{nanos:x}", std::process::id())
    });
    Ok(Args {
        addr,
        subscribers,
        messages,
        size,
        destination,
        login,
        passcode,
        host,
        timeout: Duration::from_secs(timeout),
        pid,
        label: label.unwrap_or_else(|| addr.to_string()),
        threads: threads.unwrap_or(subscribers.div_ceil(500).min(4)).max(1),
    })
}

fn connect_frame(args: &Args) -> io::Result<Vec<u8>> {
    connect_frame_for(&args.host, &args.login, &args.passcode)
}

/// One subscriber connection and what it has received.
struct Sub {
    stream: MioStream,
    pending: Vec<u8>,
    decoder: Decoder,
    /// One bit per sequence number received.
    seen: Vec<u64>,
    received: u64,
    /// Highest sequence number received plus one (0: none yet).
    high: u64,
    dup: u64,
    reordered: u64,
    open: bool,
}

/// What one subscriber thread measured.
#[derive(Default)]
struct ThreadReport {
    received: u64,
    dup: u64,
    reordered: u64,
    errors: usize,
    first_error: Option<String>,
    /// Nanoseconds since the shared start, of the last delivery.
    last_delivery: u64,
    latencies: Vec<u64>,
}

struct Shared {
    start: Instant,
    /// Subscribers that have not yet got every message nor been closed.
    remaining: AtomicUsize,
    stop: AtomicBool,
    /// Nanoseconds since `start` of the first send.
    first_send: AtomicU64,
}

fn now_ns(start: Instant) -> u64 {
    start.elapsed().as_nanos() as u64
}

/// Connects and subscribes `count` sockets (pipelined: all CONNECTs, then all
/// SUBSCRIBEs), waiting for every receipt.
fn open_subscribers(args: &Args, first_id: usize, count: usize) -> io::Result<Vec<Sub>> {
    let connect = connect_frame(args)?;
    let mut conns = Vec::with_capacity(count);
    for _ in 0..count {
        let mut s = TcpStream::connect(args.addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(args.timeout))?;
        s.write_all(&connect)?;
        conns.push((s, Vec::new(), Decoder::new(limits(args.size))));
    }
    for (i, (s, buf, decoder)) in conns.iter_mut().enumerate() {
        expect_frame(s, buf, decoder, Command::Connected)?;
        let receipt = format!("sub-{}", first_id + i);
        let subscribe = encode_vec(
            Command::Subscribe,
            &[
                ("id", "0"),
                ("destination", &args.destination),
                ("ack", "auto"),
                ("receipt", &receipt),
            ],
            b"",
        )?;
        s.write_all(&subscribe)?;
    }
    let words = (args.messages as usize).div_ceil(64);
    let mut subs = Vec::with_capacity(count);
    for (s, mut buf, mut decoder) in conns {
        let mut s = s;
        expect_frame(&mut s, &mut buf, &mut decoder, Command::Receipt)?;
        s.set_read_timeout(None)?;
        s.set_nonblocking(true)?;
        subs.push(Sub {
            stream: MioStream::from_std(s),
            pending: buf,
            decoder,
            seen: vec![0; words],
            received: 0,
            high: 0,
            dup: 0,
            reordered: 0,
            open: true,
        });
    }
    Ok(subs)
}

fn hex16(b: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for &c in b.get(..16)? {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | u64::from(d);
    }
    Some(v)
}

fn put_hex16(out: &mut [u8], mut v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for slot in out[..16].iter_mut().rev() {
        *slot = DIGITS[(v & 15) as usize];
        v >>= 4;
    }
}

/// Outcome of one read on a subscriber.
enum ReadResult {
    /// The socket may have more.
    More,
    /// Short read or would block: wait for the next readiness event.
    Drained,
    Closed(String),
}

struct Receiver<'a> {
    messages: u64,
    sample_every: u64,
    shared: &'a Shared,
    report: ThreadReport,
}

impl Receiver<'_> {
    /// Reads once from `sub` into `scratch` (after its pending octets) and handles every
    /// whole frame.
    fn read_once(&mut self, sub: &mut Sub, scratch: &mut [u8]) -> ReadResult {
        let p = sub.pending.len();
        scratch[..p].copy_from_slice(&sub.pending);
        let room = scratch.len() - p;
        let n = match sub.stream.read(&mut scratch[p..]) {
            Ok(0) => return ReadResult::Closed("connection closed by the broker".into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadResult::Drained,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return ReadResult::More,
            Err(e) => return ReadResult::Closed(format!("read: {e}")),
        };
        let now = now_ns(self.shared.start);
        let data = &scratch[..p + n];
        let mut off = 0;
        let mut delivered = false;
        loop {
            match sub.decoder.decode(&data[off..]) {
                Ok(Decoded::Frame { frame, consumed }) => {
                    off += consumed;
                    match frame.command() {
                        Command::Message => {
                            delivered = true;
                            let body = frame.body();
                            let (Some(seq), Some(sent)) =
                                (hex16(body), body.get(16..).and_then(hex16))
                            else {
                                return ReadResult::Closed("MESSAGE body without stamp".into());
                            };
                            self.message(sub, seq, sent, now);
                        }
                        Command::Error => {
                            let message = frame
                                .header("message")
                                .map(|m| String::from_utf8_lossy(m.raw()).into_owned())
                                .unwrap_or_default();
                            return ReadResult::Closed(format!("ERROR: {message}"));
                        }
                        _ => {}
                    }
                }
                Ok(Decoded::HeartBeat { consumed }) => off += consumed,
                Ok(Decoded::Incomplete) => break,
                Err(e) => return ReadResult::Closed(format!("bad frame: {e:?}")),
            }
        }
        sub.pending.clear();
        sub.pending.extend_from_slice(&data[off..]);
        if delivered {
            self.report.last_delivery = now;
        }
        if n < room {
            ReadResult::Drained
        } else {
            ReadResult::More
        }
    }

    #[allow(
        clippy::manual_is_multiple_of,
        reason = "is_multiple_of is newer than the workspace's rust-version"
    )]
    fn message(&mut self, sub: &mut Sub, seq: u64, sent: u64, now: u64) {
        if seq >= self.messages {
            sub.dup += 1;
            return;
        }
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if sub.seen[word] & bit != 0 {
            sub.dup += 1;
            return;
        }
        sub.seen[word] |= bit;
        sub.received += 1;
        if seq + 1 < sub.high {
            sub.reordered += 1;
        }
        sub.high = sub.high.max(seq + 1);
        if seq % self.sample_every == 0 {
            self.report.latencies.push(now.saturating_sub(sent));
        }
        if sub.received == self.messages {
            self.shared.remaining.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn close(&mut self, sub: &mut Sub, why: String) {
        if !sub.open {
            return;
        }
        sub.open = false;
        self.report.errors += 1;
        self.report.first_error.get_or_insert(why);
        if sub.received < self.messages {
            self.shared.remaining.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Polls `subs` until each has every message or is closed, or until told to stop.
fn receive(mut subs: Vec<Sub>, args: &Args, shared: &Shared) -> io::Result<ThreadReport> {
    let mut poll = Poll::new()?;
    for (i, sub) in subs.iter_mut().enumerate() {
        poll.registry()
            .register(&mut sub.stream, Token(i), Interest::READABLE)?;
    }
    let total = args.subscribers as u64 * args.messages;
    let mut rx = Receiver {
        messages: args.messages,
        sample_every: (total / SAMPLES).max(1),
        shared,
        report: ThreadReport::default(),
    };
    let mut scratch = vec![0u8; READ_BUF + args.size + 4096];
    let mut events = Events::with_capacity(1024);
    let mut open = subs.len();
    while open > 0 && !shared.stop.load(Ordering::Acquire) {
        match poll.poll(&mut events, Some(Duration::from_millis(50))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            let sub = &mut subs[event.token().0];
            if !sub.open {
                continue;
            }
            loop {
                // Grow the scratch buffer if a partial frame is larger than expected.
                if sub.pending.len() + 4096 > scratch.len() {
                    scratch.resize(sub.pending.len() + READ_BUF, 0);
                }
                match rx.read_once(sub, &mut scratch) {
                    ReadResult::More => {}
                    ReadResult::Drained => break,
                    ReadResult::Closed(why) => {
                        rx.close(sub, why);
                        break;
                    }
                }
            }
            if !sub.open || sub.received == args.messages {
                if sub.open {
                    sub.open = false;
                    let _ = poll.registry().deregister(&mut sub.stream);
                }
                open -= 1;
            }
        }
    }
    for sub in &subs {
        rx.report.received += sub.received;
        rx.report.dup += sub.dup;
        rx.report.reordered += sub.reordered;
    }
    Ok(rx.report)
}

/// Connects the publisher and waits for CONNECTED.
fn open_publisher(args: &Args) -> io::Result<TcpStream> {
    let mut s = TcpStream::connect(args.addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(args.timeout))?;
    s.write_all(&connect_frame(args)?)?;
    let mut buf = Vec::new();
    expect_frame(
        &mut s,
        &mut buf,
        &mut Decoder::new(limits(args.size)),
        Command::Connected,
    )?;
    Ok(s)
}

/// Sends every message, writing in batches; returns when the last batch is written.
fn publish(stream: &mut TcpStream, args: &Args, shared: &Shared) -> io::Result<()> {
    let mut body = vec![b'.'; args.size];
    let mut out = vec![0u8; WRITE_BATCH + args.size + 1024];
    let mut len = 0;
    let headers = [("destination", args.destination.as_str())];
    shared
        .first_send
        .store(now_ns(shared.start), Ordering::Release);
    for seq in 0..args.messages {
        put_hex16(&mut body[..16], seq);
        put_hex16(&mut body[16..32], now_ns(shared.start));
        len += encode(
            Command::Send,
            &headers,
            &body,
            Version::V1_2,
            &mut out[len..],
        )
        .map_err(|e| io::Error::other(format!("encode SEND: {e:?}")))?;
        if len >= WRITE_BATCH {
            stream.write_all(&out[..len])?;
            len = 0;
        }
        if shared.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
    }
    stream.write_all(&out[..len])
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// This process's user plus system CPU time, in clock ticks (100 per second on Linux).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn percentile(sorted: &[u64], pct: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = (sorted.len() * pct / 100).min(sorted.len() - 1);
    sorted[i] as f64 / 1000.0
}

fn run(args: &Args) -> Result<bool, String> {
    let shared = Arc::new(Shared {
        start: Instant::now(),
        remaining: AtomicUsize::new(args.subscribers),
        stop: AtomicBool::new(false),
        first_send: AtomicU64::new(0),
    });

    // Subscribers: each thread connects and subscribes its share, says it is ready, and
    // polls; nothing arrives before the publisher starts, after every thread is ready.
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let mut handles = Vec::new();
    let per = args.subscribers.div_ceil(args.threads);
    let mut first = 0;
    while first < args.subscribers {
        let count = per.min(args.subscribers - first);
        let (args_t, shared_t, ready) = (args.clone(), Arc::clone(&shared), ready_tx.clone());
        handles.push(thread::spawn(move || {
            let subs = match open_subscribers(&args_t, first, count) {
                Ok(subs) => {
                    let _ = ready.send(Ok(()));
                    subs
                }
                Err(e) => {
                    let _ = ready.send(Err(format!("subscribe: {e}")));
                    shared_t.stop.store(true, Ordering::Release);
                    return Err(e.to_string());
                }
            };
            receive(subs, &args_t, &shared_t).map_err(|e| e.to_string())
        }));
        first += count;
    }
    drop(ready_tx);
    let setup_start = Instant::now();
    for _ in 0..handles.len() {
        match ready_rx.recv_timeout(args.timeout) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                shared.stop.store(true, Ordering::Release);
                return Err(e);
            }
            Err(_) => {
                shared.stop.store(true, Ordering::Release);
                return Err("timed out waiting for subscriptions".into());
            }
        }
    }
    let setup = setup_start.elapsed();

    let mut publisher = open_publisher(args).map_err(|e| format!("publisher: {e}"))?;
    let cpu_before = cpu_ticks();
    let run_start = Instant::now();
    let (args_p, shared_p) = (args.clone(), Arc::clone(&shared));
    let pub_handle = thread::spawn(move || {
        let result = publish(&mut publisher, &args_p, &shared_p);
        let done = now_ns(shared_p.start);
        (publisher, result, done)
    });

    let deadline = run_start + args.timeout;
    let mut rss_max = 0u64;
    loop {
        if let Some(kib) = args.pid.and_then(rss_kib) {
            rss_max = rss_max.max(kib);
        }
        if shared.remaining.load(Ordering::Acquire) == 0 || Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    if let Some(kib) = args.pid.and_then(rss_kib) {
        rss_max = rss_max.max(kib);
    }
    let timed_out = shared.remaining.load(Ordering::Acquire) > 0;
    shared.stop.store(true, Ordering::Release);
    let wall = run_start.elapsed();
    let cpu_after = cpu_ticks();

    let (publisher, publish_result, publish_done) =
        pub_handle.join().map_err(|_| "publisher panicked")?;
    let mut total = ThreadReport::default();
    for h in handles {
        let r = h.join().map_err(|_| "subscriber thread panicked")??;
        total.received += r.received;
        total.dup += r.dup;
        total.reordered += r.reordered;
        total.errors += r.errors;
        if total.first_error.is_none() {
            total.first_error = r.first_error;
        }
        total.last_delivery = total.last_delivery.max(r.last_delivery);
        total.latencies.extend(r.latencies);
    }
    drop(publisher);

    let first_send = shared.first_send.load(Ordering::Acquire);
    let expected = args.subscribers as u64 * args.messages;
    let lost = expected - total.received.min(expected);
    let span = total.last_delivery.saturating_sub(first_send).max(1) as f64 / 1e9;
    let rate = total.received as f64 / span;
    total.latencies.sort_unstable();
    let cpu = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) => (b.saturating_sub(a)) as f64 / 100.0 / wall.as_secs_f64(),
        _ => f64::NAN,
    };
    let rss = if args.pid.is_some() {
        format!("{:.1}", rss_max as f64 / 1024.0)
    } else {
        "NA".into()
    };
    println!(
        "broker={} subs={} msgs={} size={} deliveries_per_s={:.0} p50_us={:.0} p99_us={:.0} \
         lost={} dup={} reordered={} rss_mib={} elapsed_s={:.3} publish_s={:.3} \
         setup_s={:.3} client_cpu={:.2} errors={} timed_out={}",
        args.label,
        args.subscribers,
        args.messages,
        args.size,
        rate,
        percentile(&total.latencies, 50),
        percentile(&total.latencies, 99),
        lost,
        total.dup,
        total.reordered,
        rss,
        span,
        publish_done.saturating_sub(first_send) as f64 / 1e9,
        setup.as_secs_f64(),
        cpu,
        total.errors,
        timed_out,
    );
    if let Some(e) = &total.first_error {
        eprintln!("stomp_fanout: first subscriber error: {e}");
    }
    if let Err(e) = publish_result {
        eprintln!("stomp_fanout: publisher: {e}");
        return Ok(false);
    }
    Ok(lost == 0 && total.dup == 0 && total.errors == 0)
}

/// A minimal fan-out broker, to measure the client's ceiling: each `SEND` becomes a
/// `MESSAGE` to every subscriber so far (whatever the destination); the `MESSAGE`s of one
/// read are written to each subscriber with one write.
fn fake_broker(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    eprintln!("fake broker on {}", listener.local_addr()?);
    let subscribers = Arc::new(Mutex::new(Vec::<TcpStream>::new()));
    for stream in listener.incoming() {
        let stream = stream?;
        let subscribers = Arc::clone(&subscribers);
        thread::spawn(move || fake_session(stream, &subscribers));
    }
    Ok(())
}

fn fake_session(mut stream: TcpStream, subscribers: &Mutex<Vec<TcpStream>>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut decoder = Decoder::new(limits(1 << 20));
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0;
    let mut out = Vec::new();
    let mut message_id = 0u64;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            return Ok(());
        }
        len += n;
        let mut off = 0;
        out.clear();
        loop {
            let frame = match decoder.decode(&buf[off..len]) {
                Ok(Decoded::Frame { frame, consumed }) => {
                    off += consumed;
                    frame
                }
                Ok(Decoded::HeartBeat { consumed }) => {
                    off += consumed;
                    continue;
                }
                Ok(Decoded::Incomplete) => break,
                Err(e) => return Err(io::Error::other(format!("{e:?}"))),
            };
            match frame.command() {
                Command::Connect | Command::Stomp => stream.write_all(&encode_vec(
                    Command::Connected,
                    &[("version", "1.2")],
                    b"",
                )?)?,
                Command::Subscribe => {
                    subscribers
                        .lock()
                        .map_err(|_| io::Error::other("poisoned"))?
                        .push(stream.try_clone()?);
                    let receipt = frame.header("receipt").map(|r| r.raw()).unwrap_or(b"");
                    let receipt = String::from_utf8_lossy(receipt).into_owned();
                    stream.write_all(&encode_vec(
                        Command::Receipt,
                        &[("receipt-id", receipt.as_str())],
                        b"",
                    )?)?;
                }
                Command::Send => {
                    message_id += 1;
                    let id = message_id.to_string();
                    let destination = frame.header("destination").map(|d| d.raw()).unwrap_or(b"");
                    let headers: [(&[u8], &[u8]); 3] = [
                        (b"destination", destination),
                        (b"subscription", b"0"),
                        (b"message-id", id.as_bytes()),
                    ];
                    let start = out.len();
                    out.resize(start + frame.body().len() + 512, 0);
                    let n = encode(
                        Command::Message,
                        &headers,
                        frame.body(),
                        Version::V1_2,
                        &mut out[start..],
                    )
                    .map_err(|e| io::Error::other(format!("{e:?}")))?;
                    out.truncate(start + n);
                }
                _ => {}
            }
        }
        buf.copy_within(off..len, 0);
        len -= off;
        if !out.is_empty() {
            let mut subs = subscribers
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?;
            subs.retain(|mut s| s.write_all(&out).is_ok());
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--fake-broker") {
        let addr = argv.get(2).map(String::as_str).unwrap_or("127.0.0.1:61699");
        return match fake_broker(addr) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("stomp_fanout: fake broker: {e}");
                ExitCode::from(2)
            }
        };
    }
    exit_status("stomp_fanout", parse_args(), run)
}
