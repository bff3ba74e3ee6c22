//! Interop with RabbitMQ's STOMP (TCP) and Web-STOMP (WebSocket) plugins.
//!
//! Ignored by default: it needs a broker. `tests/rabbitmq/run.sh` installs and starts one
//! on loopback and runs `cargo test -p sockwire-std --test stomp_rabbitmq -- --ignored`.
//! Addresses come from SOCKWIRE_STOMP_TCP and SOCKWIRE_STOMP_WS (defaults:
//! stomp://127.0.0.1:61613 and ws://127.0.0.1:15674/ws). Prints `N passed, M failed`.

use std::time::Duration;

use sockwire_core::stomp::{AckMode, Version};
use sockwire_std::stomp::{StompClient, StompEvent, StompMessage, StompOptions};

type Check = Result<(), String>;

fn options() -> StompOptions {
    StompOptions {
        login: Some("guest".into()),
        passcode: Some("guest".into()),
        host: Some("/".into()),
        ..StompOptions::default()
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn next_message(c: &mut StompClient, wait_ms: u64) -> Result<Option<StompMessage>, String> {
    let give_up = std::time::Instant::now() + Duration::from_millis(wait_ms);
    loop {
        let left = give_up.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        match c.next_event(left).map_err(err)? {
            Some(StompEvent::Message(m)) => return Ok(Some(m)),
            Some(StompEvent::Error { message, body, .. }) => {
                return Err(format!(
                    "ERROR {message:?} {}",
                    String::from_utf8_lossy(&body)
                ))
            }
            Some(_) => {}
            None => return Ok(None),
        }
    }
}

fn expect_body(c: &mut StompClient, body: &[u8]) -> Result<StompMessage, String> {
    let m = next_message(c, 5000)?.ok_or("no message arrived")?;
    if m.body != body {
        return Err(format!("body {:?} != {:?}", m.body, body));
    }
    Ok(m)
}

fn run_suite(label: &str, url: &str, passed: &mut u32, failed: &mut u32) {
    let tag = format!("{label}-{}", std::process::id());
    let mut check = |name: &str, r: Check| match r {
        Ok(()) => {
            *passed += 1;
            println!("ok   {label}: {name}");
        }
        Err(e) => {
            *failed += 1;
            println!("FAIL {label}: {name}: {e}");
        }
    };
    let mut c = match StompClient::connect(url, &options()) {
        Ok(c) => c,
        Err(e) => {
            check("connect", Err(err(e)));
            return;
        }
    };
    check(
        "negotiates 1.2",
        if c.version() == Version::V1_2 {
            Ok(())
        } else {
            Err(format!("{:?}", c.version()))
        },
    );
    let queue = format!("/queue/sockwire-{tag}");
    let topic = format!("/topic/sockwire-{tag}");
    check(
        "subscribe queue with receipt (client-individual)",
        c.subscribe(&queue, "q", AckMode::ClientIndividual, &[], true)
            .map_err(err),
    );
    check(
        "subscribe topic with receipt",
        c.subscribe(&topic, "t", AckMode::Auto, &[], true)
            .map_err(err),
    );

    check(
        "topic message",
        (|| {
            c.send(&topic, &[], b"to the topic", None, true)
                .map_err(err)?;
            let m = expect_body(&mut c, b"to the topic")?;
            (m.subscription.as_deref() == Some("t"))
                .then_some(())
                .ok_or(format!("subscription {:?}", m.subscription))
        })(),
    );
    check(
        "body with NUL via content-length",
        (|| {
            c.send(&queue, &[], b"a\0b\0\0c", None, true).map_err(err)?;
            let m = expect_body(&mut c, b"a\0b\0\0c")?;
            c.ack(&m, None, false).map_err(err)
        })(),
    );
    check(
        "headers needing escapes",
        (|| {
            let value = "colon:back\\slash\nline";
            c.send(&queue, &[("x-weird", value)], b"h", None, true)
                .map_err(err)?;
            let m = expect_body(&mut c, b"h")?;
            c.ack(&m, None, false).map_err(err)?;
            match m.header("x-weird") {
                Some(v) if v == value => Ok(()),
                other => Err(format!("x-weird = {other:?}")),
            }
        })(),
    );
    check(
        "UTF-8 body",
        (|| {
            let body = "héllo wörld ✓ 日本語 🦀".as_bytes();
            c.send(
                &queue,
                &[("content-type", "text/plain;charset=utf-8")],
                body,
                None,
                true,
            )
            .map_err(err)?;
            let m = expect_body(&mut c, body)?;
            c.ack(&m, None, false).map_err(err)
        })(),
    );
    check(
        "client-individual acks: un-acked message redelivered after NACK",
        (|| {
            c.send(&queue, &[], b"one", None, true).map_err(err)?;
            c.send(&queue, &[], b"two", None, true).map_err(err)?;
            let one = expect_body(&mut c, b"one")?;
            let two = expect_body(&mut c, b"two")?;
            // Ack only the second; NACK the first, which is then redelivered.
            c.ack(&two, None, true).map_err(err)?;
            c.nack(&one, None, true).map_err(err)?;
            let again = expect_body(&mut c, b"one")?;
            c.ack(&again, None, true).map_err(err)?;
            match next_message(&mut c, 500)? {
                None => Ok(()),
                Some(m) => Err(format!("unexpected extra message {:?}", m.body)),
            }
        })(),
    );
    check(
        "transaction: aborted SEND never delivered, committed SEND delivered",
        (|| {
            c.begin("tx-a", true).map_err(err)?;
            c.send(&queue, &[], b"aborted", Some("tx-a"), false)
                .map_err(err)?;
            c.abort("tx-a", true).map_err(err)?;
            c.begin("tx-c", true).map_err(err)?;
            c.send(&queue, &[], b"committed", Some("tx-c"), false)
                .map_err(err)?;
            if let Some(m) = next_message(&mut c, 300)? {
                return Err(format!("delivered before commit: {:?}", m.body));
            }
            c.commit("tx-c", true).map_err(err)?;
            let m = expect_body(&mut c, b"committed")?;
            c.ack(&m, None, true).map_err(err)?;
            match next_message(&mut c, 500)? {
                None => Ok(()),
                Some(m) => Err(format!("unexpected message {:?}", m.body)),
            }
        })(),
    );
    check(
        "unsubscribe with receipt",
        c.unsubscribe("t", true).map_err(err),
    );
    // RabbitMQ's Web-STOMP closes the WebSocket on DISCONNECT without the receipt.
    let receipt_required = label == "tcp";
    check(
        "DISCONNECT with receipt",
        match c.disconnect() {
            Ok(true) => Ok(()),
            Ok(false) if !receipt_required => {
                println!("note {label}: server closed without the DISCONNECT receipt");
                Ok(())
            }
            Ok(false) => Err("closed without receipt".into()),
            Err(e) => Err(err(e)),
        },
    );
}

#[test]
#[ignore = "needs RabbitMQ: run tests/rabbitmq/run.sh"]
fn rabbitmq_interop() {
    let tcp =
        std::env::var("SOCKWIRE_STOMP_TCP").unwrap_or_else(|_| "stomp://127.0.0.1:61613".into());
    let ws =
        std::env::var("SOCKWIRE_STOMP_WS").unwrap_or_else(|_| "ws://127.0.0.1:15674/ws".into());
    let (mut passed, mut failed) = (0, 0);
    run_suite("tcp", &tcp, &mut passed, &mut failed);
    run_suite("ws", &ws, &mut passed, &mut failed);
    println!("{passed} passed, {failed} failed");
    assert_eq!(failed, 0, "{failed} interop checks failed");
}
