//! [`SimpleBroker`]: the embedded broker over a subscription store and an in-flight
//! table.

use super::destination::{has_prefix, user_delivery, user_subscription};
use super::{
    classify, is_pattern, matches, validate_pattern, AckMode, Backlog, Broker, BrokerConfig,
    BrokerError, DestinationText, Held, InFlightStore, Kind, Message, NewSubscription, Owner,
    Routed, Selector, SessionId, Sink, StoreError, SubHandle, Subscribe, Subscribed, Subscription,
    SubscriptionStore,
};
use super::{Delivery, Handoff, HeaderSource};
use core::fmt::Write;

/// A message id: the decimal sequence number.
type MessageId = heapless::String<20>;

fn message_id(seq: u64) -> MessageId {
    let mut s = MessageId::new();
    // 20 digits always fit.
    let _ = write!(s, "{seq}");
    s
}

/// Topic fan-out, queue round robin with redelivery, user destinations and application
/// prefixes, in the storage `S` (subscriptions) and `F` (held queue messages).
///
/// Round robin picks, among a queue's matching subscriptions, the one served least
/// recently. Queue messages with no subscriber, and unacknowledged ones whose
/// subscription goes away with no other to take them, are held until one subscribes.
pub struct SimpleBroker<'c, S, F> {
    config: BrokerConfig<'c>,
    subs: S,
    in_flight: F,
    /// The last message sequence number given out.
    seq: u64,
    /// Counts queue deliveries, for round robin.
    served: u64,
    /// Some held message may wait for a taker: new queue messages queue behind it, so
    /// that a queue keeps its order.
    maybe_waiting: bool,
}

impl<'c, S: SubscriptionStore, F: InFlightStore> SimpleBroker<'c, S, F> {
    /// A broker with `config` over empty stores.
    pub fn new(config: BrokerConfig<'c>, subs: S, in_flight: F) -> Self {
        SimpleBroker {
            config,
            subs,
            in_flight,
            seq: 0,
            served: 0,
            maybe_waiting: false,
        }
    }

    /// A broker over an in-flight store that already holds messages (replayed from a
    /// journal after a restart): they wait for subscribers, in order, and new sequence
    /// numbers (message ids) follow the largest held.
    pub fn recovered(config: BrokerConfig<'c>, subs: S, in_flight: F) -> Self {
        let mut last = None;
        while let Some(seq) = in_flight.next_after(last) {
            last = Some(seq);
        }
        SimpleBroker {
            seq: last.unwrap_or(0),
            maybe_waiting: last.is_some(),
            ..SimpleBroker::new(config, subs, in_flight)
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BrokerConfig<'c> {
        &self.config
    }

    /// The subscription store.
    pub fn subscriptions(&self) -> &S {
        &self.subs
    }

    /// The held queue messages.
    pub fn in_flight(&self) -> &F {
        &self.in_flight
    }

    /// The in-flight store, to act on it beside the broker (sync a journal).
    pub fn in_flight_mut(&mut self) -> &mut F {
        &mut self.in_flight
    }

    fn next_served(&mut self) -> u64 {
        self.served = self.served.wrapping_add(1);
        self.served
    }
}

fn selector_passes<H: HeaderSource + ?Sized>(sub: &Subscription<'_>, headers: &H) -> bool {
    match sub.selector {
        None => true,
        Some(text) => Selector::parse(text).is_ok_and(|s| s.matches(headers)),
    }
}

fn sub_matches<H: HeaderSource + ?Sized>(
    sub: &Subscription<'_>,
    destination: &str,
    separator: u8,
    headers: &H,
) -> bool {
    let dest_ok = if sub.pattern {
        matches(sub.destination, destination, separator)
    } else {
        sub.destination == destination
    };
    dest_ok && selector_passes(sub, headers)
}

/// Subscriptions that refused a delivery during one call: not offered more in it.
type Refusals = heapless::Vec<SubHandle, MAX_REFUSALS>;

/// How many refusing subscriptions one call keeps track of; past that it stops offering.
const MAX_REFUSALS: usize = 16;

/// The queue subscription to serve: least recently served among those that match and
/// did not refuse, avoiding `exclude` when another exists.
fn choose<S: SubscriptionStore + ?Sized>(
    subs: &S,
    message: &Message<'_>,
    separator: u8,
    exclude: Option<(SessionId, &str)>,
    refused: &[SubHandle],
) -> Option<SubHandle> {
    let mut best: Option<(u64, SubHandle)> = None;
    let mut excluded: Option<SubHandle> = None;
    let mut consider = |h: SubHandle, s: Subscription<'_>| {
        if refused.contains(&h)
            || !sub_matches(&s, message.destination, separator, &message.headers)
        {
            return;
        }
        if exclude.is_some_and(|(session, id)| s.session == session && s.id == id) {
            excluded = Some(h);
        } else if best.is_none_or(|(served, _)| s.last_served < served) {
            best = Some((s.last_served, h));
        }
    };
    subs.for_each_exact(message.destination, &mut consider);
    subs.for_each_pattern(&mut |h, s| {
        if s.pattern {
            consider(h, s);
        }
    });
    best.map(|(_, h)| h).or(excluded)
}

