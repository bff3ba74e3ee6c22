//! The message broker: destinations, subscriptions and routing (owned by the broker work).
