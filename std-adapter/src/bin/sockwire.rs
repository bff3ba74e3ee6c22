//! The `sockwire` command: a WebSocket server and client.
//!
//! ```text
//! sockwire serve [--http ADDR] [--workers N] [--origin ORIGIN]... [--max-message BYTES]
//! sockwire connect URL [--protocol NAME]... [--origin ORIGIN]
//! sockwire stomp send URL DEST BODY [--login L --passcode P --host VHOST]
//! sockwire stomp subscribe URL DEST [--count N] [--login L --passcode P --host VHOST]
//! ```

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use sockwire_core::stomp::HeartBeat;
use sockwire_std::client::{ClientOptions, WsClient};
use sockwire_std::message::Message;
use sockwire_std::server::{Server, ServerConfig};
use sockwire_std::sockjs_client::SockJsClient;

const USAGE: &str = "usage:
  sockwire serve [flags]
      Serves STOMP over WebSocket at /ws and the WebSocket echo endpoint at /echo on
      --http (default 127.0.0.1:8080), and STOMP over TCP on --stomp-tcp (default
      127.0.0.1:61613), all backed by the embedded broker.
      --http ADDR, --stomp-tcp ADDR, --no-stomp-tcp, --workers N
      --origin ORIGIN          allowed browser origins (default: same origin; * allows any)
      --max-message BYTES, --max-frame BYTES    WebSocket limits
      --heart-beat CX,CY       STOMP heart-beats the server offers, ms (default 10000,10000)
      --topic-prefix P, --queue-prefix P, --app-prefix P, --user-prefix P
      --separator C            destination separator for wildcards: / or . (default /)
      --max-queued BYTES       output queued per STOMP session before it is closed (512 KiB)
      --send-time-limit MS     time output may make no progress before closing (10000)
      --max-total-queued BYTES output queued server-wide above which publishers wait (16 MiB)
      --config FILE            the same settings from a file, one per line: `http = ADDR`
  sockwire connect URL [--protocol NAME]... [--origin ORIGIN]
      Connects to a ws:// URL: lines typed are sent as text, messages received are printed.
  sockwire connect --sockjs http://HOST:PORT/PREFIX
      The same through SockJS: websocket, else xhr_streaming, else xhr polling.
  sockwire stomp send URL DEST BODY [--login L] [--passcode P] [--host VHOST]
      Sends one STOMP message (URL: stomp://host:port, tcp://host:port or ws://host:port/path).
  sockwire stomp subscribe URL DEST [--count N] [--login L] [--passcode P] [--host VHOST]
      Subscribes to DEST and prints each MESSAGE body on a line (stops after N when given).";

fn main() -> ExitCode {
    init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("connect") => connect(&args[1..]),
        Some("stomp") => stomp(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sockwire: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Takes the value following a flag.
fn value<'a>(
    args: &mut impl Iterator<Item = &'a String>,
    flag: &str,
) -> Result<&'a String, String> {
    args.next().ok_or_else(|| format!("{flag} needs a value"))
}

fn parse<T: std::str::FromStr>(text: &str, flag: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag}: cannot parse {text:?}"))
}

/// Reads a config file into the flags it stands for: one setting a line, `name value` or
/// `name = value` with the flag's name without `--` (`http = 127.0.0.1:8080`), a bare
/// name for a switch (`no-stomp-tcp`), `#` starting a comment.
fn config_file_flags(path: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut flags = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (name, value) = match line.split_once(['=', ' ', '\t']) {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_start_matches('=').trim())),
            None => (line, None),
        };
        flags.push(format!("--{name}"));
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            flags.push(v.to_string());
        }
    }
    Ok(flags)
}

