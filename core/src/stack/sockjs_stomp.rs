//! [`SockJsStomp`]: a STOMP server session carried by a SockJS session over its HTTP
//! transports (xhr, xhr_streaming, eventsource, htmlfile, jsonp).

use super::endpoint::StompEndpoint;
use super::stomp_stack::{DeliverError, StackEvent, WhenFull, SLOW_CONSUMER};
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Read, Status};
use crate::sockjs::{
    Attach, BodyEncoding, Config, QueueError, Receiving, SendBody, SendBodyError, SendWithError,
    SockJsSession, Transport,
};
use crate::stomp::{
    ActionError, DecodeError, MessageError, OutgoingMessage, ServerEvent, ServerSession,
    SessionError,
};
use crate::stomp::{FixedStorage, SessionStorage};
use crate::store::ByteStore;
use crate::time::Instant;

/// Why a send request's body was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BodyError {
    /// Not a JSON array of strings: answer 500 with [`SendBodyError::message`].
    Broken(SendBodyError),
    /// The STOMP bytes waiting to be read leave no room: read the session's events
    /// first; if there are none, the frame is too large (the session ends).
    Full,
}

/// A STOMP server session whose frames travel as the messages of a SockJS session on
/// HTTP transports. Send requests' bodies go in with [`SockJsStomp::receive_body`];
/// their STOMP events come out of [`StompEndpoint::read`] (its input is not used);
/// receiving requests attach with [`SockJsStomp::attach_receiver`] and take their frames
/// from [`Machine::poll_transmit`].
#[derive(Debug, Clone)]
pub struct SockJsStomp<
    S,
    const SUBS: usize = 16,
    const TXS: usize = 4,
    const UNACKED: usize = 64,
    const HELD: usize = 4096,
    T: SessionStorage = FixedStorage,
> {
    sockjs: SockJsSession<S>,
    session: ServerSession<SUBS, TXS, UNACKED, HELD, T>,
    inbound: S,
    taken: usize,
    over: bool,
    too_large: bool,
}

impl<
        S: ByteStore,
        const SUBS: usize,
        const TXS: usize,
        const UNACKED: usize,
        const HELD: usize,
        T: SessionStorage,
    > SockJsStomp<S, SUBS, TXS, UNACKED, HELD, T>
{
    /// A session created at `now`: messages for the client wait in `queue`, STOMP bytes
    /// from the client in `inbound`.
    pub fn new(
        config: &Config<'_>,
        session: ServerSession<SUBS, TXS, UNACKED, HELD, T>,
        queue: S,
        inbound: S,
        now: Instant,
    ) -> Self {
        SockJsStomp {
            sockjs: SockJsSession::new(config, queue, now),
            session,
            inbound,
            taken: 0,
            over: false,
            too_large: false,
        }
    }

    /// The SockJS session.
    pub fn sockjs(&self) -> &SockJsSession<S> {
        &self.sockjs
    }

    /// The STOMP session.
    pub fn session(&self) -> &ServerSession<SUBS, TXS, UNACKED, HELD, T> {
        &self.session
    }

    /// A send request's body (`xhr_send`, or `jsonp_send` in `encoding`): its messages
    /// are the next bytes of the client's STOMP stream.
    pub fn receive_body(
        &mut self,
        now: Instant,
        body: &[u8],
        encoding: BodyEncoding,
    ) -> Result<(), BodyError> {
        self.flush(now);
        let parsed = SendBody::parse(body, encoding).map_err(BodyError::Broken)?;
        let mut messages = parsed.messages();
        while messages.remaining() > 0 {
            let want = parsed.max_message_len();
            let Some(spare) = self.inbound.spare(want) else {
                if self.inbound.is_empty() {
                    self.too_large = true;
                }
                return Err(BodyError::Full);
            };
            match messages.next_into(spare) {
                Some(Ok(m)) => {
                    let n = m.len();
                    self.inbound.commit(n);
                }
                Some(Err(BufferTooSmall { .. })) | None => return Err(BodyError::Full),
            }
        }
        Ok(())
    }

    /// A receiving request arrived (see [`SockJsSession::attach_receiver`]).
    pub fn attach_receiver(
        &mut self,
        now: Instant,
        transport: Transport,
        callback: &str,
    ) -> Attach {
        self.flush(now);
        self.sockjs.attach_receiver(now, transport, callback)
    }

    /// The receiving response ended (see [`SockJsSession::detach_receiver`]).
    pub fn detach_receiver(&mut self, now: Instant) {
        self.sockjs.detach_receiver(now);
    }

    /// The receiving request broke off (see [`SockJsSession::receiver_interrupted`]):
    /// the SockJS session closes, and with it the STOMP session.
    pub fn receiver_interrupted(&mut self, now: Instant) {
        self.sockjs.receiver_interrupted(now);
    }

    /// Moves the frames the STOMP session owes into the SockJS queue, and closes the
    /// SockJS session once the STOMP session is over.
    fn flush(&mut self, now: Instant) {
        self.inbound.discard(self.taken);
        self.taken = 0;
        if self.too_large {
            self.too_large = false;
            let _ = self.session.close(now, "frame too large");
        }
        let Self {
            sockjs, session, ..
        } = self;
        loop {
            let owed = |buf: &mut [u8]| match session.poll_transmit(now, buf) {
                Ok(Some(n)) => Ok(n),
                Ok(None) => Err(None),
                Err(e) => Err(Some(e.needed)),
            };
            if sockjs.send_with(now, 64, owed, |e| *e).is_err() {
                break;
            }
        }
        if self.session.is_closed() && !self.sockjs.is_ending() {
            self.sockjs.close(now, 3000, "Go away!");
        }
    }
}

