//! The STOMP broker of the server, end to end over loopback: WebSocket and TCP clients
//! mixed, topics, queues, user destinations, wildcards, selectors, acks, transactions,
//! receipts, disconnect cleanup.

use std::time::Duration;

use sockwire_core::stomp::AckMode;
use sockwire_std::server::{Server, ServerConfig};
use sockwire_std::stomp::{StompClient, StompEvent, StompMessage, StompOptions};

fn config(workers: usize) -> ServerConfig {
    ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        stomp_tcp: Some("127.0.0.1:0".parse().unwrap()),
        workers,
        ..ServerConfig::default()
    }
}

fn start(workers: usize) -> Server {
    Server::start(config(workers)).unwrap()
}

fn ws(server: &Server) -> String {
    format!("ws://{}/ws", server.local_addr())
}

fn tcp(server: &Server) -> String {
    format!("stomp://{}", server.stomp_addr().unwrap())
}

fn client(url: &str, login: Option<&str>) -> StompClient {
    let options = StompOptions {
        login: login.map(str::to_string),
        passcode: login.map(|_| "secret".to_string()),
        ..StompOptions::default()
    };
    StompClient::connect(url, &options).unwrap()
}

/// The next MESSAGE, failing on anything else or after 5 s.
fn message(c: &mut StompClient) -> StompMessage {
    match c.next_event(Duration::from_secs(5)).unwrap() {
        Some(StompEvent::Message(m)) => m,
        other => panic!("expected a MESSAGE, got {other:?}"),
    }
}

/// Asserts that nothing arrives within a short time.
fn nothing(c: &mut StompClient) {
    if let Some(e) = c.next_event(Duration::from_millis(200)).unwrap() {
        panic!("expected nothing, got {e:?}");
    }
}

#[test]
fn topic_fan_out_across_websocket_and_tcp() {
    let server = start(2);
    let mut subs: Vec<StompClient> = (0..6)
        .map(|i| {
            let url = if i % 2 == 0 {
                ws(&server)
            } else {
                tcp(&server)
            };
            let mut c = client(&url, None);
            c.subscribe("/topic/news", "s", AckMode::Auto, &[], true)
                .unwrap();
            c
        })
        .collect();
    let mut publisher = client(&ws(&server), None);
    for i in 0..20 {
        publisher
            .send(
                "/topic/news",
                &[("n", &i.to_string())],
                format!("item {i}").as_bytes(),
                None,
                false,
            )
            .unwrap();
    }
    for c in &mut subs {
        for i in 0..20 {
            let m = message(c);
            assert_eq!(
                m.body,
                format!("item {i}").into_bytes(),
                "order per publisher"
            );
            assert_eq!(m.header("n"), Some(i.to_string().as_str()));
            assert_eq!(m.destination, "/topic/news");
            assert_eq!(m.subscription.as_deref(), Some("s"));
        }
    }
    server.stop();
    server.join();
}

#[test]
fn body_with_nul_escaped_headers_and_utf8_arrive_exactly() {
    let server = start(1);
    let mut sub = client(&tcp(&server), None);
    sub.subscribe("/topic/x", "1", AckMode::Auto, &[], true)
        .unwrap();
    let mut publisher = client(&ws(&server), None);
    publisher
        .send(
            "/topic/x",
            &[("odd", "a:b\\c\nd")],
            b"nul\0inside \xc3\xa9",
            None,
            true,
        )
        .unwrap();
    let m = message(&mut sub);
    assert_eq!(m.body, b"nul\0inside \xc3\xa9");
    assert_eq!(m.header("odd"), Some("a:b\\c\nd"));
    server.stop();
    server.join();
}