fn serve(args: &[String]) -> Result<(), String> {
    let mut config = ServerConfig {
        stomp_tcp: Some(SocketAddr::from(([127, 0, 0, 1], 61613))),
        ..ServerConfig::default()
    };
    // Settings from a config file come first, so that flags given on the command line win.
    let mut all = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--config" {
            all.splice(0..0, config_file_flags(value(&mut rest, arg)?)?);
        } else {
            all.push(arg.clone());
        }
    }
    let mut it = all.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--http" => config.http = parse(value(&mut it, flag)?, flag)?,
            "--workers" => config.workers = parse(value(&mut it, flag)?, flag)?,
            "--origin" => config.allowed_origins.push(value(&mut it, flag)?.clone()),
            "--max-message" => config.ws.max_message_size = parse(value(&mut it, flag)?, flag)?,
            "--max-frame" => config.ws.max_frame_size = parse(value(&mut it, flag)?, flag)?,
            "--stomp-tcp" => config.stomp_tcp = Some(parse(value(&mut it, flag)?, flag)?),
            "--no-stomp-tcp" => config.stomp_tcp = None,
            "--heart-beat" => {
                config.stomp.heart_beat = HeartBeat::parse(value(&mut it, flag)?.as_bytes())
                    .map_err(|_| format!("{flag}: expected CX,CY in milliseconds"))?
            }
            "--topic-prefix" => config.prefixes.topic = value(&mut it, flag)?.clone(),
            "--queue-prefix" => config.prefixes.queue = value(&mut it, flag)?.clone(),
            "--app-prefix" => config.prefixes.app = value(&mut it, flag)?.clone(),
            "--user-prefix" => config.prefixes.user = value(&mut it, flag)?.clone(),
            "--separator" => {
                config.prefixes.separator = match value(&mut it, flag)?.as_str() {
                    "/" => b'/',
                    "." => b'.',
                    other => return Err(format!("{flag}: expected / or ., got {other:?}")),
                }
            }
            "--max-queued" => config.max_queued_bytes = parse(value(&mut it, flag)?, flag)?,
            "--send-time-limit" => {
                config.send_time_limit = Duration::from_millis(parse(value(&mut it, flag)?, flag)?)
            }
            "--max-total-queued" => {
                config.max_total_queued_bytes = parse(value(&mut it, flag)?, flag)?
            }
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    // Signals are caught before the server says it is up, so that a SIGTERM sent as soon
    // as it is reachable still shuts it down gracefully.
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])
    .map_err(|e| format!("cannot handle signals: {e}"))?;
    let server = Server::start(config).map_err(|e| format!("cannot start: {e}"))?;
    log::info!(
        "serving WebSocket echo at ws://{}/echo",
        server.local_addr()
    );
    log::info!(
        "serving STOMP over WebSocket at ws://{}/ws",
        server.local_addr()
    );
    let addr = server.local_addr();
    log::info!("serving STOMP over SockJS at http://{addr}/stomp");
    log::info!("serving SockJS echo at http://{addr}/sockjs");
    log::info!("serving statistics at http://{addr}/stats");
    if let Some(addr) = server.stomp_addr() {
        log::info!("serving STOMP over TCP at stomp://{addr}");
    }
    let handle = server.shutdown_handle();
    std::thread::spawn(move || {
        let mut signals = signals.forever();
        if signals.next().is_some() {
            log::info!("shutting down: closing sessions (a second signal exits at once)");
            handle.shutdown();
        }
        if signals.next().is_some() {
            std::process::exit(130);
        }
    });
    server.join();
    Ok(())
}

/// What `sockwire connect` needs of a client: a WebSocket or a SockJS session.
trait Chat {
    fn send(&mut self, text: &str) -> io::Result<()>;
    fn poll(&mut self, wait: Duration) -> io::Result<Option<Message>>;
    /// Ends the session; `true` when a closing handshake will deliver what is in flight.
    fn finish(&mut self) -> io::Result<bool>;
    fn is_done(&self) -> bool;
}

impl Chat for WsClient {
    fn send(&mut self, text: &str) -> io::Result<()> {
        self.send_text(text)
    }
    fn poll(&mut self, wait: Duration) -> io::Result<Option<Message>> {
        self.read_for(Some(wait))
    }
    fn finish(&mut self) -> io::Result<bool> {
        self.close(1000, "").map(|_| true)
    }
    fn is_done(&self) -> bool {
        self.is_closed()
    }
}

impl Chat for SockJsClient {
    fn send(&mut self, text: &str) -> io::Result<()> {
        self.send_text(text)
    }
    fn poll(&mut self, wait: Duration) -> io::Result<Option<Message>> {
        self.read_for(wait)
    }
    fn finish(&mut self) -> io::Result<bool> {
        // SockJS has no closing handshake: wait for replies in flight first.
        Ok(false)
    }
    fn is_done(&self) -> bool {
        self.is_closed()
    }
}

