//! [`StompClientStack`]: a STOMP client session on a [`Carrier`] (TCP, or a WebSocket in
//! the client role) as one machine.

use super::carrier::{finish_transport, Carrier, FrameError, TransportClosed};
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Read, Status};
use crate::stomp::{ClientError, ClientEvent, ClientSession, EncodeError};
use crate::store::ByteStore;
use crate::time::Instant;

/// What happened on a [`StompClientStack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStackEvent<'a> {
    /// What the server's STOMP session did.
    Stomp(ClientEvent<'a>),
    /// The transport ended under the session (terminal).
    TransportClosed,
    /// A server frame larger than the inbound store (terminal): the transport is ended.
    FrameTooLarge,
}

/// The size a frame builder asked for, when it ran out of room.
fn needed(e: &ClientError) -> Option<usize> {
    match e {
        ClientError::Encode(EncodeError::BufferTooSmall(e)) => Some(e.needed),
        _ => None,
    }
}

/// A STOMP client session on a carrier, with a bounded store `S` for server bytes not yet
/// decoded (its limit is the largest frame accepted). Frames are built by the session's
/// own builders through [`StompClientStack::send`]; heart-beats go out by themselves.
/// Follows the [machine contract](crate::machine).
///
/// ```
/// use sockwire_core::machine::{Machine, Status};
/// use sockwire_core::stack::{ClientStackEvent, StompClientStack, TcpCarrier};
/// use sockwire_core::stomp::{ClientEvent, ClientSession, ConnectOptions, Limits};
/// use sockwire_core::store::FixedBytes;
/// use sockwire_core::time::Instant;
///
/// let now = Instant(0);
/// let session: ClientSession = ClientSession::new(Limits::default());
/// let carrier = TcpCarrier::new(FixedBytes::<512>::new());
/// let mut stack = StompClientStack::new(carrier, session, FixedBytes::<512>::new());
/// let options = ConnectOptions { host: "h", ..ConnectOptions::default() };
/// stack.send(now, |s, now, out| s.connect(now, &options, out))?;
/// let mut out = [0u8; 256];
/// let n = stack.poll_transmit(now, &mut out)?.unwrap();
/// assert!(out[..n].starts_with(b"CONNECT\n"));
/// let mut input = *b"CONNECTED\nversion:1.2\n\n\0";
/// let read = stack.read(&mut input, now);
/// assert!(matches!(read.status, Status::Event(ClientStackEvent::Stomp(ClientEvent::Connected { .. }))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct StompClientStack<
    C,
    S,
    const SUBSCRIPTIONS: usize = 16,
    const RECEIPTS: usize = 16,
    const ID_LEN: usize = 64,
> {
    carrier: C,
    session: ClientSession<SUBSCRIPTIONS, RECEIPTS, ID_LEN>,
    inbound: S,
    /// Server bytes the last event took from `inbound`, dropped at the next call.
    taken: usize,
    /// The transport ended; frames received before still come out first.
    transport_closed: bool,
    /// The terminal event was reported.
    over: bool,
}