#[test]
fn queue_round_robin_and_nack_redelivery() {
    let server = start(2);
    let mut a = client(&ws(&server), None);
    let mut b = client(&tcp(&server), None);
    a.subscribe("/queue/work", "a", AckMode::ClientIndividual, &[], true)
        .unwrap();
    b.subscribe("/queue/work", "b", AckMode::ClientIndividual, &[], true)
        .unwrap();
    let mut p = client(&tcp(&server), None);
    for i in 0..4 {
        p.send(
            "/queue/work",
            &[],
            format!("job {i}").as_bytes(),
            None,
            true,
        )
        .unwrap();
    }
    let (a1, a2) = (message(&mut a), message(&mut a));
    let (b1, b2) = (message(&mut b), message(&mut b));
    let mut bodies: Vec<Vec<u8>> = vec![
        a1.body.clone(),
        a2.body.clone(),
        b1.body.clone(),
        b2.body.clone(),
    ];
    bodies.sort();
    assert_eq!(
        bodies,
        (0..4)
            .map(|i| format!("job {i}").into_bytes())
            .collect::<Vec<_>>()
    );
    for m in [&a1, &a2] {
        a.ack(m, None, true).unwrap();
    }
    b.ack(&b1, None, true).unwrap();
    // b rejects its second job: it goes to a.
    b.nack(&b2, None, true).unwrap();
    let again = message(&mut a);
    assert_eq!(again.body, b2.body);
    a.ack(&again, None, true).unwrap();
    nothing(&mut b);
    server.stop();
    server.join();
}

#[test]
fn unacked_queue_messages_go_to_another_subscriber_on_disconnect() {
    let server = start(1);
    let mut a = client(&tcp(&server), None);
    a.subscribe("/queue/q", "a", AckMode::Client, &[], true)
        .unwrap();
    let mut p = client(&tcp(&server), None);
    p.send("/queue/q", &[], b"precious", None, true).unwrap();
    assert_eq!(message(&mut a).body, b"precious");
    let mut b = client(&ws(&server), None);
    b.subscribe("/queue/q", "b", AckMode::Auto, &[], true)
        .unwrap();
    drop(a); // lost without ACK
    assert_eq!(message(&mut b).body, b"precious");
    server.stop();
    server.join();
}

#[test]
fn user_destinations_reach_every_session_of_the_user() {
    // Users named by their login, unchecked (`--trust-login`).
    let server = Server::start(ServerConfig {
        security: sockwire_std::auth::Security {
            trust_login: true,
            ..Default::default()
        },
        ..config(2)
    })
    .unwrap();
    let mut ann1 = client(&ws(&server), Some("ann"));
    let mut ann2 = client(&tcp(&server), Some("ann"));
    let mut bob = client(&ws(&server), Some("bob"));
    for c in [&mut ann1, &mut ann2, &mut bob] {
        c.subscribe("/user/queue/inbox", "in", AckMode::Auto, &[], true)
            .unwrap();
    }
    let mut p = client(&tcp(&server), None);
    p.send("/user/ann/queue/inbox", &[], b"for ann", None, true)
        .unwrap();
    assert_eq!(message(&mut ann1).body, b"for ann");
    assert_eq!(message(&mut ann2).body, b"for ann");
    nothing(&mut bob);
    server.stop();
    server.join();
}

#[test]
fn without_authentication_a_login_claims_no_identity() {
    let server = start(2);
    let mut ann = client(&ws(&server), Some("ann"));
    let mut impostor = client(&tcp(&server), Some("ann"));
    for c in [&mut ann, &mut impostor] {
        c.subscribe("/user/queue/inbox", "in", AckMode::Auto, &[], true)
            .unwrap();
    }
    // Each session is its own anonymous user, named in CONNECTED.
    let names: Vec<String> = [&ann, &impostor]
        .iter()
        .map(|c| c.user_name().unwrap().to_string())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("session-")), "{names:?}");
    assert_ne!(names[0], names[1]);
    let mut p = client(&tcp(&server), None);
    p.send("/user/ann/queue/inbox", &[], b"for ann", None, true)
        .unwrap();
    nothing(&mut ann);
    nothing(&mut impostor);
    let to_first = format!("/user/{}/queue/inbox", names[0]);
    p.send(&to_first, &[], b"for the first", None, true)
        .unwrap();
    assert_eq!(message(&mut ann).body, b"for the first");
    nothing(&mut impostor);
    server.stop();
    server.join();
}

