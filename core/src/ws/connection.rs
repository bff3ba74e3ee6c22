//! The WebSocket connection machine: frames in, events out, frames to send.

use super::close::{parse_close_payload, CloseCode};
use super::config::{Config, Role};
use super::error::{ProtocolError, SendError};
use super::event::{ControlPayload, DataKind, Event, MAX_CONTROL_PAYLOAD};
use super::frame::{FrameHeader, HeaderError, OpCode, MAX_HEADER_LEN, RSV1};
use super::mask::apply_mask;
use super::utf8::Utf8Validator;
use crate::buf::{BufferTooSmall, Writer};
use crate::machine::{Machine, Read};
use crate::time::Instant;

/// Text payloads are unmasked and validated in blocks of this size, so each block is
/// still in L1 cache when the validator reads it.
const BLOCK: usize = 16 * 1024;

/// Where the closing handshake stands, as seen from this end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// Data flows both ways.
    Open,
    /// Our close is queued or sent; waiting for the peer's. Data the peer sent before it
    /// saw our close is still delivered.
    CloseSent,
    /// The peer's close arrived; our answering close is still to be transmitted.
    CloseReceived,
    /// Done: close the transport (after draining [`Connection::poll_transmit`]).
    Closed,
}

/// A frame header produced by [`Connection::frame_head`] for zero-copy sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    /// The header bytes; the first [`FrameHead::len`] are used.
    pub bytes: [u8; MAX_HEADER_LEN],
    /// How many of `bytes` form the header.
    pub len: u8,
    /// For the client role, the key the caller must mask the payload with
    /// ([`crate::ws::mask::apply_mask`] with offset 0) before sending it.
    pub mask: Option<[u8; 4]>,
}

impl FrameHead {
    /// The header bytes to send before the payload.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// Which part of a message a data frame carries, for [`Connection::send`] and
/// [`Connection::frame_head`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Fragment {
    /// A whole message of this kind in one frame.
    Whole(DataKind),
    /// The first frame of a message of this kind; more follow.
    First(DataKind),
    /// A frame continuing the message in progress; more follow.
    Middle,
    /// The frame that ends the message in progress.
    Last,
}

impl Fragment {
    /// The fragment of a message of `kind` that starts (`first`) and/or ends (`fin`)
    /// it, for callers that track the two flags.
    pub const fn new(kind: DataKind, first: bool, fin: bool) -> Self {
        match (first, fin) {
            (true, true) => Fragment::Whole(kind),
            (true, false) => Fragment::First(kind),
            (false, false) => Fragment::Middle,
            (false, true) => Fragment::Last,
        }
    }

    /// Whether the frame starts a message.
    pub const fn is_first(self) -> bool {
        matches!(self, Fragment::Whole(_) | Fragment::First(_))
    }

    /// Whether the frame ends a message.
    pub const fn is_fin(self) -> bool {
        matches!(self, Fragment::Whole(_) | Fragment::Last)
    }

