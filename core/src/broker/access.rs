//! Who may do what: the [`Guard`] a [`BrokerSession`](crate::stack::BrokerSession) asks
//! before a client's `SUBSCRIBE` or `SEND` reaches the broker (Spring's
//! `ChannelInterceptor.preSend`), and [`Rules`], a guard made of rules per destination
//! pattern, command and principal, first match deciding.
//!
//! A denied frame is answered with an `ERROR` naming the frame's `receipt` in its
//! `receipt-id`, and the session ends (as every STOMP `ERROR` does).

use super::destination::has_prefix;
use super::pattern::{is_pattern, matches};

/// What a client asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Command {
    /// `SUBSCRIBE`, to a destination or a pattern.
    Subscribe,
    /// `SEND`.
    Send,
}

/// Whether a principal has a role, as its authenticator knows.
pub trait Roles {
    /// Whether the principal has `role`.
    fn has_role(&self, role: &str) -> bool;
}

/// A principal with no roles.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoles;

impl Roles for NoRoles {
    fn has_role(&self, _: &str) -> bool {
        false
    }
}

/// One frame a client sent, as the guard sees it.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The session's user name (a generated one for an anonymous session).
    pub user: &'a str,
    /// Whether the name was authenticated (false for an anonymous session).
    pub authenticated: bool,
    /// What it asks.
    pub command: Command,
    /// The destination (or subscription pattern), unescaped.
    pub destination: &'a str,
    /// The body of a `SEND` (empty for a `SUBSCRIBE`).
    pub body: &'a [u8],
}

/// Decides whether a client's frame may reach the broker.
pub trait Guard {
    /// `Ok` lets the frame through; `Err` refuses it with that `ERROR` message.
    fn check(&self, attempt: &Attempt<'_>) -> Result<(), &'static str>;
}

/// The guard that lets everything through (the broker's own checks still apply).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Guard for AllowAll {
    fn check(&self, _: &Attempt<'_>) -> Result<(), &'static str> {
        Ok(())
    }
}

/// The `ERROR` message of a frame a rule denied.
pub const DENIED: &str = "access denied";
/// The `ERROR` message of a queue pattern subscription no rule allowed.
pub const QUEUE_PATTERN: &str = "queues cannot be subscribed to by pattern";

/// Which commands a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Commands(u8);

impl Commands {
    /// None of them.
    pub const NONE: Commands = Commands(0);
    /// `SUBSCRIBE`.
    pub const SUBSCRIBE: Commands = Commands(1);
    /// `SUBSCRIBE` by pattern to point-to-point queues, which takes a share of the
    /// messages of every queue it matches.
    pub const DRAIN: Commands = Commands(2);
    /// `SEND`.
    pub const SEND: Commands = Commands(4);
    /// All of them.
    pub const ALL: Commands = Commands(7);

    /// Both sets.
    pub const fn and(self, other: Commands) -> Commands {
        Commands(self.0 | other.0)
    }

    /// Whether the set holds `command` (a queue pattern subscription when `drain`).
    pub const fn covers(self, command: Command, drain: bool) -> bool {
        let bit = match command {
            Command::Subscribe if drain => 2,
            Command::Subscribe => 1,
            Command::Send => 4,
        };
        self.0 & bit != 0
    }
}

/// Whom a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Who<'a> {
    /// Every session.
    Anyone,
    /// Sessions with an authenticated user.
    Authenticated,
    /// Anonymous sessions.
    Anonymous,
    /// The user with this name (authenticated).
    User(&'a str),
    /// Users with this role.
    Role(&'a str),
}

impl Who<'_> {
    fn includes(&self, a: &Attempt<'_>, roles: &dyn Roles) -> bool {
        match self {
            Who::Anyone => true,
            Who::Authenticated => a.authenticated,
            Who::Anonymous => !a.authenticated,
            Who::User(name) => a.authenticated && a.user == *name,
            Who::Role(role) => a.authenticated && roles.has_role(role),
        }
    }
}

/// One rule: whether `who` may do `commands` on destinations matching `pattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule<'a> {
    /// A destination pattern (`*` within a segment, `**` across segments).
    pub pattern: &'a str,
    /// The commands it covers.
    pub commands: Commands,
    /// Whom it covers (any of them).
    pub who: &'a [Who<'a>],
    /// Allow (true) or deny (false).
    pub allow: bool,
}