#[test]
fn wildcards_and_selectors() {
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        stomp_tcp: Some("127.0.0.1:0".parse().unwrap()),
        prefixes: sockwire_std::server::Prefixes {
            separator: b'.',
            ..Default::default()
        },
        ..ServerConfig::default()
    })
    .unwrap();
    let mut star = client(&tcp(&server), None);
    star.subscribe("/topic/price.stock.*", "1", AckMode::Auto, &[], true)
        .unwrap();
    let mut deep = client(&tcp(&server), None);
    deep.subscribe("/topic/price.**", "1", AckMode::Auto, &[], true)
        .unwrap();
    let mut picky = client(&ws(&server), None);
    picky
        .subscribe(
            "/topic/price.stock.ibm",
            "1",
            AckMode::Auto,
            &[("selector", "kind = 'trade' or kind = 'close'")],
            true,
        )
        .unwrap();
    let mut p = client(&tcp(&server), None);
    p.send(
        "/topic/price.stock.ibm",
        &[("kind", "quote")],
        b"1",
        None,
        true,
    )
    .unwrap();
    p.send(
        "/topic/price.stock.ibm",
        &[("kind", "trade")],
        b"2",
        None,
        true,
    )
    .unwrap();
    p.send("/topic/price.bond.us.10y", &[], b"3", None, true)
        .unwrap();
    assert_eq!(message(&mut star).body, b"1");
    assert_eq!(message(&mut star).body, b"2");
    nothing(&mut star);
    assert_eq!(message(&mut deep).body, b"1");
    assert_eq!(message(&mut deep).body, b"2");
    assert_eq!(message(&mut deep).body, b"3");
    assert_eq!(message(&mut picky).body, b"2");
    nothing(&mut picky);
    // A selector that does not parse is refused with an ERROR.
    let mut bad = client(&tcp(&server), None);
    bad.subscribe(
        "/topic/a",
        "x",
        AckMode::Auto,
        &[("selector", "kind = ")],
        false,
    )
    .unwrap();
    match bad.next_event(Duration::from_secs(5)).unwrap() {
        Some(StompEvent::Error { .. }) => {}
        other => panic!("expected an ERROR, got {other:?}"),
    }
    server.stop();
    server.join();
}

#[test]
fn transactions_deliver_on_commit_and_never_on_abort() {
    let server = start(1);
    let mut sub = client(&ws(&server), None);
    sub.subscribe("/topic/tx", "1", AckMode::Auto, &[], true)
        .unwrap();
    let mut p = client(&tcp(&server), None);
    p.begin("t1", true).unwrap();
    p.send("/topic/tx", &[], b"dropped", Some("t1"), false)
        .unwrap();
    p.abort("t1", true).unwrap();
    p.begin("t2", true).unwrap();
    p.send("/topic/tx", &[], b"kept 1", Some("t2"), false)
        .unwrap();
    p.send("/topic/tx", &[], b"kept 2", Some("t2"), false)
        .unwrap();
    nothing(&mut sub);
    p.commit("t2", true).unwrap();
    assert_eq!(message(&mut sub).body, b"kept 1");
    assert_eq!(message(&mut sub).body, b"kept 2");
    nothing(&mut sub);
    server.stop();
    server.join();
}

#[test]
fn acks_in_a_transaction_count_at_commit_and_not_after_abort() {
    let server = start(1);
    let mut p = client(&tcp(&server), None);
    let mut a = client(&ws(&server), None);
    a.subscribe("/queue/txack", "a", AckMode::ClientIndividual, &[], true)
        .unwrap();
    for body in ["committed", "aborted", "pending"] {
        p.send("/queue/txack", &[], body.as_bytes(), None, true)
            .unwrap();
    }
    let (m1, m2, m3) = (message(&mut a), message(&mut a), message(&mut a));
    a.begin("t1", true).unwrap();
    a.ack(&m1, Some("t1"), true).unwrap();
    a.commit("t1", true).unwrap();
    a.begin("t2", true).unwrap();
    a.ack(&m2, Some("t2"), true).unwrap();
    a.abort("t2", true).unwrap();
    a.begin("t3", true).unwrap();
    a.ack(&m3, Some("t3"), true).unwrap();
    // The session ends before t3 commits: what t1 did not acknowledge comes back.
    drop(a);
    let mut b = client(&tcp(&server), None);
    b.subscribe("/queue/txack", "b", AckMode::Auto, &[], true)
        .unwrap();
    let mut again = vec![message(&mut b).body, message(&mut b).body];
    again.sort();
    assert_eq!(again, [b"aborted".to_vec(), b"pending".to_vec()]);
    nothing(&mut b);
    server.stop();
    server.join();
}

