//! The server side of HTTP/1.1 requests on one connection: heads, bodies, deadlines and
//! the error answers, following the [machine contract](crate::machine).

use super::{
    write_error_response, BodyFraming, ChunkedDecoder, HeadError, HeadLimits, HeadScanner, Header,
    Request, RequestError, WriteError,
};
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Pause, Read};
use crate::store::ByteStore;
use crate::time::Instant;

/// Limits of a [`RequestReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RequestLimits {
    /// Head size and field count (431 beyond).
    pub head: HeadLimits,
    /// The largest body accepted (413 beyond), whatever its framing.
    pub max_body: u64,
    /// How long a client may take, from the start of a request (or of the connection),
    /// to send its head and body: a client that sends its request a byte at a time
    /// (slowloris) gets 408 and is closed. In milliseconds.
    pub timeout_ms: u64,
}

impl Default for RequestLimits {
    /// 16 KiB heads of 64 fields, 1 MiB bodies, 10 seconds.
    fn default() -> Self {
        RequestLimits {
            head: HeadLimits::DEFAULT,
            max_body: 1024 * 1024,
            timeout_ms: 10_000,
        }
    }
}

/// What a client did, as reported by [`RequestReader::read`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestEvent<'b> {
    /// A complete request head: parse it ([`RequestReader::parse`]), then call
    /// [`RequestReader::expect_body`] or [`RequestReader::refuse`]. The reader takes no
    /// input until then ([`Pause::Decision`]).
    Head(&'b [u8]),
    /// The whole body is in [`RequestReader::body`]. Answer the request, then call
    /// [`RequestReader::next_request`] to read the next one on the connection.
    Body,
    /// The client broke a rule or was too slow (terminal): the error answer is queued for
    /// [`Machine::poll_transmit`], and the connection closes once it is sent.
    Failed(RequestError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Deciding,
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
    Answering,
    Failed,
}

/// Reads the requests of one connection: the head (scanned in linear time, capped), the
/// body into a bounded store `B`, under one deadline per request.
///
/// ```
/// use sockwire_core::http::{BodyFraming, Header, RequestEvent, RequestLimits, RequestReader};
/// use sockwire_core::machine::Status;
/// use sockwire_core::store::FixedBytes;
/// use sockwire_core::time::Instant;
///
/// let now = Instant(0);
/// let mut reader = RequestReader::new(RequestLimits::default(), FixedBytes::<64>::new(), now);
/// let input = b"POST /send HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
/// let read = reader.read(input, now);
/// let Status::Event(RequestEvent::Head(head)) = read.status else { panic!() };
/// let mut fields = [Header::EMPTY; 16];
/// let request = reader.parse(now, head, &mut fields).unwrap(); // None: 400 is queued
/// let framing = BodyFraming::of(&request)?;
/// let at = read.consumed;
/// reader.expect_body(now, framing)?;
/// let read = reader.read(&input[at..], now);
/// assert_eq!(read.status, Status::Event(RequestEvent::Body));
/// assert_eq!(reader.body(), b"hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequestReader<B> {
    limits: RequestLimits,
    scanner: HeadScanner,
    state: State,
    body: B,
    deadline: Option<Instant>,
    owed: Option<u16>,
}

impl<B: ByteStore> RequestReader<B> {
    /// A reader for a connection accepted at `now`; bodies go to `body`.
    pub fn new(limits: RequestLimits, body: B, now: Instant) -> Self {
        RequestReader {
            limits,
            scanner: HeadScanner::new(limits.head),
            state: State::Head,
            body,
            deadline: Some(now.add_millis(limits.timeout_ms)),
            owed: None,
        }
    }

    /// The body of the request being answered.
    pub fn body(&self) -> &[u8] {
        self.body.as_slice()
    }

    /// Whether the reader waits for the start of a request (nothing of it read yet).
    pub fn is_idle(&self) -> bool {
        self.state == State::Head && self.scanner.scanned() == 0
    }

