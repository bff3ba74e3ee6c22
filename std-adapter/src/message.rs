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

impl Message {
    /// A peer's close told as a sentence: `the server closed the connection (1000
    /// normal)`, with its reason when it gave one.
    pub fn close_sentence(code: Option<u16>, reason: &str) -> String {
        let code = match code {
            Some(c) => sockwire_core::ws::CloseCode(c).to_string(),
            None => "no code".to_string(),
        };
        if reason.is_empty() {
            format!("the server closed the connection ({code})")
        } else {
            format!("the server closed the connection ({code}): {reason}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Message;

    #[test]
    fn a_close_reads_as_a_sentence() {
        assert_eq!(
            Message::close_sentence(Some(1000), ""),
            "the server closed the connection (1000 normal)"
        );
        assert_eq!(
            Message::close_sentence(Some(1008), "origin refused"),
            "the server closed the connection (1008 policy violation): origin refused"
        );
        assert_eq!(
            Message::close_sentence(None, ""),
            "the server closed the connection (no code)"
        );
    }
}
