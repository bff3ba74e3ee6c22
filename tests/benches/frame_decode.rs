//! Decode, unmask and UTF-8-validate client-masked frames: sockwire against tungstenite.
//!
//! Both sides start each iteration from the same masked wire bytes: sockwire copies them
//! into a reusable buffer and `read`s them in place; tungstenite reads its messages from
//! an in-memory stream over the same bytes (copying them into its own read buffer). Each
//! iteration processes a batch of frames (about 1 MiB of payload, at least 4 frames) so
//! per-connection setup is amortised on both sides. After criterion's runs, a table of
//! throughputs measured with plain timed loops is printed with the ratio.

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::{Duration, Instant as StdInstant};

use criterion::{Criterion, Throughput};
use sockwire_core::machine::Status;
use sockwire_core::time::Instant;
use sockwire_core::ws::frame::{FrameHeader, OpCode};
use sockwire_core::ws::mask::apply_mask;
use sockwire_core::ws::{Config, Connection, Event, Role};
use tungstenite::protocol::{Role as TRole, WebSocket};
use tungstenite::Message;

const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 1024 * 1024];
const BATCH_BYTES: usize = 1024 * 1024;

struct Case {
    size: usize,
    text: bool,
    frames: usize,
    wire: Vec<u8>,
}

impl Case {
    fn kind(&self) -> &'static str {
        if self.text {
            "text"
        } else {
            "binary"
        }
    }
    fn payload_bytes(&self) -> usize {
        self.size * self.frames
    }
}

/// Mostly ASCII with some 2-, 3- and 4-byte code points, exactly `size` bytes.
fn text_payload(size: usize) -> Vec<u8> {
    let pattern = "Hello, wörld! κόσμε – 0123456789 𝄞 the quick brown fox. ";
    let mut s = String::new();
    while s.len() < size {
        s.push_str(pattern);
    }
    let mut cut = size;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut v = s.as_bytes()[..cut].to_vec();
    v.resize(size, b'.');
    v
}

fn binary_payload(size: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn build(size: usize, text: bool) -> Case {
    let frames = (BATCH_BYTES / size).max(4);
    let payload = if text {
        text_payload(size)
    } else {
        binary_payload(size)
    };
    let mut wire = Vec::with_capacity(frames * (size + 14));
    for i in 0..frames {
        let key = (0x9E37_79B9u32.wrapping_mul(i as u32 + 1)).to_be_bytes();
        let h = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: if text { OpCode::Text } else { OpCode::Binary },
            mask: Some(key),
            payload_len: size as u64,
        };
        let (b, n) = h.to_bytes();
        wire.extend_from_slice(&b[..n]);
        let start = wire.len();
        wire.extend_from_slice(&payload);
        apply_mask(&mut wire[start..], key, 0);
    }
    Case {
        size,
        text,
        frames,
        wire,
    }
}

fn sockwire_decode(wire: &[u8], buf: &mut [u8]) -> usize {
    buf.copy_from_slice(wire);
    let mut conn = Connection::new(Role::Server, Config::default(), 0);
    let mut pos = 0;
    let mut total = 0;
    loop {
        let read = conn.read(&mut buf[pos..], Instant(0));
        let n = read.consumed;
        match read.status {
            Status::Event(Event::Data { payload, .. }) => total += black_box(payload).len(),
            Status::Event(other) => panic!("unexpected {other:?}"),
            _ => break,
        }
        pos += n;
    }
    total
}

/// A Read + Write stream over borrowed bytes; writes are discarded.
struct MemStream<'a> {
    data: &'a [u8],
}

impl Read for MemStream<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = out.len().min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl Write for MemStream<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn tungstenite_decode(wire: &[u8], frames: usize) -> usize {
    let mut ws = WebSocket::from_raw_socket(MemStream { data: wire }, TRole::Server, None);
    let mut total = 0;
    for _ in 0..frames {
        match ws.read().expect("tungstenite read") {
            Message::Text(t) => total += black_box(t).len(),
            Message::Binary(b) => total += black_box(b).len(),
            other => panic!("unexpected {other:?}"),
        }
    }
    total
}

/// Throughputs in MB/s (10^6 bytes) of `a` and `b`: best of several short timed rounds,
/// alternating between the two so that load from other processes hits both alike.
fn measure_pair(
    bytes: usize,
    mut a: impl FnMut() -> usize,
    mut b: impl FnMut() -> usize,
) -> (f64, f64) {
    fn round(bytes: usize, f: &mut dyn FnMut() -> usize) -> f64 {
        let start = StdInstant::now();
        let mut iters = 0u64;
        while start.elapsed() < Duration::from_millis(60) {
            black_box(f());
            iters += 1;
        }
        bytes as f64 * iters as f64 / start.elapsed().as_secs_f64() / 1e6
    }
    let (mut best_a, mut best_b) = (0.0f64, 0.0f64);
    for _ in 0..8 {
        best_a = best_a.max(round(bytes, &mut a));
        best_b = best_b.max(round(bytes, &mut b));
    }
    (best_a, best_b)
}

fn main() {
    let cases: Vec<Case> = SIZES
        .iter()
        .flat_map(|&s| [build(s, true), build(s, false)])
        .collect();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(10)
        .configure_from_args();
    for case in &cases {
        let mut buf = vec![0u8; case.wire.len()];
        assert_eq!(sockwire_decode(&case.wire, &mut buf), case.payload_bytes());
        assert_eq!(
            tungstenite_decode(&case.wire, case.frames),
            case.payload_bytes()
        );
        let mut group =
            criterion.benchmark_group(format!("frame_decode/{}/{}", case.size, case.kind()));
        group.throughput(Throughput::Bytes(case.payload_bytes() as u64));
        group.bench_function("sockwire", |b| {
            b.iter(|| sockwire_decode(black_box(&case.wire), &mut buf))
        });
        group.bench_function("tungstenite", |b| {
            b.iter(|| tungstenite_decode(black_box(&case.wire), case.frames))
        });
        group.finish();
    }
    criterion.final_summary();

    println!();
    println!(
        "{:>8} {:>6} {:>14} {:>17} {:>6}",
        "size", "kind", "sockwire_MBps", "tungstenite_MBps", "ratio"
    );
    for case in &cases {
        let mut buf = vec![0u8; case.wire.len()];
        let bytes = case.payload_bytes();
        let (ours, theirs) = measure_pair(
            bytes,
            || sockwire_decode(&case.wire, &mut buf),
            || tungstenite_decode(&case.wire, case.frames),
        );
        println!(
            "{:>8} {:>6} {:>14.0} {:>17.0} {:>6.2}",
            case.size,
            case.kind(),
            ours,
            theirs,
            ours / theirs
        );
    }
}
