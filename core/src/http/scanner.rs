//! Finding the end of a head in a growing buffer.

use super::{HeadError, HeadLimits};

/// Where the scanner stands relative to line boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Inside a line (or at the very start of the head).
    InLine,
    /// Just after a LF.
    LineStart,
    /// Just after a LF and a CR.
    LineStartCr,
}

/// Finds the end of a head (the blank line: `\r\n\r\n`, or a bare `\n\n`) incrementally.
///
/// Each call to [`scan`](Self::scan) gets the whole buffer received so far (earlier bytes
/// unchanged) and looks only at bytes it has not seen, so feeding a head one byte at a time
/// costs time linear in its length. It counts field lines on the way and fails as soon as
/// a [`HeadLimits`] is exceeded, without waiting for the end of the head.
///
/// ```
/// use sockwire_core::http::{HeadError, HeadLimits, HeadScanner};
/// let mut scanner = HeadScanner::new(HeadLimits::default());
/// assert_eq!(scanner.scan(b"GET / HTTP/1.1\r\nHost: a\r\n"), Ok(None));
/// assert_eq!(scanner.scan(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest"), Ok(Some(27)));
///
/// let mut small = HeadScanner::new(HeadLimits { max_head_len: 8, max_headers: 64 });
/// assert_eq!(small.scan(b"GET /long-path HTTP/1.1\r\n"), Err(HeadError::TooLarge));
/// ```
#[derive(Debug, Clone)]
pub struct HeadScanner {
    limits: HeadLimits,
    scanned: usize,
    position: Position,
    lines: usize,
    outcome: Option<Result<usize, HeadError>>,
}

impl HeadScanner {
    /// A scanner at the start of a head.
    pub const fn new(limits: HeadLimits) -> Self {
        HeadScanner {
            limits,
            scanned: 0,
            position: Position::InLine,
            lines: 0,
            outcome: None,
        }
    }

    /// The limits this scanner enforces.
    pub const fn limits(&self) -> HeadLimits {
        self.limits
    }

    /// How many bytes have been looked at so far.
    pub const fn scanned(&self) -> usize {
        self.scanned
    }

    /// Forgets everything, to scan a new head from the start of a buffer.
    pub fn reset(&mut self) {
        *self = HeadScanner::new(self.limits);
    }

    /// Looks at the bytes of `buf` not seen before. Returns the length of the head
    /// (including its blank line) once it is complete, `Ok(None)` while more input is
    /// needed, or the limit that was exceeded. Once complete or failed, every later call
    /// returns the same answer.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, HeadError> {
        if let Some(outcome) = self.outcome {
            return outcome.map(Some);
        }
        let end = buf.len().min(self.limits.max_head_len);
        let fresh = buf.get(self.scanned..end).unwrap_or(&[]);
        for (offset, &b) in fresh.iter().enumerate() {
            self.position = match (self.position, b) {
                (Position::InLine, b'\n') => {
                    self.lines = self.lines.saturating_add(1);
                    // The first line is the start line, the others are fields.
                    if self.lines.saturating_sub(1) > self.limits.max_headers {
                        return self.finish(Err(HeadError::TooManyHeaders));
                    }
                    Position::LineStart
                }
                (Position::LineStart | Position::LineStartCr, b'\n') => {
                    let len = self.scanned.saturating_add(offset).saturating_add(1);
                    return self.finish(Ok(len));
                }
                (Position::LineStart, b'\r') => Position::LineStartCr,
                _ => Position::InLine,
            };
        }
        self.scanned = self.scanned.max(end);
        if buf.len() >= self.limits.max_head_len {
            return self.finish(Err(HeadError::TooLarge));
        }
        Ok(None)
    }

    fn finish(&mut self, outcome: Result<usize, HeadError>) -> Result<Option<usize>, HeadError> {
        if let Ok(len) = outcome {
            self.scanned = len;
        }
        self.outcome = Some(outcome);
        outcome.map(Some)
    }
}

/// The length of the head at the start of `buf`, if it is complete.
pub(crate) fn head_len(buf: &[u8]) -> Option<usize> {
    HeadScanner::new(HeadLimits::UNLIMITED)
        .scan(buf)
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\nbody";

    #[test]
    fn one_shot() {
        let mut s = HeadScanner::new(HeadLimits::default());
        assert_eq!(s.scan(HEAD), Ok(Some(HEAD.len() - 4)));
        // Idempotent afterwards.
        assert_eq!(s.scan(HEAD), Ok(Some(HEAD.len() - 4)));
    }

    #[test]
    fn byte_at_a_time_is_the_same() {
        let mut s = HeadScanner::new(HeadLimits::default());
        let mut found = None;
        for end in 0..=HEAD.len() {
            if let Some(len) = s.scan(&HEAD[..end]).unwrap() {
                found = Some((end, len));
                break;
            }
        }
        assert_eq!(found, Some((HEAD.len() - 4, HEAD.len() - 4)));
    }

    #[test]
    fn bare_lf_and_mixed() {
        assert_eq!(head_len(b"GET / HTTP/1.1\nHost: a\n\n"), Some(24));
        assert_eq!(head_len(b"GET / HTTP/1.1\r\nHost: a\n\r\n"), Some(26));
        assert_eq!(head_len(b"GET / HTTP/1.1\r\nHost: a\r\n\r"), None);
        assert_eq!(head_len(b""), None);
    }

    #[test]
    fn too_large() {
        let limits = HeadLimits {
            max_head_len: 20,
            max_headers: 64,
        };
        let mut s = HeadScanner::new(limits);
        assert_eq!(s.scan(b"GET / HTTP/1.1\r\n"), Ok(None));
        assert_eq!(s.scan(b"GET / HTTP/1.1\r\nHost"), Err(HeadError::TooLarge));
        assert_eq!(s.scan(b"GET / HTTP/1.1\r\nHost"), Err(HeadError::TooLarge));
        // Exactly at the cap is fine, one byte less is not.
        let head = b"GET / HTTP/1.1\r\nA\r\n\r\n";
        let exact = HeadLimits {
            max_head_len: head.len(),
            max_headers: 64,
        };
        assert_eq!(HeadScanner::new(exact).scan(head), Ok(Some(head.len())));
        let short = HeadLimits {
            max_head_len: head.len() - 1,
            max_headers: 64,
        };
        assert_eq!(HeadScanner::new(short).scan(head), Err(HeadError::TooLarge));
    }

    #[test]
    fn too_many_headers() {
        let limits = HeadLimits {
            max_head_len: 1024,
            max_headers: 2,
        };
        let mut s = HeadScanner::new(limits);
        assert_eq!(
            s.scan(b"GET / HTTP/1.1\r\na:1\r\nb:2\r\n\r\n"),
            Ok(Some(28))
        );
        let mut s = HeadScanner::new(limits);
        assert_eq!(
            s.scan(b"GET / HTTP/1.1\r\na:1\r\nb:2\r\nc:3\r\n"),
            Err(HeadError::TooManyHeaders)
        );
    }

    #[test]
    fn reset_starts_over() {
        let mut s = HeadScanner::new(HeadLimits::default());
        assert_eq!(s.scan(b"A\r\n\r\n"), Ok(Some(5)));
        s.reset();
        assert_eq!(s.scanned(), 0);
        assert_eq!(s.scan(b"B\n\n"), Ok(Some(3)));
    }
}
