//! The client's side of SockJS frames: checking what a server sent (`o`, `h`, `a[...]`,
//! `c[code,"reason"]`) and finding frame ends in a streaming response.

use super::send_body::{SendBody, SendBodyError};

/// A frame a SockJS client received, checked. Message texts and the close reason stay
/// JSON-encoded in the input until decoded with [`SendBody::messages`].
#[derive(Debug, Clone)]
pub enum ReceivedFrame<'a> {
    /// `o`: the session is open (always the first frame).
    Open,
    /// `h`: a heart-beat; also the `xhr_streaming` prelude of 2048 `h`s.
    Heartbeat,
    /// `a[...]`: messages.
    Messages(SendBody<'a>),
    /// `c[code,"reason"]`: the session is over.
    Close {
        /// The close code.
        code: u16,
        /// The reason: a body holding exactly one message.
        reason: SendBody<'a>,
    },
}

/// Why a received frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReceivedFrameError {
    /// The frame starts with none of `o`, `h`, `a`, `c`, or is empty.
    UnknownFrame,
    /// `o` or `h` followed by other bytes.
    TrailingBytes,
    /// The messages or the close reason are not valid JSON strings.
    Json(SendBodyError),
    /// A close frame not shaped `c[code,"reason"]`.
    BrokenClose,
}

impl core::fmt::Display for ReceivedFrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReceivedFrameError::UnknownFrame => f.write_str("not a SockJS frame"),
            ReceivedFrameError::TrailingBytes => f.write_str("bytes after an o or h frame"),
            ReceivedFrameError::Json(e) => f.write_str(e.message()),
            ReceivedFrameError::BrokenClose => f.write_str("a close frame is c[code,\"reason\"]"),
        }
    }
}

impl<'a> ReceivedFrame<'a> {
    /// Checks one frame without its transport's wrapping (no trailing newline).
    ///
    /// ```
    /// use sockwire_core::sockjs::ReceivedFrame;
    /// let Ok(ReceivedFrame::Close { code, reason }) = ReceivedFrame::parse(br#"c[3000,"Go away!"]"#)
    /// else {
    ///     panic!("a close frame");
    /// };
    /// let mut buf = [0u8; 16];
    /// assert_eq!(code, 3000);
    /// assert_eq!(reason.messages().next_into(&mut buf), Some(Ok("Go away!")));
    /// ```
    pub fn parse(frame: &'a [u8]) -> Result<Self, ReceivedFrameError> {
        let (&kind, rest) = frame
            .split_first()
            .ok_or(ReceivedFrameError::UnknownFrame)?;
        match kind {
            b'o' if rest.is_empty() => Ok(ReceivedFrame::Open),
            b'h' if rest.iter().all(|&b| b == b'h') => Ok(ReceivedFrame::Heartbeat),
            b'o' | b'h' => Err(ReceivedFrameError::TrailingBytes),
            b'a' => SendBody::parse_array(rest)
                .map(ReceivedFrame::Messages)
                .map_err(ReceivedFrameError::Json),
            b'c' => parse_close(rest),
            _ => Err(ReceivedFrameError::UnknownFrame),
        }
    }
}

/// `[code,"reason"]` after the `c`.
fn parse_close(rest: &[u8]) -> Result<ReceivedFrame<'_>, ReceivedFrameError> {
    let inner = rest
        .strip_prefix(b"[")
        .and_then(|r| r.strip_suffix(b"]"))
        .ok_or(ReceivedFrameError::BrokenClose)?;
    let comma = inner
        .iter()
        .position(|&b| b == b',')
        .ok_or(ReceivedFrameError::BrokenClose)?;
    let (digits, quoted) = inner.split_at(comma);
    let code = parse_code(digits.trim_ascii()).ok_or(ReceivedFrameError::BrokenClose)?;
    let reason = quoted.get(1..).unwrap_or_default().trim_ascii();
    match SendBody::parse_string(reason) {
        Ok(reason) => Ok(ReceivedFrame::Close { code, reason }),
        Err(e) => Err(ReceivedFrameError::Json(e)),
    }
}

/// A close code: one to five decimal digits that fit a `u16`.
fn parse_code(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    u16::try_from(value).ok()
}

