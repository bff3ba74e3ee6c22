//! Close codes and close frame payloads (RFC 6455 §5.5.1, §7.4).

use super::error::ProtocolError;
use super::utf8::Utf8Validator;

/// A close status code.
///
/// Any `u16` can be held; [`CloseCode::is_valid_on_wire`] tells whether a peer may send
/// it (and whether [`crate::ws::Connection::close`] accepts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: data of a type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present (never sent on the wire).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: closed abnormally (never sent on the wire).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: payload data inconsistent with the message type (e.g. invalid UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: policy violation.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: message too big.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: internal server error.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: service restart (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: bad gateway (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: TLS handshake failure (never sent on the wire).
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// The numeric code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// What the code means, in a few words (`"normal"`, `"message too big"`);
    /// `"application"` for 4000-4999, `"registered"` for 3000-3999, `"unassigned"` for
    /// the rest.
    pub const fn name(self) -> &'static str {
        match self.0 {
            1000 => "normal",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1005 => "no status",
            1006 => "abnormal",
            1007 => "invalid payload",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "TLS handshake",
            3000..=3999 => "registered",
            4000..=4999 => "application",
            _ => "unassigned",
        }
    }

    /// Whether the code may appear in a close frame: 1000-1003, 1007-1014 and 3000-4999.
    ///
    /// 1004, 1005, 1006 and 1015 are reserved or local-only; 0-999, 1016-2999 and
    /// 5000+ are not assigned for use on the wire.
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

/// The code and its name: `1000 normal`.
impl core::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {}", self.0, self.name())
    }
}

/// Parses a close frame body: empty, or a 2-byte code then a UTF-8 reason.
///
/// Returns the code (None for an empty body) and the reason's length (it is the rest of
/// the payload after the first 2 bytes).
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<(CloseCode, &str)>, ProtocolError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::InvalidClosePayload),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(ProtocolError::InvalidCloseCode);
            }
            let mut v = Utf8Validator::new();
            v.feed(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            v.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            let reason = core::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some((code, reason)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_words() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(CloseCode::NORMAL.to_string(), "1000 normal");
        assert_eq!(CloseCode(1009).to_string(), "1009 message too big");
        assert_eq!(CloseCode(4001).to_string(), "4001 application");
        assert_eq!(CloseCode(2000).name(), "unassigned");
    }

    #[test]
    fn wire_validity() {
        for c in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
        ] {
            assert!(CloseCode(c).is_valid_on_wire(), "{c}");
        }
        for c in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert!(!CloseCode(c).is_valid_on_wire(), "{c}");
        }
    }

    #[test]
    fn payloads() {
        assert_eq!(parse_close_payload(&[]), Ok(None));
        assert_eq!(
            parse_close_payload(&[3]),
            Err(ProtocolError::InvalidClosePayload)
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8]),
            Ok(Some((CloseCode::NORMAL, "")))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8, b'o', b'k']),
            Ok(Some((CloseCode::NORMAL, "ok")))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xED]),
            Err(ProtocolError::InvalidCloseCode)
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8, 0xFF]),
            Err(ProtocolError::InvalidUtf8)
        );
    }
}
