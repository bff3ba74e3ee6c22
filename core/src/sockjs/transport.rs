//! The SockJS transports and how each wraps frames on the wire.

use super::form::{field, PercentDecoded};
use super::frame::Frame;
use super::json_escape::Sink;
use crate::buf::{BufferTooSmall, Writer};

/// A session transport, the last segment of `{prefix}/{server}/{session}/{transport}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Transport {
    /// `websocket`: SockJS frames as WebSocket text messages.
    WebSocket,
    /// `xhr`: polling; one frame per POST, each followed by `\n`.
    Xhr,
    /// `xhr_send`: the client's messages as a JSON array in a POST body.
    XhrSend,
    /// `xhr_streaming`: a 2 KiB `h` prelude, then frames followed by `\n`.
    XhrStreaming,
    /// `eventsource`: server-sent events, `data: frame\r\n\r\n`.
    EventSource,
    /// `htmlfile`: a streamed HTML page calling `p("frame")` in script tags.
    HtmlFile,
    /// `jsonp`: polling; one frame as `/**/callback("frame");` per GET.
    Jsonp,
    /// `jsonp_send`: the client's messages in a POST body, possibly form-encoded `d=...`.
    JsonpSend,
}

/// Every transport, in the order of [`Transport::name`]'s table.
pub const ALL_TRANSPORTS: [Transport; 8] = [
    Transport::WebSocket,
    Transport::Xhr,
    Transport::XhrSend,
    Transport::XhrStreaming,
    Transport::EventSource,
    Transport::HtmlFile,
    Transport::Jsonp,
    Transport::JsonpSend,
];

/// The `xhr_streaming` prelude: 2048 `h` and a newline, defeating browser buffering.
const XHR_STREAMING_PRELUDE_H: usize = 2048;

const HTMLFILE_HEAD: &str = "<!doctype html>\n<html><head>\n  \
<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n  \
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n\
</head><body><h2>Don't panic!</h2>\n  <script>\n    \
document.domain = document.domain;\n    var c = parent.";
const HTMLFILE_TAIL: &str = ";\n    c.start();\n    function p(d) {c.message(d);};\n    \
window.onload = function() {c.stop();};\n  </script>";
/// The htmlfile prelude is padded with spaces to at least this many bytes.
const HTMLFILE_MIN_PRELUDE: usize = 1024;

impl Transport {
    /// The transport named by a URL segment, case-sensitively.
    ///
    /// ```
    /// use sockwire_core::sockjs::Transport;
    /// assert_eq!(Transport::from_name("xhr_streaming"), Some(Transport::XhrStreaming));
    /// assert_eq!(Transport::from_name("XHR"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Transport> {
        ALL_TRANSPORTS.into_iter().find(|t| t.name() == name)
    }

    /// The URL segment naming this transport.
    pub const fn name(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Xhr => "xhr",
            Transport::XhrSend => "xhr_send",
            Transport::XhrStreaming => "xhr_streaming",
            Transport::EventSource => "eventsource",
            Transport::HtmlFile => "htmlfile",
            Transport::Jsonp => "jsonp",
            Transport::JsonpSend => "jsonp_send",
        }
    }

    /// Whether requests of this transport receive frames (attach as the session's receiver).
    pub const fn is_receiving(self) -> bool {
        !self.is_sending()
    }

    /// Whether requests of this transport carry client messages in their body.
    pub const fn is_sending(self) -> bool {
        matches!(self, Transport::XhrSend | Transport::JsonpSend)
    }

    /// Whether one response carries many frames until the response limit
    /// (`xhr_streaming`, `eventsource`, `htmlfile`).
    pub const fn is_streaming(self) -> bool {
        matches!(
            self,
            Transport::XhrStreaming | Transport::EventSource | Transport::HtmlFile
        )
    }

    /// Whether a response ends after one frame (`xhr`, `jsonp`).
    pub const fn is_polling(self) -> bool {
        matches!(self, Transport::Xhr | Transport::Jsonp)
    }

    /// Whether the transport needs a `c` callback query parameter (`htmlfile`, `jsonp`).
    pub const fn needs_callback(self) -> bool {
        matches!(self, Transport::HtmlFile | Transport::Jsonp)
    }

    /// The method a request of this transport uses.
    pub const fn method(self) -> &'static str {
        match self {
            Transport::WebSocket
            | Transport::EventSource
            | Transport::HtmlFile
            | Transport::Jsonp => "GET",
            Transport::Xhr
            | Transport::XhrSend
            | Transport::XhrStreaming
            | Transport::JsonpSend => "POST",
        }
    }

    /// Whether the transport answers CORS preflight (`OPTIONS`) requests.
    pub const fn allows_options(self) -> bool {
        matches!(
            self,
            Transport::Xhr | Transport::XhrSend | Transport::XhrStreaming
        )
    }

    /// The `Allow` header value: the methods the transport's URL accepts.
    pub const fn allow(self) -> &'static str {
        if self.allows_options() {
            "OPTIONS, POST"
        } else {
            self.method()
        }
    }

    /// The `Content-Type` of the transport's response, `None` for `websocket`.
    pub const fn content_type(self) -> Option<&'static str> {
        match self {
            Transport::WebSocket => None,
            Transport::Xhr | Transport::XhrStreaming | Transport::Jsonp => {
                Some("application/javascript;charset=UTF-8")
            }
            Transport::XhrSend | Transport::JsonpSend => Some("text/plain;charset=UTF-8"),
            Transport::EventSource => Some("text/event-stream;charset=UTF-8"),
            Transport::HtmlFile => Some("text/html;charset=UTF-8"),
        }
    }
}