/// The first whole frame of a newline-delimited response body (`xhr`, `xhr_streaming`):
/// the frame without its `\n`, and how many bytes it took with it. `None` until a
/// newline arrives.
pub fn next_line_frame(body: &[u8]) -> Option<(&[u8], usize)> {
    let end = body.iter().position(|&b| b == b'\n')?;
    Some((body.get(..end)?, end + 1))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::sockjs::{CloseFrame, Frame};
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    fn decoded(body: &SendBody<'_>) -> Vec<String> {
        let mut buf = std::vec![0u8; body.max_message_len()];
        let mut messages = body.messages();
        let mut all = Vec::new();
        while let Some(m) = messages.next_into(&mut buf) {
            all.push(String::from(m.unwrap()));
        }
        all
    }

    #[test]
    fn every_kind_of_frame() {
        assert!(matches!(
            ReceivedFrame::parse(b"o"),
            Ok(ReceivedFrame::Open)
        ));
        assert!(matches!(
            ReceivedFrame::parse(b"h"),
            Ok(ReceivedFrame::Heartbeat)
        ));
        let prelude = [b'h'; 2048];
        assert!(matches!(
            ReceivedFrame::parse(&prelude),
            Ok(ReceivedFrame::Heartbeat)
        ));
        match ReceivedFrame::parse(br#"a["x","\"y\"\n"]"#) {
            Ok(ReceivedFrame::Messages(body)) => assert_eq!(decoded(&body), ["x", "\"y\"\n"]),
            other => panic!("{other:?}"),
        }
        match ReceivedFrame::parse(br#"c[ 1002 , "Connection interrupted" ]"#) {
            Ok(ReceivedFrame::Close { code, reason }) => {
                assert_eq!(code, 1002);
                assert_eq!(decoded(&reason), ["Connection interrupted"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals() {
        let refused = |frame: &[u8]| ReceivedFrame::parse(frame).err();
        assert_eq!(refused(b""), Some(ReceivedFrameError::UnknownFrame));
        assert_eq!(refused(b"x"), Some(ReceivedFrameError::UnknownFrame));
        assert_eq!(refused(b"ox"), Some(ReceivedFrameError::TrailingBytes));
        assert_eq!(refused(b"hx"), Some(ReceivedFrameError::TrailingBytes));
        assert_eq!(
            refused(b"a[\"x\""),
            Some(ReceivedFrameError::Json(SendBodyError::BrokenJson))
        );
        assert_eq!(
            refused(b"a\"x\""),
            Some(ReceivedFrameError::Json(SendBodyError::BrokenJson))
        );
        assert_eq!(refused(b"c[3000]"), Some(ReceivedFrameError::BrokenClose));
        assert_eq!(
            refused(b"c[70000,\"x\"]"),
            Some(ReceivedFrameError::BrokenClose)
        );
        assert_eq!(
            refused(b"c[-1,\"x\"]"),
            Some(ReceivedFrameError::BrokenClose)
        );
        assert_eq!(
            refused(b"c3000,\"x\""),
            Some(ReceivedFrameError::BrokenClose)
        );
        assert_eq!(
            refused(b"c[3000,\"x\",\"y\"]"),
            Some(ReceivedFrameError::Json(SendBodyError::BrokenJson))
        );
        assert_eq!(
            refused(b"c[3000,[\"x\"]]"),
            Some(ReceivedFrameError::Json(SendBodyError::BrokenJson))
        );
    }

    #[test]
    fn line_frames() {
        assert_eq!(next_line_frame(b"o\na[\"x\"]"), Some((&b"o"[..], 2)));
        assert_eq!(next_line_frame(b"a[\"x\"]"), None);
        assert_eq!(next_line_frame(b"\n"), Some((&b""[..], 1)));
    }

    proptest! {
        /// What the server's writer produces, the client's parser reads back.
        #[test]
        fn written_frames_read_back(
            messages in proptest::collection::vec(any::<String>(), 0..4),
            code in any::<u16>(),
            reason in any::<String>(),
        ) {
            let refs: Vec<&str> = messages.iter().map(String::as_str).collect();
            let mut out = std::vec![0u8; 64 + 6 * (messages.concat().len() + reason.len())];
            let n = Frame::Messages(&refs).write(&mut out).unwrap();
            match ReceivedFrame::parse(&out[..n]) {
                Ok(ReceivedFrame::Messages(body)) => prop_assert_eq!(decoded(&body), messages),
                other => prop_assert!(false, "{:?}", other),
            }
            let close = CloseFrame { code, reason: &reason };
            let n = Frame::Close(close).write(&mut out).unwrap();
            match ReceivedFrame::parse(&out[..n]) {
                Ok(ReceivedFrame::Close { code: got, reason: body }) => {
                    prop_assert_eq!(got, code);
                    prop_assert_eq!(decoded(&body), [reason]);
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }

        /// Any bytes: a frame or an error, never a panic.
        #[test]
        fn any_bytes_are_judged(frame in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(ReceivedFrame::Messages(body) | ReceivedFrame::Close { reason: body, .. }) =
                ReceivedFrame::parse(&frame)
            {
                let mut buf = std::vec![0u8; body.max_message_len()];
                let mut messages = body.messages();
                while let Some(m) = messages.next_into(&mut buf) {
                    prop_assert!(m.is_ok());
                }
            }
        }
    }
}
