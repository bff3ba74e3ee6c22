//! [`ReceiverResponse`]: the HTTP response of one receiving request, written from the
//! frames its session gives.

use super::frame::{CloseFrame, Frame};
use super::response::{write_transport_head, BodyLength, RequestContext};
use super::transport::{Framing, Transport};
use super::{Config, SockJsSession};
use crate::buf::BufferTooSmall;
use crate::machine::Machine;
use crate::store::ByteStore;
use crate::time::Instant;

/// The longest `Origin` and `JSESSIONID` kept for a response written later.
pub const MAX_KEPT_HEADER: usize = 256;

/// Room kept before a polling frame for the response head.
const HEAD_ROOM: usize = 2048;

/// A session a receiving request can be attached to.
pub trait Receiving {
    /// The next frame for the attached request (see [`Machine::poll_transmit`]).
    fn poll_frame(&mut self, now: Instant, out: &mut [u8])
        -> Result<Option<usize>, BufferTooSmall>;
    /// Whether the request is still attached (a response ends when it is not).
    fn has_receiver(&self) -> bool;
    /// The room to offer [`Receiving::poll_frame`] so that one frame carries everything
    /// queued, up to the response limit (see [`SockJsSession::frame_room`]).
    fn frame_room(&self) -> usize;
}

impl<S: ByteStore> Receiving for SockJsSession<S> {
    fn poll_frame(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.poll_transmit(now, out)
    }

    fn has_receiver(&self) -> bool {
        SockJsSession::has_receiver(self)
    }

    fn frame_room(&self) -> usize {
        SockJsSession::frame_room(self)
    }
}

/// Where a [`ReceiverResponse`] stands after writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Progress {
    /// The response waits for more frames.
    Waiting,
    /// A polling response is complete: the connection takes the next request.
    Done,
    /// A streaming response is complete, or a polling one on a connection that does not
    /// stay open: it ends with the connection, close it.
    Close,
}

/// The response to one receiving request (`xhr`, `xhr_streaming`, `eventsource`,
/// `htmlfile`, `jsonp`): a streaming response writes its head and prelude at once and
/// frames as they come; a polling one writes head and frame together once a frame is
/// there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverResponse {
    transport: Transport,
    callback: heapless::String<{ super::MAX_CALLBACK_LEN }>,
    origin: Option<heapless::String<MAX_KEPT_HEADER>>,
    jsessionid: Option<heapless::String<MAX_KEPT_HEADER>>,
    started: bool,
    /// The connection takes another request after a polling response.
    keep_alive: bool,
}

fn kept(value: Option<&str>) -> Option<heapless::String<MAX_KEPT_HEADER>> {
    let mut s = heapless::String::new();
    s.push_str(value?).ok()?;
    Some(s)
}

impl ReceiverResponse {
    /// The response to a request of `transport` (with its `callback`) and context `ctx`.
    pub fn new(transport: Transport, callback: &str, ctx: &RequestContext<'_>) -> Self {
        let mut cb = heapless::String::new();
        let _ = cb.push_str(callback);
        ReceiverResponse {
            transport,
            callback: cb,
            origin: kept(ctx.origin),
            jsessionid: kept(ctx.jsessionid),
            started: false,
            keep_alive: true,
        }
    }

