//! Broker sessions as peers: several [`BrokerSession`]s, each in its own pair, share one
//! broker through a [`BrokerHub`] that also holds the deliveries made for one session
//! during another's call, until the receiving session's next transmit.

extern crate std;

use super::stomp::Decide;
use super::Peer;
use crate::broker::{AckMode, Broker, Delivery, DestinationText, SessionId};
use crate::buf::BufferTooSmall;
use crate::machine::{Machine, Read, Status};
use crate::stack::{BrokerSession, CloseReason, DeliverError, SessionEvent, StompEndpoint};
use crate::stomp::{Escaping, HeaderLines};
use crate::store::ByteStore;
use crate::time::Instant;
use std::cell::RefCell;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

/// A delivery, owned, waiting for its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedDelivery {
    /// The receiving session.
    pub session: SessionId,
    /// Its subscription.
    pub subscription: String,
    /// The message id.
    pub message_id: String,
    /// The destination.
    pub destination: String,
    /// The publisher's header lines.
    pub headers: Vec<u8>,
    /// How they are escaped.
    pub escaping: Escaping,
    /// The body.
    pub body: Vec<u8>,
    /// The subscription's acknowledgement mode.
    pub ack: AckMode,
    /// Delivered before.
    pub redelivered: bool,
    /// A queue message.
    pub queued: bool,
}

impl OwnedDelivery {
    /// Copies `d`.
    pub fn new(d: &Delivery<'_>) -> Self {
        OwnedDelivery {
            session: d.session,
            subscription: String::from(d.subscription),
            message_id: String::from(d.message_id),
            destination: std::format!("{}", d.destination),
            headers: d.headers.as_bytes().to_vec(),
            escaping: d.headers.escaping(),
            body: d.body.to_vec(),
            ack: d.ack,
            redelivered: d.redelivered,
            queued: d.queued,
        }
    }

    /// The delivery, borrowing this copy.
    pub fn delivery(&self) -> Delivery<'_> {
        Delivery {
            session: self.session,
            subscription: &self.subscription,
            message_id: &self.message_id,
            destination: DestinationText::whole(&self.destination),
            headers: HeaderLines::with_escaping(&self.headers, self.escaping),
            body: &self.body,
            ack: self.ack,
            redelivered: self.redelivered,
            queued: self.queued,
        }
    }
}

/// A broker shared by several sessions, with the deliveries waiting for them.
#[derive(Debug)]
pub struct BrokerHub<B> {
    /// The broker.
    pub broker: B,
    /// Deliveries for sessions other than the one whose call made them.
    pub mail: Vec<OwnedDelivery>,
}

/// A hub several [`BrokerPeer`]s hold.
pub type SharedHub<B> = Rc<RefCell<BrokerHub<B>>>;

impl<B> BrokerHub<B> {
    /// A hub on `broker`, to share.
    pub fn shared(broker: B) -> SharedHub<B> {
        Rc::new(RefCell::new(BrokerHub {
            broker,
            mail: Vec::new(),
        }))
    }
}

/// What a broker session reported, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerRecord {
    /// `CONNECT`.
    Connect {
        /// The `login` header.
        login: Option<String>,
    },
    /// A message for the application.
    Application {
        /// The destination.
        destination: String,
        /// The body.
        body: Vec<u8>,
    },
    /// A subscription was taken.
    Subscribed {
        /// The destination.
        destination: String,
        /// Under the application prefix.
        application: bool,
    },
    /// A subscription ended.
    Unsubscribed {
        /// The subscription id.
        id: String,
    },
    /// The session is over (terminal).
    Closed(CloseReason),
}

/// A [`BrokerSession`] on a shared broker: it accepts `CONNECT`s as `user` (or as
/// [`Decide`] says), and writes the deliveries waiting for it before its own output.
pub struct BrokerPeer<E, S, B> {
    /// The session.
    pub session: BrokerSession<E, S>,
    /// The shared broker.
    pub hub: SharedHub<B>,
    /// The user `CONNECT`s are accepted as.
    pub user: String,
    /// What to do with a `CONNECT`.
    pub decide: Decide,
    /// Deliveries the session refused.
    pub refused: Vec<DeliverError>,
}

