//! `selector` header expressions: `h = 'v'`, `h != 'v'` (or `<>`), joined with `and`/`or`
//! (case-insensitive, `and` binding tighter), with optional parentheses.
//!
//! A selector is kept as its validated text and evaluated by the same recursive-descent
//! parser that validated it, so it needs no expression storage: its capacity is the
//! capacity of its text. Nesting is limited to [`MAX_DEPTH`] levels.

use super::HeaderSource;

/// The deepest nesting of parentheses accepted.
pub const MAX_DEPTH: usize = 16;

/// What is wrong with a selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SelectorErrorKind {
    /// Nothing but white space.
    Empty,
    /// A header name was expected.
    ExpectedName,
    /// `=`, `!=` or `<>` was expected.
    ExpectedOperator,
    /// A quoted literal `'...'` was expected.
    ExpectedLiteral,
    /// A literal has no closing quote.
    UnterminatedLiteral,
    /// A `(` has no matching `)`.
    ExpectedCloseParen,
    /// Text follows a complete expression.
    TrailingInput,
    /// Parentheses nest deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// A selector did not parse: what and where (byte offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SelectorError {
    /// What was wrong.
    pub kind: SelectorErrorKind,
    /// Byte offset in the selector text.
    pub offset: usize,
}

impl SelectorError {
    /// A short message for a STOMP `ERROR` frame.
    pub const fn message(&self) -> &'static str {
        match self.kind {
            SelectorErrorKind::Empty => "empty selector",
            SelectorErrorKind::ExpectedName => "selector: header name expected",
            SelectorErrorKind::ExpectedOperator => "selector: '=', '!=' or '<>' expected",
            SelectorErrorKind::ExpectedLiteral => "selector: quoted value expected",
            SelectorErrorKind::UnterminatedLiteral => "selector: unterminated quoted value",
            SelectorErrorKind::ExpectedCloseParen => "selector: ')' expected",
            SelectorErrorKind::TrailingInput => "selector: unexpected text after expression",
            SelectorErrorKind::TooDeep => "selector: parentheses nested too deeply",
        }
    }
}

impl core::fmt::Display for SelectorError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} at offset {}", self.message(), self.offset)
    }
}

impl core::error::Error for SelectorError {}

/// The unquoted octets of a selector literal (`''` stands for one `'`).
#[derive(Debug, Clone)]
pub struct Literal<'a> {
    raw: &'a [u8],
    pos: usize,
}

impl<'a> Literal<'a> {
    /// A literal over the text between its quotes.
    pub fn new(raw: &'a [u8]) -> Self {
        Literal { raw, pos: 0 }
    }
}

impl Iterator for Literal<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        let b = *self.raw.get(self.pos)?;
        self.pos = self.pos.saturating_add(if b == b'\'' { 2 } else { 1 });
        Some(b)
    }
}

/// A validated selector, borrowing its text.
///
/// ```
/// use sockwire_core::broker::Selector;
/// let s = Selector::parse("type = 'a' and (region = 'eu' or region <> 'us')")?;
/// assert!(s.matches(&[("type", "a"), ("region", "eu")][..]));
/// assert!(!s.matches(&[("type", "b"), ("region", "eu")][..]));
/// assert!(Selector::parse("type = ").is_err());
/// # Ok::<(), sockwire_core::broker::SelectorError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selector<'a> {
    text: &'a str,
}

impl<'a> Selector<'a> {
    /// Validates `text`.
    pub fn parse(text: &'a str) -> Result<Self, SelectorError> {
        Parser::new(text.as_bytes(), None).run()?;
        Ok(Selector { text })
    }

    /// The selector text.
    pub const fn as_str(&self) -> &'a str {
        self.text
    }

    /// Whether a message with `headers` passes. A comparison with an absent header is
    /// false, whichever the operator.
    pub fn matches<H: HeaderSource + ?Sized>(&self, headers: &H) -> bool {
        Parser::new(self.text.as_bytes(), Some(&Dyn(headers)))
            .run()
            .unwrap_or(false)
    }
}

/// Object-safe view over any `HeaderSource`, so the parser is not generic.
struct Dyn<'h, H: ?Sized>(&'h H);

trait Lookup {
    fn eq(&self, name: &[u8], value: Literal<'_>) -> Option<bool>;
}

impl<H: HeaderSource + ?Sized> Lookup for Dyn<'_, H> {
    fn eq(&self, name: &[u8], value: Literal<'_>) -> Option<bool> {
        self.0.header_equals(name, value)
    }
}

struct Parser<'s, 'h> {
    s: &'s [u8],
    pos: usize,
    headers: Option<&'h dyn Lookup>,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'-' | b'.' | b':')
}

impl<'s, 'h> Parser<'s, 'h> {
    fn new(s: &'s [u8], headers: Option<&'h dyn Lookup>) -> Self {
        Parser { s, pos: 0, headers }
    }

    fn err(&self, kind: SelectorErrorKind) -> SelectorError {
        SelectorError {
            kind,
            offset: self.pos,
        }
    }

    fn run(mut self) -> Result<bool, SelectorError> {
        self.skip_ws();
        if self.pos >= self.s.len() {
            return Err(self.err(SelectorErrorKind::Empty));
        }
        let v = self.or_expr(0)?;
        self.skip_ws();
        if self.pos < self.s.len() {
            return Err(self.err(SelectorErrorKind::TrailingInput));
        }
        Ok(v)
    }