#[test]
fn application_prefix_echo_and_broadcast() {
    let server = start(2);
    let mut me = client(&ws(&server), Some("me"));
    me.subscribe("/user/queue/echo", "e", AckMode::Auto, &[], true)
        .unwrap();
    me.subscribe("/topic/broadcast", "b", AckMode::Auto, &[], true)
        .unwrap();
    let mut other = client(&tcp(&server), None);
    other
        .subscribe("/topic/broadcast", "b", AckMode::Auto, &[], true)
        .unwrap();
    me.send("/app/echo", &[], b"ping", None, true).unwrap();
    assert_eq!(message(&mut me).body, b"ping");
    me.send("/app/broadcast", &[], b"all", None, true).unwrap();
    assert_eq!(message(&mut me).body, b"all");
    assert_eq!(message(&mut other).body, b"all");
    nothing(&mut other);
    server.stop();
    server.join();
}

#[test]
fn disconnect_with_receipt_and_no_leaked_subscriptions() {
    let server = start(2);
    let mut clients: Vec<StompClient> = (0..5)
        .map(|i| {
            let mut c = client(
                &if i % 2 == 0 {
                    ws(&server)
                } else {
                    tcp(&server)
                },
                None,
            );
            c.subscribe("/topic/t", "1", AckMode::Auto, &[], true)
                .unwrap();
            c
        })
        .collect();
    let last = clients.pop().unwrap();
    assert!(last.disconnect().unwrap(), "DISCONNECT receipt");
    drop(clients);
    // Sessions leave the hub: a later publish reaches nobody and the count drops to zero.
    let mut p = client(&tcp(&server), None);
    p.send("/topic/t", &[], b"x", None, true).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.stats().sessions != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "sessions left: {:?}",
            server.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();
    server.join();
}

#[test]
fn client_ack_is_cumulative() {
    let server = start(1);
    let mut a = client(&tcp(&server), None);
    a.subscribe("/queue/c", "a", AckMode::Client, &[], true)
        .unwrap();
    let mut p = client(&tcp(&server), None);
    for i in 0..3 {
        p.send("/queue/c", &[], format!("{i}").as_bytes(), None, true)
            .unwrap();
    }
    let msgs: Vec<StompMessage> = (0..3).map(|_| message(&mut a)).collect();
    // Acknowledging the last settles all three: a new subscriber gets none of them back.
    a.ack(&msgs[2], None, true).unwrap();
    let mut b = client(&tcp(&server), None);
    b.subscribe("/queue/c", "b", AckMode::Auto, &[], true)
        .unwrap();
    drop(a);
    nothing(&mut b);
    server.stop();
    server.join();
}

/// A consumer of a backlog larger than its window of unacknowledged messages (128)
/// gets all of it: each ACK lets the next waiting message through, in order.
#[test]
fn the_ack_window_refills_on_ack() {
    let server = start(2);
    let mut p = client(&tcp(&server), None);
    for i in 0..300 {
        p.send(
            "/queue/backlog",
            &[],
            format!("{i}").as_bytes(),
            None,
            i == 299,
        )
        .unwrap();
    }
    for (mode, url) in [
        (AckMode::ClientIndividual, tcp(&server)),
        (AckMode::Client, ws(&server)),
    ] {
        let mut c = client(&url, None);
        c.subscribe("/queue/backlog", "b", mode, &[], true).unwrap();
        for i in 0..300 {
            let m = message(&mut c);
            assert_eq!(m.body, format!("{i}").as_bytes(), "{mode:?}");
            c.ack(&m, None, i % 50 == 0).unwrap();
        }
        nothing(&mut c);
        drop(c);
        if mode == AckMode::ClientIndividual {
            for i in 0..300 {
                p.send(
                    "/queue/backlog",
                    &[],
                    format!("{i}").as_bytes(),
                    None,
                    i == 299,
                )
                .unwrap();
            }
        }
    }
    server.stop();
    server.join();
}

