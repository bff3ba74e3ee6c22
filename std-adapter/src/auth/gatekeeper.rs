//! The server's security settings and the gatekeeper that applies them: who a request
//! or a `CONNECT` is, how many attempts an address may make, and the guard of each
//! session's frames.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use sockwire_core::broker::access::{Attempt, Guard, NoRoles, Roles, Rules, RulesFor};
use sockwire_core::http::{Request, RequestError};
use sockwire_core::time::Instant;

use super::{
    AccessRule, AccessRules, Admission, AttemptLimit, Attempts, Authenticator, BasicAuth,
    HandshakeInterceptor, MessageInterceptor, Principal,
};

/// Who clients are and what they may do.
#[derive(Clone, Default)]
pub struct Security {
    /// Checks `CONNECT` logins and HTTP Basic credentials. `None`: authentication is off
    /// and every session is an anonymous user of its own (`session-N`).
    pub authenticator: Option<Arc<dyn Authenticator>>,
    /// With an authenticator: whether a `CONNECT` without a login is accepted as an
    /// anonymous session (refused by default).
    pub allow_anonymous: bool,
    /// Without an authenticator: whether a `CONNECT`'s `login` names the session's user,
    /// unchecked. For development only, as any client may then claim any identity (and
    /// read that user's `/user/` destinations).
    pub trust_login: bool,
    /// Inspects WebSocket and SockJS requests before they are served. `None`: HTTP Basic
    /// credentials are checked by the authenticator, when there is one.
    pub handshake: Option<Arc<dyn HandshakeInterceptor>>,
    /// Access rules per destination pattern, command and principal, first match deciding.
    pub access: Vec<AccessRule>,
    /// A hook deciding on each `SUBSCRIBE` and `SEND` after the rules.
    pub interceptor: Option<Arc<dyn MessageInterceptor>>,
    /// Authentication attempts per client address.
    pub attempts: AttemptLimit,
}

/// Why a `CONNECT` is refused.
pub const AUTHENTICATION_REQUIRED: &str = "authentication required: send login and passcode";
/// The `ERROR` message of wrong credentials.
pub const BAD_CREDENTIALS: &str = "bad credentials";
/// The `ERROR` message of an address over its attempts.
pub const TOO_MANY_ATTEMPTS: &str = "too many authentication attempts: try again later";

/// Who a `CONNECT` makes the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An authenticated user.
    User(Arc<Principal>),
    /// An anonymous session, named by the server.
    Anonymous,
    /// Refused with this `ERROR` message.
    Refused(&'static str),
}

/// Applies [`Security`] for a whole server (all workers).
pub struct Gatekeeper {
    security: Security,
    rules: Rules<'static>,
    attempts: Mutex<Attempts>,
    nobody: Arc<Admission>,
}

impl Gatekeeper {
    /// The gatekeeper of `security`, its rules compiled for destinations split at
    /// `separator` under `queue_prefix`; queue patterns are allowed by default only with
    /// `queue_wildcards`.
    pub fn new(
        security: &Security,
        separator: u8,
        queue_prefix: &str,
        queue_wildcards: bool,
    ) -> Result<Gatekeeper, String> {
        let compiled =
            AccessRules::compile(&security.access, separator, queue_prefix, queue_wildcards)?;
        let mut security = security.clone();
        if security.handshake.is_none() {
            security.handshake = security.authenticator.clone().map(|users| {
                let basic: Arc<dyn HandshakeInterceptor> = Arc::new(BasicAuth { users });
                basic
            });
        }
        Ok(Gatekeeper {
            rules: compiled.rules,
            attempts: Mutex::new(Attempts::new(security.attempts)),
            security,
            nobody: Arc::new(Admission::default()),
        })
    }

    /// Whether clients authenticate (a `CONNECT` without credentials is refused unless
    /// anonymous sessions are allowed).
    pub fn authenticates(&self) -> bool {
        self.security.authenticator.is_some()
    }

    /// The admission of a session no interceptor looked at.
    pub fn nobody(&self) -> Arc<Admission> {
        self.nobody.clone()
    }

    fn try_attempt(&self, peer: IpAddr, now: Instant) -> bool {
        self.attempts
            .lock()
            .map(|mut a| a.try_attempt(peer, now))
            .unwrap_or(false)
    }

    /// Runs the handshake interceptor on a WebSocket or SockJS request; a request
    /// carrying credentials counts as an attempt of its address.
    pub fn admit(
        &self,
        request: &Request<'_, '_>,
        peer: SocketAddr,
        now: Instant,
    ) -> Result<Arc<Admission>, RequestError> {
        let Some(hook) = &self.security.handshake else {
            return Ok(self.nobody());
        };
        if request.headers.get("authorization").is_some() && !self.try_attempt(peer.ip(), now) {
            return Err(RequestError::TooManyRequests);
        }
        let admission = hook.before_handshake(request, peer)?;
        if admission == Admission::default() {
            return Ok(self.nobody());
        }
        Ok(Arc::new(admission))
    }

    /// Who a `CONNECT` from `peer` makes its session: the principal of its handshake if it
    /// had one, else its `login` checked by the authenticator.
    pub fn connect(
        &self,
        admission: &Admission,
        peer: IpAddr,
        login: Option<&str>,
        passcode: Option<&str>,
        now: Instant,
    ) -> Verdict {
        if let Some(p) = &admission.principal {
            return Verdict::User(Arc::new(p.clone()));
        }
        let login = login.filter(|l| !l.is_empty());
        let Some(users) = &self.security.authenticator else {
            return match login {
                Some(l) if self.security.trust_login => {
                    Verdict::User(Arc::new(Principal::named(l)))
                }
                _ => Verdict::Anonymous,
            };
        };
        let Some(login) = login else {
            return if self.security.allow_anonymous {
                Verdict::Anonymous
            } else {
                Verdict::Refused(AUTHENTICATION_REQUIRED)
            };
        };
        if !self.try_attempt(peer, now) {
            return Verdict::Refused(TOO_MANY_ATTEMPTS);
        }
        match users.authenticate(login, passcode.unwrap_or("")) {
            Some(p) => Verdict::User(Arc::new(p)),
            None => Verdict::Refused(BAD_CREDENTIALS),
        }
    }

    /// The guard of a session of `principal` (`None`: anonymous).
    pub fn guard<'a>(&'a self, principal: Option<&'a Principal>) -> SessionGuard<'a> {
        SessionGuard {
            rules: &self.rules,
            principal,
            hook: self.security.interceptor.as_deref(),
        }
    }
}

/// The rules and the interceptor, for one session.
pub struct SessionGuard<'a> {
    rules: &'a Rules<'static>,
    principal: Option<&'a Principal>,
    hook: Option<&'a dyn MessageInterceptor>,
}

impl Guard for SessionGuard<'_> {
    fn check(&self, attempt: &Attempt<'_>) -> Result<(), &'static str> {
        let roles: &dyn Roles = match self.principal {
            Some(p) => p,
            None => &NoRoles,
        };
        RulesFor {
            rules: self.rules,
            roles,
        }
        .check(attempt)?;
        match self.hook {
            Some(hook) => hook.pre_send(attempt, self.principal),
            None => Ok(()),
        }
    }
}