/// Why the `c` callback parameter of `jsonp`/`htmlfile` was refused; answered with 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CallbackError {
    /// No `c` parameter, or an empty one.
    Missing,
    /// The name has a character outside `[A-Za-z0-9_.]` or is longer than
    /// [`MAX_CALLBACK_LEN`].
    Invalid,
}

impl CallbackError {
    /// The response body the protocol answers with (status 500).
    pub const fn message(self) -> &'static str {
        match self {
            CallbackError::Missing => "\"callback\" parameter required",
            CallbackError::Invalid => "invalid \"callback\" parameter",
        }
    }
}

impl core::fmt::Display for CallbackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for CallbackError {}

/// The longest callback name accepted.
pub const MAX_CALLBACK_LEN: usize = 128;

/// Finds the `c` parameter in a query string (`c=%63allback&t=1`), percent-decodes it into
/// `out` and validates it as a callback name (`[A-Za-z0-9_.]`, 1 to [`MAX_CALLBACK_LEN`]
/// bytes).
///
/// ```
/// use sockwire_core::sockjs::{callback_from_query, CallbackError};
/// let mut buf = [0u8; 64];
/// assert_eq!(callback_from_query("c=%63allback", &mut buf), Ok("callback"));
/// assert_eq!(callback_from_query("t=1", &mut buf), Err(CallbackError::Missing));
/// assert_eq!(callback_from_query("c=alert(1)", &mut buf), Err(CallbackError::Invalid));
/// ```
pub fn callback_from_query<'o>(query: &str, out: &'o mut [u8]) -> Result<&'o str, CallbackError> {
    let raw = field(query.as_bytes(), b"c").ok_or(CallbackError::Missing)?;
    let mut len = 0;
    for b in PercentDecoded::new(raw) {
        if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.') || len >= MAX_CALLBACK_LEN {
            return Err(CallbackError::Invalid);
        }
        *out.get_mut(len).ok_or(CallbackError::Invalid)? = b;
        len += 1;
    }
    if len == 0 {
        return Err(CallbackError::Missing);
    }
    let name = out.get(..len).ok_or(CallbackError::Invalid)?;
    core::str::from_utf8(name).map_err(|_| CallbackError::Invalid)
}

/// Escapes bytes for the inside of a double-quoted JavaScript string in a script element:
/// `"` and `\` are backslashed; control characters, `<`, `>` and `&` become `\u00XX`.
struct JsStringEscape<'s>(&'s mut dyn Sink);

