//! STOMP protocol versions and the `accept-version` negotiation.

/// The WebSocket subprotocols of STOMP, newest first: what a server offers and a client
/// asks for in the handshake.
pub const WEBSOCKET_SUBPROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];

/// A STOMP protocol version.
///
/// The version decides how header names and values are escaped (see
/// [`Escaping`](super::Escaping)); it is agreed once, by the `CONNECT` (or `STOMP`) frame's
/// `accept-version` header and the `CONNECTED` frame's `version` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Version {
    /// STOMP 1.0: no header escaping.
    V1_0,
    /// STOMP 1.1: `\n`, `\c` and `\\` escapes in headers.
    V1_1,
    /// STOMP 1.2: the 1.1 escapes plus `\r`.
    V1_2,
}

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

    /// The version as written in `version` and `accept-version` headers (`"1.2"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    /// Parses a version token such as `1.1`; `None` for versions sockwire does not speak.
    ///
    /// ```
    /// use sockwire_core::stomp::Version;
    /// assert_eq!(Version::parse(b"1.2"), Some(Version::V1_2));
    /// assert_eq!(Version::parse(b"2.0"), None);
    /// ```
    pub fn parse(token: &[u8]) -> Option<Version> {
        match token {
            b"1.0" => Some(Version::V1_0),
            b"1.1" => Some(Version::V1_1),
            b"1.2" => Some(Version::V1_2),
            _ => None,
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Version::V1_0 => 1,
            Version::V1_1 => 2,
            Version::V1_2 => 4,
        }
    }
}

/// A set of STOMP versions: what a client accepts or what a server supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VersionSet(u8);

impl VersionSet {
    /// No version.
    pub const EMPTY: VersionSet = VersionSet(0);
    /// 1.0, 1.1 and 1.2.
    pub const ALL: VersionSet = VersionSet(7);

    /// The set holding only `version`.
    pub const fn only(version: Version) -> VersionSet {
        VersionSet(version.bit())
    }

    /// This set with `version` added.
    pub const fn with(self, version: Version) -> VersionSet {
        VersionSet(self.0 | version.bit())
    }

    /// Whether `version` is in the set.
    pub const fn contains(self, version: Version) -> bool {
        self.0 & version.bit() != 0
    }

    /// Whether the set holds no version.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The versions in both sets.
    pub const fn intersection(self, other: VersionSet) -> VersionSet {
        VersionSet(self.0 & other.0)
    }

    /// The newest version in the set.
    pub fn highest(self) -> Option<Version> {
        Version::ALL.into_iter().rev().find(|v| self.contains(*v))
    }

    /// The versions in the set, oldest first.
    pub fn iter(self) -> impl Iterator<Item = Version> {
        Version::ALL.into_iter().filter(move |v| self.contains(*v))
    }

    /// The set as a comma separated header value (`"1.1,1.2"`), as an `ERROR` frame's
    /// `version` header lists what a server supports.
    pub const fn as_header_value(self) -> &'static str {
        match self.0 & 7 {
            1 => "1.0",
            2 => "1.1",
            3 => "1.0,1.1",
            4 => "1.2",
            5 => "1.0,1.2",
            6 => "1.1,1.2",
            7 => "1.0,1.1,1.2",
            _ => "",
        }
    }

    /// Parses an `accept-version` header value: comma separated versions, surrounding
    /// spaces ignored, versions sockwire does not speak (such as `2.0`) skipped.
    ///
    /// `None` (no header) means the client speaks only 1.0, as the specification says.
    ///
    /// ```
    /// use sockwire_core::stomp::{Version, VersionSet};
    /// let set = VersionSet::parse_accept_version(Some(b"1.0,1.1,2.0"));
    /// assert_eq!(set.highest(), Some(Version::V1_1));
    /// assert_eq!(VersionSet::parse_accept_version(None), VersionSet::only(Version::V1_0));
    /// ```
    pub fn parse_accept_version(value: Option<&[u8]>) -> VersionSet {
        let Some(value) = value else {
            return VersionSet::only(Version::V1_0);
        };
        value
            .split(|&b| b == b',')
            .filter_map(|token| Version::parse(token.trim_ascii()))
            .fold(VersionSet::EMPTY, VersionSet::with)
    }
}

/// The version a server picks: the highest one both sides have, `None` when they share
/// none (the server then answers with an `ERROR` frame listing what it supports).
///
/// `accept_version` is the client's `accept-version` header value, `None` when absent.
///
/// ```
/// use sockwire_core::stomp::{negotiate_version, Version, VersionSet};
/// let v = negotiate_version(Some(b"1.0,1.1,2.0"), VersionSet::ALL);
/// assert_eq!(v, Some(Version::V1_1));
/// ```
pub fn negotiate_version(accept_version: Option<&[u8]>, supported: VersionSet) -> Option<Version> {
    VersionSet::parse_accept_version(accept_version)
        .intersection(supported)
        .highest()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_negotiation_example() {
        // CONNECT accept-version:1.0,1.1,2.0 -> CONNECTED version:1.1 (server speaks 1.0-1.1)
        let server = VersionSet::only(Version::V1_0).with(Version::V1_1);
        assert_eq!(
            negotiate_version(Some(b"1.0,1.1,2.0"), server),
            Some(Version::V1_1)
        );
        assert_eq!(
            negotiate_version(Some(b"1.0,1.1,2.0"), VersionSet::ALL),
            Some(Version::V1_1)
        );
        assert_eq!(
            negotiate_version(Some(b"1.2"), VersionSet::ALL),
            Some(Version::V1_2)
        );
    }

    #[test]
    fn no_common_version() {
        let server = VersionSet::only(Version::V1_2);
        assert_eq!(negotiate_version(Some(b"1.0,1.1"), server), None);
        assert_eq!(negotiate_version(None, server), None);
        assert_eq!(negotiate_version(Some(b"2.0,2.1"), VersionSet::ALL), None);
        assert_eq!(negotiate_version(Some(b""), VersionSet::ALL), None);
    }

    #[test]
    fn missing_header_means_1_0() {
        assert_eq!(
            negotiate_version(None, VersionSet::ALL),
            Some(Version::V1_0)
        );
    }

    #[test]
    fn spaces_and_order_tolerated() {
        let set = VersionSet::parse_accept_version(Some(b" 1.2 , 1.0"));
        assert!(set.contains(Version::V1_0) && set.contains(Version::V1_2));
        assert!(!set.contains(Version::V1_1));
        assert_eq!(set.iter().count(), 2);
    }

    #[test]
    fn header_value_forms() {
        assert_eq!(VersionSet::ALL.as_header_value(), "1.0,1.1,1.2");
        assert_eq!(
            VersionSet::only(Version::V1_1)
                .with(Version::V1_2)
                .as_header_value(),
            "1.1,1.2"
        );
        assert_eq!(VersionSet::EMPTY.as_header_value(), "");
        for v in Version::ALL {
            assert_eq!(Version::parse(v.as_str().as_bytes()), Some(v));
        }
    }
}