/// A guard of rules, the first that covers a frame deciding; a frame no rule covers is
/// allowed, except a subscription to a pattern under the queue prefix
/// ([`Commands::DRAIN`]), which is allowed only with `drain_by_default`.
///
/// A subscription to a pattern is let through by an allowing rule only when the rule's
/// pattern covers the whole subscription, and refused by a denying rule whenever the two
/// could match a destination in common (decided on their literal prefixes, so it may
/// refuse more than the exact overlap: never less).
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The rules in order.
    pub rules: &'a [Rule<'a>],
    /// Separator of destination segments.
    pub separator: u8,
    /// The prefix of point-to-point queues.
    pub queue_prefix: &'a str,
    /// Whether a queue pattern subscription no rule covers is allowed.
    pub drain_by_default: bool,
}

impl Rules<'_> {
    /// Whether `attempt`, by a principal with `roles`, is allowed. A queue pattern
    /// subscription must be allowed both as a drain and as a subscription.
    pub fn allows(&self, attempt: &Attempt<'_>, roles: &dyn Roles) -> bool {
        self.verdict(attempt, roles).is_ok()
    }

    /// [`Rules::allows`], with the `ERROR` message of a refusal: [`DENIED`] when a rule
    /// refused, [`QUEUE_PATTERN`] when no rule allowed a queue pattern.
    pub fn verdict(&self, attempt: &Attempt<'_>, roles: &dyn Roles) -> Result<(), &'static str> {
        let dest = attempt.destination;
        let drain = attempt.command == Command::Subscribe
            && is_pattern(dest)
            && has_prefix(dest, self.queue_prefix, self.separator);
        if drain {
            match self.decide(attempt, roles, true) {
                Some(false) => return Err(DENIED),
                None if !self.drain_by_default => return Err(QUEUE_PATTERN),
                _ => {}
            }
        }
        match self.decide(attempt, roles, false) {
            Some(false) => Err(DENIED),
            _ => Ok(()),
        }
    }

    /// The first applicable rule's verdict, among the drain rules (`drain`) or the
    /// others; `None` when no rule applies.
    fn decide(&self, attempt: &Attempt<'_>, roles: &dyn Roles, drain: bool) -> Option<bool> {
        let dest = attempt.destination;
        let wild = is_pattern(dest);
        for rule in self.rules {
            if !rule.commands.covers(attempt.command, drain)
                || !rule.who.iter().any(|w| w.includes(attempt, roles))
            {
                continue;
            }
            let applies = if !wild {
                matches(rule.pattern, dest, self.separator)
            } else if rule.allow {
                covers(rule.pattern, dest, self.separator)
            } else {
                may_overlap(rule.pattern, dest, self.separator)
            };
            if applies {
                return Some(rule.allow);
            }
        }
        None
    }
}

/// [`Rules`] applied to a principal with roles.
#[derive(Clone, Copy)]
pub struct RulesFor<'r, 'a> {
    /// The rules.
    pub rules: &'r Rules<'a>,
    /// The roles of the session's principal.
    pub roles: &'r dyn Roles,
}