fn store_to_subs(e: StoreError) -> BrokerError {
    match e {
        StoreError::Full => BrokerError::TooManySubscriptions,
        StoreError::TooLong => BrokerError::TextTooLong,
    }
}

fn store_to_in_flight(e: StoreError) -> BrokerError {
    match e {
        StoreError::Full => BrokerError::InFlightFull,
        StoreError::TooLong => BrokerError::MessageTooLarge,
    }
}

impl<S: SubscriptionStore, F: InFlightStore> SimpleBroker<'_, S, F> {
    /// Held message `seq` waits for a taker.
    fn wait(&mut self, seq: u64) {
        let _ = self.in_flight.set_owner(seq, None);
        self.maybe_waiting = true;
    }

    /// Gives held message `seq` to a subscription (avoiding `exclude`, and those in
    /// `refused`, which grows with every one that refuses), or leaves it waiting when
    /// none takes it. Returns whether one took it.
    fn redeliver(
        &mut self,
        seq: u64,
        exclude: Option<(SessionId, &str)>,
        redelivered: bool,
        refused: &mut Refusals,
        sink: &mut Sink<'_>,
    ) -> bool {
        loop {
            let Some(held) = self.in_flight.get(seq) else {
                return false;
            };
            let sep = self.config.separator;
            let Some(h) = choose(&self.subs, &held.message, sep, exclude, refused) else {
                self.wait(seq);
                return false;
            };
            if self.hand_over(h, seq, redelivered, sink) == Handoff::Taken {
                return true;
            }
            if refused.push(h).is_err() {
                return false;
            }
        }
    }

    /// Offers held message `seq` to subscription `h`: taken, it is owned by the
    /// subscription (or gone, for auto-ack); refused, it waits.
    fn hand_over(
        &mut self,
        h: SubHandle,
        seq: u64,
        redelivered: bool,
        sink: &mut Sink<'_>,
    ) -> Handoff {
        let (Some(held), Some(sub)) = (self.in_flight.get(seq), self.subs.get(h)) else {
            return Handoff::Refused;
        };
        let id = message_id(seq);
        let handoff = sink(Delivery {
            session: sub.session,
            subscription: sub.id,
            message_id: &id,
            destination: DestinationText::whole(held.message.destination),
            headers: held.message.headers,
            body: held.message.body,
            ack: sub.ack,
            redelivered,
            queued: true,
        });
        if handoff == Handoff::Refused {
            self.wait(seq);
            return Handoff::Refused;
        }
        let owner = Owner {
            session: sub.session,
            subscription: sub.id,
            ack: sub.ack,
        };
        if sub.ack == AckMode::Auto || self.in_flight.set_owner(seq, Some(owner)).is_err() {
            self.in_flight.remove(seq);
        }
        let served = self.next_served();
        self.subs.set_last_served(h, served);
        Handoff::Taken
    }

    /// Offers every held message that waits for a taker, oldest first, while
    /// subscriptions take them.
    fn dispatch(&mut self, sink: &mut Sink<'_>) {
        if !self.maybe_waiting {
            return;
        }
        let mut refused = Refusals::new();
        let mut still_waiting = false;
        let mut after = None;
        while let Some(seq) = self.in_flight.next_waiting_after(after) {
            after = Some(seq);
            if !self.redeliver(seq, None, false, &mut refused, sink) {
                still_waiting = true;
                // Every subscription refused: nothing more will be taken now.
                if refused.is_full() || refused.len() >= self.subs.len() {
                    return;
                }
            }
        }
        self.maybe_waiting = still_waiting;
    }

    /// Redelivers every held message owned by `session` (and subscription `id` if given).
    fn release(&mut self, session: SessionId, id: Option<&str>, sink: &mut Sink<'_>) {
        let mut refused = Refusals::new();
        let mut after = None;
        while let Some(seq) = self.in_flight.next_after(after) {
            after = Some(seq);
            let owned = self.in_flight.get(seq).is_some_and(|h| {
                h.owner.is_some_and(|o| {
                    o.session == session && id.is_none_or(|id| o.subscription == id)
                })
            });
            if owned {
                self.wait(seq);
                self.redeliver(seq, None, true, &mut refused, sink);
            }
        }
    }

    /// The held message `message_id` if `session` holds it.
    fn held_by(&self, session: SessionId, message_id: &str) -> Result<Held<'_>, BrokerError> {
        let seq: u64 = message_id
            .parse()
            .map_err(|_| BrokerError::UnknownMessage)?;
        self.in_flight
            .get(seq)
            .filter(|h| h.owner.is_some_and(|o| o.session == session))
            .ok_or(BrokerError::UnknownMessage)
    }

    fn fan_out(
        &mut self,
        message: &Message<'_>,
        seen_as: DestinationText<'_>,
        sink: &mut Sink<'_>,
    ) -> usize {
        let seq = self.seq.wrapping_add(1);
        self.seq = seq;
        let id = message_id(seq);
        let sep = self.config.separator;
        let mut count = 0usize;
        let mut deliver = |_: SubHandle, s: Subscription<'_>| {
            if sub_matches(&s, message.destination, sep, &message.headers) {
                let handoff = sink(Delivery {
                    session: s.session,
                    subscription: s.id,
                    message_id: &id,
                    destination: seen_as,
                    headers: message.headers,
                    body: message.body,
                    ack: s.ack,
                    redelivered: false,
                    queued: false,
                });
                if handoff == Handoff::Taken {
                    count = count.saturating_add(1);
                }
            }
        };
        self.subs.for_each_exact(message.destination, &mut deliver);
        self.subs.for_each_pattern(&mut deliver);
        count
    }

    /// Gives a queue message to one subscription, trying others while they refuse; held
    /// until one can take it when none does.
    /// Whether the limits let `message` be held, its queue having `backlog` waiting.
    fn admit(&self, message: &Message<'_>, backlog: Backlog) -> Result<(), BrokerError> {
        let limits = self.config.limits;
        let size = message.size();
        if backlog.messages >= limits.messages_per_queue
            || backlog.bytes.saturating_add(size) > limits.bytes_per_queue
        {
            return Err(BrokerError::QueueFull);
        }
        if self.in_flight.held_bytes().saturating_add(size) > limits.held_bytes {
            return Err(BrokerError::StorageFull);
        }
        Ok(())
    }

    fn enqueue(
        &mut self,
        message: &Message<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<Routed, BrokerError> {
        let seq = self.seq.wrapping_add(1);
        let backlog = if self.maybe_waiting {
            self.in_flight.backlog(message.destination)
        } else {
            Backlog::default()
        };
        if backlog.messages > 0 {
            // Older messages to this queue wait for a taker (none has taken one since:
            // every window that opens offers them again): this one goes behind them.
            self.admit(message, backlog)?;
            self.in_flight
                .insert(seq, *message, None)
                .map_err(store_to_in_flight)?;
            self.seq = seq;
            return Ok(Routed::Held);
        }
        let sep = self.config.separator;
        let mut refused = Refusals::new();
        // Whether the in-flight table holds the message yet.
        let mut held = false;
        while let Some(h) = choose(&self.subs, message, sep, None, &refused) {
            let Some(sub) = self.subs.get(h) else {
                break;
            };
            if sub.ack != AckMode::Auto {
                let owner = Owner {
                    session: sub.session,
                    subscription: sub.id,
                    ack: sub.ack,
                };
                if held {
                    self.in_flight
                        .set_owner(seq, Some(owner))
                        .map_err(store_to_in_flight)?;
                } else {
                    self.admit(message, Backlog::default())?;
                    self.in_flight
                        .insert(seq, *message, Some(owner))
                        .map_err(store_to_in_flight)?;
                    held = true;
                }
            }
            self.seq = seq;
            let id = message_id(seq);
            let handoff = sink(Delivery {
                session: sub.session,
                subscription: sub.id,
                message_id: &id,
                destination: DestinationText::whole(message.destination),
                headers: message.headers,
                body: message.body,
                ack: sub.ack,
                redelivered: false,
                queued: true,
            });
            if handoff == Handoff::Taken {
                if held && sub.ack == AckMode::Auto {
                    self.in_flight.remove(seq);
                }
                let served = self.next_served();
                self.subs.set_last_served(h, served);
                return Ok(Routed::Delivered(1));
            }
            if held {
                self.wait(seq);
            }
            if refused.push(h).is_err() {
                break;
            }
        }
        if !held {
            self.admit(message, backlog)?;
            self.in_flight
                .insert(seq, *message, None)
                .map_err(store_to_in_flight)?;
        }
        self.seq = seq;
        self.maybe_waiting = true;
        Ok(Routed::Held)
    }
}