#[test]
fn queues_cannot_be_drained_by_a_wildcard_subscription() {
    let server = start(2);
    let mut p = client(&tcp(&server), None);
    p.send("/queue/private-app", &[], b"secret", None, true)
        .unwrap();
    let mut thief = client(&ws(&server), None);
    let refused = thief
        .subscribe("/queue/**", "all", AckMode::Auto, &[], true)
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("queues cannot be subscribed to by pattern"),
        "{refused}"
    );
    // The message is still there for its own consumer.
    let mut owner = client(&tcp(&server), None);
    owner
        .subscribe("/queue/private-app", "mine", AckMode::Auto, &[], true)
        .unwrap();
    assert_eq!(message(&mut owner).body, b"secret");
    server.stop();
    server.join();
}

#[test]
fn a_send_to_a_full_queue_is_refused_with_its_receipt_and_the_queue_keeps_what_it_had() {
    use std::io::{Read, Write};
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        stomp_tcp: Some("127.0.0.1:0".parse().unwrap()),
        workers: 2,
        queue_limits: sockwire_core::broker::QueueLimits {
            messages_per_queue: 3,
            ..ServerConfig::default().queue_limits
        },
        ..ServerConfig::default()
    })
    .unwrap();
    let mut raw = std::net::TcpStream::connect(server.stomp_addr().unwrap()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut frames = String::from("CONNECT\naccept-version:1.2\nhost:h\nheart-beat:0,0\n\n\0");
    for i in 0..4 {
        frames.push_str(&format!(
            "SEND\ndestination:/queue/full\nreceipt:r{i}\n\nm{i}\0"
        ));
    }
    raw.write_all(frames.as_bytes()).unwrap();
    // Three receipts, then the ERROR for the fourth SEND, then the end of the connection.
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let receipts: Vec<&str> = answer.matches("RECEIPT\nreceipt-id:").collect();
    assert_eq!(receipts.len(), 3, "{answer}");
    let error = &answer[answer.find("ERROR\n").expect("an ERROR")..];
    assert!(error.contains("receipt-id:r3\n"), "{error}");
    assert!(error.contains("message:queue full"), "{error}");
    assert!(!answer.contains("receipt-id:r3\n\n\0RECEIPT"), "{answer}");
    // What the queue had is still there, in order; the refused message is not.
    let mut c = client(&tcp(&server), None);
    c.subscribe("/queue/full", "f", AckMode::Auto, &[], true)
        .unwrap();
    for i in 0..3 {
        assert_eq!(message(&mut c).body, format!("m{i}").as_bytes());
    }
    nothing(&mut c);
    server.stop();
    server.join();
}