impl Guard for RulesFor<'_, '_> {
    fn check(&self, attempt: &Attempt<'_>) -> Result<(), &'static str> {
        self.rules.verdict(attempt, self.roles)
    }
}

/// Rules for principals without roles.
impl Guard for Rules<'_> {
    fn check(&self, attempt: &Attempt<'_>) -> Result<(), &'static str> {
        RulesFor {
            rules: self,
            roles: &NoRoles,
        }
        .check(attempt)
    }
}

/// Whether every destination the subscription pattern `sub` matches, `rule` matches: its
/// text read as a destination matches the rule (a `*` of the subscription absorbed by one
/// of the rule), and a `**` in it falls under a rule that ends in `**` after a literal
/// prefix the subscription starts with.
fn covers(rule: &str, sub: &str, separator: u8) -> bool {
    if !matches(rule, sub, separator) {
        return false;
    }
    if !sub.contains("**") {
        return true;
    }
    let Some(prefix) = rule.strip_suffix("**") else {
        return false;
    };
    let at_boundary = prefix.is_empty() || prefix.as_bytes().last() == Some(&separator);
    at_boundary && !prefix.contains('*') && sub.starts_with(prefix)
}

/// Whether two patterns could both match one destination: a concrete one must match the
/// other; two patterns may overlap when the literal text before their first wildcard is
/// a prefix of the other's.
fn may_overlap(a: &str, b: &str, separator: u8) -> bool {
    match (is_pattern(a), is_pattern(b)) {
        (false, false) => a == b,
        (false, true) => matches(b, a, separator),
        (true, false) => matches(a, b, separator),
        (true, true) => {
            let literal = |p: &str| p.split('*').next().unwrap_or("").len();
            let (la, lb) = (literal(a), literal(b));
            let n = la.min(lb);
            a.as_bytes().get(..n) == b.as_bytes().get(..n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Admin;
    impl Roles for Admin {
        fn has_role(&self, role: &str) -> bool {
            role == "admin"
        }
    }

    /// Whether `user` with `roles` may do `command` on `dest` under `rules`.
    fn may(r: &Rules<'_>, user: &str, roles: &dyn Roles, command: Command, dest: &str) -> bool {
        let attempt = Attempt {
            user,
            authenticated: !user.starts_with("session-"),
            command,
            destination: dest,
            body: b"",
        };
        r.allows(&attempt, roles)
    }

    const RULES: &[Rule<'static>] = &[
        Rule {
            pattern: "/topic/admin/**",
            commands: Commands::ALL,
            who: &[Who::Role("admin")],
            allow: true,
        },
        Rule {
            pattern: "/topic/admin/**",
            commands: Commands::ALL,
            who: &[Who::Anyone],
            allow: false,
        },
        Rule {
            pattern: "/topic/news",
            commands: Commands::SEND,
            who: &[Who::Anonymous],
            allow: false,
        },
        Rule {
            pattern: "/queue/jobs/**",
            commands: Commands::DRAIN,
            who: &[Who::User("worker")],
            allow: true,
        },
    ];

    fn rules() -> Rules<'static> {
        Rules {
            rules: RULES,
            separator: b'/',
            queue_prefix: "/queue",
            drain_by_default: false,
        }
    }

    #[test]
    fn first_matching_rule_decides() {
        let r = rules();
        assert!(may(&r, "ann", &Admin, Command::Subscribe, "/topic/admin/x"));
        assert!(!may(
            &r,
            "bob",
            &NoRoles,
            Command::Subscribe,
            "/topic/admin/x"
        ));
        assert!(!may(
            &r,
            "session-1",
            &NoRoles,
            Command::Send,
            "/topic/news"
        ));
        assert!(may(&r, "bob", &NoRoles, Command::Send, "/topic/news"));
        assert!(may(
            &r,
            "session-1",
            &NoRoles,
            Command::Subscribe,
            "/topic/news"
        ));
    }

    #[test]
    fn patterns_cannot_sidestep_a_denial() {
        let r = rules();
        for sub in ["/topic/**", "/topic/*/x", "/topic/adm*/**", "/**"] {
            assert!(!may(&r, "bob", &NoRoles, Command::Subscribe, sub), "{sub}");
        }
        assert!(may(
            &r,
            "bob",
            &NoRoles,
            Command::Subscribe,
            "/topic/other/*"
        ));
        assert!(may(&r, "ann", &Admin, Command::Subscribe, "/topic/admin/*"));
        assert!(may(
            &r,
            "ann",
            &Admin,
            Command::Subscribe,
            "/topic/admin/a/**"
        ));
    }

    #[test]
    fn coverage_of_patterns() {
        assert!(covers("/topic/**", "/topic/a/**", b'/'));
        assert!(covers("/topic/*", "/topic/a*", b'/'));
        assert!(!covers("/topic/*", "/topic/**", b'/'));
        assert!(!covers("/topic/a*", "/topic/*", b'/'));
        assert!(!covers("/topic/a/**/z", "/topic/a/**", b'/'));
        assert!(!covers("/topic/*/**", "/topic/a/**", b'/'));
    }

    #[test]
    fn draining_queues_needs_a_rule() {
        let r = rules();
        assert!(!may(&r, "bob", &NoRoles, Command::Subscribe, "/queue/**"));
        assert!(may(
            &r,
            "worker",
            &NoRoles,
            Command::Subscribe,
            "/queue/jobs/**"
        ));
        // A forged anonymous name is not the user.
        assert!(!may(
            &r,
            "session-9",
            &NoRoles,
            Command::Subscribe,
            "/queue/jobs/**"
        ));
        let open = Rules {
            drain_by_default: true,
            ..r
        };
        assert!(may(&open, "bob", &NoRoles, Command::Subscribe, "/queue/**"));
        let attempt = Attempt {
            user: "bob",
            authenticated: true,
            command: Command::Subscribe,
            destination: "/queue/**",
            body: b"",
        };
        assert_eq!(r.check(&attempt), Err(QUEUE_PATTERN));
        assert_eq!(AllowAll.check(&attempt), Ok(()));
    }

    proptest! {
        /// Whatever subscription a user without the role makes, it is refused when it could
        /// match a destination the rules deny them.
        #[test]
        fn a_denied_destination_is_never_reachable(
            sub in "/(topic|queue)(/(admin|news|x|\\*|\\*\\*)){0,3}",
            dest in "/topic/admin(/(a|b|news)){0,2}",
        ) {
            let r = rules();
            if matches(&sub, &dest, b'/') {
                prop_assert!(!may(&r, "bob", &NoRoles, Command::Subscribe, &sub));
            }
        }
    }
}
