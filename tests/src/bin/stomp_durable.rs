//! A durable-queue benchmark against any broker over TCP: one publisher sends M
//! persistent messages of S bytes to a `/queue`, each with a receipt (at most W
//! unconfirmed at a time), while one consumer with `ack:client-individual` takes and
//! acknowledges them (its ACKs written 32 at a time).
//!
//! ```text
//! stomp_durable --addr 127.0.0.1:61613 --messages 20000 --size 256 [--window 1000]
//!     [--destination /queue/NAME] [--login guest --passcode guest --host /]
//!     [--timeout-secs 120] [--label NAME]
//! ```
//!
//! Prints one line of `key=value` pairs: `confirmed_per_s` (receipts per second, from
//! the first send to the last receipt: what a broker that writes before it confirms can
//! take), `delivered_per_s` (messages the consumer got, over the same start), `lost`
//! (confirmed and never delivered) and `dup`. Exit status 0 when every message arrived
//! once, 1 otherwise, 2 when the run could not start.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use sockwire_core::stomp::{Command, Decoded, Decoder};
use sockwire_tests::bench_stomp::{
    connect_frame_for, encode_vec, exit_status, expect_frame, limits,
};

struct Args {
    addr: SocketAddr,
    messages: u64,
    size: usize,
    window: u64,
    destination: String,
    login: String,
    passcode: String,
    host: String,
    timeout: Duration,
    label: String,
}

const USAGE: &str = "usage: stomp_durable --addr HOST:PORT --messages M --size S [--window W]
    [--destination /queue/NAME] [--login L --passcode P --host VHOST] [--timeout-secs 120]
    [--label NAME]";

fn parse_args() -> Result<Args, String> {
    let mut addr = None;
    let (mut messages, mut size, mut window) = (None, None, 1000u64);
    let mut destination = None;
    let (mut login, mut passcode, mut host) = ("guest".into(), "guest".into(), "/".into());
    let mut timeout = 120u64;
    let mut label = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--addr" => addr = value.to_socket_addrs().map_err(|e| bad(&e))?.next(),
            "--messages" => messages = Some(value.parse().map_err(|e| bad(&e))?),
            "--size" => size = Some(value.parse().map_err(|e| bad(&e))?),
            "--window" => window = value.parse().map_err(|e| bad(&e))?,
            "--destination" => destination = Some(value),
            "--login" => login = value,
            "--passcode" => passcode = value,
            "--host" => host = value,
            "--timeout-secs" => timeout = value.parse().map_err(|e| bad(&e))?,
            "--label" => label = Some(value),
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    let addr = addr.ok_or(format!("--addr is required\n{USAGE}"))?;
    let messages: u64 = messages.ok_or(format!("--messages is required\n{USAGE}"))?;
    let size: usize = size.ok_or(format!("--size is required\n{USAGE}"))?;
    if messages == 0 || size < 16 || window == 0 {
        return Err("--messages and --window at least 1, --size at least 16".into());
    }
    Ok(Args {
        addr,
        messages,
        size,
        window,
        destination: destination
            .unwrap_or_else(|| format!("/queue/durable-bench.{}", std::process::id())),
        login,
        passcode,
        host,
        timeout: Duration::from_secs(timeout),
        label: label.unwrap_or_else(|| addr.to_string()),
    })
}

fn open(args: &Args) -> io::Result<(TcpStream, Vec<u8>, Decoder)> {
    let mut s = TcpStream::connect(args.addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(args.timeout))?;
    s.write_all(&connect_frame_for(&args.host, &args.login, &args.passcode)?)?;
    let mut buf = Vec::new();
    let mut decoder = Decoder::new(limits(args.size));
    expect_frame(&mut s, &mut buf, &mut decoder, Command::Connected)?;
    Ok((s, buf, decoder))
}

