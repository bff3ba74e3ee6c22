//! Durable queues survive SIGKILL: `sockwire serve --data-dir` is killed mid-traffic
//! (a pipelining publisher, an acking consumer) and restarted on the same directory.
//! Every SEND that got its RECEIPT is delivered, before the kill or after the restart,
//! and none whose ACK got its RECEIPT is delivered again.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::Serve;
use sockwire_core::stomp::{AckMode, HeartBeat};
use sockwire_std::stomp::{StompClient, StompEvent, StompOptions};

const QUEUE: &str = "/queue/durable";

/// Starts `sockwire serve --data-dir dir` and returns it with its STOMP address.
fn serve(dir: &std::path::Path) -> (Serve, String) {
    let server = Serve::start(&["--data-dir", dir.to_str().unwrap()]);
    let stomp = server.stomp.clone().unwrap();
    (server, stomp)
}

fn options() -> StompOptions {
    StompOptions {
        heart_beat: HeartBeat::NONE,
        timeout: Duration::from_secs(10),
        ..StompOptions::default()
    }
}

/// Sends SENDs with receipts, pipelined in bursts of 100 (about 20,000 a second, so that
/// it is still sending at the kill and the queue stays under its limit), until the
/// socket breaks; returns the numbers whose RECEIPT arrived.
fn publish(addr: String, stop: Arc<AtomicBool>) -> HashSet<u64> {
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:0,0\n\n\0")
        .unwrap();
    let mut reader = s.try_clone().unwrap();
    let receipts = std::thread::spawn(move || {
        let mut got = HashSet::new();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Some(end) = buf.iter().position(|&b| b == 0) {
                let frame = String::from_utf8_lossy(&buf[..end]).into_owned();
                buf.drain(..=end);
                if let Some(id) = frame
                    .strip_prefix("RECEIPT\nreceipt-id:")
                    .and_then(|r| r.split('\n').next())
                {
                    got.insert(id.parse::<u64>().unwrap());
                } else if !frame.starts_with("CONNECTED") {
                    eprintln!("publisher got {frame:?}");
                }
            }
        }
        got
    });
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) && n < 200_000 {
        let frame = format!("SEND\ndestination:{QUEUE}\nreceipt:{n}\n\nmessage {n}\0");
        if s.write_all(frame.as_bytes()).is_err() {
            break;
        }
        n += 1;
        if n % 100 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    receipts.join().unwrap()
}

fn number(body: &[u8]) -> u64 {
    std::str::from_utf8(body)
        .unwrap()
        .strip_prefix("message ")
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn every_acknowledged_send_survives_sigkill_and_no_acknowledged_message_comes_twice() {
    let dir = std::env::temp_dir().join(format!("sockwire-durable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (server, addr) = serve(&dir);

    // A consumer that acknowledges each message and waits for the ACK's receipt.
    let seen_before = Arc::new(Mutex::new(Vec::new()));
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let consumer = {
        let (addr, seen, acked) = (addr.clone(), seen_before.clone(), acked.clone());
        std::thread::spawn(move || {
            let mut c = StompClient::connect(&format!("stomp://{addr}"), &options()).unwrap();
            if let Err(e) = c.subscribe(QUEUE, "d", AckMode::ClientIndividual, &[], true) {
                panic!("subscribe: {e}");
            }
            while let Ok(Some(StompEvent::Message(m))) = c.next_event(Duration::from_secs(5)) {
                let n = number(&m.body);
                seen.lock().unwrap().push(n);
                if c.ack(&m, None, true).is_err() {
                    break;
                }
                acked.lock().unwrap().insert(n);
            }
        })
    };
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (addr, stop) = (addr.clone(), stop.clone());
        std::thread::spawn(move || publish(addr, stop))
    };
    std::thread::sleep(Duration::from_millis(1500));
    drop(server); // SIGKILL
    stop.store(true, Ordering::Relaxed);
    let confirmed = publisher.join().unwrap();
    consumer.join().unwrap();
    let seen_before = seen_before.lock().unwrap().clone();
    let acked = acked.lock().unwrap().clone();
    assert!(
        !confirmed.is_empty(),
        "no SEND was confirmed before the kill"
    );

    // Restarted on the same directory: what was not acknowledged comes back.
    let (server, addr) = serve(&dir);
    let mut c = StompClient::connect(&format!("stomp://{addr}"), &options()).unwrap();
    c.subscribe(QUEUE, "d", AckMode::ClientIndividual, &[], true)
        .unwrap();
    let mut seen_after = HashSet::new();
    let give_up = Instant::now() + Duration::from_secs(60);
    while let Some(event) = c.next_event(Duration::from_secs(2)).unwrap() {
        assert!(Instant::now() < give_up, "still receiving after 60 s");
        let StompEvent::Message(m) = event else {
            panic!("unexpected {event:?}");
        };
        let n = number(&m.body);
        assert!(
            seen_after.insert(n),
            "message {n} delivered twice after the restart"
        );
        assert!(
            !acked.contains(&n),
            "message {n} was acknowledged before the kill"
        );
        c.ack(&m, None, false).unwrap();
    }
    let before: HashSet<u64> = seen_before.iter().copied().collect();
    let lost: Vec<u64> = confirmed
        .iter()
        .filter(|n| !before.contains(n) && !seen_after.contains(n))
        .copied()
        .collect();
    eprintln!(
        "{} SENDs confirmed, {} delivered before the kill ({} acknowledged), {} after the restart",
        confirmed.len(),
        before.len(),
        acked.len(),
        seen_after.len()
    );
    assert!(
        lost.is_empty(),
        "{} confirmed SENDs lost: {:?}...",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    assert!(
        !seen_after.is_empty(),
        "nothing was left in the queue at the kill"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
