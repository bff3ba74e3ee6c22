//! What a connection carries ([`Phase`]) and how each phase runs its machine.

use sockwire_core::http::RequestReader;
use sockwire_core::machine::{Machine, Status};
use sockwire_core::sockjs::{Progress, ReceiverResponse};
use sockwire_core::stack::{
    AnyCarrier, Carrier, MessageEvent, SockJsEvent, SockJsWebSocket, WebSocketMessages,
};
use sockwire_core::time::Instant;
use sockwire_core::ws::DataKind;

use super::config::{SHUTDOWN, SHUTDOWN_CLOSE, SHUTDOWN_SOCKJS};
use super::conn::{Conn, Next};
use super::ctx::Ctx;
use super::handler::{Outbox, To, WsHandler};
use super::http::SockJsSend;
use super::hub::{self, StompConn};
use super::stats::Kind;
use crate::store::VecBytes;

/// What a connection carries.
pub enum Phase {
    /// HTTP requests, and the SockJS send whose body is being read.
    Http(Box<RequestReader<VecBytes>>, Option<Box<SockJsSend>>),
    /// A WebSocket session with an application's handler.
    Ws(Box<WebSocketMessages<VecBytes>>, Box<dyn WsHandler>),
    /// A SockJS session on its `websocket` transport, with an application's handler.
    SockJs(Box<SockJsWebSocket<VecBytes>>, Box<dyn WsHandler>),
    /// A STOMP session (TCP, WebSocket, SockJS over WebSocket).
    Stomp(Box<StompConn>),
    /// A receiving request of the SockJS session with this key.
    Receiving(String, Box<ReceiverResponse>),
    /// Everything is said; the write side shuts once it is written.
    Finishing {
        /// When to give up waiting for the peer to close.
        deadline: Option<Instant>,
    },
}

impl Conn {
    pub(super) fn advance_phase(&mut self, now: Instant, n: usize) {
        match &mut self.phase {
            Phase::Ws(m, _) => m.advance(now, n),
            Phase::SockJs(s, _) => Carrier::advance(s.as_mut(), now, n),
            Phase::Stomp(s) => s.endpoint_mut().advance(now, n),
            _ => {}
        }
    }

    /// Runs the input through the phase; returns the bytes consumed and whether to read
    /// more now (`false` while the phase is paused).
    pub(super) fn process(&mut self, input: &mut [u8], ctx: &mut Ctx<'_>) -> (usize, bool) {
        let mut used = 0;
        loop {
            let rest = input.get_mut(used..).unwrap_or_default();
            let now = ctx.now;
            let (took, status) = match &mut self.phase {
                Phase::Http(..) => {
                    let (took, status, reroute) = super::http::step(self, rest, ctx);
                    used += took;
                    if reroute {
                        continue;
                    }
                    if self.wants_hub {
                        return (used, false);
                    }
                    return (used, status == Status::NeedMore);
                }
                Phase::Ws(m, handler) => {
                    let stats = ctx.stats;
                    let read = m.read_with(rest, now, |ev, reply| {
                        let mut out = Outbox {
                            to: To::WebSocket(reply),
                        };
                        match ev {
                            MessageEvent::Message { kind, data } => {
                                stats.count_message(Kind::WebSocket);
                                super::handler::call(handler, &mut out, |h, out| {
                                    h.on_message(kind, data, out)
                                });
                                false
                            }
                            MessageEvent::Closed { code, .. } => {
                                super::handler::closed(handler, code);
                                true
                            }
                            MessageEvent::Ping(_) | MessageEvent::Pong(_) => false,
                        }
                    });
                    if m.take_slow_consumer() {
                        log::warn!("{}: closed as a slow consumer", self.peer);
                        ctx.stats.count_slow_consumer();
                    }
                    (read.consumed, read.status.map(|_| ()))
                }
                Phase::SockJs(s, handler) => {
                    let read = s.read(rest, now);
                    let consumed = read.consumed;
                    let status = match read.status {
                        Status::Event(SockJsEvent::Message(m)) => {
                            ctx.stats.count_message(Kind::SockJsWebSocket);
                            let m = m.to_string();
                            let mut out = Outbox {
                                to: To::SockJs(s.as_mut(), now),
                            };
                            super::handler::call(handler, &mut out, |h, out| {
                                h.on_message(DataKind::Text, m.as_bytes(), out)
                            });
                            Status::Event(())
                        }
                        Status::Event(SockJsEvent::Closed) => {
                            super::handler::closed(handler, None);
                            Status::Closed
                        }
                        other => other.map(|_| ()),
                    };
                    (consumed, status)
                }
                Phase::Stomp(s) => {
                    let Some(h) = ctx.hub.as_mut() else {
                        return (used, false);
                    };
                    let (took, status, ended) =
                        h.with_route(ctx.stats, now, |b, app, r| hub::run(s, rest, b, app, r));
                    if let Some(reason) = ended {
                        h.end(s, ctx.stats, now, reason);
                    }
                    (took, status)
                }
                Phase::Receiving(..) => {
                    self.pump_receiver(ctx);
                    return (input.len(), true);
                }
                // A finished connection is not expected to send.
                Phase::Finishing { .. } => return (input.len(), true),
            };
            used += took;
            match status {
                Status::Event(()) => continue,
                Status::NeedMore => return (used, true),
                Status::Paused(_) => return (used, false),
                Status::Closed => {
                    // The machine may still be closing its transport: it says when done.
                    if self.phase_is_closed() {
                        self.finish(ctx.now);
                    }
                    return (input.len(), true);
                }
            }
        }
    }

