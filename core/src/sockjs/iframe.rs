//! The iframe page (`/iframe*.html`) used for cross-domain transports.

use super::json_escape::{Count, Sink};
use crate::buf::{BufferTooSmall, Writer};

const HEAD: &str = "<!DOCTYPE html>\n<html>\n<head>\n  \
<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n  \
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n  \
<script>\n    document.domain = document.domain;\n    \
_sockjs_onload = function(){SockJS.bootstrap_iframe();};\n  </script>\n  <script src=\"";
const TAIL: &str = "\"></script>\n</head>\n<body>\n  <h2>Don't panic!</h2>\n  \
<p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n</body>\n</html>";

/// An ETag: a quoted hex SHA-1 of the page, `"` + 40 digits + `"`.
pub type ETag = heapless::String<42>;

struct Sha1Sink(sha1_smol::Sha1);

impl Sink for Sha1Sink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The iframe page that loads the sockjs-client script from `client_url`.
///
/// ```
/// use sockwire_core::sockjs::IframePage;
/// let page = IframePage::new("https://cdn.example/sockjs.min.js");
/// let mut body = [0u8; 1024];
/// let n = page.write_body(&mut body).unwrap();
/// assert_eq!(n, page.body_len());
/// let etag = page.etag();
/// assert!(page.matches(Some(etag.as_bytes())));
/// assert!(!page.matches(Some(b"\"other\"")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IframePage<'u> {
    client_url: &'u str,
}

impl<'u> IframePage<'u> {
    /// The page for `client_url` (HTML-escaped in the attribute).
    pub const fn new(client_url: &'u str) -> Self {
        IframePage { client_url }
    }

    fn put(&self, out: &mut dyn Sink) {
        out.put(HEAD.as_bytes());
        let mut start = 0;
        for (i, b) in self.client_url.bytes().enumerate() {
            let escaped: &[u8] = match b {
                b'"' => b"&quot;",
                b'&' => b"&amp;",
                b'<' => b"&lt;",
                b'>' => b"&gt;",
                _ => continue,
            };
            out.put(self.client_url.as_bytes().get(start..i).unwrap_or(&[]));
            out.put(escaped);
            start = i + 1;
        }
        out.put(self.client_url.as_bytes().get(start..).unwrap_or(&[]));
        out.put(TAIL.as_bytes());
    }

    /// The body length (for `Content-Length`).
    pub fn body_len(&self) -> usize {
        let mut count = Count(0);
        self.put(&mut count);
        count.0
    }

    /// Writes the HTML body; returns its length.
    pub fn write_body(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(out);
        self.put(&mut w);
        w.finish()
    }

    /// The page's ETag, stable for a given client URL.
    pub fn etag(&self) -> ETag {
        let mut sha = Sha1Sink(sha1_smol::Sha1::new());
        self.put(&mut sha);
        let digest = sha.0.digest().bytes();
        let mut tag = ETag::new();
        let _ = tag.push('"');
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for b in digest {
            for nibble in [b >> 4, b & 0xf] {
                let _ = tag.push(char::from(
                    HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                ));
            }
        }
        let _ = tag.push('"');
        tag
    }

    /// Whether an `If-None-Match` value names this page (`*`, the ETag, or a list holding
    /// it, weak or strong): answer 304 then.
    pub fn matches(&self, if_none_match: Option<&[u8]>) -> bool {
        let Some(value) = if_none_match else {
            return false;
        };
        let etag = self.etag();
        value.split(|&b| b == b',').any(|candidate| {
            let candidate = candidate.trim_ascii();
            let candidate = candidate.strip_prefix(b"W/").unwrap_or(candidate);
            candidate == b"*" || candidate == etag.as_bytes()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_and_etag() {
        let page = IframePage::new("/static/sockjs.js?a=1&b=\"2\"");
        let mut out = [0u8; 1024];
        let n = page.write_body(&mut out).unwrap();
        let body = core::str::from_utf8(&out[..n]).unwrap();
        assert!(body.starts_with("<!DOCTYPE html>\n<html>\n<head>\n"));
        assert!(
            body.contains("<script src=\"/static/sockjs.js?a=1&amp;b=&quot;2&quot;\"></script>")
        );
        assert!(body.ends_with("</body>\n</html>"));
        let etag = page.etag();
        assert_eq!(etag.len(), 42);
        assert_eq!(etag, page.etag());
        assert_ne!(etag, IframePage::new("/other.js").etag());
        assert!(page.matches(Some(etag.as_bytes())));
        let list = [b"\"x\", W/".as_slice(), etag.as_bytes()].concat();
        assert!(page.matches(Some(&list)));
        assert!(page.matches(Some(b"*")));
        assert!(!page.matches(None));
        assert!(!page.matches(Some(b"\"abc\"")));
    }
}