fn connect(args: &[String]) -> Result<(), String> {
    let mut url = None;
    let mut sockjs = false;
    let mut options = ClientOptions::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--protocol" => options.subprotocols.push(value(&mut it, arg)?.clone()),
            "--origin" => options.origin = Some(value(&mut it, arg)?.clone()),
            "--sockjs" => sockjs = true,
            other if url.is_none() && !other.starts_with("--") => url = Some(other.to_string()),
            other => return Err(format!("unexpected argument {other}\n{USAGE}")),
        }
    }
    let url = url.ok_or_else(|| USAGE.to_string())?;
    let mut client: Box<dyn Chat> = if sockjs {
        let c = SockJsClient::connect(&url).map_err(|e| format!("{url}: {e}"))?;
        eprintln!("connected to {url} (SockJS over {:?})", c.transport());
        Box::new(c)
    } else {
        let c = WsClient::connect_with(&url, &options).map_err(|e| format!("{url}: {e}"))?;
        match c.subprotocol() {
            Some(p) => eprintln!("connected to {url} (subprotocol {p})"),
            None => eprintln!("connected to {url}"),
        }
        Box::new(c)
    };

    let (lines_tx, lines) = mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            match line {
                Ok(l) => {
                    if lines_tx.send(Some(l)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = lines_tx.send(None);
    });

    let mut stdout = io::stdout();
    let mut closing = false;
    // Without a closing handshake, leave after this long without a message.
    let mut quiet_until: Option<std::time::Instant> = None;
    loop {
        loop {
            match lines.try_recv() {
                Ok(Some(line)) => client.send(&line).map_err(|e| e.to_string())?,
                Ok(None) if !closing => {
                    closing = true;
                    if !client.finish().map_err(|e| e.to_string())? {
                        quiet_until = Some(std::time::Instant::now() + Duration::from_millis(1000));
                    }
                }
                _ => break,
            }
        }
        if quiet_until.is_some_and(|t| std::time::Instant::now() > t) {
            return Ok(());
        }
        let message = match client.poll(Duration::from_millis(50)) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) if closing || client.is_done() => {
                log::debug!("after close: {e}");
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        if let Some(t) = quiet_until.as_mut() {
            *t = std::time::Instant::now() + Duration::from_millis(1000);
        }
        let shown = match message {
            Message::Text(t) => t,
            Message::Binary(b) => format!("<binary {} bytes>", b.len()),
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close { code, reason } => {
                eprintln!("closed by peer: {code:?} {reason}");
                return Ok(());
            }
        };
        writeln!(stdout, "{shown}").map_err(|e| e.to_string())?;
    }
}

fn stomp(args: &[String]) -> Result<(), String> {
    use sockwire_core::stomp::AckMode;
    use sockwire_std::stomp::{StompClient, StompEvent, StompOptions};

    let mut options = StompOptions::default();
    let mut count: Option<u64> = None;
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--login" => options.login = Some(value(&mut it, arg)?.clone()),
            "--passcode" => options.passcode = Some(value(&mut it, arg)?.clone()),
            "--host" => options.host = Some(value(&mut it, arg)?.clone()),
            "--count" => count = Some(parse(value(&mut it, arg)?, arg)?),
            other if !other.starts_with("--") => positional.push(other.to_string()),
            other => return Err(format!("unexpected argument {other}\n{USAGE}")),
        }
    }
    let connect =
        |url: &str| StompClient::connect(url, &options).map_err(|e| format!("{url}: {e}"));
    match positional
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["send", url, dest, body] => {
            let mut c = connect(url)?;
            c.send(dest, &[], body.as_bytes(), None, true)
                .map_err(|e| e.to_string())?;
            c.disconnect().map_err(|e| e.to_string())?;
            Ok(())
        }
        ["subscribe", url, dest] => {
            let mut c = connect(url)?;
            c.subscribe(dest, "0", AckMode::Auto, &[], true)
                .map_err(|e| e.to_string())?;
            let mut stdout = io::stdout();
            let mut received = 0u64;
            while count.is_none_or(|n| received < n) {
                match c
                    .next_event(Duration::from_secs(1))
                    .map_err(|e| e.to_string())?
                {
                    Some(StompEvent::Message(m)) => {
                        received += 1;
                        stdout.write_all(&m.body).map_err(|e| e.to_string())?;
                        writeln!(stdout).map_err(|e| e.to_string())?;
                        stdout.flush().map_err(|e| e.to_string())?;
                    }
                    Some(StompEvent::Error { message, body, .. }) => {
                        return Err(format!(
                            "server error: {} {}",
                            message.unwrap_or_default(),
                            String::from_utf8_lossy(&body)
                        ))
                    }
                    Some(StompEvent::HeartbeatLost) => return Err("server heart-beat lost".into()),
                    Some(StompEvent::Receipt(_)) | None => {}
                }
            }
            c.disconnect().map_err(|e| e.to_string())?;
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    }
}

/// Logs to stderr at the level named by SOCKWIRE_LOG (error, warn, info, debug, trace).
fn init_logging() {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= log::max_level()
        }
        fn log(&self, r: &log::Record<'_>) {
            if self.enabled(r.metadata()) {
                eprintln!("{} {}: {}", r.level(), r.target(), r.args());
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    let level = std::env::var("SOCKWIRE_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(log::LevelFilter::Info);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}
