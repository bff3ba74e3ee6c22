//! Checks `Rules` against subscription patterns and destinations decoded from the input:
//! nothing panics, and a pattern subscription the rules allow never covers a destination
//! they deny (a pattern cannot sidestep a denial).
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::broker::access::{Attempt, Command, Commands, NoRoles, Rule, Rules, Who};
use sockwire_core::broker::{is_pattern, matches, validate_pattern};

const SEGMENTS: [&str; 8] = ["topic", "queue", "a", "b", "admin", "*", "**", "a*"];

/// Up to four segments, three bits each, from `bytes`.
fn path(bytes: &[u8]) -> String {
    let mut p = String::new();
    for b in bytes.iter().take(4) {
        p.push('/');
        p.push_str(SEGMENTS[usize::from(b & 7)]);
    }
    p
}

fn allowed(rules: &Rules<'_>, command: Command, destination: &str) -> bool {
    let attempt = Attempt {
        user: "u",
        authenticated: true,
        command,
        destination,
        body: b"",
    };
    rules.allows(&attempt, &NoRoles)
}

fuzz_target!(|data: &[u8]| {
    let mut chunks = data.chunks(4);
    let (Some(sub), Some(dest)) = (chunks.next(), chunks.next()) else {
        return;
    };
    let (sub, dest) = (path(sub), path(dest));
    let patterns: Vec<String> = chunks.clone().map(path).collect();
    let rules: Vec<Rule<'_>> = patterns
        .iter()
        .zip(chunks)
        .map(|(p, c)| Rule {
            pattern: p,
            commands: if c.first().is_some_and(|b| b & 8 != 0) {
                Commands::ALL
            } else {
                Commands::SUBSCRIBE
            },
            who: &[Who::Anyone],
            allow: c.first().is_some_and(|b| b & 16 != 0),
        })
        .collect();
    let rules = Rules {
        rules: &rules,
        separator: b'/',
        queue_prefix: "/queue",
        drain_by_default: data.first().is_some_and(|b| b & 32 != 0),
    };
    if validate_pattern(&sub, b'/').is_err() || is_pattern(&dest) {
        return;
    }
    if matches(&sub, &dest, b'/') && allowed(&rules, Command::Subscribe, &sub) {
        assert!(
            allowed(&rules, Command::Subscribe, &dest),
            "{sub} allowed, but it covers {dest}, which is denied"
        );
    }
});
