//! The Autobahn TestSuite client testee: runs every case of a `wstest -m fuzzingserver`
//! with the sockwire client echoing what it receives, then asks for the report.
//!
//! Usage: `autobahn_testee ws://127.0.0.1:9002 AGENT`

use std::io;
use std::process::ExitCode;

use sockwire_std::client::{ClientOptions, WsClient};
use sockwire_std::message::Message;

fn options() -> ClientOptions {
    // Case 9.x sends single frames and messages of 16 MiB.
    let config = sockwire_core::ws::Config {
        max_frame_size: 64 << 20,
        max_message_size: 64 << 20,
        ..sockwire_core::ws::Config::default()
    };
    ClientOptions {
        config: Some(config),
        ..ClientOptions::default()
    }
}

/// Echoes until the server closes; the outcome is judged by the suite, not here.
fn run_case(base: &str, case: u32, agent: &str) -> io::Result<()> {
    let mut client = WsClient::connect_with(
        &format!("{base}/runCase?case={case}&agent={agent}"),
        &options(),
    )?;
    let result = loop {
        match client.read() {
            Ok(Message::Text(t)) => client.send_text(&t)?,
            Ok(Message::Binary(b)) => client.send_binary(&b)?,
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(Message::Close { .. }) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    // Either way the close frame is out: let the server close the TCP connection first.
    client.wait_for_eof(std::time::Duration::from_secs(2))?;
    result
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(agent)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: autobahn_testee ws://HOST:PORT AGENT");
        return ExitCode::FAILURE;
    };
    let count = match WsClient::connect(&format!("{base}/getCaseCount")).and_then(|mut c| c.read())
    {
        Ok(Message::Text(t)) => match t.trim().parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("case count not a number: {t:?}");
                return ExitCode::FAILURE;
            }
        },
        other => {
            eprintln!("cannot read the case count: {other:?}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("running {count} cases");
    for case in 1..=count {
        if let Err(e) = run_case(base, case, agent) {
            // Many cases end with the peer dropping the connection: expected.
            log_case_end(case, &e);
        }
    }
    match WsClient::connect(&format!("{base}/updateReports?agent={agent}")).and_then(|mut c| {
        // Wait for the server to close: the reports are written by then.
        loop {
            if let Message::Close { .. } = c.read()? {
                return Ok(());
            }
        }
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("updateReports: {e}");
            ExitCode::FAILURE
        }
    }
}

fn log_case_end(case: u32, e: &io::Error) {
    if std::env::var_os("AUTOBAHN_VERBOSE").is_some() {
        eprintln!("case {case}: {e}");
    }
}
