//! The `sockwire` command as a user runs it.

use std::io::Write;
use std::process::{Command, Stdio};

use sockwire_std::server::{Server, ServerConfig};

#[test]
fn connect_sends_lines_and_prints_messages() {
    let server = Server::start(ServerConfig {
        http: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    })
    .unwrap();
    let url = format!("ws://{}/echo", server.local_addr());
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockwire"))
        .args(["connect", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // End of input closes the connection; the echoes sent before must still be printed.
    child
        .stdin
        .take()
        .unwrap()
        .write_all("hello\nwörld ✓\n".as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}