    /// Whether the connection stays open after a polling response
    /// ([`keeps_alive`](crate::http::keeps_alive) of the request): when it does not, a
    /// finished response is [`Progress::Close`].
    pub fn with_keep_alive(mut self, keep_alive: bool) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    fn context(&self) -> RequestContext<'_> {
        RequestContext {
            origin: self.origin.as_deref(),
            request_headers: None,
            jsessionid: self.jsessionid.as_deref(),
            if_none_match: None,
        }
    }

    /// Writes into `out` what the response has to say now: the head and prelude of a
    /// streaming response, and the frames `session` owes the attached request.
    pub fn write<R: Receiving, S: ByteStore>(
        &mut self,
        session: &mut R,
        config: &Config<'_>,
        now: Instant,
        out: &mut S,
    ) -> Progress {
        let streaming = self.transport.is_streaming();
        if streaming && !self.started {
            self.started = true;
            let ctx = self.context();
            let framing = Framing::with_callback(self.transport, &self.callback);
            let head = |buf: &mut [u8]| {
                let n =
                    write_transport_head(self.transport, config, &ctx, BodyLength::UntilClose, buf)
                        .map_err(|_| BufferTooSmall {
                            needed: buf.len().saturating_mul(2).max(1024),
                        })?;
                let rest = buf.get_mut(n..).unwrap_or_default();
                let m = framing.write_prelude(rest).map_err(|e| BufferTooSmall {
                    needed: e.needed.saturating_add(n),
                })?;
                Ok(n + m)
            };
            if out
                .write_with(1024 + 2048, head, |e: &BufferTooSmall| Some(e.needed))
                .is_err()
            {
                return Progress::Close;
            }
        }
        loop {
            let was_attached = session.has_receiver();
            let wrote = if streaming {
                let frame = |buf: &mut [u8]| match session.poll_frame(now, buf) {
                    Ok(Some(n)) => Ok(n),
                    Ok(None) => Err(None),
                    Err(e) => Err(Some(e.needed)),
                };
                out.write_with(256, frame, |e| *e).is_ok()
            } else {
                self.write_polled(session, config, now, out)
            };
            if was_attached && !session.has_receiver() {
                return if streaming || !self.keep_alive {
                    Progress::Close
                } else {
                    Progress::Done
                };
            }
            if !wrote || !streaming {
                return Progress::Waiting;
            }
        }
    }

    /// A polling response: the frame, then its head before it.
    fn write_polled<R: Receiving, S: ByteStore>(
        &self,
        session: &mut R,
        config: &Config<'_>,
        now: Instant,
        out: &mut S,
    ) -> bool {
        let ctx = self.context();
        // Room for everything queued up to the response limit, so that one answer
        // drains it; a single larger message gets the room it needs.
        let room = session.frame_room().max(256);
        let limit = core::cell::Cell::new(room);
        let whole = |buf: &mut [u8]| {
            let end = HEAD_ROOM.saturating_add(limit.get());
            let body = buf.get_mut(HEAD_ROOM..end).ok_or(Some(end))?;
            let n = match session.poll_frame(now, body) {
                Ok(Some(n)) => n,
                Ok(None) => return Err(None),
                Err(e) => {
                    limit.set(e.needed);
                    return Err(Some(e.needed.saturating_add(HEAD_ROOM)));
                }
            };
            let mut head = [0u8; HEAD_ROOM];
            let h = write_transport_head(
                self.transport,
                config,
                &ctx,
                BodyLength::Fixed(n as u64),
                &mut head,
            )
            .map_err(|_| None)?;
            if let (Some(dst), Some(src)) = (buf.get_mut(HEAD_ROOM - h..HEAD_ROOM), head.get(..h)) {
                dst.copy_from_slice(src);
            }
            buf.copy_within(HEAD_ROOM - h..HEAD_ROOM + n, 0);
            Ok(h + n)
        };
        out.write_with(HEAD_ROOM + room, whole, |e| *e).is_ok()
    }

    /// The whole answer to a receiving request that gets no session, only `close` in the
    /// transport's framing: [`CloseFrame::ANOTHER_CONNECTION_STILL_OPEN`] while another
    /// request is attached, [`CloseFrame::TOO_MANY_SESSIONS`] for a new session over the
    /// server's limits.
    pub fn write_close<S: ByteStore>(
        &self,
        close: CloseFrame<'_>,
        config: &Config<'_>,
        out: &mut S,
    ) -> bool {
        let ctx = self.context();
        let framing = Framing::with_callback(self.transport, &self.callback);
        let whole = |buf: &mut [u8]| -> Result<usize, Option<usize>> {
            let mut frame = [0u8; 256];
            let n = framing
                .write_frame(&Frame::Close(close), &mut frame)
                .map_err(|_| None)?;
            let h = write_transport_head(
                self.transport,
                config,
                &ctx,
                BodyLength::Fixed(n as u64),
                buf,
            )
            .map_err(|_| Some(HEAD_ROOM))?;
            let dst = buf.get_mut(h..h + n).ok_or(Some(h + n))?;
            dst.copy_from_slice(frame.get(..n).unwrap_or_default());
            Ok(h + n)
        };
        out.write_with(HEAD_ROOM, whole, |e| *e).is_ok()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::store::FixedBytes;

    #[test]
    fn polling_and_streaming_responses() {
        let config = Config::default();
        let ctx = RequestContext {
            origin: Some("http://a"),
            ..RequestContext::default()
        };
        let mut session = SockJsSession::new(&config, FixedBytes::<1024>::new(), Instant(0));
        let mut out = FixedBytes::<8192>::new();
        session.attach_receiver(Instant(0), Transport::Xhr, "");
        let mut poll = ReceiverResponse::new(Transport::Xhr, "", &ctx);
        assert_eq!(
            poll.write(&mut session, &config, Instant(0), &mut out),
            Progress::Done
        );
        let text = std::string::String::from_utf8_lossy(out.as_slice()).into_owned();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Access-Control-Allow-Origin: http://a\r\n"));
        assert!(text.ends_with("Content-Length: 2\r\n\r\no\n"), "{text}");
        out.discard(usize::MAX);

        session.attach_receiver(Instant(1), Transport::XhrStreaming, "");
        let mut stream = ReceiverResponse::new(Transport::XhrStreaming, "", &ctx);
        assert_eq!(
            stream.write(&mut session, &config, Instant(1), &mut out),
            Progress::Waiting
        );
        session.send(Instant(2), "x").unwrap();
        assert_eq!(
            stream.write(&mut session, &config, Instant(2), &mut out),
            Progress::Waiting
        );
        let text = std::string::String::from_utf8_lossy(out.as_slice()).into_owned();
        assert!(
            text.contains("Connection: close\r\n\r\n") && text.ends_with("hhh\na[\"x\"]\n"),
            "{text}"
        );
        let busy = ReceiverResponse::new(Transport::Xhr, "", &ctx);
        out.discard(usize::MAX);
        assert!(busy.write_close(CloseFrame::ANOTHER_CONNECTION_STILL_OPEN, &config, &mut out));
        assert!(out
            .as_slice()
            .ends_with(b"c[2010,\"Another connection still open\"]\n"));
    }
}