#[test]
fn frames_split_across_and_packed_into_websocket_messages() {
    use sockwire_std::client::{ClientOptions, WsClient};
    use sockwire_std::message::Message;
    let server = start(2);
    let options = ClientOptions {
        subprotocols: vec!["v12.stomp".into()],
        ..ClientOptions::default()
    };
    let mut c = WsClient::connect_with(&ws(&server), &options).unwrap();
    assert_eq!(c.subprotocol(), Some("v12.stomp"));
    // CONNECT in two messages.
    c.send_text("CONNECT\naccept-version:1.2\nho").unwrap();
    c.send_text("st:localhost\n\n\0").unwrap();
    let connected = c.read().unwrap();
    assert!(
        matches!(&connected, Message::Text(t) if t.starts_with("CONNECTED\n")),
        "{connected:?}"
    );
    // SUBSCRIBE and SEND in one message.
    c.send_text("SUBSCRIBE\nid:0\ndestination:/topic/p\nreceipt:r1\n\n\0SEND\ndestination:/topic/p\n\nhello\0")
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        match c.read().unwrap() {
            Message::Text(t) => got.push(t),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(got[0].starts_with("RECEIPT\nreceipt-id:r1\n"), "{got:?}");
    assert!(
        got[1].starts_with("MESSAGE\n") && got[1].ends_with("\n\nhello\0"),
        "{got:?}"
    );
    server.stop();
    server.join();
}

#[test]
fn slow_consumer_is_closed_while_others_keep_receiving() {
    use std::io::{Read, Write};
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        stomp_tcp: Some("127.0.0.1:0".parse().unwrap()),
        max_queued_bytes: 256 * 1024,
        ..ServerConfig::default()
    })
    .unwrap();
    // A subscriber that never reads after subscribing.
    let mut stalled = std::net::TcpStream::connect(server.stomp_addr().unwrap()).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stalled
        .write_all(b"CONNECT\naccept-version:1.2\nhost:x\n\n\0SUBSCRIBE\nid:0\ndestination:/topic/flood\nreceipt:s\n\n\0")
        .unwrap();
    let mut head = [0u8; 256];
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("receipt-id:s") {
        let n = stalled.read(&mut head).unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&head[..n]);
    }
    const COUNT: usize = 4000;
    let healthy_url = tcp(&server);
    let mut healthy = client(&healthy_url, None);
    healthy
        .subscribe("/topic/flood", "h", AckMode::Auto, &[], true)
        .unwrap();
    let (progress, read) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for i in 0..COUNT {
            message(&mut healthy);
            progress.send(i + 1).unwrap();
        }
    });
    // The publisher never runs more than 8 messages (128 KiB, under the 256 KiB limit)
    // ahead of the healthy
    // subscriber, which therefore keeps up; the stalled one falls ever further behind.
    let mut p = client(&tcp(&server), None);
    let body = vec![b'x'; 16 * 1024];
    let mut consumed = 0;
    for sent in 0..COUNT {
        while sent >= consumed + 8 {
            consumed = read.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        p.send("/topic/flood", &[], &body, None, false).unwrap();
    }
    reader.join().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.stats().closed_for_slowness == 0 {
        assert!(std::time::Instant::now() < deadline, "{:?}", server.stats());
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stalled);
    server.stop();
    server.join();
}

#[test]
fn graceful_shutdown_closes_sessions_with_error_and_1001() {
    use sockwire_std::client::WsClient;
    use sockwire_std::message::Message;
    let server = start(2);
    let mut over_tcp = client(&tcp(&server), None);
    let mut over_ws = client(&ws(&server), None);
    over_tcp
        .subscribe("/topic/a", "1", AckMode::Auto, &[], true)
        .unwrap();
    over_ws
        .subscribe("/topic/a", "1", AckMode::Auto, &[], true)
        .unwrap();
    let mut echo = WsClient::connect(&format!("ws://{}/echo", server.local_addr())).unwrap();
    echo.send_text("hi").unwrap();
    assert_eq!(echo.read().unwrap(), Message::Text("hi".into()));
    server.shutdown();
    for c in [&mut over_tcp, &mut over_ws] {
        match c.next_event(Duration::from_secs(5)).unwrap() {
            Some(StompEvent::Error { message, .. }) => {
                assert_eq!(message.as_deref(), Some("server shutting down"))
            }
            other => panic!("expected an ERROR, got {other:?}"),
        }
    }
    match echo.read().unwrap() {
        Message::Close { code, .. } => assert_eq!(code, Some(1001)),
        other => panic!("expected a close, got {other:?}"),
    }
    drop((over_tcp, over_ws, echo));
    server.join();
}

