//! The frames a SockJS server sends: `o`, `h`, `a[...]` and `c[code,"reason"]`.

use super::json_escape::{put_quoted, put_quoted_lossy, Sink};
use crate::buf::{BufferTooSmall, Writer};

/// The code and reason of a close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CloseFrame<'a> {
    /// The close code (3000 to 4999 for applications).
    pub code: u16,
    /// Why, in words.
    pub reason: &'a str,
}

impl CloseFrame<'static> {
    /// `c[3000,"Go away!"]`: the server closed the session.
    pub const GO_AWAY: CloseFrame<'static> = CloseFrame {
        code: 3000,
        reason: "Go away!",
    };
    /// `c[2010,"Another connection still open"]`: a second receiving request.
    pub const ANOTHER_CONNECTION_STILL_OPEN: CloseFrame<'static> = CloseFrame {
        code: 2010,
        reason: "Another connection still open",
    };
    /// `c[4500,"Session not reliable"]`: the session could not keep what it had to send
    /// (its queue is full), so it ends rather than lose a message (Spring's
    /// `SESSION_NOT_RELIABLE`).
    pub const SESSION_NOT_RELIABLE: CloseFrame<'static> = CloseFrame {
        code: 4500,
        reason: "Session not reliable",
    };
    /// `c[1013,"Try again later: too many sessions"]`: a new session would go over the
    /// server's limit of sessions (in all, or from one client address).
    pub const TOO_MANY_SESSIONS: CloseFrame<'static> = CloseFrame {
        code: 1013,
        reason: "Try again later: too many sessions",
    };
    /// `c[1002,"Connection interrupted"]`: a receiving request broke off.
    pub const CONNECTION_INTERRUPTED: CloseFrame<'static> = CloseFrame {
        code: 1002,
        reason: "Connection interrupted",
    };
}

/// One frame from server to client, before the transport wraps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// `o`: the session is open.
    Open,
    /// `h`: a heart-beat.
    Heartbeat,
    /// `a[...]`: messages, each JSON-escaped.
    Messages(&'a [&'a str]),
    /// `c[code,"reason"]`: the session is closed.
    Close(CloseFrame<'a>),
}

impl Frame<'_> {
    /// Writes the bare frame into `out` and returns its length.
    ///
    /// ```
    /// use sockwire_core::sockjs::{CloseFrame, Frame};
    /// let mut out = [0u8; 32];
    /// let n = Frame::Messages(&["a", "\"b\""]).write(&mut out).unwrap();
    /// assert_eq!(&out[..n], br#"a["a","\"b\""]"#);
    /// let n = Frame::Close(CloseFrame::GO_AWAY).write(&mut out).unwrap();
    /// assert_eq!(&out[..n], br#"c[3000,"Go away!"]"#);
    /// ```
    pub fn write(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(out);
        self.put(&mut w);
        w.finish()
    }

    pub(crate) fn put(&self, out: &mut dyn Sink) {
        match self {
            Frame::Open => out.put(b"o"),
            Frame::Heartbeat => out.put(b"h"),
            Frame::Messages(messages) => put_messages(out, messages.iter().map(|m| m.as_bytes())),
            Frame::Close(close) => put_close(out, *close),
        }
    }
}

/// `a[` + each message quoted and escaped, comma-separated + `]`.
pub(crate) fn put_messages<'m>(out: &mut dyn Sink, messages: impl Iterator<Item = &'m [u8]>) {
    out.put(b"a[");
    for (i, m) in messages.enumerate() {
        if i > 0 {
            out.put(b",");
        }
        put_quoted_lossy(out, m);
    }
    out.put(b"]");
}

pub(crate) fn put_close(out: &mut dyn Sink, close: CloseFrame<'_>) {
    let mut digits = [0u8; 5];
    let mut code = Writer::new(&mut digits);
    code.put_decimal(u64::from(close.code));
    let len = code.len();
    out.put(b"c[");
    out.put(digits.get(..len).unwrap_or(&[]));
    out.put(b",");
    put_quoted(out, close.reason);
    out.put(b"]");
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn bare(f: Frame<'_>) -> std::vec::Vec<u8> {
        let mut out = [0u8; 128];
        let n = f.write(&mut out).unwrap();
        out[..n].to_vec()
    }

    #[test]
    fn frames() {
        assert_eq!(bare(Frame::Open), b"o");
        assert_eq!(bare(Frame::Heartbeat), b"h");
        assert_eq!(bare(Frame::Messages(&[])), b"a[]");
        assert_eq!(
            bare(Frame::Messages(&["x", "\u{2028}"])),
            br#"a["x","\u2028"]"#
        );
        assert_eq!(
            bare(Frame::Close(CloseFrame::ANOTHER_CONNECTION_STILL_OPEN)),
            br#"c[2010,"Another connection still open"]"#
        );
        assert_eq!(
            bare(Frame::Close(CloseFrame {
                code: 4000,
                reason: "a\"b"
            })),
            br#"c[4000,"a\"b"]"#
        );
    }

    #[test]
    fn too_small_says_size() {
        let mut out = [0u8; 4];
        assert_eq!(
            Frame::Messages(&["abc"]).write(&mut out),
            Err(BufferTooSmall { needed: 8 })
        );
    }
}