impl<
        S: ByteStore,
        const SUBS: usize,
        const TXS: usize,
        const UNACKED: usize,
        const HELD: usize,
        T: SessionStorage,
    > StompEndpoint for SockJsStomp<S, SUBS, TXS, UNACKED, HELD, T>
{
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<StackEvent<'_>> {
        self.flush(now);
        let _ = input;
        if self.over {
            return Read::closed(0);
        }
        let sockjs_over = self.sockjs.is_ending() && !self.session.is_ending();
        let full = self.inbound.room() == 0;
        let read = self.session.read(self.inbound.as_slice(), now);
        self.taken = read.consumed;
        match read.status {
            Status::Event(e) => {
                if matches!(
                    e,
                    ServerEvent::Disconnect { .. }
                        | ServerEvent::ProtocolError(_)
                        | ServerEvent::HeartbeatTimeout
                        | ServerEvent::ConnectTimeout
                ) {
                    self.over = true;
                }
                Read::event(0, StackEvent::Stomp(e))
            }
            Status::Paused(p) => Read::paused(0, p),
            Status::NeedMore if sockjs_over => {
                self.over = true;
                Read::event(0, StackEvent::TransportClosed)
            }
            Status::NeedMore if full => {
                self.too_large = true;
                self.over = true;
                let e = SessionError::Decode(DecodeError::BodyTooLarge);
                Read::event(0, StackEvent::Stomp(ServerEvent::ProtocolError(e)))
            }
            Status::NeedMore => Read::need_more(0),
            Status::Closed => Read::closed(0),
        }
    }

    fn accept_connect_as(&mut self, now: Instant, user_name: &str) -> Result<(), ActionError> {
        self.flush(now);
        let r = self.session.accept_connect_as(now, user_name);
        self.flush(now);
        r
    }

    fn reject_connect(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        self.flush(now);
        let r = self.session.reject_connect(now, message);
        self.flush(now);
        r
    }

    fn refuse(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        let r = self.session.refuse(now, message);
        self.flush(now);
        r
    }

    fn close(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        self.flush(now);
        let r = self.session.close(now, message);
        self.flush(now);
        r
    }

    fn deliver<D>(
        &mut self,
        now: Instant,
        message: OutgoingMessage<'_, D>,
        when_full: WhenFull,
    ) -> Result<(), DeliverError>
    where
        D: IntoIterator<Item = u8> + Clone,
    {
        self.flush(now);
        if !self.session.is_connected() {
            return Err(DeliverError::Refused(MessageError::NotConnected));
        }
        let guess = message
            .body
            .len()
            .saturating_add(message.headers.as_bytes().len())
            .saturating_add(128);
        let Self {
            sockjs, session, ..
        } = self;
        let encode = |buf: &mut [u8]| session.write_message(now, message.clone(), buf);
        match sockjs.send_with(now, guess, encode, MessageError::needed) {
            Ok(()) => Ok(()),
            Err(SendWithError::Encode(e)) => Err(DeliverError::Refused(e)),
            Err(SendWithError::Queue(QueueError::Closed)) => {
                Err(DeliverError::Refused(MessageError::NotConnected))
            }
            Err(SendWithError::Queue(QueueError::Full)) if when_full == WhenFull::Refuse => {
                Err(DeliverError::Full)
            }
            Err(SendWithError::Queue(QueueError::Full)) => {
                let _ = self.session.close(now, SLOW_CONSUMER);
                self.flush(now);
                Err(DeliverError::SlowConsumer)
            }
        }
    }

    fn is_connected(&self) -> bool {
        self.session.is_connected()
    }

    fn outbound_is_drained(&mut self, now: Instant) -> bool {
        self.flush(now);
        self.sockjs.queued_bytes() == 0
    }
}

