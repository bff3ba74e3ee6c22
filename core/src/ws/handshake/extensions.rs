//! `Sec-WebSocket-Extensions` negotiation: where permessage-deflate will plug in.

use crate::http::{HeadWriter, Headers};

/// The header carrying extension offers and answers.
pub(crate) const HEADER: &str = "Sec-WebSocket-Extensions";

/// The extensions in effect on a connection after its handshake.
///
/// None are implemented yet, so this is always empty: a server accepts none of the
/// client's offers (which is always allowed) and a client offers none and refuses a
/// response that names one. permessage-deflate (RFC 7692) will add its negotiated
/// parameters here, its offer parsing to `Extensions::negotiate` (crate-internal, called by
/// [`accept`](super::accept)) and its answer to the
/// 101 written by [`Accepted`](super::Accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Extensions {
    _none_yet: (),
}

impl Extensions {
    /// No extension.
    pub const NONE: Extensions = Extensions { _none_yet: () };

    /// Whether no extension is in effect (always, for now).
    pub const fn is_empty(&self) -> bool {
        true
    }

    /// Server side: picks from the client's offers in `request` the extensions to accept.
    /// Accepts none for now.
    pub(crate) fn negotiate(request: &Headers<'_, '_>) -> Extensions {
        let _offers = request.tokens(HEADER);
        Extensions::NONE
    }

    /// Server side: writes the `Sec-WebSocket-Extensions` answer, if any.
    pub(crate) fn write_answer(&self, _w: &mut HeadWriter<'_>) {}

    /// Client side: checks the server's answer against what was offered (nothing): any
    /// named extension is an error.
    pub(crate) fn check_answer(&self, response: &Headers<'_, '_>) -> Result<Extensions, ()> {
        match response.tokens(HEADER).next() {
            Some(_) => Err(()),
            None => Ok(Extensions::NONE),
        }
    }
}
