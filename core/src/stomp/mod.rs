//! STOMP 1.0, 1.1 and 1.2 frames: a streaming decoder and an encoder, both without
//! allocation.
//!
//! Decoding borrows: a [`Frame`] points into the caller's input; header names and values
//! stay escaped and are unescaped on demand.
//!
//! ```
//! use sockwire_core::stomp::{encode, Command, Decoded, Decoder, Limits, Version};
//!
//! let mut out = [0u8; 256];
//! let n = encode(Command::Send, &[("destination", "/queue/a")], b"hi", Version::V1_2, &mut out)?;
//!
//! let mut decoder = Decoder::new(Limits::default());
//! match decoder.decode(&out[..n])? {
//!     Decoded::Frame { frame, consumed } => {
//!         assert_eq!(frame.command(), Command::Send);
//!         assert!(frame.header("destination").unwrap() == "/queue/a");
//!         assert_eq!(frame.body(), b"hi");
//!         assert_eq!(consumed, n); // the next frame would start here
//!     }
//!     Decoded::HeartBeat { .. } => { /* an EOL between frames */ }
//!     Decoded::Incomplete => { /* keep the bytes, append more, call again */ }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod command;
mod decoder;
mod encoder;
mod error;
mod escape;
mod frame;
mod header_lines;
mod heartbeat;
mod limits;
mod version;

mod ack;
mod id;
mod server_session;
mod session_error;
mod storage;
mod subscription;
mod transaction;

pub use command::Command;
pub use decoder::{Decoded, Decoder};
pub use encoder::{encode, encode_frame, encode_heart_beat};
pub use error::{DecodeError, EncodeError};
pub use escape::{
    escape_into, unescape_into, unescaped_eq, unescaped_len, validate, Escaping, HeaderPart,
    InvalidEscape, Unescape, UnescapeError, Unrepresentable,
};
pub use frame::{Frame, HeaderText, RawHeader};
pub use header_lines::{HeaderLines, FRAME_HEADERS};
pub use heartbeat::{HeartBeat, HeartBeatIntervals, InvalidHeartBeat};
pub use limits::Limits;
pub use version::{negotiate_version, Version, VersionSet, WEBSOCKET_SUBPROTOCOLS};

pub use ack::AckMode;
pub use id::{Id, MAX_ID_LEN};
pub use server_session::{
    ActionError, MessageError, OutgoingMessage, ServerEvent, ServerSession, ServerSessionConfig,
    MAX_ERROR_MESSAGE, MAX_USER_NAME, RECEIPT_QUEUE,
};
pub use session_error::{SessionError, LIMIT_MESSAGE_LEN};
pub use storage::{FixedStorage, SessionStorage};

#[cfg(test)]
mod tests;

mod client_error;
mod client_event;
mod client_frames;
mod client_session;
pub use client_error::{ClientError, ServerViolation};
pub use client_event::ClientEvent;
pub use client_frames::{AckFrame, SendFrame, SubscribeFrame};
pub use client_session::{ClientSession, ConnectOptions, SessionState, MAX_FRAME_HEADERS};
#[cfg(test)]
mod client_tests;