impl Sink for JsStringEscape<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let mut unit = [b'\\', b'u', b'0', b'0', 0, 0];
            let escaped: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0..=0x1f | b'<' | b'>' | b'&' => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let [.., hi, lo] = &mut unit;
                    *hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                    *lo = HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
                    &unit
                }
                _ => continue,
            };
            self.0.put(bytes.get(start..i).unwrap_or(&[]));
            self.0.put(escaped);
            start = i + 1;
        }
        self.0.put(bytes.get(start..).unwrap_or(&[]));
    }
}

/// A transport together with its callback name: writes preludes and wrapped frames.
///
/// ```
/// use sockwire_core::sockjs::{Frame, Framing, Transport};
/// let mut out = [0u8; 64];
/// let jsonp = Framing::with_callback(Transport::Jsonp, "cb");
/// let n = jsonp.write_frame(&Frame::Messages(&["x"]), &mut out).unwrap();
/// assert_eq!(&out[..n], b"/**/cb(\"a[\\\"x\\\"]\");\r\n");
/// let n = Framing::new(Transport::EventSource).write_frame(&Frame::Open, &mut out).unwrap();
/// assert_eq!(&out[..n], b"data: o\r\n\r\n");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing<'c> {
    transport: Transport,
    callback: &'c str,
}

impl Framing<'static> {
    /// Framing for a transport without a callback.
    pub const fn new(transport: Transport) -> Self {
        Framing {
            transport,
            callback: "",
        }
    }
}

impl<'c> Framing<'c> {
    /// Framing for `jsonp`/`htmlfile` with a callback name already validated by
    /// [`callback_from_query`].
    pub const fn with_callback(transport: Transport, callback: &'c str) -> Self {
        Framing {
            transport,
            callback,
        }
    }

    /// The transport.
    pub const fn transport(&self) -> Transport {
        self.transport
    }

    /// Writes what a streaming response starts with (empty for other transports).
    pub fn write_prelude(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(out);
        match self.transport {
            Transport::XhrStreaming => {
                for _ in 0..XHR_STREAMING_PRELUDE_H / 64 {
                    w.put(&[b'h'; 64]);
                }
                w.put(b"\n");
            }
            Transport::EventSource => w.put(b"\r\n"),
            Transport::HtmlFile => {
                w.put_str(HTMLFILE_HEAD);
                w.put_str(self.callback);
                w.put_str(HTMLFILE_TAIL);
                while w.len() < HTMLFILE_MIN_PRELUDE {
                    w.put(b" ");
                }
                w.put(b"\r\n\r\n");
            }
            _ => {}
        }
        w.finish()
    }

    /// Writes `frame` wrapped for the transport; returns the length.
    pub fn write_frame(&self, frame: &Frame<'_>, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(out);
        self.put_frame(&mut w, |sink| frame.put(sink));
        w.finish()
    }

