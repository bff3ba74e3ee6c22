//! The log: env_logger on stderr, filtered by `SOCKWIRE_LOG`, else `RUST_LOG`, else
//! `info`, as text with timestamps or as one JSON object a line.
//!
//! Writing to a closed stderr (`sockwire serve 2>&1 | head -1`) must not end or stall
//! the server: env_logger drops what it cannot write, and nothing here panics on it.

use std::io::Write;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `[2024-01-01T00:00:00Z INFO  target] message`.
    Text,
    /// `{"timestamp":"...","level":"INFO","target":"...","message":"..."}`.
    Json,
}

impl LogFormat {
    /// The format asked for: the flag, else `SOCKWIRE_LOG_FORMAT` (`text` or `json`),
    /// else text.
    pub fn chosen(flag: Option<LogFormat>) -> LogFormat {
        flag.unwrap_or_else(|| match std::env::var("SOCKWIRE_LOG_FORMAT").as_deref() {
            Ok(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        })
    }
}

/// One log line in JSON, its fields in this order.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    timestamp: String,
    level: &'a str,
    target: &'a str,
    message: String,
}

/// Starts logging to stderr in `format` (env_logger's filter syntax: `debug`,
/// `sockwire_std=trace`, ...).
pub fn init(format: LogFormat) {
    let filter = std::env::var("SOCKWIRE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let mut builder = env_logger::Builder::new();
    builder.parse_filters(&filter);
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let line = JsonLine {
                timestamp: buf.timestamp_millis().to_string(),
                level: record.level().as_str(),
                target: record.target(),
                message: record.args().to_string(),
            };
            serde_json::to_writer(&mut *buf, &line)?;
            writeln!(buf)
        });
    }
    builder.init();
}