impl<
        S: ByteStore,
        const SUBS: usize,
        const TXS: usize,
        const UNACKED: usize,
        const HELD: usize,
        T: SessionStorage,
    > Machine for SockJsStomp<S, SUBS, TXS, UNACKED, HELD, T>
{
    type TimeoutEvent = StackEvent<'static>;

    /// The next frame for the attached receiving request, wrapped for its transport.
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.flush(now);
        let n = self.sockjs.poll_transmit(now, out);
        self.flush(now);
        n
    }

    /// The STOMP heart-beats and CONNECT deadline, and the SockJS heart-beats and
    /// disconnect delay; once the stack is over, only the SockJS ones (the STOMP
    /// session's are no longer run).
    fn poll_timeout(&self) -> Option<Instant> {
        if self.over {
            return self.sockjs.poll_timeout();
        }
        crate::time::earliest(self.session.poll_timeout(), self.sockjs.poll_timeout())
    }

    /// A STOMP timeout ends the session; the disconnect delay passing without a
    /// receiving request ends the SockJS session and with it the STOMP one.
    fn handle_timeout(&mut self, now: Instant) -> Option<StackEvent<'static>> {
        self.flush(now);
        if self.over {
            let _ = self.sockjs.handle_timeout(now);
            return None;
        }
        if let Some(e) = self.session.handle_timeout(now) {
            self.over = true;
            self.sockjs.close(now, 3000, "Go away!");
            return Some(StackEvent::Stomp(e));
        }
        self.flush(now);
        if self.sockjs.handle_timeout(now).is_some() {
            self.over = true;
            return Some(StackEvent::TransportClosed);
        }
        None
    }

    /// Once the SockJS session is forgotten.
    fn is_closed(&self) -> bool {
        self.sockjs.is_closed()
    }
}

impl<
        S: ByteStore,
        const SUBS: usize,
        const TXS: usize,
        const UNACKED: usize,
        const HELD: usize,
        T: SessionStorage,
    > Receiving for SockJsStomp<S, SUBS, TXS, UNACKED, HELD, T>
{
    fn poll_frame(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.poll_transmit(now, out)
    }

    fn has_receiver(&self) -> bool {
        self.sockjs.has_receiver()
    }

    fn frame_room(&self) -> usize {
        self.sockjs.frame_room()
    }
}
