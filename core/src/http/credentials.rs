//! What a request says about who sends it: the `Authorization` field (HTTP Basic,
//! RFC 7617, and bearer tokens, RFC 6750) and named cookies (RFC 6265).
//!
//! Checking the credentials is the application's business; this only reads them, strictly:
//! a malformed field is no credentials at all, never a guess.

use base64ct::{Base64, Encoding};

use super::Headers;

/// The credentials an `Authorization` field carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// `Basic`: a user id and a password, decoded into the caller's buffer.
    Basic {
        /// The user id (before the first `:`).
        user: &'a str,
        /// The password (after it).
        password: &'a str,
    },
    /// `Bearer`: an opaque token.
    Bearer(&'a str),
}

/// Why an `Authorization` field was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CredentialsError {
    /// The request has no `Authorization` field.
    Missing,
    /// More than one `Authorization` field: which one counts is ambiguous.
    Repeated,
    /// A scheme other than `Basic` and `Bearer`.
    UnknownScheme,
    /// The field does not follow its scheme's syntax (bad base64, no `:`, not UTF-8,
    /// a control character, a token with characters RFC 6750 does not allow).
    Malformed,
    /// The decoded `Basic` credentials do not fit the caller's buffer.
    TooLong,
}

impl<'a> Credentials<'a> {
    /// Reads the request's one `Authorization` field; `Basic` credentials are decoded into
    /// `scratch`.
    ///
    /// ```
    /// use sockwire_core::http::{Credentials, Header, Request};
    ///
    /// let head = b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic YWxpY2U6b3Blbjpz\r\n\r\n";
    /// let mut fields = [Header::EMPTY; 8];
    /// let (request, _) = Request::parse(head, &mut fields).unwrap().unwrap();
    /// let mut scratch = [0u8; 64];
    /// assert_eq!(
    ///     Credentials::from_headers(&request.headers, &mut scratch),
    ///     Ok(Credentials::Basic { user: "alice", password: "open:s" })
    /// );
    /// ```
    pub fn from_headers(
        headers: &Headers<'_, 'a>,
        scratch: &'a mut [u8],
    ) -> Result<Credentials<'a>, CredentialsError> {
        let mut fields = headers.all("authorization");
        let value = fields.next().ok_or(CredentialsError::Missing)?;
        if fields.next().is_some() {
            return Err(CredentialsError::Repeated);
        }
        Credentials::parse(value, scratch)
    }

    /// Reads one `Authorization` field value.
    pub fn parse(value: &'a [u8], scratch: &'a mut [u8]) -> Result<Self, CredentialsError> {
        let value = core::str::from_utf8(value).map_err(|_| CredentialsError::Malformed)?;
        let value = value.trim_matches([' ', '\t']);
        let (scheme, rest) = value.split_once(' ').ok_or(CredentialsError::Malformed)?;
        let rest = rest.trim_start_matches(' ');
        if scheme.eq_ignore_ascii_case("basic") {
            basic(rest, scratch)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            bearer(rest)
        } else {
            Err(CredentialsError::UnknownScheme)
        }
    }
}

fn basic<'a>(encoded: &str, scratch: &'a mut [u8]) -> Result<Credentials<'a>, CredentialsError> {
    if encoded.len() / 4 * 3 > scratch.len() {
        return Err(CredentialsError::TooLong);
    }
    let decoded = Base64::decode(encoded, scratch).map_err(|_| CredentialsError::Malformed)?;
    let text = core::str::from_utf8(decoded).map_err(|_| CredentialsError::Malformed)?;
    if text.chars().any(char::is_control) {
        return Err(CredentialsError::Malformed);
    }
    let (user, password) = text.split_once(':').ok_or(CredentialsError::Malformed)?;
    Ok(Credentials::Basic { user, password })
}

/// `b64token` of RFC 6750 §2.1: letters, digits, `-._~+/`, then `=` padding.
fn bearer(token: &str) -> Result<Credentials<'_>, CredentialsError> {
    let body = token.trim_end_matches('=');
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~+/".contains(c);
    if body.is_empty() || !body.chars().all(allowed) {
        return Err(CredentialsError::Malformed);
    }
    Ok(Credentials::Bearer(token))
}

/// The value of the cookie `name` in the request's `Cookie` fields, if it has one.
///
/// ```
/// use sockwire_core::http::{cookie, Header, Request};
///
/// let head = b"GET / HTTP/1.1\r\nCookie: a=1; SESSION=xyz\r\n\r\n";
/// let mut fields = [Header::EMPTY; 8];
/// let (request, _) = Request::parse(head, &mut fields).unwrap().unwrap();
/// assert_eq!(cookie(&request.headers, "SESSION"), Some("xyz"));
/// assert_eq!(cookie(&request.headers, "b"), None);
/// ```
pub fn cookie<'a>(headers: &Headers<'_, 'a>, name: &str) -> Option<&'a str> {
    headers
        .all("cookie")
        .filter_map(|v| core::str::from_utf8(v).ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (n, v) = pair.trim().split_once('=')?;
            (n == name).then(|| v.trim_matches('"'))
        })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::format;

    fn parse<'a>(
        value: &'a str,
        scratch: &'a mut [u8],
    ) -> Result<Credentials<'a>, CredentialsError> {
        Credentials::parse(value.as_bytes(), scratch)
    }

    #[test]
    fn schemes() {
        let mut s = [0u8; 64];
        assert_eq!(
            parse("basic dTpw", &mut s),
            Ok(Credentials::Basic {
                user: "u",
                password: "p"
            })
        );
        assert_eq!(
            parse("Bearer abc.DEF-1~=", &mut s),
            Ok(Credentials::Bearer("abc.DEF-1~="))
        );
        assert_eq!(
            parse("Digest x", &mut s),
            Err(CredentialsError::UnknownScheme)
        );
        assert_eq!(parse("Basic", &mut s), Err(CredentialsError::Malformed));
    }

    #[test]
    fn malformed_is_refused() {
        let mut s = [0u8; 64];
        // No colon, bad base64, a control character, a bad token.
        for value in [
            "Basic dXNlcg==",
            "Basic !!!!",
            "Basic dQpwOng=",
            "Bearer a b",
            "Bearer =",
        ] {
            assert_eq!(
                parse(value, &mut s),
                Err(CredentialsError::Malformed),
                "{value}"
            );
        }
        let mut small = [0u8; 2];
        assert_eq!(
            parse("Basic dXNlcjpwYXNz", &mut small),
            Err(CredentialsError::TooLong)
        );
    }

    proptest! {
        #[test]
        fn basic_round_trips(user in "[^:\\p{Cc}]{0,20}", password in "[^\\p{Cc}]{0,20}") {
            let plain = format!("{user}:{password}");
            let mut enc = [0u8; 128];
            let value = format!("Basic {}", Base64::encode(plain.as_bytes(), &mut enc).unwrap());
            let mut s = [0u8; 256];
            let got = parse(&value, &mut s);
            prop_assert_eq!(got, Ok(Credentials::Basic { user: &user, password: &password }));
        }

        #[test]
        fn never_panics(value in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut s = [0u8; 32];
            let _ = Credentials::parse(&value, &mut s);
        }
    }
}