impl<E: StompEndpoint, S: ByteStore, B: Broker> BrokerPeer<E, S, B> {
    /// `session` on `hub`, accepting its `CONNECT` as `user`.
    pub fn new(session: BrokerSession<E, S>, hub: SharedHub<B>, user: &str) -> Self {
        BrokerPeer {
            session,
            hub,
            user: String::from(user),
            decide: Decide::Accept,
            refused: Vec::new(),
        }
    }
}

impl From<CloseReason> for BrokerRecord {
    fn from(reason: CloseReason) -> Self {
        BrokerRecord::Closed(reason)
    }
}

impl<E: StompEndpoint, S: ByteStore, B: Broker> Machine for BrokerPeer<E, S, B> {
    type TimeoutEvent = BrokerRecord;

    /// The deliveries waiting in the hub go into the session first.
    fn poll_transmit(
        &mut self,
        now: Instant,
        out: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let me = self.session.id();
        let mine: Vec<OwnedDelivery> = {
            let mut hub = self.hub.borrow_mut();
            let (mine, others) = core::mem::take(&mut hub.mail)
                .into_iter()
                .partition(|d| d.session == me);
            hub.mail = others;
            mine
        };
        for d in &mine {
            if let Err(e) = self.session.deliver(now, &d.delivery()) {
                self.refused.push(e);
            }
        }
        self.session.poll_transmit(now, out)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) -> Option<BrokerRecord> {
        self.session.handle_timeout(now).map(BrokerRecord::from)
    }

    fn is_closed(&self) -> bool {
        self.session.is_closed()
    }
}

impl<E: StompEndpoint, S: ByteStore, B: Broker> Peer for BrokerPeer<E, S, B> {
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<BrokerRecord> {
        let read = {
            let mut hub = self.hub.borrow_mut();
            let BrokerHub { broker, mail } = &mut *hub;
            let mut sink = |d: Delivery<'_>| {
                mail.push(OwnedDelivery::new(&d));
                crate::broker::Handoff::Taken
            };
            self.session
                .read(input, now, broker, &mut sink)
                .map(|e| match e {
                    SessionEvent::Connect { login, .. } => BrokerRecord::Connect {
                        login: login.map(String::from),
                    },
                    SessionEvent::Application {
                        destination, body, ..
                    } => BrokerRecord::Application {
                        destination: String::from(destination),
                        body: body.to_vec(),
                    },
                    SessionEvent::Subscribed {
                        destination,
                        application,
                        ..
                    } => BrokerRecord::Subscribed {
                        destination: String::from(destination),
                        application,
                    },
                    SessionEvent::Unsubscribed { id } => BrokerRecord::Unsubscribed {
                        id: String::from(id),
                    },
                    SessionEvent::Closed(reason) => BrokerRecord::Closed(reason),
                })
        };
        if let Status::Event(BrokerRecord::Connect { .. }) = read.status {
            let user = &self.user;
            self.decide.apply(
                &mut self.session,
                |s| s.accept(now, user),
                |s, message| s.reject(now, message),
            );
        }
        read
    }

    fn is_terminal(event: &BrokerRecord) -> bool {
        matches!(event, BrokerRecord::Closed(_))
    }
}

/// Drives `pairs` (sharing a hub) in turn until none does anything more.
pub fn drive_all<C: Peer, S: Peer>(pairs: &mut [super::Pair<C, S>]) {
    for _ in 0..super::MAX_STEPS {
        let mut moved = false;
        for pair in pairs.iter_mut() {
            moved |= pair.step();
        }
        if !moved {
            return;
        }
    }
    panic!("pairs on one hub did not settle");
}
