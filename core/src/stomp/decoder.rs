//! The streaming frame decoder.

use super::escape::validate;
use super::{Command, DecodeError, Escaping, Frame, Limits, Version};

/// What [`Decoder::decode`] found at the start of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Decoded<'a> {
    /// A whole frame; the next one begins `consumed` octets into the input.
    Frame {
        /// The frame, borrowed from the input.
        frame: Frame<'a>,
        /// Octets of input the frame took, its NUL included.
        consumed: usize,
    },
    /// An end of line between frames (`\n` or `\r\n`): a heart-beat, or padding after a
    /// frame's NUL.
    HeartBeat {
        /// 1 or 2.
        consumed: usize,
    },
    /// The input ends inside a frame. Keep the unconsumed octets, append more, call again.
    Incomplete,
}

/// Where the scan of a partly received frame stopped, so that a frame arriving in many
/// small pieces is scanned once (linear time), not once per piece.
#[derive(Debug, Clone, Copy, Default)]
struct Scan {
    /// The command, once its line is complete.
    command: Option<Command>,
    /// Where the header lines begin (after the command line).
    head_start: usize,
    /// Start of the line being read.
    line_start: usize,
    /// No line feed in `line_start..searched`.
    searched: usize,
    /// Header lines read so far.
    header_count: usize,
    /// The first `content-length`, once read.
    content_length: Option<usize>,
    /// Start of the body, once the blank line was read.
    body_start: Option<usize>,
    /// No NUL in `body_start..nul_searched`.
    nul_searched: usize,
}

/// A streaming STOMP frame decoder: bytes in, borrowed frames out, nothing copied.
///
/// The caller keeps the bytes not yet consumed and passes them again with more appended;
/// the decoder remembers how far it scanned, so a frame split anywhere, even byte by
/// byte, costs linear time. Several frames in one input come out one per call.
///
/// Lines end in `\n` or `\r\n` (both accepted in every version). A body is read up to
/// the first NUL, or, with a `content-length` header, exactly that many octets (NULs
/// included) followed by a NUL. A NUL where a header line would begin ends the frame with
/// an empty body, as in the specification's `DISCONNECT` and `RECEIPT` examples.
///
/// After an error the stream cannot be resynchronised: answer with an `ERROR` frame and
/// close.
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    version: Version,
    scan: Scan,
}

