//! Blocking STOMP helpers shared by the benchmark clients (`stomp_fanout`,
//! `stomp_durable`): frames encoded with the core, read back with its decoder.

use std::io::{self, Read};
use std::net::TcpStream;
use std::process::ExitCode;

use sockwire_core::stomp::{encode, Command, Decoded, Decoder, Limits, Version};

/// Decoder limits for bodies of `size` bytes.
pub fn limits(size: usize) -> Limits {
    Limits {
        max_body: size.max(64 << 10),
        ..Limits::DEFAULT
    }
}

/// `command` with `headers` and `body`, encoded as STOMP 1.2.
pub fn encode_vec(command: Command, headers: &[(&str, &str)], body: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = vec![0u8; 1024 + body.len()];
    let n = encode(command, headers, body, Version::V1_2, &mut out)
        .map_err(|e| io::Error::other(format!("encode {command:?}: {e:?}")))?;
    out.truncate(n);
    Ok(out)
}

/// Reads until one whole frame is in `buf`; returns an error for `ERROR` or another
/// command than `want`. The frame is drained from `buf`; octets after it stay.
pub fn expect_frame(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    decoder: &mut Decoder,
    want: Command,
) -> io::Result<()> {
    let mut chunk = [0u8; 4096];
    loop {
        let found = match decoder.decode(buf) {
            Ok(Decoded::Frame { frame, consumed }) => {
                let command = frame.command();
                if command != want {
                    let message = frame
                        .header("message")
                        .map(|m| String::from_utf8_lossy(m.raw()).into_owned())
                        .unwrap_or_default();
                    return Err(io::Error::other(format!(
                        "expected {want:?}, got {command:?} {message} {}",
                        String::from_utf8_lossy(frame.body()).trim()
                    )));
                }
                Some(consumed)
            }
            Ok(Decoded::HeartBeat { consumed }) => {
                buf.drain(..consumed);
                continue;
            }
            Ok(Decoded::Incomplete) => None,
            Err(e) => return Err(io::Error::other(format!("bad frame: {e:?}"))),
        };
        if let Some(consumed) = found {
            buf.drain(..consumed);
            return Ok(());
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("closed while waiting for {want:?}"),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A STOMP 1.2 `CONNECT` with these credentials and no heart-beats.
pub fn connect_frame_for(host: &str, login: &str, passcode: &str) -> io::Result<Vec<u8>> {
    encode_vec(
        Command::Connect,
        &[
            ("accept-version", "1.2"),
            ("host", host),
            ("login", login),
            ("passcode", passcode),
            ("heart-beat", "0,0"),
        ],
        b"",
    )
}

/// A benchmark client's exit status: 2 when its arguments are wrong or the run could not
/// start (the reason on stderr), 0 when `run` says all arrived, 1 otherwise.
pub fn exit_status<A, E: std::fmt::Display>(
    name: &str,
    args: Result<A, String>,
    run: impl FnOnce(&A) -> Result<bool, E>,
) -> ExitCode {
    let args = match args {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(2)
        }
    }
}
