//! What a blocking client hands over when it reads.

/// A message received by a client: data, or a control event worth reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A complete text message.
    Text(String),
    /// A complete binary message.
    Binary(Vec<u8>),
    /// A ping from the peer (the pong has already been sent).
    Ping(Vec<u8>),
    /// A pong from the peer.
    Pong(Vec<u8>),
    /// The peer closed the connection, with its code when it sent one.
    Close {
        /// The close code, absent when the close frame had no body.
        code: Option<u16>,
        /// The close reason.
        reason: String,
    },
}
