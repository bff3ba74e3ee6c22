//! [`AppRouter`]: application destinations routed by pattern, with variables, as
//! Spring's `@MessageMapping("/chat/{room}")` with `@DestinationVariable`.

use super::app::{Answer, AppHandler, AppMessage, AppSubscription};

/// The variables a pattern captured (`{room}` in `/app/chat/{room}`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Vars(Vec<(String, String)>);

impl Vars {
    /// The value captured for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A destination pattern: `/`-separated segments, each literal or a `{name}` that
/// matches one non-empty segment.
#[derive(Debug, Clone)]
struct Pattern(Vec<String>);

impl Pattern {
    fn matches(&self, destination: &str) -> Option<Vars> {
        let segments: Vec<&str> = destination.split('/').collect();
        if segments.len() != self.0.len() {
            return None;
        }
        let mut vars = Vars::default();
        for (p, s) in self.0.iter().zip(segments) {
            match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if !s.is_empty() => vars.0.push((name.to_string(), s.to_string())),
                Some(_) => return None,
                None if p == s => {}
                None => return None,
            }
        }
        Some(vars)
    }
}

type OnMessage = Box<dyn FnMut(&AppMessage<'_>, &Vars) -> Vec<Answer> + Send>;
type OnSubscribe = Box<dyn FnMut(&AppSubscription<'_>, &Vars) -> Vec<Answer> + Send>;

/// An [`AppHandler`] made of routes: the first route whose pattern matches a message's
/// (or a subscription's) destination, application prefix included, handles it; nothing
/// happens when none does.
///
/// ```
/// use sockwire_std::server::{Answer, AppRouter, Publish};
/// let router = AppRouter::new()
///     // `@MessageMapping("/chat/{room}")` with `@SendTo("/topic/chat.{room}")`
///     .message("/app/chat/{room}", |m, vars| {
///         let room = vars.get("room").unwrap_or_default();
///         vec![Answer::Publish(Publish::new(format!("/topic/chat.{room}"), m.body))]
///     })
///     // `@SendToUser(broadcast = false)`: the sender's session alone
///     .message("/app/whoami", |m, _| {
///         vec![Answer::ToSession(Publish::new("/user/queue/whoami", m.session.user))]
///     })
///     // `@SubscribeMapping("/rooms")`: one reply to the new subscription
///     .subscribe("/app/rooms", |s, _| {
///         vec![Answer::ToSession(Publish::new(s.destination, "lobby,kitchen"))]
///     });
/// # let _ = router;
/// ```
#[derive(Default)]
pub struct AppRouter {
    messages: Vec<(Pattern, OnMessage)>,
    subscriptions: Vec<(Pattern, OnSubscribe)>,
}

impl AppRouter {
    /// A router without routes.
    pub fn new() -> AppRouter {
        AppRouter::default()
    }

    /// Routes messages sent to destinations matching `pattern` to `handle`.
    pub fn message(
        mut self,
        pattern: &str,
        handle: impl FnMut(&AppMessage<'_>, &Vars) -> Vec<Answer> + Send + 'static,
    ) -> AppRouter {
        self.messages.push((pattern_of(pattern), Box::new(handle)));
        self
    }

    /// Routes subscriptions to application destinations matching `pattern` to `handle`.
    pub fn subscribe(
        mut self,
        pattern: &str,
        handle: impl FnMut(&AppSubscription<'_>, &Vars) -> Vec<Answer> + Send + 'static,
    ) -> AppRouter {
        self.subscriptions
            .push((pattern_of(pattern), Box::new(handle)));
        self
    }
}

fn pattern_of(pattern: &str) -> Pattern {
    Pattern(pattern.split('/').map(str::to_string).collect())
}

impl AppHandler for AppRouter {
    fn on_message(&mut self, message: &AppMessage<'_>) -> Vec<Answer> {
        self.messages
            .iter_mut()
            .find_map(|(p, h)| p.matches(message.destination).map(|v| h(message, &v)))
            .unwrap_or_default()
    }

    fn on_subscribe(&mut self, subscription: &AppSubscription<'_>) -> Vec<Answer> {
        self.subscriptions
            .iter_mut()
            .find_map(|(p, h)| {
                p.matches(subscription.destination)
                    .map(|v| h(subscription, &v))
            })
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for AppRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn patterns<H>(routes: &[(Pattern, H)]) -> Vec<String> {
            routes.iter().map(|(p, _)| p.0.join("/")).collect()
        }
        f.debug_struct("AppRouter")
            .field("messages", &patterns(&self.messages))
            .field("subscriptions", &patterns(&self.subscriptions))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_capture_whole_segments() {
        let p = pattern_of("/app/chat/{room}");
        assert_eq!(
            p.matches("/app/chat/kitchen").unwrap().get("room"),
            Some("kitchen")
        );
        assert!(p.matches("/app/chat/").is_none());
        assert!(p.matches("/app/chat/a/b").is_none());
        assert!(p.matches("/app/chats/a").is_none());
        assert!(pattern_of("/app/x").matches("/app/x").is_some());
    }
}
