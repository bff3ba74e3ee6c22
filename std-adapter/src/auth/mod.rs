//! Who a client is and what it may do: principals established at the HTTP handshake or
//! at STOMP `CONNECT`, the users file, access rules, and the hooks an application plugs
//! in (Spring's `HandshakeInterceptor`, `AuthenticationManager` and
//! `ChannelInterceptor.preSend`).
//!
//! The protocol side (the `ERROR` of a refused frame, the 401 of a refused handshake)
//! is the core's; this module holds the policy.

mod access;
mod attempts;
mod basic;
mod gatekeeper;
mod users;

use std::collections::HashMap;
use std::net::SocketAddr;

use sockwire_core::broker::access::{Attempt, Roles};
use sockwire_core::http::{Request, RequestError};

pub use access::{AccessRule, AccessRules, Action, CommandName, Grantee};
pub use attempts::{AttemptLimit, Attempts};
pub use basic::BasicAuth;
pub use gatekeeper::{
    Gatekeeper, Security, SessionGuard, Verdict, AUTHENTICATION_REQUIRED, BAD_CREDENTIALS,
    TOO_MANY_ATTEMPTS,
};
pub use users::{hash_password, UsersFile};

/// An authenticated user: its name and roles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principal {
    /// The user name: `CONNECTED`'s `user-name`, the `{user}` of `/user/{user}/...`.
    pub name: String,
    /// Its roles, for access rules.
    pub roles: Vec<String>,
}

impl Principal {
    /// A principal named `name` with no roles.
    pub fn named(name: &str) -> Principal {
        Principal {
            name: name.to_string(),
            roles: Vec::new(),
        }
    }
}

impl Roles for Principal {
    fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Checks a user name and password (a `CONNECT`'s `login` and `passcode`, HTTP Basic
/// credentials).
pub trait Authenticator: Send + Sync {
    /// The principal `user` is when `password` is right; `None` otherwise.
    fn authenticate(&self, user: &str, password: &str) -> Option<Principal>;
}

/// What a handshake interceptor decided for a request it let through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admission {
    /// Who the request is from, when the request says (then a `CONNECT`'s login is
    /// ignored); `None` leaves it to `CONNECT`.
    pub principal: Option<Principal>,
    /// Attributes of the session, handed to the application with each of its messages.
    pub attributes: HashMap<String, String>,
}

/// Inspects a WebSocket upgrade or SockJS request before it is served (its headers,
/// cookies, target and the client's address), and refuses it or tells who sends it.
pub trait HandshakeInterceptor: Send + Sync {
    /// `Ok` serves the request with what it establishes; `Err` answers with that error's
    /// status (401 asks for credentials, 403 refuses) and closes the connection.
    fn before_handshake(
        &self,
        request: &Request<'_, '_>,
        peer: SocketAddr,
    ) -> Result<Admission, RequestError>;
}

/// Decides, beyond the access rules, whether a client's `SUBSCRIBE` or `SEND` may reach
/// the broker (Spring's `ChannelInterceptor.preSend`).
pub trait MessageInterceptor: Send + Sync {
    /// `Ok` lets the frame through; `Err` refuses it with that `ERROR` message (with the
    /// frame's `receipt-id`), ending the session.
    fn pre_send(
        &self,
        attempt: &Attempt<'_>,
        principal: Option<&Principal>,
    ) -> Result<(), &'static str>;
}
