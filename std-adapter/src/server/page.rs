//! The page at `/`: what the server offers, a publish/subscribe demo through its own
//! STOMP endpoint (a STOMP 1.2 client in the page's script, over WebSocket or SockJS
//! xhr-streaming), and counters from `/metrics` drawn as a chart. The files are in the
//! binary; the page loads nothing from anywhere else, which its policy enforces.
//! Routed at `/`, `/page.js`, `/page.css` and `/favicon.svg`.

use sockwire_core::http::{write_ok_response_with, WriteError};

/// A file of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

const INDEX: Asset = Asset {
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("page/index.html"),
};
const SCRIPT: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("page/page.js"),
};
const ICON: Asset = Asset {
    content_type: "image/svg+xml",
    body: include_bytes!("page/favicon.svg"),
};
const STYLE: Asset = Asset {
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("page/page.css"),
};

/// Only the server itself: its scripts, styles and images, and `fetch`, WebSocket (`ws:`
/// and `wss:` to the same host and port are `'self'` in CSP level 3) and SockJS requests
/// to it. No inline script or style, no plugins, no framing by other sites.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The file served at `path` (the request target without its query): the page itself for
/// any path but the assets' (it is routed at `/`).
pub fn asset(path: &str) -> Asset {
    match path.rsplit('/').next() {
        Some("page.js") => SCRIPT,
        Some("page.css") => STYLE,
        Some("favicon.svg") => ICON,
        _ => INDEX,
    }
}

/// Writes `asset` as a complete `200 OK`: revalidated on every use (`no-cache`, so a new
/// binary's page is seen at once), under the policy, never sniffed as another type.
pub fn write(asset: Asset, out: &mut [u8]) -> Result<usize, WriteError> {
    write_ok_response_with(
        asset.content_type,
        &[
            ("Cache-Control", "no-cache"),
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
        ],
        asset.body,
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the script and the style sheet are, as the page names them.
    const ASSET_PATHS: [&str; 3] = ["/page.js", "/page.css", "/favicon.svg"];

    #[test]
    fn assets_by_path() {
        assert_eq!(asset("/"), INDEX);
        assert_eq!(asset("/page.js"), SCRIPT);
        assert_eq!(asset("/page.css"), STYLE);
        assert_eq!(asset("/favicon.svg"), ICON);
        for path in ASSET_PATHS {
            assert!(std::str::from_utf8(asset(path).body).is_ok());
        }
    }

    #[test]
    fn page_names_only_its_own_files() {
        let html = std::str::from_utf8(INDEX.body).unwrap();
        for path in ASSET_PATHS {
            assert!(html.contains(&format!("\"{path}\"")), "{path}");
        }
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script>") && !html.contains("style="));
    }

    #[test]
    fn response_has_the_policy() {
        let mut out = vec![0u8; 128 * 1024];
        let n = write(SCRIPT, &mut out).unwrap();
        let text = std::str::from_utf8(&out[..n]).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/javascript"));
        assert!(text.contains(&format!(
            "\r\nContent-Security-Policy: {CONTENT_SECURITY_POLICY}\r\n"
        )));
        assert!(text.contains("\r\nCache-Control: no-cache\r\n"));
    }
}