    const fn opcode(self) -> OpCode {
        match self {
            Fragment::Whole(DataKind::Text) | Fragment::First(DataKind::Text) => OpCode::Text,
            Fragment::Whole(DataKind::Binary) | Fragment::First(DataKind::Binary) => OpCode::Binary,
            Fragment::Middle | Fragment::Last => OpCode::Continuation,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct InFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    remaining: u64,
    /// Payload bytes processed so far (only its value modulo 4 matters).
    offset: usize,
}

#[derive(Debug, Clone, Copy)]
struct InMessage {
    kind: DataKind,
    rsv: u8,
    validate: bool,
    size: u64,
    first_pending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OurClose {
    NotYet,
    /// The close body (code and reason) waiting for `poll_transmit`.
    Queued(ControlPayload),
    Sent,
}

enum Step {
    Done(usize, Option<Event<'static>>),
    Data {
        start: usize,
        end: usize,
        kind: DataKind,
        first: bool,
        fin: bool,
        rsv: u8,
        mask: Option<[u8; 4]>,
        offset: usize,
        validate: bool,
    },
}

/// A WebSocket connection after the opening handshake (RFC 6455 §5-§7), sans-IO,
/// following the [machine contract](crate::machine).
///
/// Feed received bytes to [`Connection::read`], drain owed control frames with
/// [`Machine::poll_transmit`] after every call, encode data with [`Connection::send`]
/// (or [`Connection::frame_head`]), and drive the close timer with
/// [`Machine::poll_timeout`] / [`Machine::handle_timeout`].
///
/// ```
/// use sockwire_core::machine::Status;
/// use sockwire_core::time::Instant;
/// use sockwire_core::ws::{Config, Connection, DataKind, Event, Fragment, Role};
///
/// let now = Instant(0);
/// let mut client = Connection::new(Role::Client, Config::default(), 0x1234_5678);
/// let mut server = Connection::new(Role::Server, Config::default(), 0);
/// let mut wire = [0u8; 64];
/// let n = client.send(now, Fragment::Whole(DataKind::Text), b"hello", &mut wire).unwrap();
/// let read = server.read(&mut wire[..n], now);
/// assert_eq!(read.consumed, n);
/// match read.status {
///     Status::Event(Event::Data { kind: DataKind::Text, payload, first: true, fin: true, .. }) => {
///         assert_eq!(payload, b"hello")
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Connection {
    role: Role,
    config: Config,
    rng: u64,
    frame: Option<InFrame>,
    msg: Option<InMessage>,
    utf8: Utf8Validator,
    ctrl: [u8; MAX_CONTROL_PAYLOAD],
    ctrl_len: usize,
    sending: bool,
    pong: Option<ControlPayload>,
    ping: Option<ControlPayload>,
    our_close: OurClose,
    close_received: bool,
    failed: bool,
    timed_out: bool,
    deadline: Option<Instant>,
    /// When input last arrived (or the connection was first driven): the keep-alive
    /// timers count from it.
    heard: Option<Instant>,
    /// When our last keep-alive ping was queued.
    pinged: Option<Instant>,
}

/// The reason of the close an idle connection gets.
pub const IDLE_TIMEOUT: &str = "idle timeout";

impl Connection {
    /// A connection in the [`State::Open`] state.
    ///
    /// `mask_seed` seeds the PRNG that picks the client's masking keys. RFC 6455 §5.3
    /// requires them to be unpredictable, so a client should pass 64 bits from the
    /// operating system's randomness (e.g. `getrandom`); a fuzzer or a test passes a fixed
    /// value for determinism. A server never masks and may pass anything.
    pub fn new(role: Role, config: Config, mask_seed: u64) -> Self {
        Connection {
            role,
            config,
            rng: mask_seed,
            frame: None,
            msg: None,
            utf8: Utf8Validator::new(),
            ctrl: [0; MAX_CONTROL_PAYLOAD],
            ctrl_len: 0,
            sending: false,
            pong: None,
            ping: None,
            our_close: OurClose::NotYet,
            close_received: false,
            failed: false,
            timed_out: false,
            deadline: None,
            heard: None,
            pinged: None,
        }
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the closing handshake stands.
    pub fn state(&self) -> State {
        if self.timed_out {
            return State::Closed;
        }
        let sent = self.our_close == OurClose::Sent;
        if sent && (self.close_received || self.failed) {
            State::Closed
        } else if self.close_received {
            State::CloseReceived
        } else if self.our_close != OurClose::NotYet {
            State::CloseSent
        } else {
            State::Open
        }
    }

    fn input_finished(&self) -> bool {
        self.close_received || self.failed || self.timed_out
    }

    fn next_mask(&mut self) -> [u8; 4] {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 32) as u32).to_ne_bytes()
    }

    /// How much of `input` to pass to [`Connection::read`] so that at most `room` bytes
    /// of data payload come out of it: for callers that move payload into a bounded
    /// store. Control frames are let through whole (their payload is the connection's).
    pub fn input_limit(&self, input: &[u8], room: usize) -> usize {
        let limit = match self.frame {
            Some(f) if f.opcode.is_control() => usize::try_from(f.remaining).unwrap_or(usize::MAX),
            Some(_) => room,
            None => match FrameHeader::decode(input) {
                Ok(Some((h, n))) if h.opcode.is_control() => {
                    n.saturating_add(usize::try_from(h.payload_len).unwrap_or(usize::MAX))
                }
                Ok(Some((_, n))) => n.saturating_add(room),
                Ok(None) | Err(_) => input.len(),
            },
        };
        limit.min(input.len())
    }

    /// Consumes bytes from `input` (the caller's buffer; payloads are unmasked **in
    /// place**) and reports at most one event, following the
    /// [machine contract](crate::machine).
    ///
    /// A partial frame header is not consumed; a partial payload is delivered as it is.
    /// After the peer's close or a failure (each reported once), all input is consumed
    /// and ignored: [`Status::Closed`](crate::machine::Status::Closed).
    pub fn read<'b>(&mut self, input: &'b mut [u8], now: Instant) -> Read<Event<'b>> {
        let read = self.read_frames(input);
        if read.consumed > 0 || self.heard.is_none() {
            self.heard = Some(now);
        }
        read
    }

    fn read_frames<'b>(&mut self, input: &'b mut [u8]) -> Read<Event<'b>> {
        if self.input_finished() {
            return Read::closed(input.len());
        }
        match self.step(input) {
            Step::Done(n, Some(ev)) => Read::event(n, ev),
            Step::Done(n, None) => Read::need_more(n),
            Step::Data {
                start,
                end,
                kind,
                first,
                fin,
                rsv,
                mask,
                offset,
                validate,
            } => {
                let total = input.len();
                let payload = match input.get_mut(start..end) {
                    Some(p) => p,
                    None => return Read::need_more(total),
                };
                if validate {
                    let mut off = offset;
                    for block in payload.chunks_mut(BLOCK) {
                        if let Some(key) = mask {
                            apply_mask(block, key, off);
                        }
                        off = off.wrapping_add(block.len());
                        if self.utf8.feed(block).is_err() {
                            return Read::event(total, self.fail(ProtocolError::InvalidUtf8));
                        }
                    }
                    if fin && self.utf8.finish().is_err() {
                        return Read::event(total, self.fail(ProtocolError::InvalidUtf8));
                    }
                } else if let Some(key) = mask {
                    apply_mask(payload, key, offset);
                }
                Read::event(
                    end,
                    Event::Data {
                        kind,
                        payload,
                        first,
                        fin,
                        rsv,
                    },
                )
            }
        }
    }

    fn step(&mut self, input: &[u8]) -> Step {
        let mut pos = 0usize;
        loop {
            if self.input_finished() {
                return Step::Done(input.len(), None);
            }
            let rest = input.get(pos..).unwrap_or(&[]);
            let Some(mut frame) = self.frame else {
                match FrameHeader::decode(rest) {
                    Ok(None) => return Step::Done(pos, None),
                    Ok(Some((header, n))) => {
                        pos += n;
                        if let Err(e) = self.begin_frame(&header) {
                            return Step::Done(input.len(), Some(self.fail(e)));
                        }
                        continue;
                    }
                    Err(HeaderError::ReservedOpcode(_)) => {
                        return Step::Done(
                            input.len(),
                            Some(self.fail(ProtocolError::ReservedOpcode)),
                        )
                    }
                    Err(HeaderError::InvalidLength) => {
                        return Step::Done(
                            input.len(),
                            Some(self.fail(ProtocolError::InvalidLength)),
                        )
                    }
                }
            };
            // `avail` <= rest.len(), so it fits in usize.
            let avail = frame.remaining.min(rest.len() as u64) as usize;
            let frame_done = avail as u64 == frame.remaining;
            if frame.opcode.is_control() {
                let chunk = rest.get(..avail).unwrap_or(&[]);
                let end = self.ctrl_len + avail;
                if let Some(dst) = self.ctrl.get_mut(self.ctrl_len..end) {
                    dst.copy_from_slice(chunk);
                    if let Some(key) = frame.mask {
                        apply_mask(dst, key, self.ctrl_len);
                    }
                }
                self.ctrl_len = end;
                pos += avail;
                if !frame_done {
                    frame.remaining -= avail as u64;
                    self.frame = Some(frame);
                    return Step::Done(pos, None);
                }
                self.frame = None;
                match self.finish_control(frame.opcode) {
                    Ok(ev) => return Step::Done(pos, Some(ev)),
                    Err(e) => return Step::Done(input.len(), Some(self.fail(e))),
                }
            }
            if avail == 0 && !frame_done {
                return Step::Done(pos, None);
            }
            let Some(msg) = self.msg.as_mut() else {
                // Unreachable: a data frame is only begun with a message.
                self.frame = None;
                continue;
            };
            let first = msg.first_pending;
            let fin = frame.fin && frame_done;
            let start = pos;
            let offset = frame.offset;
            pos += avail;
            if frame_done {
                self.frame = None;
            } else {
                frame.remaining -= avail as u64;
                frame.offset = frame.offset.wrapping_add(avail);
                self.frame = Some(frame);
            }
            if avail == 0 && !first && !fin {
                continue;
            }
            msg.first_pending = false;
            let (kind, rsv, validate) = (msg.kind, msg.rsv, msg.validate);
            if fin {
                self.msg = None;
            }
            return Step::Data {
                start,
                end: pos,
                kind,
                first,
                fin,
                rsv,
                mask: frame.mask,
                offset,
                validate,
            };
        }
    }

    /// Checks a new frame's header against the rules and sets up its reading.
    fn begin_frame(&mut self, h: &FrameHeader) -> Result<(), ProtocolError> {
        let control = h.opcode.is_control();
        let allowed = if control { 0 } else { self.config.allowed_rsv };
        if h.rsv & !allowed != 0 {
            return Err(ProtocolError::ReservedBits);
        }
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedClientFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedServerFrame),
            _ => {}
        }
        let frame = InFrame {
            opcode: h.opcode,
            fin: h.fin,
            mask: h.mask,
            remaining: h.payload_len,
            offset: 0,
        };
        if control {
            if !h.fin {
                return Err(ProtocolError::FragmentedControl);
            }
            if h.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::ControlTooLong);
            }
            self.ctrl_len = 0;
            self.frame = Some(frame);
            return Ok(());
        }
        match (h.opcode, self.msg.is_some()) {
            (OpCode::Continuation, false) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, true) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            _ => {}
        }
        if h.payload_len > self.config.max_frame_size {
            return Err(ProtocolError::FrameTooLarge);
        }
        let size_so_far = self.msg.map_or(0, |m| m.size);
        let size = match size_so_far.checked_add(h.payload_len) {
            Some(s) if s <= self.config.max_message_size => s,
            _ => return Err(ProtocolError::MessageTooLarge),
        };
        match self.msg.as_mut() {
            Some(msg) => msg.size = size,
            None => {
                let kind = if h.opcode == OpCode::Text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                let compressed = self.config.allowed_rsv & RSV1 != 0 && h.rsv & RSV1 != 0;
                self.utf8.reset();
                self.msg = Some(InMessage {
                    kind,
                    rsv: h.rsv,
                    validate: kind == DataKind::Text && !compressed,
                    size,
                    first_pending: true,
                });
            }
        }
        self.frame = Some(frame);
        Ok(())
    }

    fn finish_control(&mut self, opcode: OpCode) -> Result<Event<'static>, ProtocolError> {
        let body = self.ctrl.get(..self.ctrl_len).unwrap_or(&[]);
        let payload = ControlPayload::new(body).unwrap_or_default();
        match opcode {
            OpCode::Ping => {
                if self.our_close == OurClose::NotYet {
                    self.pong = Some(payload);
                }
                Ok(Event::Ping(payload))
            }
            OpCode::Pong => Ok(Event::Pong(payload)),
            _ => {
                let parsed = parse_close_payload(body)?;
                let (code, reason) = match parsed {
                    Some((code, reason)) => (
                        Some(code),
                        ControlPayload::new(reason.as_bytes()).unwrap_or_default(),
                    ),
                    None => (None, ControlPayload::empty()),
                };
                self.close_received = true;
                self.msg = None;
                self.frame = None;
                if self.our_close == OurClose::NotYet {
                    let echo = match code {
                        Some(c) => ControlPayload::new(&c.as_u16().to_be_bytes()),
                        None => Some(ControlPayload::empty()),
                    };
                    self.our_close = OurClose::Queued(echo.unwrap_or_default());
                }
                Ok(Event::Closed { code, reason })
            }
        }
    }

    /// Records a failure: queues a close with the error's code (unless ours is already
    /// queued or sent) and stops processing input.
    fn fail(&mut self, e: ProtocolError) -> Event<'static> {
        if self.our_close == OurClose::NotYet {
            let code = e.close_code().as_u16().to_be_bytes();
            self.our_close = OurClose::Queued(ControlPayload::new(&code).unwrap_or_default());
        }
        self.pong = None;
        self.ping = None;
        self.failed = true;
        self.msg = None;
        self.frame = None;
        Event::Failed(e)
    }

    fn encode_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        let mut header = FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask: match self.role {
                Role::Client => Some([0; 4]),
                Role::Server => None,
            },
            payload_len: payload.len() as u64,
        };
        let head_len = header.encoded_len();
        let needed = head_len.saturating_add(payload.len());
        if out.len() < needed {
            return Err(BufferTooSmall { needed });
        }
        if header.mask.is_some() {
            header.mask = Some(self.next_mask());
        }
        let mut w = Writer::new(out);
        header.encode(&mut w);
        w.put(payload);
        let n = w.finish()?;
        if let (Some(key), Some(body)) = (header.mask, out.get_mut(head_len..n)) {
            apply_mask(body, key, 0);
        }
        Ok(n)
    }

    fn check_send(&self, fragment: Fragment) -> Result<(), SendError> {
        if self.our_close != OurClose::NotYet || self.input_finished() {
            return Err(SendError::Closed);
        }
        match (fragment.is_first(), self.sending) {
            (true, true) => Err(SendError::MessageInProgress),
            (false, false) => Err(SendError::NoMessageInProgress),
            _ => Ok(()),
        }
    }

    /// Encodes one data frame (header and payload, masked for the client role) into `out`
    /// and returns its length.
    ///
    /// `fragment` says whether the frame is a whole message, starts one (text or binary
    /// opcode), or continues the message in progress. Text is sent as given: the caller
    /// provides UTF-8 (a code point may be split across frames).
    ///
    /// Errors: [`SendError::BufferTooSmall`] with nothing written, [`SendError::Closed`]
    /// after a close was queued, sent or received, and [`SendError::MessageInProgress`] /
    /// [`SendError::NoMessageInProgress`] for a fragment sequence violation.
    pub fn send(
        &mut self,
        _now: Instant,
        fragment: Fragment,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, SendError> {
        self.check_send(fragment)?;
        let n = self.encode_frame(fragment.opcode(), fragment.is_fin(), payload, out)?;
        self.sending = !fragment.is_fin();
        Ok(n)
    }

    /// The zero-copy path: only the header of a data frame of `payload_len` bytes
    /// (`payload_len` must be below 2^63).
    ///
    /// A server then writes the header and its payload unchanged (e.g. one vectored
    /// write). A client gets [`FrameHead::mask`] and must mask its payload with
    /// [`crate::ws::mask::apply_mask`] (offset 0) before writing it. Same sequencing rules
    /// and errors as [`Connection::send`].
    pub fn frame_head(
        &mut self,
        _now: Instant,
        fragment: Fragment,
        payload_len: u64,
    ) -> Result<FrameHead, SendError> {
        self.check_send(fragment)?;
        let mask = match self.role {
            Role::Client => Some(self.next_mask()),
            Role::Server => None,
        };
        let header = FrameHeader {
            fin: fragment.is_fin(),
            rsv: 0,
            opcode: fragment.opcode(),
            mask,
            payload_len,
        };
        let (bytes, len) = header.to_bytes();
        self.sending = !fragment.is_fin();
        Ok(FrameHead {
            bytes,
            len: len as u8,
            mask,
        })
    }

    /// Queues a ping for [`Machine::poll_transmit`], replacing one not yet transmitted.
    pub fn ping(&mut self, _now: Instant, payload: &[u8]) -> Result<(), SendError> {
        if self.our_close != OurClose::NotYet || self.input_finished() {
            return Err(SendError::Closed);
        }
        self.ping = Some(ControlPayload::new(payload).ok_or(SendError::ControlTooLong)?);
        Ok(())
    }

    /// Queues our close (code and a reason of at most 123 bytes) for
    /// [`Machine::poll_transmit`]; the close timer starts when it is transmitted.
    ///
    /// After the close, incoming data is still delivered while the peer's close is awaited;
    /// if it has not arrived within `close_timeout_ms` of sending ours, the connection
    /// ends with [`Event::TimedOut`].
    pub fn close(&mut self, _now: Instant, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if self.our_close != OurClose::NotYet || self.input_finished() {
            return Err(SendError::Closed);
        }
        if !code.is_valid_on_wire() {
            return Err(SendError::InvalidCloseCode);
        }
        let mut body = [0u8; MAX_CONTROL_PAYLOAD];
        let end = reason.len().saturating_add(2);
        let dst = body.get_mut(2..end).ok_or(SendError::ControlTooLong)?;
        dst.copy_from_slice(reason.as_bytes());
        let [hi, lo] = code.as_u16().to_be_bytes();
        body[0] = hi;
        body[1] = lo;
        let body =
            ControlPayload::new(body.get(..end).unwrap_or(&[])).ok_or(SendError::ControlTooLong)?;
        self.our_close = OurClose::Queued(body);
        Ok(())
    }
}

