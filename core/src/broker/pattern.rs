//! Subscription patterns: `*` matches within one segment, `**` matches any number of
//! whole segments, segments split at the configured separator.

/// Why a pattern was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PatternError {
    /// The pattern is empty.
    Empty,
    /// `**` appears inside a segment instead of as a whole segment.
    DoubleStarInSegment,
}

/// Whether `destination` contains a wildcard and so is a pattern.
pub fn is_pattern(destination: &str) -> bool {
    destination.contains('*')
}

/// Checks a pattern: not empty, and `**` only as a whole segment.
///
/// ```
/// use sockwire_core::broker::{validate_pattern, PatternError};
/// assert_eq!(validate_pattern("/topic/price.stock.*", b'.'), Ok(()));
/// assert_eq!(validate_pattern("/topic/a**", b'/'), Err(PatternError::DoubleStarInSegment));
/// ```
pub fn validate_pattern(pattern: &str, separator: u8) -> Result<(), PatternError> {
    if pattern.is_empty() {
        return Err(PatternError::Empty);
    }
    let bad = pattern
        .as_bytes()
        .split(|b| *b == separator)
        .any(|seg| seg != b"**" && seg.windows(2).any(|w| w == b"**"));
    if bad {
        Err(PatternError::DoubleStarInSegment)
    } else {
        Ok(())
    }
}

/// The segment starting at `start` and where the next one starts; `None` past the end.
fn segment(s: &[u8], start: usize, sep: u8) -> Option<(&[u8], usize)> {
    let rest = s.get(start..)?;
    let len = rest.iter().position(|b| *b == sep).unwrap_or(rest.len());
    Some((
        rest.get(..len)?,
        start.saturating_add(len).saturating_add(1),
    ))
}

/// Whether one text segment matches one pattern segment, `*` standing for any octets.
fn segment_matches(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        match (pat.get(p), text.get(t)) {
            (Some(b'*'), _) => {
                star = Some((p.saturating_add(1), t));
                p = p.saturating_add(1);
                continue;
            }
            (Some(pc), Some(tc)) if pc == tc => {
                p = p.saturating_add(1);
                t = t.saturating_add(1);
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        match star {
            Some((sp, st)) if st < text.len() => {
                let st = st.saturating_add(1);
                star = Some((sp, st));
                p = sp;
                t = st;
            }
            _ => return false,
        }
    }
}

/// Whether `destination` matches `pattern`, segments split at `separator`.
///
/// ```
/// use sockwire_core::broker::matches;
/// assert!(matches("/topic/*/b", "/topic/a/b", b'/'));
/// assert!(matches("/topic/**", "/topic/a/b/c", b'/'));
/// assert!(matches("/topic/price.stock.*", "/topic/price.stock.ibm", b'.'));
/// assert!(!matches("/topic/price.stock.*", "/topic/price.stock.ibm.x", b'.'));
/// ```
pub fn matches(pattern: &str, destination: &str, separator: u8) -> bool {
    let (pat, text) = (pattern.as_bytes(), destination.as_bytes());
    let (mut p, mut t) = (0usize, 0usize);
    // Where the last `**` resumes in the pattern, and the text segment it reached.
    let mut star: Option<(usize, usize)> = None;
    loop {
        match segment(pat, p, separator) {
            Some((b"**", next)) => {
                star = Some((next, t));
                p = next;
                continue;
            }
            Some((ps, next)) => {
                if let Some((ts, tnext)) = segment(text, t, separator) {
                    if segment_matches(ps, ts) {
                        p = next;
                        t = tnext;
                        continue;
                    }
                }
            }
            None => {
                if segment(text, t, separator).is_none() {
                    return true;
                }
            }
        }
        // Mismatch: let the last `**` take one more text segment.
        let Some((sp, st)) = star else { return false };
        let Some((_, st)) = segment(text, st, separator) else {
            return false;
        };
        star = Some((sp, st));
        p = sp;
        t = st;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_star_slash() {
        assert!(matches("/topic/*", "/topic/a", b'/'));
        assert!(!matches("/topic/*", "/topic/a/b", b'/'));
        assert!(!matches("/topic/*", "/topic", b'/'));
        assert!(matches("/topic/*", "/topic/", b'/'));
        assert!(matches("/topic/a*c", "/topic/abbc", b'/'));
        assert!(matches("/topic/a*c", "/topic/ac", b'/'));
        assert!(!matches("/topic/a*c", "/topic/acb", b'/'));
        assert!(matches("/topic/*/x", "/topic/q/x", b'/'));
    }

    #[test]
    fn double_star_slash() {
        assert!(matches("/topic/**", "/topic", b'/'));
        assert!(matches("/topic/**", "/topic/a/b/c", b'/'));
        assert!(matches("/topic/**/z", "/topic/a/b/z", b'/'));
        assert!(matches("/topic/**/z", "/topic/z", b'/'));
        assert!(!matches("/topic/**/z", "/topic/a/b", b'/'));
        assert!(matches("/**/b/**/d", "/a/b/c/d", b'/'));
        assert!(!matches("/queue/**", "/topic/a", b'/'));
    }

    #[test]
    fn dot_separator() {
        assert!(matches(
            "/topic/price.stock.*",
            "/topic/price.stock.ibm",
            b'.'
        ));
        assert!(!matches("/topic/price.stock.*", "/topic/price.stock", b'.'));
        assert!(matches("/topic/price.**", "/topic/price.stock.ibm", b'.'));
        assert!(matches("/topic/price.**.ibm", "/topic/price.a.b.ibm", b'.'));
        // `/` is an ordinary octet under `.`: `*` spans it.
        assert!(matches("/topic/*.x", "/topic/a/b.x", b'.'));
        assert!(!matches("/topic/*.x", "/topic/a/b.x", b'/'));
    }

    #[test]
    fn validation() {
        assert_eq!(validate_pattern("", b'/'), Err(PatternError::Empty));
        assert_eq!(validate_pattern("/a/**/b", b'/'), Ok(()));
        assert_eq!(
            validate_pattern("/a/x**", b'/'),
            Err(PatternError::DoubleStarInSegment)
        );
        assert_eq!(
            validate_pattern("/a.**", b'/'),
            Err(PatternError::DoubleStarInSegment)
        );
        assert_eq!(validate_pattern("/a.**", b'.'), Ok(()));
        assert!(is_pattern("/a/*"));
        assert!(!is_pattern("/a/b"));
    }
}
