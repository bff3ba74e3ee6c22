//! The message broker: destinations, subscriptions and routing, without IO or allocation.
//!
//! A session turns STOMP frames into calls on the [`Broker`] trait and turns each
//! [`Delivery`] into a `MESSAGE` frame. [`SimpleBroker`] is the embedded backend; its
//! storage is a [`SubscriptionStore`] and an [`InFlightStore`] ([`FixedStore`] and
//! [`FixedInFlight`] here, growable ones in the std adapter).
//!
//! ```
//! use sockwire_core::broker::*;
//!
//! let mut broker = SimpleBroker::new(
//!     BrokerConfig::default(),
//!     FixedStore::<16, 64>::new(),
//!     FixedInFlight::<8, 64, 256>::new(),
//! );
//! let ignore = &mut |_: Delivery<'_>| Handoff::Taken;
//! broker.subscribe(Subscribe {
//!     session: SessionId(1), id: "sub-0", destination: "/topic/price.*",
//!     ack: AckMode::Auto, selector: Some("kind = 'stock'"), user: None,
//! }, ignore)?;
//!
//! let mut got = 0;
//! let routed = broker.publish(SessionId(2), Message {
//!     destination: "/topic/price.ibm",
//!     headers: HeaderLines::new(b"kind:stock\n"),
//!     body: b"42",
//! }, &mut |d| {
//!     assert_eq!((d.session, d.subscription, d.body), (SessionId(1), "sub-0", &b"42"[..]));
//!     got += 1;
//!     Handoff::Taken
//! })?;
//! assert_eq!((routed, got), (Routed::Delivered(1), 1));
//! # Ok::<(), BrokerError>(())
//! ```
//!
//! The pattern above uses `/` as separator, so `*` spans `price.ibm`; with
//! `separator: b'.'` it would be written `/topic/price.*` and match one dotted segment.

pub mod access;
mod config;
mod destination;
mod in_flight;
mod interface;
pub mod journal;
mod message;
mod pattern;
mod selector;
mod simple;
mod store;

pub use config::{BrokerConfig, QueueLimits};
pub use destination::{
    classify, has_prefix, user_delivery, user_subscription, DestinationText, Kind,
};
pub use in_flight::{Backlog, FixedInFlight, Held, InFlightStore, Owner};
pub use interface::{
    AckMode, Broker, BrokerError, Delivery, Handoff, Routed, SessionId, Sink, Subscribe, Subscribed,
};
pub use message::{HeaderLines, HeaderSource, Message};
pub use pattern::{is_pattern, matches, validate_pattern, PatternError};
pub use selector::{Literal, Selector, SelectorError, SelectorErrorKind, MAX_DEPTH};
pub use simple::SimpleBroker;
pub use store::{
    FixedStore, NewSubscription, StoreError, SubHandle, Subscription, SubscriptionStore,
};

#[cfg(test)]
mod tests;
