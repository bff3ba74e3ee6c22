//! What an idle session costs `sockwire serve`: 10,000 idle STOMP-over-TCP sessions
//! (connected without heart-beats), the same once each has subscribed and received a
//! 2 KiB message, and 10,000 idle STOMP-over-SockJS sessions (xhr polling, opened and
//! left alone) each cost at most [`MAX_PER_SESSION`] of the server's resident memory,
//! and that memory goes back to the operating system once they are gone.
//!
//! The server runs as its own process (the `sockwire` binary) so that its resident set is
//! its own and its descriptors and this test's client sockets each count against their
//! own process's limit.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

mod common;

use common::Serve;

/// Sessions of each kind.
const SESSIONS: usize = 10_000;

/// The most one idle session may add to the server's resident set, in bytes.
const MAX_PER_SESSION: u64 = 4 * 1024;

/// Client threads opening sessions side by side.
const THREADS: usize = 4;

/// Raises this process's soft limit on open files to its hard limit, so that it can hold
/// its [`SESSIONS`] STOMP sockets where the soft limit is the usual 1,024; the server
/// started after it inherits the limit.
fn raise_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` for the duration of both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    limit.rlim_cur
}

fn rss_kib(server: &Serve) -> u64 {
    server.rss_kib().unwrap()
}

/// The server's resident set once it has settled: the least of a few readings.
fn settled_rss_kib(server: &Serve) -> u64 {
    std::thread::sleep(Duration::from_millis(300));
    rss_kib(server)
}

/// Reads one HTTP response with a `Content-Length`: its status and body.
fn read_response(s: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status = head[9..12].parse().unwrap();
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    s.read_exact(&mut body).unwrap();
    (status, body)
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads one STOMP frame, up to and with its NUL.
fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut frame = Vec::new();
    let mut byte = [0u8; 1];
    while !frame.ends_with(b"\0") {
        s.read_exact(&mut byte).unwrap();
        frame.push(byte[0]);
    }
    frame
}

/// A STOMP session over TCP, connected without heart-beats and left idle.
fn open_stomp(addr: &str) -> TcpStream {
    let mut s = connect(addr);
    s.write_all(b"CONNECT\naccept-version:1.2\nhost:x\nheart-beat:0,0\n\n\0")
        .unwrap();
    let frame = read_frame(&mut s);
    assert!(
        frame.starts_with(b"CONNECTED\n"),
        "{}",
        String::from_utf8_lossy(&frame)
    );
    s
}

/// Opens the STOMP-over-SockJS sessions `t-0` .. `t-{n-1}` over one kept-alive
/// connection: each polled once with xhr, answered `o`, then left alone.
fn open_sockjs(addr: &str, t: usize, n: usize) {
    let mut s = connect(addr);
    for i in 0..n {
        let request = format!(
            "POST /stomp/000/{t}-{i}/xhr HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
        );
        s.write_all(request.as_bytes()).unwrap();
        let (status, body) = read_response(&mut s);
        assert_eq!((status, &body[..]), (200, &b"o\n"[..]), "session {t}-{i}");
    }
}

/// Whether the STOMP-over-SockJS session `key` still exists: a send to it is accepted.
fn sockjs_alive(addr: &str, key: &str) -> bool {
    let mut s = connect(addr);
    // A bare end of line is a STOMP heart-beat: the session takes it and stays idle.
    let body = "[\"\\n\"]";
    let request = format!(
        "POST /stomp/000/{key}/xhr_send HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    read_response(&mut s).0 == 204
}

/// Runs `open(thread, count)` on [`THREADS`] threads, [`SESSIONS`] in all.
fn on_threads<T: Send + 'static>(
    open: impl Fn(usize, usize) -> T + Send + Sync + Clone + 'static,
) -> Vec<T> {
    let each = SESSIONS / THREADS;
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let open = open.clone();
            std::thread::spawn(move || open(t, each))
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// Runs `step` on every socket, a thread per share; gives the sockets back.
fn on_each(shares: Vec<Vec<TcpStream>>, step: fn(&mut TcpStream)) -> Vec<Vec<TcpStream>> {
    let threads: Vec<_> = shares
        .into_iter()
        .map(|mut share| {
            std::thread::spawn(move || {
                share.iter_mut().for_each(step);
                share
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn per_session(before_kib: u64, after_kib: u64) -> u64 {
    after_kib.saturating_sub(before_kib) * 1024 / SESSIONS as u64
}

#[test]
fn idle_sessions_are_small_and_their_memory_goes_back() {
    let files = raise_file_limit();
    if files < SESSIONS as u64 + 100 {
        eprintln!("skipped: {files} open files allowed, {SESSIONS} STOMP sockets needed");
        return;
    }
    let started = Instant::now();
    // Every session comes from 127.0.0.1.
    let many = (2 * SESSIONS).to_string();
    let server = Serve::start(&[
        "--max-connections",
        &many,
        "--max-connections-per-address",
        &many,
        "--max-sockjs-sessions",
        &many,
        "--max-sockjs-sessions-per-address",
        &many,
    ]);
    let (http, stomp) = (server.http.clone(), server.stomp.clone().unwrap());
    // One session of each kind first, so that what every session shares is in place.
    let warm = open_stomp(&stomp);
    open_sockjs(&http, 99, 1);
    let base = settled_rss_kib(&server);

    let tcp: Vec<Vec<TcpStream>> = on_threads({
        let stomp = stomp.clone();
        move |_, n| (0..n).map(|_| open_stomp(&stomp)).collect()
    });
    let with_stomp = settled_rss_kib(&server);
    let stomp_each = per_session(base, with_stomp);

    // Traffic, then idle again: every session subscribes and gets one 2 KiB message.
    // What its buffers grew to for it is given back once it is written.
    let tcp = on_each(tcp, |s| {
        s.write_all(b"SUBSCRIBE\nid:0\ndestination:/topic/x\nreceipt:r\n\n\0")
            .unwrap();
        assert!(read_frame(s).starts_with(b"RECEIPT\n"));
    });
    let mut warm = warm;
    let body = "x".repeat(2048);
    let send = format!("SEND\ndestination:/topic/x\nreceipt:p\n\n{body}\0");
    warm.write_all(send.as_bytes()).unwrap();
    assert!(read_frame(&mut warm).starts_with(b"RECEIPT\n"));
    let tcp = on_each(tcp, |s| {
        let frame = read_frame(s);
        assert!(frame.starts_with(b"MESSAGE\n") && frame.len() > 2048);
    });
    let after_traffic = settled_rss_kib(&server);
    let stomp_after = per_session(base, after_traffic);

    // SockJS last, and quickly: an xhr-polling session holds no socket while idle, and
    // expires once it has had no receiver for the disconnect delay (5 s).
    let opening = Instant::now();
    on_threads({
        let http = http.clone();
        move |t, n| open_sockjs(&http, t, n)
    });
    let with_both = settled_rss_kib(&server);
    assert!(
        sockjs_alive(&http, "0-0"),
        "the first SockJS session expired before the measurement ({:?} to open them)",
        opening.elapsed()
    );
    let sockjs = per_session(after_traffic, with_both);
    eprintln!(
        "server RSS: {base} KiB at rest; {with_stomp} KiB with {SESSIONS} idle STOMP \
         sessions ({stomp_each} B each); {after_traffic} KiB once each has had a 2 KiB \
         message ({stomp_after} B each); {with_both} KiB with {SESSIONS} idle SockJS \
         sessions as well ({sockjs} B each)"
    );

    // Gone: the STOMP sessions closed, the SockJS sessions expired. The memory goes back
    // to the system: the resident set falls most of the way back to where it was.
    drop(tcp);
    drop(warm);
    let peak = with_both.max(after_traffic).max(rss_kib(&server));
    let target = base + (peak - base) / 4;
    let give_up = Instant::now() + Duration::from_secs(20);
    let mut now_kib = rss_kib(&server);
    while now_kib > target && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(200));
        now_kib = rss_kib(&server);
    }
    eprintln!(
        "server RSS after the sessions closed: {now_kib} KiB (peak {peak} KiB, at rest \
         {base} KiB); test took {:?}",
        started.elapsed()
    );
    assert!(
        sockjs <= MAX_PER_SESSION,
        "an idle SockJS session costs {sockjs} B"
    );
    assert!(
        stomp_each <= MAX_PER_SESSION,
        "an idle STOMP session costs {stomp_each} B"
    );
    assert!(
        stomp_after <= MAX_PER_SESSION,
        "an idle STOMP session that has had traffic costs {stomp_after} B"
    );
    assert!(
        now_kib <= target,
        "RSS stayed at {now_kib} KiB after the sessions closed (peak {peak} KiB, at rest \
         {base} KiB)"
    );
}
