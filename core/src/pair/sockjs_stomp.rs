//! STOMP over SockJS HTTP transports: [`SockJsStomp`] against a STOMP client whose
//! frames go out as send requests' bodies and come back on the receiving requests it
//! makes.

extern crate std;

use super::outbox::Outbox;
use super::sockjs::{queue_prelude, HttpClient, HttpServer, SockJsFrame, SockJsReceiver};
use super::stomp::{ClientRecord, StompClient, StompServer};
use super::Peer;
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Read, Status};
use crate::sockjs::{Attach, BodyEncoding, Transport};
use crate::stack::{BodyError, SockJsStomp};
use crate::store::ByteStore;
use crate::time::Instant;
use std::string::String;
use std::vec;
use std::vec::Vec;

/// A STOMP client session over SockJS HTTP transports: each unit its [`StompClient`]
/// owes (a frame it built, a heart-beat) is one message of a send request; the
/// messages of the frames its receiver reads are the server's STOMP bytes.
#[derive(Debug, Clone, Default)]
pub struct StompSockJsClient {
    /// The STOMP client: build its frames here.
    pub stomp: StompClient,
    /// The receiving requests and send requests.
    pub http: SockJsReceiver,
    stomp_in: Vec<u8>,
    /// The SockJS session was closed under the STOMP session.
    over: bool,
}

impl HttpClient for StompSockJsClient {
    fn receiver(&mut self) -> &mut SockJsReceiver {
        &mut self.http
    }
}

impl Machine for StompSockJsClient {
    type TimeoutEvent = ClientRecord;

    /// Send requests' bodies.
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let mut unit = vec![0u8; 256];
        loop {
            match self.stomp.poll_transmit(now, &mut unit) {
                Ok(Some(n)) => self.http.send(&[&String::from_utf8_lossy(&unit[..n])]),
                Ok(None) => break,
                Err(e) => unit.resize(e.needed, 0),
            }
        }
        self.http.poll_transmit(now, out)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.stomp.poll_timeout().filter(|_| !self.over)
    }

    fn handle_timeout(&mut self, now: Instant) -> Option<ClientRecord> {
        self.stomp.handle_timeout(now).filter(|_| !self.over)
    }

    fn is_closed(&self) -> bool {
        self.stomp.session.is_closed() || self.over
    }
}

impl Peer for StompSockJsClient {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<ClientRecord> {
        let mut pos = 0;
        loop {
            if !self.over && !self.stomp.session.is_closed() {
                let read = self.stomp.read(&mut self.stomp_in, now);
                let consumed = read.consumed;
                let status = read.status;
                self.stomp_in.drain(..consumed);
                if let Status::Event(e) = status {
                    return Read::event(pos, e);
                }
            }
            let read = self.http.read(&mut input[pos..], now);
            pos += read.consumed;
            match read.status {
                Status::Event(SockJsFrame::Messages(messages)) => {
                    for m in messages {
                        self.stomp_in.extend_from_slice(m.as_bytes());
                    }
                }
                Status::Event(SockJsFrame::Close { code, .. }) => {
                    let reported = !self.over && !self.stomp.session.is_closed();
                    self.over = true;
                    if reported {
                        let code = Some(code);
                        return Read::event(pos, ClientRecord::TransportClosed { code });
                    }
                }
                Status::Event(_) => {}
                Status::NeedMore => return Read::need_more(pos),
                Status::Paused(p) => return Read::paused(pos, p),
                Status::Closed => return Read::closed(input.len()),
            }
        }
    }

    fn is_terminal(event: &ClientRecord) -> bool {
        StompClient::is_terminal(event)
    }
}

/// [`SockJsStomp`] as a server on HTTP transports: the client-to-server pipe carries
/// send requests' bodies, one per line; receiving requests attach with
/// [`HttpServer::attach`].
pub struct SockJsStompHttp<S: ByteStore> {
    /// The STOMP server on its SockJS session.
    pub server: StompServer<SockJsStomp<S>>,
    /// The send requests the stack refused (answered 500, or the frame too large).
    pub refused: Vec<BodyError>,
    prelude: Outbox,
}

impl<S: ByteStore> SockJsStompHttp<S> {
    /// A server on `stack`, accepting `CONNECT`s.
    pub fn new(stack: SockJsStomp<S>) -> Self {
        SockJsStompHttp {
            server: StompServer::new(stack),
            refused: Vec::new(),
            prelude: Outbox::default(),
        }
    }
}

impl<S: ByteStore> HttpServer for SockJsStompHttp<S> {
    fn attach(&mut self, now: Instant, transport: Transport) -> Attach {
        let attach = self.server.machine.attach_receiver(now, transport, "cb");
        queue_prelude(&mut self.prelude, attach, transport);
        attach
    }
}

machine_of!(for [S: ByteStore] SockJsStompHttp<S>, server, super::ServerRecord, prelude);

impl<S: ByteStore> Peer for SockJsStompHttp<S> {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<super::ServerRecord> {
        let mut pos = 0;
        loop {
            // What the bodies so far carry comes out first.
            let read = self.server.read(&mut [], now);
            if !matches!(read.status, Status::NeedMore) {
                return Read {
                    consumed: pos,
                    status: read.status,
                };
            }
            let Some(end) = input[pos..].iter().position(|&b| b == b'\n') else {
                return Read::need_more(pos);
            };
            let body = &input[pos..pos + end];
            let taken = self
                .server
                .machine
                .receive_body(now, body, BodyEncoding::Json);
            pos += end + 1;
            if let Err(e) = taken {
                self.refused.push(e);
            }
        }
    }

    fn is_terminal(event: &super::ServerRecord) -> bool {
        <StompServer<SockJsStomp<S>> as Peer>::is_terminal(event)
    }
}
