//! What `sockwire serve` says on stderr: JSON lines with `--log-format json` (or
//! `SOCKWIRE_LOG_FORMAT=json`), a summary at the end of a graceful shutdown, and a
//! closed stderr that does not keep SIGTERM from stopping it.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a stopping server may take before the test calls it stuck.
const EXIT_BOUND: Duration = Duration::from_secs(20);

/// `sockwire serve` on loopback with `envs`, its stderr piped.
fn serve(args: &[&str], envs: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sockwire"));
    command
        .args(["serve", "--http", "127.0.0.1:0", "--no-stomp-tcp"])
        .args(args)
        .env_remove("SOCKWIRE_LOG")
        .env_remove("RUST_LOG")
        .env_remove("SOCKWIRE_LOG_FORMAT");
    for (k, v) in envs {
        command.env(k, v);
    }
    command.stderr(Stdio::piped()).spawn().unwrap()
}

/// Reads log lines until one says where the echo is served; returns the lines read.
fn until_serving(lines: &mut Lines<BufReader<ChildStderr>>) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let line = lines.next().expect("server exited").unwrap();
        let done = line.contains("ws://");
        seen.push(line);
        if done {
            return seen;
        }
    }
}

fn sigterm(child: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

/// Waits for the process to exit, at most [`EXIT_BOUND`]; kills it and fails otherwise.
fn exits(child: &mut Child) -> ExitStatus {
    let give_up = Instant::now() + EXIT_BOUND;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > give_up {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not exit within {EXIT_BOUND:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_stops_the_server_after_stderr_is_closed() {
    let mut child = serve(&[], &[("SOCKWIRE_LOG", "debug")]);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    assert!(!first.is_empty());
    // `| head -1`: the reader goes away after the first line. Lines the server logs from
    // now on (its start, the signal thread's, the shutdown's) meet a broken pipe.
    drop(lines);
    sigterm(&child);
    let status = exits(&mut child);
    assert!(status.success(), "{status:?}");
}

fn json_lines(args: &[&str], envs: &[(&str, &str)]) {
    let mut child = serve(args, envs);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = until_serving(&mut lines);
    sigterm(&child);
    seen.extend(lines.map_while(Result::ok));
    assert!(exits(&mut child).success());
    let mut messages = Vec::new();
    for line in &seen {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let object = value.as_object().unwrap_or_else(|| panic!("{line}"));
        for key in ["timestamp", "level", "target", "message"] {
            assert!(
                object.get(key).is_some_and(|v| v.is_string()),
                "{key}: {line}"
            );
        }
        assert_eq!(object.len(), 4, "{line}");
        messages.push(object["message"].as_str().unwrap_or_default().to_string());
    }
    assert!(messages.iter().any(|m| m.contains("ws://")), "{messages:?}");
    let summary = messages
        .iter()
        .find(|m| m.starts_with("shut down after"))
        .unwrap_or_else(|| panic!("no shutdown summary in {messages:?}"));
    assert!(summary.contains("0 sessions closed"), "{summary}");
    assert!(summary.contains("messages published"), "{summary}");
}

#[test]
fn log_format_json_writes_one_object_a_line() {
    json_lines(&["--log-format", "json"], &[]);
}

#[test]
fn sockwire_log_format_json_does_the_same() {
    json_lines(&[], &[("SOCKWIRE_LOG_FORMAT", "json")]);
}

#[test]
fn text_logs_have_timestamps_and_the_summary() {
    let mut child = serve(&[], &[]);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = until_serving(&mut lines);
    sigterm(&child);
    seen.extend(lines.map_while(Result::ok));
    assert!(exits(&mut child).success());
    // `[2024-01-01T00:00:00Z INFO  target] message`
    for line in &seen {
        let stamp = line.strip_prefix('[').and_then(|l| l.split(' ').next());
        assert!(
            stamp.is_some_and(|s| s.len() >= 20 && s.ends_with('Z') && s.contains('T')),
            "{line}"
        );
    }
    assert!(
        seen.iter().any(|l| l.contains("shut down after")),
        "{seen:?}"
    );
}
