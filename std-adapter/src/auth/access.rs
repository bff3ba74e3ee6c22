//! Access rules as the configuration file writes them, and the core's [`Rules`] they
//! become.
//!
//! ```toml
//! [[access]]
//! destinations = ["/topic/admin/**"]
//! commands = ["subscribe", "send"]     # and "drain": SUBSCRIBE by pattern to queues
//! roles = ["admin"]                    # or users = [...], or who = "authenticated"
//! action = "allow"
//!
//! [[access]]
//! destinations = ["/topic/admin/**"]
//! action = "deny"                      # everyone else (who = "anyone" by default)
//! ```

use serde::Deserialize;
use sockwire_core::broker::access::{Commands, Rule, Rules, Who};
use sockwire_core::broker::validate_pattern;

/// One rule of the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// Destination patterns it covers.
    pub destinations: Vec<String>,
    /// `subscribe`, `send`, `drain`; all three when absent.
    #[serde(default)]
    pub commands: Vec<CommandName>,
    /// Covers these users.
    #[serde(default)]
    pub users: Vec<String>,
    /// Covers users with these roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Covers a class of sessions; `anyone` when no users, roles or class are given.
    #[serde(default)]
    pub who: Option<Grantee>,
    /// `allow` or `deny`.
    pub action: Action,
}

/// A command a rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandName {
    /// `SUBSCRIBE`.
    Subscribe,
    /// `SEND`.
    Send,
    /// `SUBSCRIBE` by pattern to queues.
    Drain,
}

/// A class of sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grantee {
    /// Every session.
    Anyone,
    /// Sessions of authenticated users.
    Authenticated,
    /// Anonymous sessions.
    Anonymous,
}

/// What a rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The frame goes to the broker.
    Allow,
    /// The frame is refused with an `ERROR`.
    Deny,
}

/// The rules of a server, compiled for the core for the life of the process.
#[derive(Debug, Clone, Copy)]
pub struct AccessRules {
    /// The core's view.
    pub rules: Rules<'static>,
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

impl AccessRules {
    /// Compiles `rules` (first match deciding) for destinations split at `separator`, with
    /// `queue_prefix` naming queues; queue pattern subscriptions no rule covers are allowed
    /// when `drain_by_default`. A pattern the broker would refuse is an error.
    pub fn compile(
        rules: &[AccessRule],
        separator: u8,
        queue_prefix: &str,
        drain_by_default: bool,
    ) -> Result<AccessRules, String> {
        let mut compiled = Vec::new();
        for rule in rules {
            let mut who: Vec<Who<'static>> = Vec::new();
            who.extend(rule.users.iter().map(|u| Who::User(leak_str(u))));
            who.extend(rule.roles.iter().map(|r| Who::Role(leak_str(r))));
            who.extend(rule.who.map(|g| match g {
                Grantee::Anyone => Who::Anyone,
                Grantee::Authenticated => Who::Authenticated,
                Grantee::Anonymous => Who::Anonymous,
            }));
            if who.is_empty() {
                who.push(Who::Anyone);
            }
            let who = leak(who);
            let commands = if rule.commands.is_empty() {
                Commands::ALL
            } else {
                rule.commands.iter().fold(Commands::NONE, |set, c| {
                    set.and(match c {
                        CommandName::Subscribe => Commands::SUBSCRIBE,
                        CommandName::Send => Commands::SEND,
                        CommandName::Drain => Commands::DRAIN,
                    })
                })
            };
            if rule.destinations.is_empty() {
                return Err("an access rule needs destinations".to_string());
            }
            for pattern in &rule.destinations {
                validate_pattern(pattern, separator)
                    .map_err(|e| format!("access rule pattern {pattern:?}: {e:?}"))?;
                compiled.push(Rule {
                    pattern: leak_str(pattern),
                    commands,
                    who,
                    allow: rule.action == Action::Allow,
                });
            }
        }
        Ok(AccessRules {
            rules: Rules {
                rules: leak(compiled),
                separator,
                queue_prefix: leak_str(queue_prefix),
                drain_by_default,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockwire_core::broker::access::{Attempt, Command, NoRoles};

    #[derive(Deserialize)]
    struct File {
        access: Vec<AccessRule>,
    }

    #[test]
    fn rules_from_toml() {
        let text = r#"
            [[access]]
            destinations = ["/topic/admin/**"]
            roles = ["admin"]
            action = "allow"
            [[access]]
            destinations = ["/topic/admin/**", "/queue/audit"]
            commands = ["subscribe", "drain"]
            action = "deny"
        "#;
        let file: File = toml::from_str(text).unwrap();
        let rules = AccessRules::compile(&file.access, b'/', "/queue", false).unwrap();
        assert_eq!(rules.rules.rules.len(), 3);
        let attempt = |command, destination| Attempt {
            user: "bob",
            authenticated: true,
            command,
            destination,
            body: b"",
        };
        let allows = |c, d| rules.rules.allows(&attempt(c, d), &NoRoles);
        assert!(!allows(Command::Subscribe, "/topic/admin/x"));
        assert!(allows(Command::Send, "/queue/audit"));
        assert!(!allows(Command::Subscribe, "/queue/audit"));
        assert!(allows(Command::Subscribe, "/topic/x"));
    }

    #[test]
    fn bad_rules_are_refused() {
        let text = "[[access]]\ndestinations = ['/topic/a**']\naction = 'deny'\n";
        let file: File = toml::from_str(text).unwrap();
        assert!(AccessRules::compile(&file.access, b'/', "/queue", false).is_err());
        let text = "[[access]]\ndestinations = ['/a']\naction = 'maybe'\n";
        assert!(toml::from_str::<File>(text).is_err());
    }
}
