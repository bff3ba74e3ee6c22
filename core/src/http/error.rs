//! What can be wrong with a received head.

/// The rule a received head broke. Each maps to the HTTP status a server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HeadError {
    /// The head is longer than [`HeadLimits::max_head_len`](super::HeadLimits).
    TooLarge,
    /// The head has more fields than [`HeadLimits::max_headers`](super::HeadLimits) or than
    /// the caller's header array holds.
    TooManyHeaders,
    /// The request line is not `method SP request-target SP HTTP-version`.
    BadRequestLine,
    /// The status line is not `HTTP-version SP status-code [SP reason-phrase]`.
    BadStatusLine,
    /// The HTTP version is well formed but its major version is not 1.
    UnsupportedVersion,
    /// A field name is empty, has a character outside `token`, or is followed by
    /// whitespace before the colon.
    BadHeaderName,
    /// A field line has no colon, or its value holds a control character (such as a bare CR).
    BadHeaderValue,
    /// A field line starts with whitespace (obsolete line folding, RFC 7230 §3.2.4).
    ObsoleteLineFolding,
    /// A line of a request ends with a bare LF. RFC 9112 §2.2 lets a recipient accept it;
    /// a server behind a proxy that does not would see lines the proxy did not (request
    /// smuggling), so requests need CRLF. Responses (read by the clients) may use bare LF.
    BareLineFeed,
}

impl HeadError {
    /// The status a server answers with: 431 for size limits, 505 for a version other than
    /// 1.x, 400 otherwise.
    pub const fn status(&self) -> u16 {
        match self {
            HeadError::TooLarge | HeadError::TooManyHeaders => 431,
            HeadError::UnsupportedVersion => 505,
            HeadError::BadRequestLine
            | HeadError::BadStatusLine
            | HeadError::BadHeaderName
            | HeadError::BadHeaderValue
            | HeadError::ObsoleteLineFolding
            | HeadError::BareLineFeed => 400,
        }
    }
}

impl core::fmt::Display for HeadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let what = match self {
            HeadError::TooLarge => "head too large",
            HeadError::TooManyHeaders => "too many header fields",
            HeadError::BadRequestLine => "malformed request line",
            HeadError::BadStatusLine => "malformed status line",
            HeadError::UnsupportedVersion => "unsupported HTTP version",
            HeadError::BadHeaderName => "malformed header field name",
            HeadError::BadHeaderValue => "malformed header field line",
            HeadError::ObsoleteLineFolding => "obsolete line folding",
            HeadError::BareLineFeed => "line not ended by CRLF",
        };
        f.write_str(what)
    }
}

impl core::error::Error for HeadError {}