impl<
        C: Carrier,
        S: ByteStore,
        const SUBSCRIPTIONS: usize,
        const RECEIPTS: usize,
        const ID_LEN: usize,
    > StompClientStack<C, S, SUBSCRIPTIONS, RECEIPTS, ID_LEN>
{
    /// `session` on `carrier`, with `inbound` for server bytes not yet decoded.
    pub fn new(
        carrier: C,
        session: ClientSession<SUBSCRIPTIONS, RECEIPTS, ID_LEN>,
        inbound: S,
    ) -> Self {
        StompClientStack {
            carrier,
            session,
            inbound,
            taken: 0,
            transport_closed: false,
            over: false,
        }
    }

    /// The STOMP session.
    pub fn session(&self) -> &ClientSession<SUBSCRIPTIONS, RECEIPTS, ID_LEN> {
        &self.session
    }

    /// The carrier.
    pub fn carrier(&self) -> &C {
        &self.carrier
    }

    /// Drops what the last event borrowed, moves an owed heart-beat into the carrier, and
    /// ends the carrier once the session is over.
    fn flush(&mut self, now: Instant) {
        self.inbound.discard(self.taken);
        self.taken = 0;
        let Self {
            carrier, session, ..
        } = self;
        let owed = |buf: &mut [u8]| match session.poll_transmit(now, buf) {
            Ok(Some(n)) => Ok(n),
            Ok(None) => Err(None),
            Err(e) => Err(Some(e.needed)),
        };
        let _ = carrier.send_frame(now, 2, owed, |e| *e);
        if self.session.is_closed() && !self.transport_closed {
            self.carrier.end(now);
        }
    }

    /// Sends one frame that `build` writes with one of [`ClientSession`]'s builders
    /// (`connect`, `subscribe`, `send`, `ack`, ..., `disconnect`), framed for the wire.
    /// A full outbound store is [`FrameError::Full`] and nothing is sent: wait for
    /// [`Machine::poll_transmit`] to drain it and try again.
    pub fn send(
        &mut self,
        now: Instant,
        mut build: impl FnMut(
            &mut ClientSession<SUBSCRIPTIONS, RECEIPTS, ID_LEN>,
            Instant,
            &mut [u8],
        ) -> Result<usize, ClientError>,
    ) -> Result<(), FrameError<ClientError>> {
        self.flush(now);
        let Self {
            carrier, session, ..
        } = self;
        let sent = carrier.send_frame(now, 256, |out| build(session, now, out), needed);
        self.flush(now);
        sent
    }

    /// Consumes wire bytes and reports at most one event, following the
    /// [machine contract](crate::machine). Events borrow the stack: drop them before the
    /// next call.
    pub fn read(&mut self, input: &mut [u8], now: Instant) -> Read<ClientStackEvent<'_>> {
        self.flush(now);
        if self.over {
            let closed = &mut self.transport_closed;
            finish_transport(&mut self.carrier, &mut self.inbound, closed, input, now);
            return Read::closed(input.len());
        }
        let received = if self.transport_closed {
            Read::need_more(input.len())
        } else {
            self.carrier.receive(input, now, &mut self.inbound)
        };
        let wire = received.consumed;
        let store_full = matches!(received.status, Status::Paused(_)) && self.inbound.room() == 0;
        if matches!(received.status, Status::Event(TransportClosed)) {
            self.transport_closed = true;
        }
        let read = self.session.read(self.inbound.as_slice(), now);
        self.taken = read.consumed;
        match read.status {
            Status::Event(e) => {
                if self.session.is_closed() {
                    self.over = true;
                }
                Read::event(wire, ClientStackEvent::Stomp(e))
            }
            Status::Paused(p) => Read::paused(wire, p),
            Status::NeedMore | Status::Closed if self.transport_closed => {
                // What follows the transport's end is for the next read, which finishes
                // the transport.
                self.over = true;
                Read::event(wire, ClientStackEvent::TransportClosed)
            }
            Status::NeedMore if store_full => {
                self.over = true;
                self.carrier.end(now);
                Read::event(wire, ClientStackEvent::FrameTooLarge)
            }
            Status::NeedMore => Read::need_more(wire),
            Status::Closed => {
                self.over = true;
                Read::closed(input.len())
            }
        }
    }

    /// Bytes waiting to be written at `now` (an owed heart-beat moved in), for writing
    /// straight from the stack; report what was written with
    /// [`StompClientStack::advance`].
    pub fn outbound(&mut self, now: Instant) -> &[u8] {
        self.flush(now);
        self.carrier.outbound()
    }

    /// `n` bytes of [`StompClientStack::outbound`] were written at `now`.
    pub fn advance(&mut self, now: Instant, n: usize) {
        self.carrier.advance(now, n);
        self.flush(now);
    }
}

