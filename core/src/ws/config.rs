//! Connection configuration.

/// Which end of the connection this machine is.
///
/// A client masks every frame it sends and requires unmasked frames; a server requires
/// masked frames and sends unmasked ones (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// Limits and negotiated options of a [`crate::ws::Connection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// The largest frame payload accepted, in bytes; a larger frame fails with close 1009.
    pub max_frame_size: u64,
    /// The largest message accepted (the sum of its frames' payloads), in bytes; a larger
    /// message fails with close 1009 as soon as a frame header announces the excess.
    pub max_message_size: u64,
    /// How long to wait for the peer's close after sending ours, in milliseconds.
    pub close_timeout_ms: u64,
    /// RSV bits an extension negotiated (as in [`crate::ws::frame::FrameHeader::rsv`],
    /// [`crate::ws::frame::RSV1`] = `0b100`); 0 means none. Other RSV bits fail with 1002.
    ///
    /// When RSV1 is allowed and a message's first frame has RSV1 set, the message is
    /// taken to be compressed (permessage-deflate): its bytes are delivered with `rsv`
    /// and are **not** UTF-8 validated here; the extension layer validates after
    /// inflating.
    pub allowed_rsv: u8,
    /// Keep-alive: after this many milliseconds without input from the peer, a ping is
    /// queued (and again each interval the silence lasts), so that proxies which drop
    /// quiet connections see traffic, and the pong shows the peer is there. `None`: no
    /// pings of our own.
    pub ping_interval_ms: Option<u64>,
    /// After this many milliseconds without input from the peer, our close goes out
    /// ([`crate::ws::CloseCode::GOING_AWAY`], "idle timeout") and the close timeout
    /// runs: a peer that vanished is let go. `None`: wait forever.
    pub idle_timeout_ms: Option<u64>,
}

impl Default for Config {
    /// 16 MiB frames, 64 MiB messages, a 5 second close timeout, no extension, no
    /// keep-alive.
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            close_timeout_ms: 5000,
            allowed_rsv: 0,
            ping_interval_ms: None,
            idle_timeout_ms: None,
        }
    }
}