/// Reads frames from `s` (after what `buf` holds) and hands each to `each` with its
/// command and `ack` header, until `each` says stop.
fn read_frames(
    s: &mut TcpStream,
    mut buf: Vec<u8>,
    decoder: &mut Decoder,
    mut each: impl FnMut(Command, Option<&[u8]>, &[u8]) -> io::Result<bool>,
) -> io::Result<()> {
    let mut chunk = vec![0u8; 256 << 10];
    loop {
        loop {
            match decoder.decode(&buf) {
                Ok(Decoded::Frame { frame, consumed }) => {
                    let ack = frame.header("ack").map(|h| h.raw());
                    let go_on = each(frame.command(), ack, frame.body())?;
                    buf.drain(..consumed);
                    if !go_on {
                        return Ok(());
                    }
                }
                Ok(Decoded::HeartBeat { consumed }) => {
                    buf.drain(..consumed);
                }
                Ok(Decoded::Incomplete) => break,
                Err(e) => return Err(io::Error::other(format!("bad frame: {e:?}"))),
            }
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "broker closed",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn run(args: &Args) -> io::Result<bool> {
    let (mut consumer, buf, mut decoder) = open(args)?;
    consumer.write_all(&encode_vec(
        Command::Subscribe,
        &[
            ("id", "0"),
            ("destination", &args.destination),
            ("ack", "client-individual"),
            ("receipt", "subscribed"),
        ],
        b"",
    )?)?;
    let mut buf = buf;
    expect_frame(&mut consumer, &mut buf, &mut decoder, Command::Receipt)?;
    let (mut publisher, pbuf, mut pdecoder) = open(args)?;
    let start = Instant::now();
    let confirmed = Arc::new(AtomicU64::new(0));
    let confirm_ns = Arc::new(AtomicU64::new(0));

    // The consumer: acknowledges each message (the ACKs written in batches).
    let messages = args.messages;
    let consume = thread::spawn(move || -> io::Result<(u64, u64, u64)> {
        let mut seen = vec![false; messages as usize];
        let (mut got, mut dup) = (0u64, 0u64);
        let mut acks = Vec::new();
        let mut writer = consumer.try_clone()?;
        read_frames(&mut consumer, buf, &mut decoder, |command, ack, body| {
            if command == Command::Error {
                return Err(io::Error::other(String::from_utf8_lossy(body).into_owned()));
            }
            if command != Command::Message {
                return Ok(true);
            }
            let n: usize = std::str::from_utf8(body.get(..16).unwrap_or_default())
                .ok()
                .and_then(|t| t.trim_start_matches('0').parse().ok())
                .unwrap_or(0);
            match seen.get_mut(n) {
                Some(s) if *s => dup += 1,
                Some(s) => {
                    *s = true;
                    got += 1;
                }
                None => {}
            }
            let id = String::from_utf8_lossy(ack.unwrap_or_default()).into_owned();
            acks.extend_from_slice(&encode_vec(Command::Ack, &[("id", &id)], b"")?);
            // Brokers bound what a consumer may hold unacknowledged (sockwire: 128).
            if got % 32 == 0 || got == messages {
                writer.write_all(&acks)?;
                acks.clear();
            }
            Ok(got < messages)
        })?;
        Ok((got, dup, start.elapsed().as_nanos() as u64))
    });

    // Receipts, counted as they come.
    let mut reader = publisher.try_clone()?;
    let (count, at) = (confirmed.clone(), confirm_ns.clone());
    let receipts = thread::spawn(move || -> io::Result<()> {
        read_frames(&mut reader, pbuf, &mut pdecoder, |command, _, body| {
            if command == Command::Error {
                return Err(io::Error::other(String::from_utf8_lossy(body).into_owned()));
            }
            let n = count.fetch_add(1, Ordering::AcqRel) + 1;
            at.store(start.elapsed().as_nanos() as u64, Ordering::Release);
            Ok(n < messages)
        })
    });

    let mut body = vec![b'.'; args.size];
    let mut batch = Vec::new();
    for i in 0..args.messages {
        while i.saturating_sub(confirmed.load(Ordering::Acquire)) >= args.window {
            if receipts.is_finished() || start.elapsed() > args.timeout {
                break;
            }
            thread::sleep(Duration::from_micros(50));
        }
        body[..16].copy_from_slice(format!("{i:016}").as_bytes());
        let receipt = i.to_string();
        batch.extend_from_slice(&encode_vec(
            Command::Send,
            &[
                ("destination", &args.destination),
                ("persistent", "true"),
                ("receipt", &receipt),
            ],
            &body,
        )?);
        if batch.len() >= 64 << 10 || i + 1 == args.messages || i % 100 == 99 {
            publisher.write_all(&batch)?;
            batch.clear();
        }
    }
    let receipts_result = receipts
        .join()
        .map_err(|_| io::Error::other("receipt reader"))?;
    let (got, dup, delivered_ns) = consume
        .join()
        .map_err(|_| io::Error::other("consumer panicked"))??;
    receipts_result?;
    let secs = |ns: u64| (ns as f64 / 1e9).max(1e-9);
    let ok = confirmed.load(Ordering::Acquire);
    println!(
        "broker={} messages={} size={} confirmed_per_s={:.0} delivered_per_s={:.0} lost={} dup={}",
        args.label,
        args.messages,
        args.size,
        ok as f64 / secs(confirm_ns.load(Ordering::Acquire)),
        got as f64 / secs(delivered_ns),
        ok.saturating_sub(got),
        dup
    );
    Ok(got == args.messages && dup == 0)
}

fn main() -> ExitCode {
    exit_status("stomp_durable", parse_args(), run)
}