#[cfg(test)]
mod polling_tests {
    extern crate std;
    use super::*;
    use crate::store::FixedBytes;
    use std::string::String;

    /// The body of the one response in `out`.
    fn body(out: &FixedBytes<65536>) -> String {
        let text = String::from_utf8_lossy(out.as_slice()).into_owned();
        text.split_once("\r\n\r\n")
            .map(|(_, b)| b.into())
            .unwrap_or_default()
    }

    #[test]
    fn a_poll_drains_everything_queued_up_to_the_response_limit() {
        let config = Config {
            response_limit: 4096,
            ..Config::default()
        };
        let ctx = RequestContext::default();
        let mut session = SockJsSession::new(&config, FixedBytes::<65536>::new(), Instant(0));
        let mut out = FixedBytes::<65536>::new();
        session.attach_receiver(Instant(0), Transport::Xhr, "");
        let mut poll = ReceiverResponse::new(Transport::Xhr, "", &ctx);
        assert_eq!(
            poll.write(&mut session, &config, Instant(0), &mut out),
            Progress::Done
        );
        out.discard(usize::MAX);
        for i in 0..100 {
            session.send(Instant(1), &std::format!("m{i}")).unwrap();
        }
        session.attach_receiver(Instant(2), Transport::Xhr, "");
        let mut poll = ReceiverResponse::new(Transport::Xhr, "", &ctx);
        assert_eq!(
            poll.write(&mut session, &config, Instant(2), &mut out),
            Progress::Done
        );
        let all: std::vec::Vec<String> = (0..100).map(|i| std::format!("\"m{i}\"")).collect();
        assert_eq!(body(&out), std::format!("a[{}]\n", all.join(",")));
        assert_eq!(session.queued_messages(), 0);
        out.discard(usize::MAX);

        // A request with `Connection: close` ends with its connection.
        session.attach_receiver(Instant(2), Transport::Xhr, "");
        let mut poll = ReceiverResponse::new(Transport::Xhr, "", &ctx).with_keep_alive(false);
        session.send(Instant(2), "last").unwrap();
        assert_eq!(
            poll.write(&mut session, &config, Instant(2), &mut out),
            Progress::Close
        );
        out.discard(usize::MAX);

        // Past the response limit, the rest waits for the next poll.
        let big = "x".repeat(1000);
        for _ in 0..6 {
            session.send(Instant(3), &big).unwrap();
        }
        session.attach_receiver(Instant(4), Transport::Xhr, "");
        let mut poll = ReceiverResponse::new(Transport::Xhr, "", &ctx);
        assert_eq!(
            poll.write(&mut session, &config, Instant(4), &mut out),
            Progress::Done
        );
        assert_eq!(body(&out).matches(&big).count(), 4);
        assert_eq!(session.queued_messages(), 2);
    }
}
