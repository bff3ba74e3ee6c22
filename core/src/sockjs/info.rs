//! The `/info` body.

use super::config::Config;
use crate::buf::{BufferTooSmall, Writer};
use crate::ws::handshake::AllowedOrigins;

/// Writes the `/info` JSON body: `{"websocket":true,"cookie_needed":false,"origins":[...],
/// "entropy":N}`. `entropy` must come from the caller's random source (a fresh value per
/// request); browsers seed their generator with it. `origins` reports the policy the
/// service applies (clients ignore the field since protocol 0.3.3, people read it):
/// `"*:*"` when any origin is allowed, else the server's own names (`host[:port]`) and
/// the other allowed origins; the field is left out when the list does not fit `out`.
///
/// ```
/// use sockwire_core::sockjs::{write_info, Config};
/// use sockwire_core::ws::handshake::AllowedOrigins;
/// let mut out = [0u8; 128];
/// let n = write_info(&Config::default(), &AllowedOrigins::Any, 42, &mut out).unwrap();
/// assert_eq!(
///     &out[..n],
///     br#"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":42}"#
/// );
/// let own = AllowedOrigins::Named { names: &["chat.example:443"], others: &["https://*.example"] };
/// let n = write_info(&Config::default(), &own, 7, &mut out).unwrap();
/// assert_eq!(
///     &out[..n],
///     br#"{"websocket":true,"cookie_needed":false,"origins":["chat.example:443","https://*.example"],"entropy":7}"#
/// );
/// ```
pub fn write_info(
    config: &Config<'_>,
    origins: &AllowedOrigins<'_>,
    entropy: u32,
    out: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    match write(config, Some(origins), entropy, out) {
        Ok(n) => Ok(n),
        Err(_) => write(config, None, entropy, out),
    }
}

fn write(
    config: &Config<'_>,
    origins: Option<&AllowedOrigins<'_>>,
    entropy: u32,
    out: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(out);
    let flag = |b: bool| if b { "true" } else { "false" };
    w.put_str("{\"websocket\":");
    w.put_str(flag(config.websocket_enabled));
    w.put_str(",\"cookie_needed\":");
    w.put_str(flag(config.cookie_needed));
    if let Some(origins) = origins {
        w.put_str(",\"origins\":[");
        let (names, others): (&[&str], &[&str]) = match origins {
            AllowedOrigins::Any => (&["*:*"], &[]),
            AllowedOrigins::SameOrigin => (&[], &[]),
            AllowedOrigins::List(list) => (&[], list),
            AllowedOrigins::Named { names, others } => (names, others),
        };
        let any = others.contains(&"*");
        let listed = names.iter().chain(others.iter());
        // A JSON string without escapes: what a name or origin may be.
        let plain = |s: &&&str| {
            s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        };
        for (i, entry) in listed.filter(plain).enumerate().filter(|_| !any) {
            if i > 0 {
                w.put_str(",");
            }
            w.put_str("\"");
            w.put_str(entry);
            w.put_str("\"");
        }
        if any {
            w.put_str("\"*:*\"");
        }
        w.put_str("]");
    }
    w.put_str(",\"entropy\":");
    w.put_decimal(u64::from(entropy));
    w.put_str("}");
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_entropy() {
        let config = Config {
            websocket_enabled: false,
            cookie_needed: true,
            ..Config::default()
        };
        let mut out = [0u8; 128];
        let same = AllowedOrigins::SameOrigin;
        let n = write_info(&config, &same, u32::MAX, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            br#"{"websocket":false,"cookie_needed":true,"origins":[],"entropy":4294967295}"#
        );
        assert!(write_info(&config, &same, 1, &mut out[..10]).is_err());
        // A list that does not fit leaves the field out; "*" among others is any origin.
        let many = AllowedOrigins::List(&["https://a-rather-long-origin.example:8443"; 4]);
        let n = write_info(&config, &many, 1, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            br#"{"websocket":false,"cookie_needed":true,"entropy":1}"#
        );
        let star = AllowedOrigins::Named {
            names: &["a:1"],
            others: &["*"],
        };
        let n = write_info(&config, &star, 1, &mut out).unwrap();
        assert!(out[..n].windows(13).any(|w| w == br#""origins":["*"#));
    }
}
