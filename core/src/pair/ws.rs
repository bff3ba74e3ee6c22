//! WebSocket peers: a bare [`Connection`] of either role, and a server that hands over
//! whole messages ([`WebSocketMessages`]).

extern crate std;

use super::outbox::Outbox;
use super::Peer;
use crate::machine::Read;
use crate::stack::{MessageEvent, SendMessageError, WebSocketMessages};
use crate::store::ByteStore;
use crate::time::Instant;
use crate::ws::{CloseCode, Connection, DataKind, Event, Fragment, ProtocolError, SendError};
use std::string::String;
use std::vec;
use std::vec::Vec;

/// What a WebSocket connection saw of its peer, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsRecord {
    /// A chunk of a data message.
    Data {
        /// Text or binary.
        kind: DataKind,
        /// The chunk.
        payload: Vec<u8>,
        /// It starts the message.
        first: bool,
        /// It ends the message.
        fin: bool,
    },
    /// A ping.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// The peer's close (terminal).
    Closed {
        /// Its code.
        code: Option<u16>,
        /// Its reason.
        reason: String,
    },
    /// The peer broke a rule (terminal).
    Failed(ProtocolError),
    /// Our close was not answered in time (terminal).
    TimedOut,
}

impl From<Event<'_>> for WsRecord {
    fn from(e: Event<'_>) -> Self {
        match e {
            Event::Data {
                kind,
                payload,
                first,
                fin,
                ..
            } => WsRecord::Data {
                kind,
                payload: payload.to_vec(),
                first,
                fin,
            },
            Event::Ping(p) => WsRecord::Ping(p.as_bytes().to_vec()),
            Event::Pong(p) => WsRecord::Pong(p.as_bytes().to_vec()),
            Event::Closed { code, reason } => WsRecord::Closed {
                code: code.map(CloseCode::as_u16),
                reason: String::from(reason.as_str().unwrap_or_default()),
            },
            Event::Failed(e) => WsRecord::Failed(e),
            Event::TimedOut => WsRecord::TimedOut,
        }
    }
}

impl WsRecord {
    /// Reads `wire` with `conn` until it needs more bytes or reports the end (what
    /// follows the end stays in `wire`); the bytes read are drained from `wire`.
    pub fn read_all(conn: &mut Connection, wire: &mut Vec<u8>, now: Instant) -> Vec<WsRecord> {
        let mut records = Vec::new();
        loop {
            let read = conn.read(wire, now);
            let n = read.consumed;
            let status = read.status.map(WsRecord::from);
            wire.drain(..n);
            match status {
                crate::machine::Status::Event(e) => {
                    let end = <WsPeer as Peer>::is_terminal(&e);
                    records.push(e);
                    if end {
                        return records;
                    }
                }
                _ => return records,
            }
        }
    }

    /// The whole messages in `events` (chunks joined), in order.
    pub fn messages(events: &[WsRecord]) -> Vec<(DataKind, Vec<u8>)> {
        let mut messages = Vec::new();
        let mut current: Option<(DataKind, Vec<u8>)> = None;
        for e in events {
            if let WsRecord::Data {
                kind,
                payload,
                first,
                fin,
            } = e
            {
                if *first {
                    current = Some((*kind, Vec::new()));
                }
                let (_, data) = current.as_mut().expect("a chunk outside a message");
                data.extend_from_slice(payload);
                if *fin {
                    messages.extend(current.take());
                }
            }
        }
        messages
    }
}

/// A bare WebSocket connection; the data frames it encodes wait in a queue, before the
/// control frames it owes.
#[derive(Debug, Clone)]
pub struct WsPeer {
    /// The connection.
    pub conn: Connection,
    outbox: Outbox,
}

impl WsPeer {
    /// A peer on `conn`.
    pub fn new(conn: Connection) -> Self {
        WsPeer {
            conn,
            outbox: Outbox::default(),
        }
    }

    /// Encodes one data frame and queues it.
    pub fn send(
        &mut self,
        now: Instant,
        fragment: Fragment,
        payload: &[u8],
    ) -> Result<(), SendError> {
        let mut out = vec![0u8; payload.len() + 14];
        let n = self.conn.send(now, fragment, payload, &mut out)?;
        out.truncate(n);
        self.outbox.push(out);
        Ok(())
    }

    /// Sends a whole message of `kind` in one frame.
    pub fn send_message(
        &mut self,
        now: Instant,
        kind: DataKind,
        data: &[u8],
    ) -> Result<(), SendError> {
        self.send(now, Fragment::Whole(kind), data)
    }

    /// Queues a close.
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.conn.close(now, code, reason)
    }
}

machine_of!(WsPeer, conn, WsRecord, outbox);

impl Peer for WsPeer {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<WsRecord> {
        self.conn.read(input, now).map(WsRecord::from)
    }

    fn is_terminal(event: &WsRecord) -> bool {
        matches!(
            event,
            WsRecord::Closed { .. } | WsRecord::Failed(_) | WsRecord::TimedOut
        )
    }
}

/// What a [`WebSocketMessages`] server saw, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageRecord {
    /// A whole message.
    Message {
        /// Text or binary.
        kind: DataKind,
        /// The payload.
        data: Vec<u8>,
    },
    /// A ping from the peer (its pong is queued).
    Ping(Vec<u8>),
    /// A pong from the peer.
    Pong(Vec<u8>),
    /// The connection ended (terminal).
    Closed {
        /// The peer's close code.
        code: Option<u16>,
    },
}

impl From<MessageEvent<'_>> for MessageRecord {
    fn from(e: MessageEvent<'_>) -> Self {
        match e {
            MessageEvent::Message { kind, data } => MessageRecord::Message {
                kind,
                data: data.to_vec(),
            },
            MessageEvent::Ping(p) => MessageRecord::Ping(p.as_bytes().to_vec()),
            MessageEvent::Pong(p) => MessageRecord::Pong(p.as_bytes().to_vec()),
            MessageEvent::Closed { code, .. } => MessageRecord::Closed { code },
        }
    }
}

/// A [`WebSocketMessages`] server; with `echo`, it sends every message back.
#[derive(Debug, Clone)]
pub struct MessagesServer<S> {
    /// The machine.
    pub machine: WebSocketMessages<S>,
    /// Echo every message.
    pub echo: bool,
    /// Echoes the machine refused.
    pub refused: Vec<SendMessageError>,
}

impl<S: ByteStore> MessagesServer<S> {
    /// A server on `machine`, echoing.
    pub fn new(machine: WebSocketMessages<S>) -> Self {
        MessagesServer {
            machine,
            echo: true,
            refused: Vec::new(),
        }
    }
}

machine_of!(for [S: ByteStore] MessagesServer<S>, machine, MessageRecord);

impl<S: ByteStore> Peer for MessagesServer<S> {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<MessageRecord> {
        let read = self.machine.read(input, now).map(MessageRecord::from);
        if let (true, crate::machine::Status::Event(MessageRecord::Message { kind, data })) =
            (self.echo, &read.status)
        {
            if let Err(e) = self.machine.send(now, *kind, data) {
                self.refused.push(e);
            }
        }
        read
    }

    fn is_terminal(event: &MessageRecord) -> bool {
        matches!(event, MessageRecord::Closed { .. })
    }
}