impl<S: SubscriptionStore, F: InFlightStore> Broker for SimpleBroker<'_, S, F> {
    fn subscribe(
        &mut self,
        request: Subscribe<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<Subscribed, BrokerError> {
        let config = self.config;
        let destination = request.destination;
        if destination.is_empty() {
            return Err(BrokerError::InvalidDestination);
        }
        let sep = config.separator;
        let pattern = is_pattern(destination);
        if pattern {
            validate_pattern(destination, sep).map_err(BrokerError::InvalidPattern)?;
        }
        if let Some(text) = request.selector {
            Selector::parse(text).map_err(BrokerError::InvalidSelector)?;
        }
        let (key, queue) = if has_prefix(destination, config.user_prefix, sep) {
            let user = request.user.ok_or(BrokerError::NoUser)?;
            let key = user_subscription(&config, destination, user)
                .ok_or(BrokerError::InvalidDestination)?;
            (key, false)
        } else {
            match classify(&config, destination) {
                Kind::Topic => (DestinationText::whole(destination), false),
                Kind::Queue if pattern && !config.queue_wildcards => {
                    return Err(BrokerError::QueueWildcard)
                }
                Kind::Queue => (DestinationText::whole(destination), true),
                Kind::App => return Ok(Subscribed::Application),
                Kind::User { .. } | Kind::Other => return Err(BrokerError::UnknownDestination),
            }
        };
        if self.subs.find(request.session, request.id).is_some() {
            return Err(BrokerError::DuplicateSubscription);
        }
        let h = self
            .subs
            .insert(NewSubscription {
                session: request.session,
                id: request.id,
                destination: key,
                pattern,
                selector: request.selector,
                ack: request.ack,
            })
            .map_err(store_to_subs)?;
        if queue {
            // Held messages that were waiting for a subscriber like this one.
            let mut after = None;
            while let Some(seq) = self.in_flight.next_after(after) {
                after = Some(seq);
                let waiting = match (self.in_flight.get(seq), self.subs.get(h)) {
                    (Some(held), Some(sub)) => {
                        held.owner.is_none()
                            && sub_matches(
                                &sub,
                                held.message.destination,
                                sep,
                                &held.message.headers,
                            )
                    }
                    _ => false,
                };
                if waiting && self.hand_over(h, seq, false, sink) == Handoff::Refused {
                    break;
                }
            }
        }
        Ok(Subscribed::Broker)
    }

    fn unsubscribe(
        &mut self,
        session: SessionId,
        id: &str,
        sink: &mut Sink<'_>,
    ) -> Result<(), BrokerError> {
        let h = self
            .subs
            .find(session, id)
            .ok_or(BrokerError::NotSubscribed)?;
        self.subs.remove(h);
        self.release(session, Some(id), sink);
        Ok(())
    }

    fn disconnect(&mut self, session: SessionId, sink: &mut Sink<'_>) {
        while let Some(h) = self.subs.first_of_session(session) {
            if !self.subs.remove(h) {
                break;
            }
        }
        self.release(session, None, sink);
    }

    fn publish(
        &mut self,
        _from: SessionId,
        message: Message<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<Routed, BrokerError> {
        let destination = message.destination;
        if destination.is_empty() || is_pattern(destination) {
            return Err(BrokerError::InvalidDestination);
        }
        let config = self.config;
        match classify(&config, destination) {
            Kind::App => Ok(Routed::Application),
            Kind::Other => Err(BrokerError::UnknownDestination),
            Kind::Topic => Ok(Routed::Delivered(self.fan_out(
                &message,
                DestinationText::whole(destination),
                sink,
            ))),
            Kind::User { rest, .. } => {
                let seen_as = user_delivery(&config, rest);
                Ok(Routed::Delivered(self.fan_out(&message, seen_as, sink)))
            }
            Kind::Queue => self.enqueue(&message, sink),
        }
    }

    fn ack(
        &mut self,
        session: SessionId,
        message_id: &str,
        sink: &mut Sink<'_>,
    ) -> Result<(), BrokerError> {
        self.forget_acked(session, message_id)?;
        self.dispatch(sink);
        Ok(())
    }

    fn resume(&mut self, _session: SessionId, sink: &mut Sink<'_>) {
        self.dispatch(sink);
    }

    fn nack(
        &mut self,
        session: SessionId,
        message_id: &str,
        sink: &mut Sink<'_>,
    ) -> Result<(), BrokerError> {
        let held = self.held_by(session, message_id)?;
        let seq = held.seq;
        let mut sub_id = heapless::String::<64>::new();
        let exclude = held
            .owner
            .filter(|o| sub_id.push_str(o.subscription).is_ok())
            .map(|o| o.session);
        let mut refused = Refusals::new();
        let exclude = exclude.map(|s| (s, sub_id.as_str()));
        self.redeliver(seq, exclude, true, &mut refused, sink);
        self.dispatch(sink);
        Ok(())
    }
}

impl<S: SubscriptionStore, F: InFlightStore> SimpleBroker<'_, S, F> {
    /// Removes what an `ACK` of `message_id` by `session` acknowledges.
    fn forget_acked(&mut self, session: SessionId, message_id: &str) -> Result<(), BrokerError> {
        let held = self.held_by(session, message_id)?;
        let (seq, owner) = (held.seq, held.owner);
        let Some(owner) = owner else {
            return Err(BrokerError::UnknownMessage);
        };
        if owner.ack != AckMode::Client {
            self.in_flight.remove(seq);
            return Ok(());
        }
        // Cumulative: this message and every earlier one of the same subscription.
        let mut sub_id = heapless::String::<64>::new();
        let cumulative = sub_id.push_str(owner.subscription).is_ok();
        let mut after = None;
        while let Some(s) = self.in_flight.next_after(after) {
            if s > seq {
                break;
            }
            after = Some(s);
            let same = cumulative
                && self.in_flight.get(s).is_some_and(|h| {
                    h.owner
                        .is_some_and(|o| o.session == session && o.subscription == sub_id.as_str())
                });
            if same || s == seq {
                self.in_flight.remove(s);
            }
        }
        Ok(())
    }
}