    fn skip_ws(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos = self.pos.saturating_add(1);
        }
    }

    /// The name at the cursor, without consuming it.
    fn peek_name(&self) -> &'s [u8] {
        let rest = self.s.get(self.pos..).unwrap_or(&[]);
        match rest.first() {
            Some(b) if is_name_start(*b) => {
                let n = rest
                    .iter()
                    .position(|b| !is_name_byte(*b))
                    .unwrap_or(rest.len());
                rest.get(..n).unwrap_or(&[])
            }
            _ => &[],
        }
    }

    fn keyword(&mut self, kw: &[u8]) -> bool {
        self.skip_ws();
        let name = self.peek_name();
        if name.eq_ignore_ascii_case(kw) {
            self.pos = self.pos.saturating_add(name.len());
            true
        } else {
            false
        }
    }

    fn or_expr(&mut self, depth: usize) -> Result<bool, SelectorError> {
        let mut v = self.and_expr(depth)?;
        while self.keyword(b"or") {
            let r = self.and_expr(depth)?;
            v = v || r;
        }
        Ok(v)
    }

    fn and_expr(&mut self, depth: usize) -> Result<bool, SelectorError> {
        let mut v = self.factor(depth)?;
        while self.keyword(b"and") {
            let r = self.factor(depth)?;
            v = v && r;
        }
        Ok(v)
    }

    fn factor(&mut self, depth: usize) -> Result<bool, SelectorError> {
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'(') {
            if depth >= MAX_DEPTH {
                return Err(self.err(SelectorErrorKind::TooDeep));
            }
            self.pos = self.pos.saturating_add(1);
            let v = self.or_expr(depth.saturating_add(1))?;
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b')') {
                return Err(self.err(SelectorErrorKind::ExpectedCloseParen));
            }
            self.pos = self.pos.saturating_add(1);
            return Ok(v);
        }
        let name = self.peek_name();
        if name.is_empty() || name.eq_ignore_ascii_case(b"and") || name.eq_ignore_ascii_case(b"or")
        {
            return Err(self.err(SelectorErrorKind::ExpectedName));
        }
        self.pos = self.pos.saturating_add(name.len());
        self.skip_ws();
        let rest = self.s.get(self.pos..).unwrap_or(&[]);
        let (negate, op_len) = if rest.starts_with(b"!=") || rest.starts_with(b"<>") {
            (true, 2)
        } else if rest.starts_with(b"=") {
            (false, 1)
        } else {
            return Err(self.err(SelectorErrorKind::ExpectedOperator));
        };
        self.pos = self.pos.saturating_add(op_len);
        self.skip_ws();
        let literal = self.literal()?;
        Ok(match self.headers.and_then(|h| h.eq(name, literal)) {
            Some(equal) => equal != negate,
            None => false,
        })
    }

    fn literal(&mut self) -> Result<Literal<'s>, SelectorError> {
        if self.s.get(self.pos) != Some(&b'\'') {
            return Err(self.err(SelectorErrorKind::ExpectedLiteral));
        }
        let start = self.pos.saturating_add(1);
        let mut i = start;
        loop {
            match self.s.get(i) {
                None => return Err(self.err(SelectorErrorKind::UnterminatedLiteral)),
                Some(b'\'') if self.s.get(i.saturating_add(1)) == Some(&b'\'') => {
                    i = i.saturating_add(2);
                }
                Some(b'\'') => break,
                Some(_) => i = i.saturating_add(1),
            }
        }
        let raw = self.s.get(start..i).unwrap_or(&[]);
        self.pos = i.saturating_add(1);
        Ok(Literal::new(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(sel: &str, headers: &[(&str, &str)]) -> bool {
        Selector::parse(sel).unwrap().matches(headers)
    }

    #[test]
    fn comparisons() {
        let h = [("type", "a"), ("q", "it's")];
        assert!(eval("type = 'a'", &h));
        assert!(eval("type='a'", &h));
        assert!(!eval("type = 'b'", &h));
        assert!(eval("type != 'b'", &h));
        assert!(eval("type <> 'b'", &h));
        assert!(!eval("type != 'a'", &h));
        assert!(eval("q = 'it''s'", &h));
        // Absent header: every comparison is false.
        assert!(!eval("missing = 'a'", &h));
        assert!(!eval("missing != 'a'", &h));
    }

    #[test]
    fn boolean_structure() {
        let h = [("a", "1"), ("b", "2")];
        assert!(eval("a = '1' and b = '2'", &h));
        assert!(!eval("a = '1' AND b = '3'", &h));
        assert!(eval("a = '9' or b = '2'", &h));
        // `and` binds tighter than `or`.
        assert!(eval("a = '1' or a = '9' and b = '9'", &h));
        assert!(!eval("(a = '1' or a = '9') and b = '9'", &h));
        assert!(eval("((a = '1'))", &h));
    }

    #[test]
    fn parse_errors() {
        use SelectorErrorKind::*;
        let kind = |s: &str| Selector::parse(s).unwrap_err().kind;
        assert_eq!(kind(""), Empty);
        assert_eq!(kind("   "), Empty);
        assert_eq!(kind("= 'a'"), ExpectedName);
        assert_eq!(kind("a 'x'"), ExpectedOperator);
        assert_eq!(kind("a = b"), ExpectedLiteral);
        assert_eq!(kind("a = 'b"), UnterminatedLiteral);
        assert_eq!(kind("(a = 'b'"), ExpectedCloseParen);
        assert_eq!(kind("a = 'b' c"), TrailingInput);
        assert_eq!(kind("a = 'b' and"), ExpectedName);
        assert_eq!(kind("and = 'b'"), ExpectedName);
        let deep = "((((((((((((((((((a = 'b'))))))))))))))))))";
        assert_eq!(kind(deep), TooDeep);
        let e = Selector::parse("a = b").unwrap_err();
        assert_eq!(e.offset, 4);
        assert_eq!(e.message(), "selector: quoted value expected");
    }
}
