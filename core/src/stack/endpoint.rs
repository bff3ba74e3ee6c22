//! [`StompEndpoint`]: what a [`BrokerSession`](super::BrokerSession) needs of a STOMP
//! server session and its transport, whichever transport it is.

use super::stomp_stack::{DeliverError, StackEvent, StompStack, WhenFull};
use super::Carrier;
use crate::machine::{Machine, Read};
use crate::stomp::SessionStorage;
use crate::stomp::{ActionError, OutgoingMessage};
use crate::store::ByteStore;
use crate::time::Instant;

/// A STOMP server session on some transport: [`StompStack`] on TCP, WebSocket or SockJS
/// over WebSocket, and SockJS over HTTP.
pub trait StompEndpoint: Machine<TimeoutEvent = StackEvent<'static>> {
    /// Consumes client input (wire bytes; for SockJS over HTTP, a send request's whole
    /// body) and reports at most one event, following the
    /// [machine contract](crate::machine).
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<StackEvent<'_>>;

    /// Accepts the client's `CONNECT`.
    fn accept_connect(&mut self, now: Instant) -> Result<(), ActionError> {
        self.accept_connect_as(now, "")
    }

    /// Accepts the client's `CONNECT` as the user `user_name`, told in `CONNECTED`'s
    /// `user-name` header.
    fn accept_connect_as(&mut self, now: Instant, user_name: &str) -> Result<(), ActionError>;

    /// Refuses the client's `CONNECT` with an `ERROR` carrying `message`.
    fn reject_connect(&mut self, now: Instant, message: &str) -> Result<(), ActionError>;

    /// Refuses the frame just read with an `ERROR` carrying `message` (in place of the
    /// receipt it asked for) and ends the session.
    fn refuse(&mut self, now: Instant, message: &str) -> Result<(), ActionError>;

    /// Ends the session from the server's side with an `ERROR` carrying `message`.
    fn close(&mut self, now: Instant, message: &str) -> Result<(), ActionError>;

    /// Sends a `MESSAGE` for one of the client's subscriptions; `when_full` says what
    /// happens when the outbound queue has no room for it.
    fn deliver<D>(
        &mut self,
        now: Instant,
        message: OutgoingMessage<'_, D>,
        when_full: WhenFull,
    ) -> Result<(), DeliverError>
    where
        D: IntoIterator<Item = u8> + Clone;

    /// Whether the session was accepted and has not ended.
    fn is_connected(&self) -> bool;

    /// Whether everything queued for the client at `now` has been handed to the wire
    /// (for SockJS over HTTP: to a receiving request).
    fn outbound_is_drained(&mut self, now: Instant) -> bool;
}

impl<
        C: Carrier,
        S: ByteStore,
        const SUBS: usize,
        const TXS: usize,
        const UNACKED: usize,
        const HELD: usize,
        T: SessionStorage,
    > StompEndpoint for StompStack<C, S, SUBS, TXS, UNACKED, HELD, T>
{
    fn read(&mut self, input: &mut [u8], now: Instant) -> Read<StackEvent<'_>> {
        StompStack::read(self, input, now)
    }

    fn accept_connect_as(&mut self, now: Instant, user_name: &str) -> Result<(), ActionError> {
        StompStack::accept_connect_as(self, now, user_name)
    }

    fn reject_connect(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        StompStack::reject_connect(self, now, message)
    }

    fn refuse(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        StompStack::refuse(self, now, message)
    }

    fn close(&mut self, now: Instant, message: &str) -> Result<(), ActionError> {
        StompStack::close(self, now, message)
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
        StompStack::deliver(self, now, message, when_full)
    }

    fn is_connected(&self) -> bool {
        self.session().is_connected()
    }

    fn outbound_is_drained(&mut self, now: Instant) -> bool {
        self.outbound(now).is_empty()
    }
}