    /// Consumes client bytes and reports at most one event, following the
    /// [machine contract](crate::machine). A partial head is not consumed (the reader
    /// remembers how far it scanned); body bytes are consumed into the body store.
    pub fn read<'b>(&mut self, input: &'b [u8], _now: Instant) -> Read<RequestEvent<'b>> {
        match self.state {
            State::Failed => Read::closed(input.len()),
            State::Deciding | State::Answering => Read::paused(0, Pause::Decision),
            State::Head => match self.scanner.scan(input) {
                Ok(None) => Read::need_more(0),
                Ok(Some(len)) => {
                    self.state = State::Deciding;
                    Read::event(
                        len,
                        RequestEvent::Head(input.get(..len).unwrap_or_default()),
                    )
                }
                Err(e) => Read::event(input.len(), self.fail(RequestError::Head(e))),
            },
            State::Length { remaining } => {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                let chunk = input.get(..take).unwrap_or_default();
                if self.body.push(chunk).is_err() {
                    return Read::event(input.len(), self.fail(RequestError::BodyTooLarge));
                }
                let remaining = remaining.saturating_sub(take as u64);
                if remaining == 0 {
                    return Read::event(take, self.body_done());
                }
                self.state = State::Length { remaining };
                Read::need_more(take)
            }
            State::Chunked(mut decoder) => {
                let (body, max) = (&mut self.body, self.limits.max_body);
                let mut too_large = false;
                let decoded = decoder.decode(input, &mut |data| {
                    let fits = (body.len() as u64).saturating_add(data.len() as u64) <= max;
                    too_large |= !fits || body.push(data).is_err();
                });
                match decoded {
                    Err(e) => Read::event(input.len(), self.fail(RequestError::Chunked(e))),
                    Ok(_) if too_large => {
                        Read::event(input.len(), self.fail(RequestError::BodyTooLarge))
                    }
                    Ok(used) if decoder.is_done() => Read::event(used, self.body_done()),
                    Ok(used) => {
                        self.state = State::Chunked(decoder);
                        Read::need_more(used)
                    }
                }
            }
        }
    }

    fn body_done(&mut self) -> RequestEvent<'static> {
        self.state = State::Answering;
        self.deadline = None;
        RequestEvent::Body
    }

    fn fail(&mut self, error: RequestError) -> RequestEvent<'static> {
        self.state = State::Failed;
        self.deadline = None;
        self.owed = Some(error.status());
        RequestEvent::Failed(error)
    }

    /// After a [`RequestEvent::Head`]: reads the body `framing` announces (from
    /// [`BodyFraming::of`]); a request without one is complete at once (the next read
    /// reports [`RequestEvent::Body`] with an empty body). A body over the limit is
    /// refused with 413 before it is read.
    pub fn expect_body(&mut self, now: Instant, framing: BodyFraming) -> Result<(), RequestError> {
        if self.state != State::Deciding {
            return Ok(());
        }
        self.body.discard(usize::MAX);
        self.state = match framing {
            BodyFraming::None => State::Length { remaining: 0 },
            BodyFraming::Length(n) if n > self.limits.max_body || n > self.body.limit() as u64 => {
                self.refuse(now, RequestError::BodyTooLarge);
                return Err(RequestError::BodyTooLarge);
            }
            BodyFraming::Length(n) => State::Length { remaining: n },
            BodyFraming::Chunked => State::Chunked(ChunkedDecoder::new()),
        };
        Ok(())
    }

    /// Parses a head reported by [`RequestEvent::Head`] into `fields`; a malformed head
    /// is refused (its answer queued) and gives `None`.
    pub fn parse<'h, 'a>(
        &mut self,
        now: Instant,
        head: &'a [u8],
        fields: &'h mut [Header<'a>],
    ) -> Option<Request<'h, 'a>> {
        match Request::parse(head, fields) {
            Ok(Some((request, _))) => Some(request),
            Ok(None) => {
                self.refuse(now, RequestError::Head(HeadError::BadRequestLine));
                None
            }
            Err(e) => {
                self.refuse(now, RequestError::Head(e));
                None
            }
        }
    }

    /// After a [`RequestEvent::Head`]: refuses the request with `error`'s status (its
    /// answer is queued) and ends the connection.
    pub fn refuse(&mut self, _now: Instant, error: RequestError) {
        if self.state != State::Failed {
            self.fail(error);
        }
    }

    /// The answer to the request has been written and the connection stays open: reads
    /// the next request, with a new deadline from `now`.
    pub fn next_request(&mut self, now: Instant) {
        if self.state == State::Failed {
            return;
        }
        self.scanner.reset();
        self.body.discard(usize::MAX);
        self.state = State::Head;
        self.deadline = Some(now.add_millis(self.limits.timeout_ms));
    }

    /// The connection now carries something else (a WebSocket): no more requests or
    /// deadlines.
    pub fn finish(&mut self) {
        self.state = State::Answering;
        self.deadline = None;
    }
}

impl<B: ByteStore> Machine for RequestReader<B> {
    type TimeoutEvent = RequestEvent<'static>;