    /// Wraps the frame written by `content` for the transport.
    pub(crate) fn put_frame(&self, out: &mut dyn Sink, content: impl FnOnce(&mut dyn Sink)) {
        match self.transport {
            Transport::Xhr | Transport::XhrStreaming => {
                content(out);
                out.put(b"\n");
            }
            Transport::EventSource => {
                out.put(b"data: ");
                content(out);
                out.put(b"\r\n\r\n");
            }
            Transport::HtmlFile => {
                out.put(b"<script>\np(\"");
                content(&mut JsStringEscape(out));
                out.put(b"\");\n</script>\r\n");
            }
            Transport::Jsonp => {
                out.put(b"/**/");
                out.put(self.callback.as_bytes());
                out.put(b"(\"");
                content(&mut JsStringEscape(out));
                out.put(b"\");\r\n");
            }
            Transport::WebSocket | Transport::XhrSend | Transport::JsonpSend => content(out),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::frame::CloseFrame;
    use super::*;
    use std::vec::Vec;

    fn framed(framing: Framing<'_>, frame: Frame<'_>) -> Vec<u8> {
        let mut out = [0u8; 256];
        let n = framing.write_frame(&frame, &mut out).unwrap();
        out[..n].to_vec()
    }

    #[test]
    fn names_round_trip() {
        for t in ALL_TRANSPORTS {
            assert_eq!(Transport::from_name(t.name()), Some(t));
            assert_eq!(t.is_receiving(), !t.is_sending());
            assert!(!(t.is_polling() && t.is_streaming()));
        }
        assert_eq!(Transport::from_name("xhr_polling"), None);
        assert_eq!(Transport::from_name(""), None);
    }

    #[test]
    fn wrapping_per_transport() {
        let x = Frame::Messages(&["x"]);
        assert_eq!(framed(Framing::new(Transport::WebSocket), x), br#"a["x"]"#);
        assert_eq!(framed(Framing::new(Transport::Xhr), Frame::Open), b"o\n");
        assert_eq!(
            framed(Framing::new(Transport::XhrStreaming), x),
            b"a[\"x\"]\n"
        );
        assert_eq!(
            framed(Framing::new(Transport::EventSource), x),
            b"data: a[\"x\"]\r\n\r\n"
        );
        let html = Framing::with_callback(Transport::HtmlFile, "callback");
        assert_eq!(
            framed(html, Frame::Open),
            b"<script>\np(\"o\");\n</script>\r\n"
        );
        assert_eq!(
            framed(html, x),
            b"<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n"
        );
        assert_eq!(
            framed(html, Frame::Messages(&["</script>\\"])),
            b"<script>\np(\"a[\\\"\\u003c/script\\u003e\\\\\\\\\\\"]\");\n</script>\r\n"
        );
        let jsonp = Framing::with_callback(Transport::Jsonp, "x");
        assert_eq!(
            framed(jsonp, Frame::Close(CloseFrame::GO_AWAY)),
            b"/**/x(\"c[3000,\\\"Go away!\\\"]\");\r\n"
        );
    }

    #[test]
    fn preludes() {
        let mut out = [0u8; 4096];
        let n = Framing::new(Transport::XhrStreaming)
            .write_prelude(&mut out)
            .unwrap();
        assert_eq!(n, 2049);
        assert!(out[..2048].iter().all(|&b| b == b'h'));
        assert_eq!(out[2048], b'\n');
        let n = Framing::new(Transport::EventSource)
            .write_prelude(&mut out)
            .unwrap();
        assert_eq!(&out[..n], b"\r\n");
        assert_eq!(Framing::new(Transport::Xhr).write_prelude(&mut out), Ok(0));
        let n = Framing::with_callback(Transport::HtmlFile, "callback")
            .write_prelude(&mut out)
            .unwrap();
        assert!(n > 1024);
        let text = core::str::from_utf8(&out[..n]).unwrap();
        assert!(text.starts_with("<!doctype html>\n<html><head>"));
        assert!(text.contains("var c = parent.callback;\n    c.start();"));
        assert!(text.trim_end().ends_with("</script>"));
        assert!(text.ends_with(" \r\n\r\n"));
    }

    #[test]
    fn callbacks() {
        let mut buf = [0u8; 256];
        assert_eq!(callback_from_query("t=1&c=a.b_C9", &mut buf), Ok("a.b_C9"));
        assert_eq!(
            callback_from_query("", &mut buf),
            Err(CallbackError::Missing)
        );
        assert_eq!(
            callback_from_query("c=", &mut buf),
            Err(CallbackError::Missing)
        );
        assert_eq!(
            callback_from_query("c=a%20b", &mut buf),
            Err(CallbackError::Invalid)
        );
        assert_eq!(
            callback_from_query("c=a-b", &mut buf),
            Err(CallbackError::Invalid)
        );
        let long = std::format!("c={}", "a".repeat(MAX_CALLBACK_LEN + 1));
        assert_eq!(
            callback_from_query(&long, &mut buf),
            Err(CallbackError::Invalid)
        );
        let mut tiny = [0u8; 2];
        assert_eq!(
            callback_from_query("c=abc", &mut tiny),
            Err(CallbackError::Invalid)
        );
    }
}
