//! The little HTTP/1.1 a SockJS client needs: one request per connection, a response
//! head, and a body delimited by length, chunks or close, read as it arrives; over TCP
//! or TLS (`https://`).

use std::io::{self, Read, Write};
use std::time::Duration;

use sockwire_core::http::{ChunkedDecoder, HeadScanner, Header, Response};

use crate::connector::{BoxStream, Connector};
use crate::url::WsUrl;

fn invalid(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// How the body of a response ends.
enum Body {
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// A response whose body is read incrementally.
pub struct HttpResponse {
    stream: BoxStream,
    /// The status code.
    pub status: u16,
    body: Body,
    /// Body bytes already read past the head.
    buffered: Vec<u8>,
    done: bool,
}

/// Sends `method target` with `body` to the server of `server` (its host, port and
/// scheme; the path is not used) through `connector`, and reads the response head.
pub fn request(
    connector: &Connector,
    server: &WsUrl,
    method: &str,
    target: &str,
    body: &[u8],
    timeout: Duration,
) -> io::Result<HttpResponse> {
    let mut stream = connector.connect(&server.host, server.port, server.tls)?;
    stream.set_read_timeout(Some(timeout))?;
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        server.host_header(),
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut scanner = HeadScanner::new(Default::default());
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_len = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(invalid("connection closed before the response head"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(len) = scanner.scan(&buf).map_err(invalid)? {
            break len;
        }
    };
    let mut headers = [Header::EMPTY; 64];
    let (response, _) = Response::parse(&buf[..head_len], &mut headers)
        .map_err(invalid)?
        .ok_or_else(|| invalid("incomplete response head"))?;
    let status = response.status;
    let body = if response.headers.has_token("transfer-encoding", "chunked") {
        Body::Chunked(ChunkedDecoder::new())
    } else if let Some(len) = response.headers.get("content-length") {
        let len = std::str::from_utf8(len)
            .ok()
            .and_then(|l| l.trim().parse().ok());
        Body::Length(len.ok_or_else(|| invalid("bad Content-Length"))?)
    } else if status == 204 || status == 304 {
        Body::Length(0)
    } else {
        Body::UntilClose
    };
    let mut response = HttpResponse {
        stream,
        status,
        body,
        buffered: Vec::new(),
        done: false,
    };
    let rest = buf.split_off(head_len);
    response.take(&rest)?;
    Ok(response)
}

impl HttpResponse {
    /// Decodes raw bytes from the connection into body bytes.
    fn take(&mut self, raw: &[u8]) -> io::Result<()> {
        match &mut self.body {
            Body::Length(left) => {
                let n = usize::try_from(*left).unwrap_or(usize::MAX).min(raw.len());
                self.buffered.extend_from_slice(&raw[..n]);
                *left -= n as u64;
                self.done = *left == 0;
            }
            Body::Chunked(decoder) => {
                let out = &mut self.buffered;
                decoder
                    .decode(raw, &mut |p| out.extend_from_slice(p))
                    .map_err(invalid)?;
                self.done = decoder.is_done();
            }
            Body::UntilClose => self.buffered.extend_from_slice(raw),
        }
        Ok(())
    }

    /// Body bytes received so far and not yet taken.
    pub fn buffered(&mut self) -> &mut Vec<u8> {
        &mut self.buffered
    }

    /// Reads more of the body; false once the body has ended.
    pub fn fill(&mut self) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            self.done = true;
            return Ok(false);
        }
        self.take(&chunk[..n])?;
        Ok(true)
    }

    /// Sets how long [`HttpResponse::fill`] may wait (`None`: as long as it takes).
    pub fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(timeout)
    }

    /// The whole body.
    pub fn into_body(mut self) -> io::Result<Vec<u8>> {
        while self.fill()? {}
        Ok(self.buffered)
    }
}
