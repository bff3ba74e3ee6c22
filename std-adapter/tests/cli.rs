//! The `sockwire` command as a user runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use sockwire_std::server::{Server, ServerConfig};

mod common;

/// A server on a free loopback port with the default configuration.
fn start_server() -> Server {
    Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    })
    .unwrap()
}

/// Runs `sockwire args`, writes `input` to its stdin and closes it, waits for the exit
/// and checks it succeeded.
fn run_with_input(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockwire"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn connect_sends_lines_and_prints_messages() {
    let server = start_server();
    let url = format!("ws://{}/echo", server.local_addr());
    // End of input closes the connection; the echoes sent before must still be printed.
    let out = run_with_input(&["connect", &url], "hello\nwörld ✓\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\nwörld ✓\n");
    server.stop();
    server.join();
}

#[test]
fn bad_arguments_fail_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_sockwire"))
        .arg("bogus")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .to_lowercase()
        .contains("usage"));
}

#[test]
fn serve_reads_a_config_file_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("sockwire-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sockwire.conf");
    std::fs::write(
        &file,
        "# test settings\nhttp = \"127.0.0.1:0\"\nno-stomp-tcp = true\nheart-beat = \"5000,5000\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockwire"))
        .args(["serve", "--config", file.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut saw_stomp_tcp = false;
    let addr = loop {
        let line = lines.next().expect("server exited").unwrap();
        saw_stomp_tcp |= line.contains("stomp://");
        if let Some(rest) = line.split("ws://").nth(1) {
            break rest.trim_end_matches("/echo").to_string();
        }
    };
    let mut c = sockwire_std::client::WsClient::connect(&format!("ws://{addr}/echo")).unwrap();
    c.send_text("configured").unwrap();
    assert_eq!(
        c.read().unwrap(),
        sockwire_std::message::Message::Text("configured".into())
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The close arrives (1001), then the process exits by itself.
    assert!(matches!(
        c.read().unwrap(),
        sockwire_std::message::Message::Close {
            code: Some(1001),
            ..
        }
    ));
    drop(c);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    for line in lines.map_while(Result::ok) {
        saw_stomp_tcp |= line.contains("stomp://");
    }
    assert!(
        !saw_stomp_tcp,
        "no-stomp-tcp from the config file was ignored"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn connect_through_sockjs() {
    let server = start_server();
    let url = format!("http://{}/sockjs", server.local_addr());
    let out = run_with_input(&["connect", "--sockjs", &url], "via sockjs ✓\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "via sockjs ✓\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("SockJS over WebSocket"));
    server.stop();
    server.join();
}

#[test]
fn passwd_writes_users_that_serve_authenticates_and_the_config_file_holds_access_rules() {
    use sockwire_std::stomp::{StompClient, StompOptions};
    let dir = std::env::temp_dir().join(format!("sockwire-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let entry = run_with_input(&["passwd", "alice", "--role", "admin"], "open sesame\n");
    let users = String::from_utf8(entry.stdout).unwrap();
    assert!(
        users.contains("[users.alice]") && users.contains("$argon2id$"),
        "{users}"
    );
    assert!(!users.contains("open sesame"));
    let users_file = dir.join("users.toml");
    std::fs::write(&users_file, &users).unwrap();
    let config = dir.join("sockwire.toml");
    std::fs::write(
        &config,
        "[[access]]\ndestinations = [\"/topic/secret/**\"]\ncommands = [\"subscribe\"]\naction = \"deny\"\n",
    )
    .unwrap();
    let server = common::Serve::start(&[
        "--users",
        users_file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let url = format!("stomp://{}", server.stomp.as_deref().unwrap());
    let login = |passcode: &str| StompOptions {
        login: Some("alice".into()),
        passcode: Some(passcode.into()),
        ..StompOptions::default()
    };
    let mut alice = StompClient::connect(&url, &login("open sesame")).unwrap();
    assert_eq!(alice.user_name(), Some("alice"));
    let wrong = StompClient::connect(&url, &login("guess")).err().unwrap();
    assert!(wrong.to_string().contains("bad credentials"), "{wrong}");
    let denied = alice
        .subscribe("/topic/secret/x", "s", Default::default(), &[], true)
        .unwrap_err();
    assert!(denied.to_string().contains("access denied"), "{denied}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stomp_sends_the_default_virtual_host_slash() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let broker = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut frame = Vec::new();
        let mut byte = [0u8; 1];
        while s.read(&mut byte).unwrap() == 1 && byte[0] != 0 {
            frame.push(byte[0]);
        }
        s.write_all(b"ERROR\nmessage:no thanks\n\n\0").unwrap();
        String::from_utf8(frame).unwrap()
    });
    let url = format!("stomp://127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_sockwire"))
        .args(["stomp", "send", &url, "/queue/a", "hi"])
        .output()
        .unwrap();
    let connect = broker.join().unwrap();
    assert!(connect.starts_with("CONNECT\n"), "{connect}");
    assert!(connect.contains("\nhost:/\n"), "{connect}");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no thanks"), "{stderr}");
}

#[test]
fn client_errors_are_sentences() {
    let server = start_server();
    let url = format!("ws://{}/nowhere", server.local_addr());
    let out = Command::new(env!("CARGO_BIN_EXE_sockwire"))
        .args(["connect", &url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the server answered 404 instead of switching to WebSocket"),
        "{stderr}"
    );
    server.stop();
    server.join();
}