    /// A STOMP session that refused queue messages for want of room and has written
    /// everything gets the waiting ones offered again. Returns whether it did.
    pub(super) fn resume_starved(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let (Phase::Stomp(s), Some(h)) = (&mut self.phase, ctx.hub.as_mut()) else {
            return false;
        };
        if !s.wants_resume(ctx.now) {
            return false;
        }
        h.resume(s, ctx.stats, ctx.now);
        true
    }

    /// A SockJS receiving request takes what its session owes it; a finished polling
    /// response makes way for the next request on the connection.
    pub(super) fn pump_receiver(&mut self, ctx: &mut Ctx<'_>) {
        let Phase::Receiving(key, response) = &mut self.phase else {
            return;
        };
        let Some(h) = ctx.hub.as_mut() else {
            return;
        };
        let progress = loop {
            let progress = h
                .registry
                .pump(key, response, ctx.config, ctx.now, &mut self.out);
            // Queue messages the session refused while its queue was full come now; a
            // streaming response takes them at once, a poll leaves them for the next.
            let resumed = super::sockjs::resume_starved(h, key, ctx.stats, ctx.now);
            if !resumed || progress != Progress::Waiting {
                break progress;
            }
        };
        match progress {
            Progress::Waiting => {}
            Progress::Done => {
                self.phase = Phase::Http(super::conn::request_reader(ctx.config, ctx.now), None);
            }
            Progress::Close => self.finish(ctx.now),
        }
    }

    pub(super) fn phase_is_closed(&self) -> bool {
        match &self.phase {
            Phase::Ws(m, _) => m.is_closed(),
            Phase::SockJs(s, _) => s.is_closed(),
            Phase::Stomp(s) => s.is_closed(),
            Phase::Http(r, _) => r.is_closed(),
            _ => false,
        }
    }

    /// The server is shutting down: sessions are told (an ERROR, a close 1001), requests
    /// in progress are dropped.
    pub fn shut_down(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let now = ctx.now;
        match &mut self.phase {
            Phase::Http(..) => return Next::Drop,
            Phase::Ws(m, _) => {
                let _ = m.close(now, SHUTDOWN_CLOSE, SHUTDOWN);
            }
            Phase::SockJs(s, _) => s.close(now, SHUTDOWN_SOCKJS, SHUTDOWN),
            Phase::Stomp(s) => {
                let _ = s.close(now, SHUTDOWN);
            }
            Phase::Receiving(..) => self.finish(now),
            Phase::Finishing { .. } => {}
        }
        self.after_io(ctx).unwrap_or(Next::Keep)
    }

    /// What the connection counts as.
    pub fn kind(&self) -> Kind {
        match &self.phase {
            Phase::Ws(..) => Kind::WebSocket,
            Phase::SockJs(..) => Kind::SockJsWebSocket,
            Phase::Stomp(s) => match s.endpoint().carrier() {
                AnyCarrier::Tcp(_) => Kind::StompTcp,
                _ => Kind::StompWebSocket,
            },
            _ => Kind::Other,
        }
    }
}

/// The bytes a phase's machine has waiting to be written at `now`.
pub(super) fn outbound(phase: &mut Phase, now: Instant) -> &[u8] {
    match phase {
        Phase::Ws(m, _) => m.outbound(),
        Phase::SockJs(s, _) => Carrier::outbound(&**s),
        Phase::Stomp(s) => s.endpoint_mut().outbound(now),
        _ => &[],
    }
}
