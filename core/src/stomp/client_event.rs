//! What a STOMP client session reports about its server.

use super::{Frame, HeaderText, HeartBeatIntervals, ServerViolation, Version};

/// Something the server did, as seen by a [`ClientSession`](super::ClientSession).
///
/// Borrowed events point into the caller's input; copy out what must outlive the next
/// read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ClientEvent<'a> {
    /// The server accepted the session (`CONNECTED`).
    Connected {
        /// The version agreed on.
        version: Version,
        /// The `server` header, if sent.
        server: Option<HeaderText<'a>>,
        /// The `session` header, if sent.
        session: Option<HeaderText<'a>>,
        /// The `user-name` header: who the server took the client for, if it says.
        user_name: Option<HeaderText<'a>>,
        /// The heart-beat intervals now in force, from this client's side.
        heart_beat: HeartBeatIntervals,
    },
    /// A message for a subscription (`MESSAGE`).
    Message {
        /// The `subscription` header (always present from STOMP 1.1 on).
        subscription: Option<HeaderText<'a>>,
        /// The `message-id` header.
        message_id: HeaderText<'a>,
        /// The `destination` header.
        destination: HeaderText<'a>,
        /// The `ack` header (STOMP 1.2, when the subscription needs acknowledgement).
        ack: Option<HeaderText<'a>>,
        /// The whole frame, for every other header.
        frame: Frame<'a>,
        /// The body.
        body: &'a [u8],
    },
    /// The server processed the frame that asked for this receipt (`RECEIPT`). Each
    /// outstanding receipt is reported once; unknown or repeated receipt ids are ignored.
    Receipt {
        /// The `receipt-id` header.
        id: HeaderText<'a>,
    },
    /// The server reported an error (`ERROR`, terminal) and will close the connection.
    Error {
        /// The `message` header: a short description.
        message: Option<HeaderText<'a>>,
        /// The `receipt-id` header, when the error answers a frame that asked for one.
        receipt_id: Option<HeaderText<'a>>,
        /// The body: details.
        body: &'a [u8],
    },
    /// The server was silent for longer than the agreed heart-beat interval allows
    /// (terminal).
    HeartbeatLost,
    /// The server broke the protocol (terminal): close the transport.
    Failed(ServerViolation),
}

impl<'a> ClientEvent<'a> {
    /// For a [`ClientEvent::Message`]: the id to acknowledge it with (the `ack` header,
    /// else the `message-id`), as [`ClientSession::ack`](super::ClientSession::ack) takes it.
    pub fn ack_id(&self) -> Option<HeaderText<'a>> {
        match self {
            ClientEvent::Message {
                ack, message_id, ..
            } => Some(ack.unwrap_or(*message_id)),
            _ => None,
        }
    }
}
