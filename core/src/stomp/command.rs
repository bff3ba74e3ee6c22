//! STOMP commands: the first line of every frame.

/// A STOMP frame command, client or server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Command {
    /// `CONNECT`: a client opens a session.
    Connect,
    /// `STOMP`: the 1.2 synonym of `CONNECT`.
    Stomp,
    /// `SEND`: a client publishes a message.
    Send,
    /// `SUBSCRIBE`: a client subscribes to a destination.
    Subscribe,
    /// `UNSUBSCRIBE`: a client removes a subscription.
    Unsubscribe,
    /// `ACK`: a client acknowledges a message.
    Ack,
    /// `NACK`: a client rejects a message.
    Nack,
    /// `BEGIN`: a client starts a transaction.
    Begin,
    /// `COMMIT`: a client commits a transaction.
    Commit,
    /// `ABORT`: a client rolls a transaction back.
    Abort,
    /// `DISCONNECT`: a client closes its session.
    Disconnect,
    /// `CONNECTED`: a server accepts a session.
    Connected,
    /// `MESSAGE`: a server delivers a message to a subscription.
    Message,
    /// `RECEIPT`: a server confirms it processed a client frame.
    Receipt,
    /// `ERROR`: a server reports an error, then closes the connection.
    Error,
}

impl Command {
    /// Every command, client commands first.
    pub const ALL: [Command; 15] = [
        Command::Connect,
        Command::Stomp,
        Command::Send,
        Command::Subscribe,
        Command::Unsubscribe,
        Command::Ack,
        Command::Nack,
        Command::Begin,
        Command::Commit,
        Command::Abort,
        Command::Disconnect,
        Command::Connected,
        Command::Message,
        Command::Receipt,
        Command::Error,
    ];

    /// The longest command name (`UNSUBSCRIBE`), in bytes.
    pub const MAX_LEN: usize = 11;

    /// Parses a command line without its end of line. Commands are case sensitive.
    ///
    /// ```
    /// use sockwire_core::stomp::Command;
    /// assert_eq!(Command::parse(b"SEND"), Some(Command::Send));
    /// assert_eq!(Command::parse(b"send"), None);
    /// ```
    pub fn parse(line: &[u8]) -> Option<Command> {
        Some(match line {
            b"CONNECT" => Command::Connect,
            b"STOMP" => Command::Stomp,
            b"SEND" => Command::Send,
            b"SUBSCRIBE" => Command::Subscribe,
            b"UNSUBSCRIBE" => Command::Unsubscribe,
            b"ACK" => Command::Ack,
            b"NACK" => Command::Nack,
            b"BEGIN" => Command::Begin,
            b"COMMIT" => Command::Commit,
            b"ABORT" => Command::Abort,
            b"DISCONNECT" => Command::Disconnect,
            b"CONNECTED" => Command::Connected,
            b"MESSAGE" => Command::Message,
            b"RECEIPT" => Command::Receipt,
            b"ERROR" => Command::Error,
            _ => return None,
        })
    }

    /// The command as written on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Command::Connect => "CONNECT",
            Command::Stomp => "STOMP",
            Command::Send => "SEND",
            Command::Subscribe => "SUBSCRIBE",
            Command::Unsubscribe => "UNSUBSCRIBE",
            Command::Ack => "ACK",
            Command::Nack => "NACK",
            Command::Begin => "BEGIN",
            Command::Commit => "COMMIT",
            Command::Abort => "ABORT",
            Command::Disconnect => "DISCONNECT",
            Command::Connected => "CONNECTED",
            Command::Message => "MESSAGE",
            Command::Receipt => "RECEIPT",
            Command::Error => "ERROR",
        }
    }

    /// Whether a client sends this command.
    pub const fn is_client(self) -> bool {
        !self.is_server()
    }

    /// Whether a server sends this command.
    pub const fn is_server(self) -> bool {
        matches!(
            self,
            Command::Connected | Command::Message | Command::Receipt | Command::Error
        )
    }

    /// Whether this frame opens or accepts a session (`CONNECT`, `STOMP`, `CONNECTED`):
    /// such frames never escape their headers, for compatibility with STOMP 1.0.
    pub const fn is_handshake(self) -> bool {
        matches!(self, Command::Connect | Command::Stomp | Command::Connected)
    }

    /// Whether the specification allows this frame a body (`SEND`, `MESSAGE`, `ERROR`).
    pub const fn may_have_body(self) -> bool {
        matches!(self, Command::Send | Command::Message | Command::Error)
    }
}

impl core::fmt::Display for Command {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_command() {
        for c in Command::ALL {
            assert_eq!(Command::parse(c.as_str().as_bytes()), Some(c));
            assert!(c.as_str().len() <= Command::MAX_LEN);
            assert_ne!(c.is_client(), c.is_server());
        }
    }

    #[test]
    fn rejects_unknown_and_case() {
        for bad in [
            &b""[..],
            b"connect",
            b"SEND ",
            b" SEND",
            b"CONNECTEDX",
            b"GET",
        ] {
            assert_eq!(Command::parse(bad), None);
        }
    }
}