impl<
        C: Carrier,
        S: ByteStore,
        const SUBSCRIPTIONS: usize,
        const RECEIPTS: usize,
        const ID_LEN: usize,
    > Machine for StompClientStack<C, S, SUBSCRIPTIONS, RECEIPTS, ID_LEN>
{
    type TimeoutEvent = ClientStackEvent<'static>;

    /// Writes what is queued for the wire, as much as fits in `out`.
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.flush(now);
        let n = self.carrier.poll_transmit(now, out);
        self.flush(now);
        n
    }

    /// The session's heart-beat deadlines and the carrier's timers; once the stack is
    /// over, only the carrier's (the session's are no longer run).
    fn poll_timeout(&self) -> Option<Instant> {
        if self.over {
            return self.carrier.poll_timeout();
        }
        crate::time::earliest(self.session.poll_timeout(), self.carrier.poll_timeout())
    }

    /// Runs both timers: a silent server ends the session
    /// ([`ClientEvent::HeartbeatLost`]) and the transport; a close timeout ends the
    /// transport.
    fn handle_timeout(&mut self, now: Instant) -> Option<ClientStackEvent<'static>> {
        self.flush(now);
        if self.over {
            let _ = self.carrier.handle_timeout(now);
            return None;
        }
        if let Some(e) = self.session.handle_timeout(now) {
            self.over = true;
            self.flush(now);
            return Some(ClientStackEvent::Stomp(e));
        }
        self.flush(now);
        if self.carrier.handle_timeout(now).is_some() {
            self.over = true;
            self.transport_closed = true;
            return Some(ClientStackEvent::TransportClosed);
        }
        None
    }

    /// Once the transport is done and everything was written: close the connection.
    fn is_closed(&self) -> bool {
        self.carrier.is_closed()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::stack::{AnyCarrier, TcpCarrier, WebSocketCarrier};
    use crate::stomp::{ConnectOptions, Limits};
    use crate::store::FixedBytes;
    use crate::ws::{Config, Connection, DataKind, Fragment, Role};
    use proptest::prelude::*;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    type Store = FixedBytes<4096>;
    type Stack = StompClientStack<AnyCarrier<Store>, Store>;

    fn connected(websocket: bool) -> Stack {
        let carrier = if websocket {
            let ws = Connection::new(Role::Client, Config::default(), 1);
            AnyCarrier::WebSocket(WebSocketCarrier::new(ws, Store::new()))
        } else {
            AnyCarrier::Tcp(TcpCarrier::new(Store::new()))
        };
        let mut stack = Stack::new(carrier, ClientSession::new(Limits::default()), Store::new());
        let options = ConnectOptions::default();
        stack
            .send(Instant(0), |s, now, out| s.connect(now, &options, out))
            .unwrap();
        stack
    }

    /// Feeds `pieces` one at a time, naming every event.
    fn events(stack: &mut Stack, pieces: Vec<Vec<u8>>) -> Vec<String> {
        let mut names = Vec::new();
        for mut piece in pieces {
            let mut pos = 0;
            loop {
                let read = stack.read(&mut piece[pos..], Instant(0));
                pos += read.consumed;
                match read.status {
                    Status::Event(e) => names.push(format!("{e:?}")),
                    _ => break,
                }
            }
            assert_eq!(pos, piece.len(), "a piece is taken whole");
        }
        names
    }

    fn server_stream(bodies: &[Vec<u8>]) -> Vec<u8> {
        let mut wire = b"CONNECTED\nversion:1.2\n\n\0".to_vec();
        for (i, body) in bodies.iter().enumerate() {
            wire.extend(format!("MESSAGE\nsubscription:s\nmessage-id:{i}\ndestination:/d\ncontent-length:{}\n\n", body.len()).as_bytes());
            wire.extend(body);
            wire.extend(b"\0\n");
        }
        wire
    }

    /// Cuts `wire` at the given points (taken modulo its length, sorted).
    fn cut(wire: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
        let mut at: Vec<usize> = points.iter().map(|p| p % (wire.len() + 1)).collect();
        at.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for p in at.into_iter().chain([wire.len()]) {
            pieces.push(wire[start..p].to_vec());
            start = p;
        }
        pieces
    }

    proptest! {
        /// However the server's bytes are cut into reads (TCP) or into WebSocket
        /// messages, the client reports the same events as when they come whole.
        #[test]
        fn cuts_do_not_change_events(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..6),
            points in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let wire = server_stream(&bodies);
            let whole = events(&mut connected(false), std::vec![wire.clone()]);
            prop_assert_eq!(whole.len(), bodies.len() + 1);
            let pieces = cut(&wire, &points);
            prop_assert_eq!(&events(&mut connected(false), pieces.clone()), &whole);
            let mut server = Connection::new(Role::Server, Config::default(), 0);
            let framed = pieces
                .iter()
                .map(|p| {
                    let mut frame = std::vec![0u8; p.len() + 14];
                    let n = server.send(Instant(0), Fragment::Whole(DataKind::Binary), p, &mut frame).unwrap();
                    frame.truncate(n);
                    frame
                })
                .collect();
            prop_assert_eq!(&events(&mut connected(true), framed), &whole);
        }
    }
}
