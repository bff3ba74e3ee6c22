//! The `/info` body.

use super::config::Config;
use crate::buf::{BufferTooSmall, Writer};

/// Writes the `/info` JSON body: `{"websocket":true,"cookie_needed":false,"origins":["*:*"],
/// "entropy":N}`. `entropy` must come from the caller's random source (a fresh value per
/// request); browsers seed their generator with it.
///
/// ```
/// use sockwire_core::sockjs::{write_info, Config};
/// let mut out = [0u8; 128];
/// let n = write_info(&Config::default(), 42, &mut out).unwrap();
/// assert_eq!(
///     &out[..n],
///     br#"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":42}"#
/// );
/// ```
pub fn write_info(
    config: &Config<'_>,
    entropy: u32,
    out: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(out);
    let flag = |b: bool| if b { "true" } else { "false" };
    w.put_str("{\"websocket\":");
    w.put_str(flag(config.websocket_enabled));
    w.put_str(",\"cookie_needed\":");
    w.put_str(flag(config.cookie_needed));
    w.put_str(",\"origins\":[\"*:*\"],\"entropy\":");
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
        let n = write_info(&config, u32::MAX, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            br#"{"websocket":false,"cookie_needed":true,"origins":["*:*"],"entropy":4294967295}"#
        );
        assert!(write_info(&config, 1, &mut out[..10]).is_err());
    }
}
