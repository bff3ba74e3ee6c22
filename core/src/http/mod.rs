//! HTTP/1.1 message heads (RFC 7230): finding, parsing and writing them without allocating.
//!
//! The pieces, in the order a server uses them:
//!
//! - [`HeadScanner`] finds where a head ends in a growing input buffer, remembering how far
//!   it looked so byte-at-a-time input costs linear time in total, and enforcing
//!   [`HeadLimits`] (head length and header count, both answered with 431).
//! - [`Request::parse`] and [`Response::parse`] parse a head into a caller-provided array of
//!   [`Header`]s, borrowing from the input; [`Headers`] looks them up case-insensitively and
//!   iterates comma-separated tokens across repeated fields.
//! - [`RequestReader`] is the machine a server runs per connection: heads, bodies framed
//!   by [`BodyFraming::of`] (strictly: what could be read two ways is refused), one
//!   deadline per request, and the error answer queued for `poll_transmit`.
//! - [`HeadError`] says which rule the peer broke and [`HeadError::status`] gives the answer;
//!   [`write_error_response`], [`write_response_head`] and [`HeadWriter`] write heads into
//!   caller buffers, refusing names and values that would inject CR/LF.
//!
//! ```
//! use sockwire_core::http::{Header, HeadLimits, HeadScanner, Request};
//!
//! let mut scanner = HeadScanner::new(HeadLimits::default());
//! let input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, Upgrade\r\n\r\n";
//! let mut head_len = None;
//! for end in 1..=input.len() {
//!     // The buffer grows one byte at a time; the scanner only looks at the new byte.
//!     if let Some(len) = scanner.scan(&input[..end]).unwrap() {
//!         head_len = Some(len);
//!         break;
//!     }
//! }
//! let head_len = head_len.unwrap();
//! let mut headers = [Header::EMPTY; 16];
//! let (request, _) = Request::parse(&input[..head_len], &mut headers).unwrap().unwrap();
//! assert_eq!(request.target, "/chat");
//! assert_eq!(request.headers.get("host"), Some(&b"example.com"[..]));
//! assert!(request.headers.has_token("connection", "upgrade"));
//! ```

mod body;
mod chunked;
mod credentials;
mod date;
mod error;
mod forwarded;
mod grammar;
mod header;
mod limits;
mod request;
mod request_reader;
mod response;
mod scanner;
mod status;
pub(crate) mod write;

pub use body::{keeps_alive, BodyFraming, RequestError};
pub use chunked::{ChunkedDecoder, ChunkedError};
pub use credentials::{cookie, Credentials, CredentialsError};
pub use date::{imf_fixdate, HttpDate};
pub use error::HeadError;
pub use forwarded::{forwarded_client, forwarded_host};
pub use header::{Header, Headers, Tokens, Values};
pub use limits::HeadLimits;
pub use request::Request;
pub use request_reader::{RequestEvent, RequestLimits, RequestReader};
pub use response::Response;
pub use scanner::HeadScanner;
pub use status::reason_phrase;
pub use write::{
    write_error_response, write_ok_response, write_ok_response_with, write_response_head,
    write_unavailable_response, HeadWriter, WriteError,
};