impl Decoder {
    /// A decoder enforcing `limits`. Until [`Decoder::set_version`], frames other than
    /// `CONNECT`/`STOMP`/`CONNECTED` are unescaped under STOMP 1.2 rules.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            version: Version::V1_2,
            scan: Scan::default(),
        }
    }

    /// The version the session agreed on (from the `CONNECTED` frame); it decides how
    /// headers of later frames are unescaped.
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    /// The version headers are unescaped under.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Forgets a partly scanned frame, as if its bytes were discarded.
    pub fn reset(&mut self) {
        self.scan = Scan::default();
    }

    /// Decodes what starts at `input[0]`: a frame, a heart-beat, or nothing yet.
    ///
    /// `input` must start where the previous call's `consumed` ended (or, after
    /// `Incomplete`, with the same octets as before).
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, DecodeError> {
        if self.scan.searched > input.len() || self.scan.nul_searched > input.len() {
            // The caller did not keep its bytes; start over rather than misread.
            self.scan = Scan::default();
        }
        if self.scan.command.is_none() && self.scan.searched == 0 {
            match input {
                [] | [b'\r'] => return Ok(Decoded::Incomplete),
                [b'\n', ..] => return Ok(Decoded::HeartBeat { consumed: 1 }),
                [b'\r', b'\n', ..] => return Ok(Decoded::HeartBeat { consumed: 2 }),
                _ => {}
            }
        }
        let result = self.decode_frame(input);
        if !matches!(result, Ok(Decoded::Incomplete)) {
            self.scan = Scan::default();
        }
        result
    }

    fn decode_frame<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, DecodeError> {
        let max_headers = self.limits.max_headers;
        let body_start = match self.scan.body_start {
            Some(start) => start,
            None => loop {
                let s = &mut self.scan;
                if let Some(command) = s.command {
                    if s.searched == s.line_start {
                        match input.get(s.line_start) {
                            None => return Ok(Decoded::Incomplete),
                            Some(0) => {
                                // NUL instead of the blank line: frame ends, body empty.
                                if s.content_length.unwrap_or(0) != 0 {
                                    return Err(DecodeError::MalformedHeader);
                                }
                                let end = s.line_start;
                                return Ok(finish(
                                    command,
                                    self.version,
                                    input,
                                    s.head_start,
                                    end,
                                    end,
                                ));
                            }
                            Some(_) => {}
                        }
                    }
                }
                let rest = input.get(s.searched..).unwrap_or_default();
                let Some(i) = rest.iter().position(|&b| b == b'\n') else {
                    s.searched = input.len();
                    let partial = input.len().saturating_sub(s.line_start);
                    if s.command.is_none() {
                        if partial > Command::MAX_LEN + 1 {
                            return Err(DecodeError::UnknownCommand);
                        }
                    } else if partial > self.limits.max_header_line.saturating_add(1) {
                        // Same verdict as when the whole line is there: count first.
                        return Err(if s.header_count >= max_headers {
                            DecodeError::TooManyHeaders
                        } else {
                            DecodeError::HeaderLineTooLong
                        });
                    }
                    return Ok(Decoded::Incomplete);
                };
                let lf = s.searched + i;
                let line = strip_cr(input.get(s.line_start..lf).unwrap_or_default());
                s.line_start = lf + 1;
                s.searched = lf + 1;
                match s.command {
                    None => {
                        s.command = Some(Command::parse(line).ok_or(DecodeError::UnknownCommand)?);
                        s.head_start = lf + 1;
                    }
                    Some(_) if line.is_empty() => {
                        s.body_start = Some(lf + 1);
                        s.nul_searched = lf + 1;
                        break lf + 1;
                    }
                    Some(command) => {
                        s.header_count += 1;
                        if s.header_count > max_headers {
                            return Err(DecodeError::TooManyHeaders);
                        }
                        if line.len() > self.limits.max_header_line {
                            return Err(DecodeError::HeaderLineTooLong);
                        }
                        let (name, value) = split_header(line)?;
                        let escaping = Escaping::for_frame(self.version, command);
                        validate(name, escaping).map_err(|_| DecodeError::InvalidEscape)?;
                        validate(value, escaping).map_err(|_| DecodeError::InvalidEscape)?;
                        if name == b"content-length" && s.content_length.is_none() {
                            let n = parse_content_length(value)?;
                            if n > self.limits.max_body {
                                return Err(DecodeError::BodyTooLarge);
                            }
                            s.content_length = Some(n);
                        }
                    }
                }
            },
        };
        let s = &mut self.scan;
        let command = s.command.ok_or(DecodeError::UnknownCommand)?;
        match s.content_length {
            Some(n) => {
                let end = body_start.saturating_add(n);
                match input.get(end) {
                    None => Ok(Decoded::Incomplete),
                    Some(0) => Ok(finish(
                        command,
                        self.version,
                        input,
                        s.head_start,
                        body_start,
                        end,
                    )),
                    Some(_) => Err(DecodeError::MissingNul),
                }
            }
            None => {
                let from = s.nul_searched.max(body_start);
                let rest = input.get(from..).unwrap_or_default();
                match rest.iter().position(|&b| b == 0) {
                    Some(i) => {
                        let end = from + i;
                        if end - body_start > self.limits.max_body {
                            return Err(DecodeError::BodyTooLarge);
                        }
                        Ok(finish(
                            command,
                            self.version,
                            input,
                            s.head_start,
                            body_start,
                            end,
                        ))
                    }
                    None => {
                        s.nul_searched = input.len();
                        if input.len().saturating_sub(body_start) > self.limits.max_body {
                            return Err(DecodeError::BodyTooLarge);
                        }
                        Ok(Decoded::Incomplete)
                    }
                }
            }
        }
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

/// Builds the frame once its extent is known. The header lines in
/// `head_start..body_start` (the blank line included) were checked while scanning.
fn finish(
    command: Command,
    version: Version,
    input: &[u8],
    head_start: usize,
    body_start: usize,
    body_end: usize,
) -> Decoded<'_> {
    let head = input.get(head_start..body_start).unwrap_or_default();
    let body = input.get(body_start..body_end).unwrap_or_default();
    Decoded::Frame {
        frame: Frame::new(command, head, body, Escaping::for_frame(version, command)),
        consumed: body_end.saturating_add(1),
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn split_header(line: &[u8]) -> Result<(&[u8], &[u8]), DecodeError> {
    if line.contains(&0) {
        return Err(DecodeError::MalformedHeader);
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(DecodeError::MalformedHeader)?;
    let (name, value) = (
        line.get(..colon).unwrap_or_default(),
        line.get(colon + 1..).unwrap_or_default(),
    );
    if name.is_empty() {
        return Err(DecodeError::MalformedHeader);
    }
    Ok((name, value))
}

/// Decimal octet count; spaces around it are tolerated (STOMP 1.0 peers pad headers).
/// Numbers too large for `usize` saturate: they exceed any body limit.
fn parse_content_length(value: &[u8]) -> Result<usize, DecodeError> {
    let digits = value.trim_ascii();
    if digits.is_empty() {
        return Err(DecodeError::InvalidContentLength);
    }
    digits.iter().try_fold(0usize, |n, &d| {
        if !d.is_ascii_digit() {
            return Err(DecodeError::InvalidContentLength);
        }
        Ok(n.saturating_mul(10).saturating_add(usize::from(d - b'0')))
    })
}