    /// The error answer, once a request failed.
    fn poll_transmit(
        &mut self,
        _now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let Some(status) = self.owed else {
            return Ok(None);
        };
        // A 401 says how to authenticate (RFC 9110 §11.6.1).
        let challenge: &[(&str, &str)] = if status == 401 {
            &[(
                "WWW-Authenticate",
                "Basic realm=\"sockwire\", charset=\"UTF-8\"",
            )]
        } else {
            &[]
        };
        match write_error_response(status, challenge, out) {
            Ok(n) => {
                self.owed = None;
                Ok(Some(n))
            }
            Err(WriteError::BufferTooSmall(e)) => Err(e),
            Err(_) => {
                self.owed = None;
                Ok(None)
            }
        }
    }

    /// The deadline of the request being read.
    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Ends the connection when the request is not in by its deadline: with 408 when part
    /// of it arrived, silently when the connection was idle.
    fn handle_timeout(&mut self, now: Instant) -> Option<RequestEvent<'static>> {
        let deadline = self.deadline?;
        if now < deadline {
            return None;
        }
        let idle = self.is_idle();
        let event = self.fail(RequestError::Timeout);
        if idle {
            self.owed = None;
        }
        Some(event)
    }

    /// Whether a failed request's answer is out: close the connection.
    fn is_closed(&self) -> bool {
        self.state == State::Failed && self.owed.is_none()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::machine::Status;
    use crate::store::FixedBytes;
    use std::vec::Vec;

    type Reader = RequestReader<FixedBytes<64>>;

    fn reader() -> Reader {
        RequestReader::new(RequestLimits::default(), FixedBytes::new(), Instant(0))
    }

    fn answer(r: &mut Reader) -> Vec<u8> {
        let mut out = [0u8; 256];
        let n = r.poll_transmit(Instant(0), &mut out).unwrap().unwrap();
        out[..n].to_vec()
    }

    /// Feeds a whole request and decides its framing from its head.
    fn request(r: &mut Reader, wire: &[u8]) -> Result<usize, RequestError> {
        let read = r.read(wire, Instant(0));
        let head = match read.status {
            Status::Event(RequestEvent::Head(head)) => head,
            Status::Event(RequestEvent::Failed(e)) => return Err(e),
            other => panic!("{other:?}"),
        };
        let mut fields = [Header::EMPTY; 16];
        let req = r.parse(Instant(0), head, &mut fields).unwrap();
        let framing = BodyFraming::of(&req);
        let mut at = read.consumed;
        match framing {
            Ok(f) => r.expect_body(Instant(0), f)?,
            Err(e) => {
                r.refuse(Instant(0), e);
                return Err(e);
            }
        }
        loop {
            let read = r.read(&wire[at..], Instant(0));
            at += read.consumed;
            match read.status {
                Status::Event(RequestEvent::Body) => return Ok(at),
                Status::Event(RequestEvent::Failed(e)) => return Err(e),
                Status::NeedMore if at == wire.len() => panic!("incomplete"),
                Status::NeedMore => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn keep_alive_requests_one_after_another() {
        let mut r = reader();
        let wire = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let used = request(&mut r, wire).unwrap();
        assert_eq!(r.body(), b"hi");
        assert_eq!(
            r.read(&wire[used..], Instant(1)),
            Read::paused(0, Pause::Decision)
        );
        r.next_request(Instant(1));
        assert_eq!(r.poll_timeout(), Some(Instant(10_001)));
        assert_eq!(request(&mut r, &wire[used..]), Ok(wire.len() - used));
        assert_eq!(r.body(), b"");
    }

    #[test]
    fn refusals_are_answered_and_close() {
        let mut r = reader();
        assert_eq!(
            request(&mut r, b"POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n"),
            Err(RequestError::BodyTooLarge)
        );
        assert!(answer(&mut r).starts_with(b"HTTP/1.1 413 "));
        assert!(r.is_closed());
        assert_eq!(r.read(b"more", Instant(0)), Read::closed(4));

        let mut r = reader();
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n";
        let mut wire = chunked.to_vec();
        wire.extend_from_slice(&[b'x'; 65]);
        assert_eq!(request(&mut r, &wire), Err(RequestError::BodyTooLarge));

        let mut r = reader();
        assert_eq!(
            request(
                &mut r,
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
            ),
            Err(RequestError::Chunked(crate::http::ChunkedError::BadSize))
        );
        assert!(answer(&mut r).starts_with(b"HTTP/1.1 400 "));

        let mut r = reader();
        let read = r.read(b"GET / HTTP/1.1\r\n\tfolded: x\r\n\r\n", Instant(0));
        let Status::Event(RequestEvent::Head(head)) = read.status else {
            panic!("{read:?}");
        };
        let mut fields = [Header::EMPTY; 4];
        assert!(r.parse(Instant(0), head, &mut fields).is_none());
        assert!(answer(&mut r).starts_with(b"HTTP/1.1 400 "));
        assert!(r.is_closed());
    }

    #[test]
    fn slow_heads_get_408_idle_connections_close_quietly() {
        let mut r = reader();
        for b in b"GET / HTTP/1.1\r\n" {
            assert_eq!(r.read(&[*b], Instant(5)).status, Status::NeedMore);
        }
        assert_eq!(r.handle_timeout(Instant(9_999)), None);
        assert_eq!(
            r.handle_timeout(Instant(10_000)),
            Some(RequestEvent::Failed(RequestError::Timeout))
        );
        assert!(answer(&mut r).starts_with(b"HTTP/1.1 408 "));
        assert!(r.is_closed());

        let mut r = reader();
        assert_eq!(
            r.handle_timeout(Instant(10_000)),
            Some(RequestEvent::Failed(RequestError::Timeout))
        );
        let mut out = [0u8; 64];
        assert_eq!(r.poll_transmit(Instant(0), &mut out), Ok(None));
        assert!(r.is_closed());
    }

    /// Drives a reader over `wire` cut at `cuts`, deciding framing from each head;
    /// returns the bodies read and whether the reader failed.
    fn drive(wire: &[u8], cuts: &[usize]) -> (Vec<Vec<u8>>, bool) {
        let mut r = RequestReader::new(
            RequestLimits::default(),
            FixedBytes::<256>::new(),
            Instant(0),
        );
        let mut pending: Vec<u8> = Vec::new();
        let mut bodies = Vec::new();
        let mut pieces = Vec::new();
        let mut last = 0;
        for &c in cuts.iter().chain(core::iter::once(&wire.len())) {
            let c = c.clamp(last, wire.len());
            pieces.push(&wire[last..c]);
            last = c;
        }
        for piece in pieces {
            pending.extend_from_slice(piece);
            loop {
                let read = r.read(&pending, Instant(0));
                let consumed = read.consumed;
                assert!(consumed <= pending.len());
                let mut head = None;
                let go_on = match read.status {
                    Status::Event(RequestEvent::Head(h)) => {
                        head = Some(h.to_vec());
                        true
                    }
                    Status::Event(RequestEvent::Body) => {
                        bodies.push(r.body().to_vec());
                        r.next_request(Instant(0));
                        true
                    }
                    Status::Event(RequestEvent::Failed(e)) => {
                        assert!(e.status() >= 400);
                        false
                    }
                    Status::NeedMore => false,
                    Status::Paused(_) => panic!("a decision was left open"),
                    Status::Closed => false,
                };
                pending.drain(..consumed);
                if let Some(head) = head {
                    let mut fields = [Header::EMPTY; 64];
                    if let Some(req) = r.parse(Instant(0), &head, &mut fields) {
                        match BodyFraming::of(&req) {
                            Ok(f) => {
                                let _ = r.expect_body(Instant(0), f);
                            }
                            Err(e) => r.refuse(Instant(0), e),
                        }
                    }
                }
                if !go_on {
                    break;
                }
            }
        }
        let failed = r.is_closed() || {
            let mut out = [0u8; 256];
            r.poll_transmit(Instant(0), &mut out)
                .ok()
                .flatten()
                .is_some()
        };
        (bodies, failed)
    }

    proptest::proptest! {
        #[test]
        fn split_anywhere_reads_the_same(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100),
            chunked in proptest::prelude::any::<bool>(),
            cuts in proptest::collection::vec(0usize..400, 0..8),
        ) {
            let mut wire = Vec::new();
            if chunked {
                wire.extend_from_slice(b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
                for part in body.chunks(7) {
                    wire.extend_from_slice(std::format!("{:x}\r\n", part.len()).as_bytes());
                    wire.extend_from_slice(part);
                    wire.extend_from_slice(b"\r\n");
                }
                wire.extend_from_slice(b"0\r\n\r\n");
            } else {
                wire.extend_from_slice(std::format!("POST /a HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
                wire.extend_from_slice(&body);
            }
            wire.extend_from_slice(b"GET /b HTTP/1.1\r\n\r\n");
            let mut cuts = cuts;
            cuts.sort_unstable();
            let (bodies, failed) = drive(&wire, &cuts);
            proptest::prop_assert!(!failed);
            proptest::prop_assert_eq!(bodies, std::vec![body, Vec::new()]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            wire in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            cuts in proptest::collection::vec(0usize..600, 0..8),
        ) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let _ = drive(&wire, &cuts);
        }
    }
}