#[test]
fn stats_count_sessions_and_messages() {
    use std::io::{Read, Write};
    let server = start(2);
    let mut a = client(&tcp(&server), None);
    a.subscribe("/topic/s", "1", AckMode::Auto, &[], true)
        .unwrap();
    let mut b = client(&ws(&server), None);
    b.send("/topic/s", &[], b"x", None, true).unwrap();
    message(&mut a);
    let mut s = std::net::TcpStream::connect(server.local_addr()).unwrap();
    s.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("application/json"), "{out}");
    let body = out.split("\r\n\r\n").nth(1).unwrap();
    assert!(body.contains("\"stomp_tcp\":1"), "{body}");
    assert!(body.contains("\"stomp_websocket\":1"), "{body}");
    assert!(body.contains("\"messages_published\":1"), "{body}");
    assert!(body.contains("\"messages_delivered\":1"), "{body}");
    server.stop();
    server.join();
}

#[test]
fn a_client_that_never_sends_connect_is_dropped() {
    use std::io::Read;
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        stomp_tcp: Some("127.0.0.1:0".parse().unwrap()),
        handshake_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    })
    .unwrap();
    let mut silent = std::net::TcpStream::connect(server.stomp_addr().unwrap()).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16];
    // The server closes the connection: EOF (or a reset), well before the read timeout.
    let _ = silent.read(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // A client that connects in time is not affected.
    let mut c = client(&tcp(&server), None);
    std::thread::sleep(Duration::from_millis(600));
    c.send("/topic/x", &[], b"still here", None, true).unwrap();
    server.stop();
    server.join();
}

/// What the server answers a SEND of `len` body bytes: the MESSAGE's length, or the
/// ERROR's message.
fn send_of(url: &str, len: usize) -> Result<usize, String> {
    let mut c = client(url, None); // its own limit: 16 MiB
    c.subscribe("/topic/big", "1", AckMode::Auto, &[], true)
        .unwrap();
    if let Err(e) = c.send("/topic/big", &[], &vec![b'x'; len], None, false) {
        return Err(format!("send: {e}"));
    }
    loop {
        match c.next_event(Duration::from_secs(10)) {
            Ok(Some(StompEvent::Message(m))) => return Ok(m.body.len()),
            Ok(Some(StompEvent::Error { message, .. })) => return Err(message.unwrap_or_default()),
            Ok(Some(StompEvent::Receipt(_))) => {}
            other => panic!("expected MESSAGE or ERROR, got {other:?}"),
        }
    }
}

#[test]
fn the_stomp_body_limit_is_1_mib_by_default_and_configurable() {
    let server = start(1);
    let limit = 1 << 20;
    for url in [ws(&server), tcp(&server)] {
        assert_eq!(send_of(&url, 256 * 1024), Ok(256 * 1024), "{url}");
        assert_eq!(send_of(&url, limit), Ok(limit), "{url}");
        assert_eq!(
            send_of(&url, limit + 1),
            Err("frame body exceeds 1048576 bytes".to_string()),
            "{url}"
        );
    }
    server.stop();
    server.join();

    // Raised past the WebSocket message limit, which grows with it for STOMP.
    let mut config = config(1);
    config.stomp.limits.max_body = 3 << 20;
    let server = Server::start(config).unwrap();
    for url in [ws(&server), tcp(&server)] {
        assert_eq!(send_of(&url, 3 << 20), Ok(3 << 20), "{url}");
        assert_eq!(
            send_of(&url, (3 << 20) + 1),
            Err("frame body exceeds 3145728 bytes".to_string()),
            "{url}"
        );
    }
    server.stop();
    server.join();
}

#[test]
fn deliveries_are_counted_whoever_receives_them() {
    let server = start(1);
    let mut me = client(&tcp(&server), None);
    let mut other = client(&ws(&server), None);
    for c in [&mut me, &mut other] {
        c.subscribe("/topic/count", "c", AckMode::Auto, &[], true)
            .unwrap();
    }
    // The publisher is a subscriber too: its own copy counts as a delivery.
    me.send("/topic/count", &[], b"x", None, true).unwrap();
    assert_eq!(message(&mut me).body, b"x");
    assert_eq!(message(&mut other).body, b"x");
    let stats = server.stats();
    assert_eq!((stats.published, stats.delivered), (1, 2));
    server.stop();
    server.join();
}
