//! The `sockwire` command: a WebSocket, SockJS and STOMP server, and clients for each.
//!
//! ```text
//! sockwire serve [--http ADDR] [--workers N] [--origin ORIGIN]... [--config FILE] ...
//! sockwire connect URL [--protocol NAME]... [--origin ORIGIN] [--sockjs] [--ca FILE] [--proxy URL]
//! sockwire stomp send URL DEST BODY [--login L --passcode P --host VHOST] [--ca FILE]
//! sockwire stomp subscribe URL DEST [--count N] [--login L ...] [--ca FILE] [--proxy URL]
//! sockwire passwd NAME [--role ROLE]... < password
//! ```

mod chat;
mod config_file;
mod logging;
mod network;
mod passwd;
mod serve;
mod stomp;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A WebSocket (RFC 6455), SockJS and STOMP server with an embedded broker, and clients.
#[derive(Parser)]
#[command(
    name = "sockwire",
    version,
    propagate_version = true,
    args_override_self = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines look on stderr: text with timestamps, or one JSON object a line
    /// (default: `SOCKWIRE_LOG_FORMAT`, else text).
    #[arg(long, global = true, value_enum)]
    log_format: Option<logging::LogFormat>,
}

#[derive(Subcommand)]
enum Command {
    /// Serves STOMP over WebSocket (/ws) and SockJS (/stomp), WebSocket and SockJS echo
    /// (/echo, /sockjs), statistics (/stats, /metrics), /health and STOMP over TCP, backed
    /// by the broker.
    Serve(Box<serve::ServeArgs>),
    /// Connects to a ws:// or wss:// URL (or a SockJS endpoint): lines typed are sent as
    /// text, messages received are printed.
    Connect(chat::ConnectArgs),
    /// Sends or receives STOMP messages (stomp://, tcp://, stomp+ssl://, ws:// or wss://
    /// URLs).
    #[command(subcommand)]
    Stomp(stomp::StompCommand),
    /// Reads a password from stdin and prints a users-file entry for `--users` with its
    /// Argon2id hash.
    Passwd(passwd::PasswdArgs),
}

fn main() -> ExitCode {
    let args = match config_file::with_config_file(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(e) => return failed(&e),
    };
    let cli = Cli::parse_from(args);
    logging::init(logging::LogFormat::chosen(cli.log_format));
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Connect(args) => chat::run(args),
        Command::Stomp(command) => stomp::run(command),
        Command::Passwd(args) => passwd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failed(&e),
    }
}

/// Says why the command failed, on stderr if it is still open (`eprintln!` would panic
/// on a closed one), and fails.
fn failed(why: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "sockwire: {why}");
    ExitCode::FAILURE
}