impl Machine for Connection {
    type TimeoutEvent = Event<'static>;

    /// Owed control frames (a pong for a ping, the close echo, our close, a queued ping),
    /// one frame per call, in order; `Ok(None)` when nothing is owed.
    ///
    /// On `Err(BufferTooSmall { needed })` nothing is written and the frame stays queued.
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        if self.timed_out {
            return Ok(None);
        }
        self.heard.get_or_insert(now);
        if let Some(p) = self.pong {
            let n = self.encode_frame(OpCode::Pong, true, p.as_bytes(), out)?;
            self.pong = None;
            return Ok(Some(n));
        }
        if let Some(p) = self.ping {
            let n = self.encode_frame(OpCode::Ping, true, p.as_bytes(), out)?;
            self.ping = None;
            return Ok(Some(n));
        }
        if let OurClose::Queued(body) = self.our_close {
            let n = self.encode_frame(OpCode::Close, true, body.as_bytes(), out)?;
            self.our_close = OurClose::Sent;
            if !self.input_finished() {
                self.deadline = Some(now.add_millis(self.config.close_timeout_ms));
            }
            return Ok(Some(n));
        }
        Ok(None)
    }

    /// The close deadline while waiting for the peer's close; while open, the next
    /// keep-alive ping and the idle deadline ([`Config::ping_interval_ms`],
    /// [`Config::idle_timeout_ms`]).
    fn poll_timeout(&self) -> Option<Instant> {
        match self.state() {
            State::CloseSent if !self.failed => self.deadline,
            State::Open => {
                let keep_alive =
                    self.config.ping_interval_ms.is_some() || self.config.idle_timeout_ms.is_some();
                let Some(heard) = self.heard else {
                    // Not driven yet: due at once, so the first timer call starts the clock.
                    return keep_alive.then_some(Instant(0));
                };
                let since = |ms: Option<u64>| ms.map(|ms| heard.add_millis(ms));
                let ping = self.config.ping_interval_ms.map(|ms| {
                    let from = self.pinged.map_or(heard, |p| p.max(heard));
                    from.add_millis(ms)
                });
                match (ping, since(self.config.idle_timeout_ms)) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            _ => None,
        }
    }

    /// Ends the connection with [`Event::TimedOut`] when the peer has not answered our
    /// close within `close_timeout_ms`. While open: queues a keep-alive ping after
    /// `ping_interval_ms` of silence, and our close (1001, [`IDLE_TIMEOUT`]) after
    /// `idle_timeout_ms`; both go out at the next [`Machine::poll_transmit`] and are no
    /// event.
    fn handle_timeout(&mut self, now: Instant) -> Option<Event<'static>> {
        let deadline = self.poll_timeout()?;
        if now < deadline {
            return None;
        }
        if self.state() == State::Open {
            let Some(heard) = self.heard else {
                self.heard = Some(now);
                return None;
            };
            let idle = self
                .config
                .idle_timeout_ms
                .is_some_and(|ms| now >= heard.add_millis(ms));
            if idle {
                let _ = self.close(now, CloseCode::GOING_AWAY, IDLE_TIMEOUT);
            } else if self.config.ping_interval_ms.is_some() {
                self.pinged = Some(now);
                if self.ping.is_none() {
                    let _ = self.ping(now, b"");
                }
            }
            return None;
        }
        self.timed_out = true;
        self.msg = None;
        self.frame = None;
        Some(Event::TimedOut)
    }

    /// Whether the connection is over: the caller should close the transport (a server
    /// after flushing [`Machine::poll_transmit`]; a client may first wait, until the
    /// close timeout, for the server to close TCP).
    fn is_closed(&self) -> bool {
        self.state() == State::Closed
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::machine::Status;
    use crate::ws::frame::{RSV2, RSV3};
    use proptest::prelude::*;
    use std::string::String;
    use std::vec;
    use std::vec::Vec;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Data {
            kind: DataKind,
            payload: Vec<u8>,
            first: bool,
            fin: bool,
            rsv: u8,
        },
        Ping(Vec<u8>),
        Pong(Vec<u8>),
        Closed(Option<u16>, String),
        Failed(ProtocolError),
        TimedOut,
    }

    fn own(ev: Event<'_>) -> Ev {
        match ev {
            Event::Data {
                kind,
                payload,
                first,
                fin,
                rsv,
            } => Ev::Data {
                kind,
                payload: payload.to_vec(),
                first,
                fin,
                rsv,
            },
            Event::Ping(p) => Ev::Ping(p.as_bytes().to_vec()),
            Event::Pong(p) => Ev::Pong(p.as_bytes().to_vec()),
            Event::Closed { code, reason } => Ev::Closed(
                code.map(CloseCode::as_u16),
                String::from(reason.as_str().unwrap_or("<not utf8>")),
            ),
            Event::Failed(e) => Ev::Failed(e),
            Event::TimedOut => Ev::TimedOut,
        }
    }

    /// A caller: keeps unconsumed bytes and reads until the machine wants more.
    struct Driver {
        conn: Connection,
        pending: Vec<u8>,
        now: Instant,
    }

    impl Driver {
        fn new(role: Role) -> Self {
            Self::with(role, Config::default())
        }
        fn with(role: Role, config: Config) -> Self {
            Driver {
                conn: Connection::new(role, config, 42),
                pending: Vec::new(),
                now: Instant(0),
            }
        }
        fn feed(&mut self, bytes: &[u8]) -> Vec<Ev> {
            self.pending.extend_from_slice(bytes);
            let mut evs = Vec::new();
            for _ in 0..100_000 {
                let read = self.conn.read(&mut self.pending, self.now);
                let n = read.consumed;
                let ev = read.status.event().map(own);
                assert!(n <= self.pending.len());
                self.pending.drain(..n);
                match ev {
                    Some(ev) => evs.push(ev),
                    None if n == 0 => return evs,
                    None => {}
                }
            }
            panic!("read did not settle");
        }
        fn transmit(&mut self) -> Vec<Vec<u8>> {
            let mut frames = Vec::new();
            let mut out = [0u8; 200];
            while let Some(n) = self.conn.poll_transmit(self.now, &mut out).unwrap() {
                frames.push(out[..n].to_vec());
            }
            frames
        }
    }

    const KEY: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

    /// Encodes a frame with a raw opcode; masked with `KEY` when `masked`.
    fn raw(fin: bool, rsv: u8, opcode: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![(u8::from(fin) << 7) | (rsv << 4) | opcode];
        let m = if masked { 0x80 } else { 0 };
        let len = payload.len();
        if len < 126 {
            v.push(m | len as u8);
        } else if len <= 0xFFFF {
            v.push(m | 126);
            v.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            v.push(m | 127);
            v.extend_from_slice(&(len as u64).to_be_bytes());
        }
        let mut body = payload.to_vec();
        if masked {
            v.extend_from_slice(&KEY);
            apply_mask(&mut body, KEY, 0);
        }
        v.extend_from_slice(&body);
        v
    }

    /// A frame from a client (masked).
    fn cf(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        raw(fin, 0, opcode, true, payload)
    }

    /// A frame from a server (unmasked).
    fn sf(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        raw(fin, 0, opcode, false, payload)
    }

    fn data(kind: DataKind, payload: &[u8], first: bool, fin: bool) -> Ev {
        Ev::Data {
            kind,
            payload: payload.to_vec(),
            first,
            fin,
            rsv: 0,
        }
    }

    /// The close frame a connection of `role` sends with `code` (payload = code only).
    fn close_body(code: u16) -> Vec<u8> {
        code.to_be_bytes().to_vec()
    }

    fn decode_sent(frame: &[u8]) -> (FrameHeader, Vec<u8>) {
        let (h, n) = FrameHeader::decode(frame).unwrap().unwrap();
        let mut body = frame[n..].to_vec();
        assert_eq!(body.len() as u64, h.payload_len);
        if let Some(k) = h.mask {
            apply_mask(&mut body, k, 0);
        }
        (h, body)
    }

    fn expect_failure(role: Role, config: Config, wire: &[u8], err: ProtocolError) {
        let mut d = Driver::with(role, config);
        let evs = d.feed(wire);
        assert_eq!(evs.last(), Some(&Ev::Failed(err)), "{evs:?}");
        assert!(!d.conn.is_closed());
        let sent = d.transmit();
        assert_eq!(sent.len(), 1);
        let (h, body) = decode_sent(&sent[0]);
        assert_eq!(h.opcode, OpCode::Close);
        assert_eq!(h.mask.is_some(), role == Role::Client);
        assert_eq!(body, close_body(err.close_code().as_u16()));
        assert!(d.conn.is_closed());
        // Nothing more is processed.
        assert_eq!(d.feed(&cf(true, 1, b"x")), vec![]);
        assert!(d.pending.is_empty());
    }

    #[test]
    fn single_frames_both_roles() {
        let mut s = Driver::new(Role::Server);
        assert_eq!(
            s.feed(&cf(true, 1, b"hello")),
            vec![data(DataKind::Text, b"hello", true, true)]
        );
        let mut c = Driver::new(Role::Client);
        assert_eq!(
            c.feed(&sf(true, 2, &[0, 1, 2])),
            vec![data(DataKind::Binary, &[0, 1, 2], true, true)]
        );
        let big = vec![7u8; 70_000];
        assert_eq!(
            s.feed(&cf(true, 2, &big)),
            vec![data(DataKind::Binary, &big, true, true)]
        );
    }

    #[test]
    fn whole_frame_is_one_event() {
        let mut c = Connection::new(Role::Server, Config::default(), 1);
        let mut wire = cf(true, 1, "κόσμε".as_bytes());
        wire.extend_from_slice(&cf(true, 2, b"x"));
        let first_len = wire.len() - 7;
        let read = c.read(&mut wire, Instant(0));
        assert_eq!(read.consumed, first_len);
        assert!(
            matches!(read.status, Status::Event(Event::Data { payload, first: true, fin: true, .. }) if payload == "κόσμε".as_bytes())
        );
    }

    #[test]
    fn empty_frames_produce_events_when_first_or_fin() {
        let mut s = Driver::new(Role::Server);
        let mut wire = cf(false, 1, b"");
        wire.extend(cf(false, 0, b""));
        wire.extend(cf(false, 0, b"a"));
        wire.extend(cf(true, 0, b""));
        assert_eq!(
            s.feed(&wire),
            vec![
                data(DataKind::Text, b"", true, false),
                data(DataKind::Text, b"a", false, false),
                data(DataKind::Text, b"", false, true),
            ]
        );
    }

    fn assemble(evs: &[Ev]) -> Vec<(DataKind, Vec<u8>)> {
        let mut msgs = Vec::new();
        let mut cur = Vec::new();
        for ev in evs {
            if let Ev::Data {
                kind,
                payload,
                first,
                fin,
                ..
            } = ev
            {
                if *first {
                    cur.clear();
                }
                cur.extend_from_slice(payload);
                if *fin {
                    msgs.push((*kind, cur.clone()));
                }
            }
        }
        msgs
    }

    #[test]
    fn byte_at_a_time_same_message() {
        let text = "héllo wörld €𝄞 ".repeat(20);
        let b = text.as_bytes();
        let mut wire = cf(false, 1, &b[..100]);
        wire.extend(cf(true, 9, b"ping!"));
        wire.extend(cf(true, 0, &b[100..]));
        let mut s = Driver::new(Role::Server);
        let mut evs = Vec::new();
        for byte in &wire {
            evs.extend(s.feed(&[*byte]));
        }
        assert_eq!(assemble(&evs), vec![(DataKind::Text, b.to_vec())]);
        assert!(evs.contains(&Ev::Ping(b"ping!".to_vec())));
        let mut s2 = Driver::new(Role::Server);
        assert_eq!(assemble(&s2.feed(&wire)), assemble(&evs));
    }

    #[test]
    fn control_frames_between_fragments() {
        let mut s = Driver::new(Role::Server);
        let mut wire = cf(false, 2, b"ab");
        wire.extend(cf(true, 9, b"p1"));
        wire.extend(cf(false, 0, b"cd"));
        wire.extend(cf(true, 10, b"p2"));
        wire.extend(cf(true, 0, b"ef"));
        assert_eq!(
            s.feed(&wire),
            vec![
                data(DataKind::Binary, b"ab", true, false),
                Ev::Ping(b"p1".to_vec()),
                data(DataKind::Binary, b"cd", false, false),
                Ev::Pong(b"p2".to_vec()),
                data(DataKind::Binary, b"ef", false, true),
            ]
        );
        let sent = s.transmit();
        assert_eq!(sent, vec![sf(true, 10, b"p1")]);
    }

    #[test]
    fn close_while_message_half_received() {
        let mut s = Driver::new(Role::Server);
        let mut wire = cf(false, 1, b"half");
        let mut body = close_body(1001);
        body.extend_from_slice(b"bye");
        wire.extend(cf(true, 8, &body));
        wire.extend(cf(true, 0, b"ignored"));
        assert_eq!(
            s.feed(&wire),
            vec![
                data(DataKind::Text, b"half", true, false),
                Ev::Closed(Some(1001), String::from("bye")),
            ]
        );
        assert_eq!(s.conn.state(), State::CloseReceived);
        assert_eq!(
            s.conn.send(
                Instant(0),
                Fragment::new(DataKind::Text, true, true),
                b"x",
                &mut [0; 16]
            ),
            Err(SendError::Closed)
        );
        assert_eq!(s.transmit(), vec![sf(true, 8, &close_body(1001))]);
        assert!(s.conn.is_closed());
    }

    #[test]
    fn close_handshake_server_initiates() {
        let mut s = Driver::new(Role::Server);
        let mut c = Driver::new(Role::Client);
        s.conn
            .close(Instant(0), CloseCode::GOING_AWAY, "restart")
            .unwrap();
        assert_eq!(s.conn.state(), State::CloseSent);
        assert_eq!(s.conn.ping(Instant(0), b"x"), Err(SendError::Closed));
        let frames = s.transmit();
        assert_eq!(frames.len(), 1);
        assert_eq!(s.conn.poll_timeout(), Some(Instant(5000)));
        // Data the peer sent before it saw our close is still delivered.
        assert_eq!(s.feed(&cf(true, 1, b"late")).len(), 1);
        let evs = c.feed(&frames[0]);
        assert_eq!(evs, vec![Ev::Closed(Some(1001), String::from("restart"))]);
        let echo = c.transmit();
        assert!(c.conn.is_closed());
        assert_eq!(
            s.feed(&echo[0]),
            vec![Ev::Closed(Some(1001), String::new())]
        );
        assert!(s.conn.is_closed());
        assert_eq!(s.conn.poll_timeout(), None);
        assert!(s.transmit().is_empty());
    }

    #[test]
    fn close_handshake_client_initiates_without_body() {
        let mut s = Driver::new(Role::Server);
        let mut c = Driver::new(Role::Client);
        c.conn.close(Instant(0), CloseCode::NORMAL, "").unwrap();
        assert_eq!(
            c.conn.close(Instant(0), CloseCode::NORMAL, ""),
            Err(SendError::Closed)
        );
        let frames = c.transmit();
        let (h, body) = decode_sent(&frames[0]);
        assert!(h.mask.is_some());
        assert_eq!(body, close_body(1000));
        assert_eq!(
            s.feed(&frames[0]),
            vec![Ev::Closed(Some(1000), String::new())]
        );
        let echo = s.transmit();
        assert!(s.conn.is_closed());
        assert_eq!(
            c.feed(&echo[0]),
            vec![Ev::Closed(Some(1000), String::new())]
        );
        assert!(c.conn.is_closed());
        // A bodyless close is echoed bodyless.
        let mut s = Driver::new(Role::Server);
        assert_eq!(
            s.feed(&cf(true, 8, b"")),
            vec![Ev::Closed(None, String::new())]
        );
        assert_eq!(s.transmit(), vec![sf(true, 8, b"")]);
    }

    #[test]
    fn close_timeout() {
        let mut c = Driver::new(Role::Client);
        c.now = Instant(100);
        assert_eq!(c.feed(&sf(true, 9, b"")), vec![Ev::Ping(vec![])]);
        c.conn.close(c.now, CloseCode::NORMAL, "done").unwrap();
        // The timer starts when the close is sent, not when it was asked for: a close
        // queued after a long idle time is not judged late before it leaves.
        assert_eq!(c.conn.poll_timeout(), None);
        c.now = Instant(1_000_000);
        c.transmit();
        assert_eq!(c.conn.poll_timeout(), Some(Instant(1_005_000)));
        assert_eq!(c.conn.handle_timeout(Instant(1_004_999)), None);
        assert_eq!(c.conn.state(), State::CloseSent);
        assert_eq!(
            c.conn.handle_timeout(Instant(1_005_000)),
            Some(Event::TimedOut)
        );
        assert!(c.conn.is_closed());
        assert_eq!(c.conn.poll_timeout(), None);
        assert_eq!(c.conn.handle_timeout(Instant(2_000_000)), None);
        assert_eq!(c.conn.read(&mut [0x81, 0], c.now), Read::closed(2));
    }

    #[test]
    fn close_payload_rules() {
        let s = Role::Server;
        let d = Config::default();
        expect_failure(s, d, &cf(true, 8, &[3]), ProtocolError::InvalidClosePayload);
        expect_failure(
            s,
            d,
            &cf(true, 8, &close_body(1005)),
            ProtocolError::InvalidCloseCode,
        );
        expect_failure(
            s,
            d,
            &cf(true, 8, &close_body(999)),
            ProtocolError::InvalidCloseCode,
        );
        let mut bad = close_body(1000);
        bad.push(0xFF);
        expect_failure(s, d, &cf(true, 8, &bad), ProtocolError::InvalidUtf8);
    }

    #[test]
    fn frame_rules() {
        let s = Role::Server;
        let d = Config::default();
        expect_failure(
            s,
            d,
            &raw(true, RSV1, 1, true, b"a"),
            ProtocolError::ReservedBits,
        );
        expect_failure(
            s,
            d,
            &raw(true, RSV2, 2, true, b""),
            ProtocolError::ReservedBits,
        );
        expect_failure(
            s,
            d,
            &raw(true, RSV3, 9, true, b""),
            ProtocolError::ReservedBits,
        );
        for op in (3..=7).chain(0xB..=0xF) {
            expect_failure(s, d, &cf(true, op, b""), ProtocolError::ReservedOpcode);
        }
        expect_failure(s, d, &cf(true, 9, &[0; 126]), ProtocolError::ControlTooLong);
        expect_failure(s, d, &cf(false, 9, b""), ProtocolError::FragmentedControl);
        expect_failure(
            s,
            d,
            &cf(true, 0, b"x"),
            ProtocolError::UnexpectedContinuation,
        );
        let mut w = cf(false, 1, b"x");
        w.extend(cf(true, 2, b"y"));
        expect_failure(s, d, &w, ProtocolError::ExpectedContinuation);
        expect_failure(s, d, &sf(true, 1, b"x"), ProtocolError::UnmaskedClientFrame);
        expect_failure(
            Role::Client,
            d,
            &cf(true, 1, b"x"),
            ProtocolError::MaskedServerFrame,
        );
        let msb = [0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        expect_failure(s, d, &msb, ProtocolError::InvalidLength);
    }

    #[test]
    fn size_limits_checked_from_the_header() {
        let cfg = Config {
            max_frame_size: 10,
            max_message_size: 15,
            ..Config::default()
        };
        // Only the header is given: the verdict does not wait for the payload.
        let header = &cf(true, 2, &[0; 11])[..6];
        expect_failure(Role::Server, cfg, header, ProtocolError::FrameTooLarge);
        let mut w = cf(false, 2, &[0; 10]);
        w.extend_from_slice(&cf(true, 0, &[0; 6])[..6]);
        expect_failure(Role::Server, cfg, &w, ProtocolError::MessageTooLarge);
        let mut ok = Driver::with(Role::Server, cfg);
        let mut w = cf(false, 2, &[0; 10]);
        w.extend(cf(true, 0, &[0; 5]));
        assert_eq!(
            assemble(&ok.feed(&w)),
            vec![(DataKind::Binary, vec![0; 15])]
        );
    }

    #[test]
    fn utf8_fails_fast_and_at_message_end() {
        let s = Role::Server;
        let d = Config::default();
        // The bad bytes arrive in a frame whose rest is not yet here.
        let mut w = cf(false, 1, "κόσμε".as_bytes());
        let second = cf(true, 0, &[0xF4, 0x90, 0x80, 0x80, b'a', b'b']);
        w.extend_from_slice(&second[..8]);
        expect_failure(s, d, &w, ProtocolError::InvalidUtf8);
        // Incomplete code point at the end of the message.
        let mut w = cf(false, 1, b"a");
        w.extend(cf(true, 0, &[0xE2, 0x82]));
        expect_failure(s, d, &w, ProtocolError::InvalidUtf8);
        // A code point split across frames is fine.
        let mut ok = Driver::new(s);
        let mut w = cf(false, 1, &[b'a', 0xE2]);
        w.extend(cf(true, 0, &[0x82, 0xAC]));
        assert_eq!(
            assemble(&ok.feed(&w)),
            vec![(DataKind::Text, "a€".as_bytes().to_vec())]
        );
    }

    #[test]
    fn extension_rsv1_skips_utf8_validation() {
        let cfg = Config {
            allowed_rsv: RSV1,
            ..Config::default()
        };
        let mut s = Driver::with(Role::Server, cfg);
        let mut w = raw(false, RSV1, 1, true, &[0xFF]);
        w.extend(cf(true, 0, &[0xFE]));
        assert_eq!(
            s.feed(&w),
            vec![
                Ev::Data {
                    kind: DataKind::Text,
                    payload: vec![0xFF],
                    first: true,
                    fin: false,
                    rsv: RSV1
                },
                Ev::Data {
                    kind: DataKind::Text,
                    payload: vec![0xFE],
                    first: false,
                    fin: true,
                    rsv: RSV1
                },
            ]
        );
        // Without RSV1 the message is validated.
        expect_failure(
            Role::Server,
            cfg,
            &cf(true, 1, &[0xFF]),
            ProtocolError::InvalidUtf8,
        );
        // RSV1 on control frames is still reserved.
        expect_failure(
            Role::Server,
            cfg,
            &raw(true, RSV1, 9, true, b""),
            ProtocolError::ReservedBits,
        );
    }

    fn transmitted(c: &mut Connection, now: Instant) -> Vec<u8> {
        let mut out = [0u8; 256];
        let mut all = Vec::new();
        while let Some(n) = c.poll_transmit(now, &mut out).unwrap() {
            all.extend_from_slice(&out[..n]);
        }
        all
    }

    #[test]
    fn keep_alive_pings_a_quiet_peer_and_lets_a_vanished_one_go() {
        let config = Config {
            ping_interval_ms: Some(1000),
            idle_timeout_ms: Some(3000),
            close_timeout_ms: 5000,
            ..Config::default()
        };
        let mut c = Connection::new(Role::Server, config, 0);
        // Before it is driven, the timer is due so that the first call starts the clock.
        assert_eq!(c.poll_timeout(), Some(Instant(0)));
        assert_eq!(c.handle_timeout(Instant(0)), None);
        assert_eq!(c.poll_timeout(), Some(Instant(1000)));
        assert_eq!(c.handle_timeout(Instant(999)), None);
        assert!(transmitted(&mut c, Instant(999)).is_empty());
        assert_eq!(c.handle_timeout(Instant(1000)), None);
        assert_eq!(
            transmitted(&mut c, Instant(1000)),
            [0x89, 0x00],
            "an empty ping"
        );
        assert_eq!(c.poll_timeout(), Some(Instant(2000)));
        // The pong is input: the timers count from it.
        let mut pong = [0x8A, 0x80, 1, 2, 3, 4];
        let read = c.read(&mut pong, Instant(1500));
        assert_eq!(read.consumed, 6);
        assert_eq!(c.poll_timeout(), Some(Instant(2500)));
        for t in [2500, 3500] {
            c.handle_timeout(Instant(t));
            assert_eq!(transmitted(&mut c, Instant(t)), [0x89, 0x00], "at {t}");
        }
        // Nothing since 1500: at 4500 the idle close goes out, then the close timeout runs.
        assert_eq!(c.poll_timeout(), Some(Instant(4500)));
        assert_eq!(c.handle_timeout(Instant(4500)), None);
        let close = transmitted(&mut c, Instant(4500));
        assert_eq!(&close[..4], &[0x88, 14, 0x03, 0xE9]);
        assert_eq!(&close[4..], IDLE_TIMEOUT.as_bytes());
        assert_eq!(c.state(), State::CloseSent);
        assert_eq!(c.poll_timeout(), Some(Instant(9500)));
        assert_eq!(c.handle_timeout(Instant(9500)), Some(Event::TimedOut));
        assert!(c.is_closed());
    }

    #[test]
    fn without_keep_alive_an_open_connection_has_no_timer() {
        let mut c = Connection::new(Role::Server, Config::default(), 0);
        let _ = c.read(&mut [], Instant(0));
        assert_eq!(c.poll_timeout(), None);
        let idle_only = Config {
            idle_timeout_ms: Some(10),
            ..Config::default()
        };
        let mut c = Connection::new(Role::Client, idle_only, 0);
        assert!(transmitted(&mut c, Instant(5)).is_empty());
        assert_eq!(c.poll_timeout(), Some(Instant(15)));
    }

    #[test]
    fn ping_pong_both_roles() {
        let mut c = Driver::new(Role::Client);
        assert_eq!(c.feed(&sf(true, 9, b"hi")), vec![Ev::Ping(b"hi".to_vec())]);
        let pong = c.transmit();
        let (h, body) = decode_sent(&pong[0]);
        assert_eq!(
            (h.opcode, h.mask.is_some(), body),
            (OpCode::Pong, true, b"hi".to_vec())
        );
        c.conn.ping(Instant(0), b"yo").unwrap();
        assert_eq!(
            c.conn.ping(Instant(0), &[0; 126]),
            Err(SendError::ControlTooLong)
        );
        let mut s = Driver::new(Role::Server);
        assert_eq!(s.feed(&c.transmit()[0]), vec![Ev::Ping(b"yo".to_vec())]);
    }

    #[test]
    fn send_rules() {
        let mut c = Connection::new(Role::Client, Config::default(), 7);
        let mut out = [0u8; 64];
        assert_eq!(
            c.send(
                Instant(0),
                Fragment::new(DataKind::Text, false, true),
                b"x",
                &mut out
            ),
            Err(SendError::NoMessageInProgress)
        );
        let mut small = [0xAAu8; 5];
        assert_eq!(
            c.send(
                Instant(0),
                Fragment::new(DataKind::Text, true, true),
                b"hello",
                &mut small
            ),
            Err(SendError::BufferTooSmall(BufferTooSmall { needed: 11 }))
        );
        assert_eq!(small, [0xAA; 5]);
        assert_eq!(
            c.send(
                Instant(0),
                Fragment::new(DataKind::Text, true, false),
                b"he",
                &mut out
            ),
            Ok(8)
        );
        assert_eq!(
            c.send(
                Instant(0),
                Fragment::new(DataKind::Text, true, true),
                b"x",
                &mut out
            ),
            Err(SendError::MessageInProgress)
        );
        let head = c
            .frame_head(Instant(0), Fragment::new(DataKind::Text, false, true), 3)
            .unwrap();
        assert_eq!(head.as_bytes().len(), 6);
        let mut payload = *b"llo";
        apply_mask(&mut payload, head.mask.unwrap(), 0);
        let mut wire = head.as_bytes().to_vec();
        wire.extend_from_slice(&payload);
        let mut s = Driver::new(Role::Server);
        let mut all = Vec::new();
        let mut c = Connection::new(Role::Client, Config::default(), 7);
        let n = c
            .send(
                Instant(0),
                Fragment::new(DataKind::Text, true, false),
                b"he",
                &mut out,
            )
            .unwrap();
        all.extend_from_slice(&out[..n]);
        all.extend_from_slice(&wire);
        assert_eq!(
            assemble(&s.feed(&all)),
            vec![(DataKind::Text, b"hello".to_vec())]
        );
        assert_eq!(
            c.close(Instant(0), CloseCode(1005), ""),
            Err(SendError::InvalidCloseCode)
        );
        assert_eq!(
            c.close(Instant(0), CloseCode::NORMAL, &"x".repeat(124)),
            Err(SendError::ControlTooLong)
        );
        c.close(Instant(0), CloseCode::NORMAL, &"x".repeat(123))
            .unwrap();
        assert_eq!(
            c.send(
                Instant(0),
                Fragment::new(DataKind::Text, true, true),
                b"x",
                &mut out
            ),
            Err(SendError::Closed)
        );
        let mut tiny = [0u8; 10];
        assert_eq!(
            c.poll_transmit(Instant(0), &mut tiny),
            Err(BufferTooSmall {
                needed: 2 + 4 + 125
            })
        );
        let mut big = [0u8; 200];
        assert_eq!(c.poll_transmit(Instant(0), &mut big), Ok(Some(131)));
    }

    #[test]
    fn server_send_is_unmasked() {
        let mut s = Connection::new(Role::Server, Config::default(), 0);
        let mut out = [0u8; 300];
        let n = s
            .send(
                Instant(0),
                Fragment::new(DataKind::Binary, true, true),
                &[5; 200],
                &mut out,
            )
            .unwrap();
        assert_eq!(&out[..n], &sf(true, 2, &[5; 200])[..]);
        let head = s
            .frame_head(
                Instant(0),
                Fragment::new(DataKind::Binary, true, true),
                70_000,
            )
            .unwrap();
        assert_eq!(head.mask, None);
        assert_eq!(head.as_bytes(), &[0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    fn kind() -> impl Strategy<Value = DataKind> {
        prop_oneof![Just(DataKind::Text), Just(DataKind::Binary)]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn sent_message_reads_back(
            client_sends: bool,
            kind in kind(),
            text in "\\PC{0,300}",
            frag_cuts in proptest::collection::vec(0usize..1200, 0..5),
            wire_cuts in proptest::collection::vec(0usize..1500, 0..8),
            seed: u64,
        ) {
            let payload = text.as_bytes();
            let (sr, rr) = if client_sends { (Role::Client, Role::Server) } else { (Role::Server, Role::Client) };
            let mut sender = Connection::new(sr, Config::default(), seed);
            let mut cuts: Vec<usize> = frag_cuts.into_iter().map(|c| c.min(payload.len())).collect();
            cuts.sort_unstable();
            cuts.push(payload.len());
            let mut wire = Vec::new();
            let mut prev = 0;
            let mut out = vec![0u8; 2000];
            for (i, c) in cuts.iter().enumerate() {
                let n = sender.send(Instant(0), Fragment::new(kind, i == 0, i + 1 == cuts.len()), &payload[prev..*c], &mut out).unwrap();
                wire.extend_from_slice(&out[..n]);
                prev = *c;
            }
            let mut wcuts: Vec<usize> = wire_cuts.into_iter().map(|c| c.min(wire.len())).collect();
            wcuts.sort_unstable();
            wcuts.push(wire.len());
            let mut d = Driver::new(rr);
            let mut evs = Vec::new();
            let mut prev = 0;
            for c in wcuts {
                evs.extend(d.feed(&wire[prev..c]));
                prev = c;
            }
            prop_assert_eq!(assemble(&evs), vec![(kind, payload.to_vec())]);
            prop_assert!(d.pending.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_respect_limits(
            server: bool,
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..12),
            max_frame in 0u64..40,
            max_message in 0u64..80,
        ) {
            let cfg = Config { max_frame_size: max_frame, max_message_size: max_message, ..Config::default() };
            let mut d = Driver::with(if server { Role::Server } else { Role::Client }, cfg);
            let mut evs = Vec::new();
            for ch in &chunks {
                evs.extend(d.feed(ch));
                let _ = d.transmit();
            }
            let mut msg_len = 0usize;
            let mut text = Vec::new();
            let mut in_msg = false;
            for ev in &evs {
                if let Ev::Data { kind, payload, first, fin, .. } = ev {
                    prop_assert!(payload.len() as u64 <= max_frame);
                    prop_assert_eq!(*first, !in_msg);
                    if *first { msg_len = 0; text.clear(); }
                    msg_len += payload.len();
                    prop_assert!(msg_len as u64 <= max_message);
                    if *kind == DataKind::Text {
                        text.extend_from_slice(payload);
                        if *fin { prop_assert!(core::str::from_utf8(&text).is_ok()); }
                    }
                    in_msg = !*fin;
                }
            }
        }
    }
}
