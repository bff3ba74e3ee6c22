//! A SockJS client, like Spring's `SockJsClient`: it asks `/info`, then tries the
//! `websocket` transport, then `xhr_streaming`, then `xhr` polling, and offers the same
//! message API as [`WsClient`] whichever transport carries the session.

use std::io;
use std::time::Duration;

use std::collections::VecDeque;

use sockwire_core::sockjs::{next_line_frame, Frame, ReceivedFrame, SendBody};

use crate::client::{ClientOptions, WsClient};
use crate::connector::Connector;
use crate::http_client::{request, HttpResponse};
use crate::message::Message;
use crate::store::VecBytes;
use crate::url::WsUrl;
use sockwire_core::store::ByteStore;

/// A SockJS transport the client can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockJsTransport {
    /// `websocket`: SockJS frames over a WebSocket.
    WebSocket,
    /// `xhr_streaming`: one long response carries frames; sends are separate requests.
    XhrStreaming,
    /// `xhr`: each response carries one frame.
    XhrPolling,
}

impl SockJsTransport {
    /// The order Spring's SockJsClient tries them in.
    pub const ALL: [SockJsTransport; 3] = [
        SockJsTransport::WebSocket,
        SockJsTransport::XhrStreaming,
        SockJsTransport::XhrPolling,
    ];

    fn path(self) -> &'static str {
        match self {
            SockJsTransport::WebSocket => "websocket",
            SockJsTransport::XhrStreaming => "xhr_streaming",
            SockJsTransport::XhrPolling => "xhr",
        }
    }
}

enum Link {
    WebSocket(Box<WsClient>),
    Streaming(Box<HttpResponse>),
    Polling,
}

/// An open SockJS session.
pub struct SockJsClient {
    /// The server (host, port, scheme); its path is the endpoint's prefix.
    server: WsUrl,
    connector: Connector,
    base: String,
    link: Link,
    transport: SockJsTransport,
    inbox: VecDeque<Message>,
    closed: bool,
}

const TIMEOUT: Duration = Duration::from_secs(30);

fn invalid(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn random_id(len: usize) -> io::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// `http://host:port/prefix` or `https://...`: the server, and the prefix without a
/// trailing `/`.
fn split_url(url: &str) -> io::Result<(WsUrl, String)> {
    let server = WsUrl::parse(url)
        .ok()
        .filter(|_| url.starts_with("http://") || url.starts_with("https://"))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "expected http://host:port/prefix or https://...",
            )
        })?;
    let prefix = server.path.trim_end_matches('/').to_string();
    Ok((server, prefix))
}

/// Decodes every message `body` holds.
fn decoded(body: &SendBody<'_>) -> io::Result<Vec<String>> {
    let mut buf = vec![0u8; body.max_message_len()];
    let mut messages = body.messages();
    let mut all = Vec::with_capacity(body.len());
    while let Some(m) = messages.next_into(&mut buf) {
        all.push(m.map_err(invalid)?.to_string());
    }
    Ok(all)
}

/// Queues the messages and events of one SockJS frame after the open frame.
fn take_frame(frame: &[u8], out: &mut VecDeque<Message>) -> io::Result<()> {
    match ReceivedFrame::parse(frame).map_err(invalid)? {
        ReceivedFrame::Open => Err(invalid("a second open frame")),
        ReceivedFrame::Heartbeat => Ok(()),
        ReceivedFrame::Messages(body) => {
            out.extend(decoded(&body)?.into_iter().map(Message::Text));
            Ok(())
        }
        ReceivedFrame::Close { code, reason } => {
            let reason = decoded(&reason)?.concat();
            out.push_back(Message::Close {
                code: Some(code),
                reason,
            });
            Ok(())
        }
    }
}

impl SockJsClient {
    /// Connects to the SockJS endpoint at `url` (`http://host:port/prefix`, or
    /// `https://` for TLS), trying each transport in [`SockJsTransport::ALL`] order.
    pub fn connect(url: &str) -> io::Result<SockJsClient> {
        SockJsClient::connect_with(url, &SockJsTransport::ALL)
    }

    /// Connects with the first of `transports` that works.
    pub fn connect_with(url: &str, transports: &[SockJsTransport]) -> io::Result<SockJsClient> {
        SockJsClient::connect_via(url, transports, &Connector::default())
    }

    /// Connects with the first of `transports` that works, every request (and the
    /// WebSocket) made through `connector`.
    pub fn connect_via(
        url: &str,
        transports: &[SockJsTransport],
        connector: &Connector,
    ) -> io::Result<SockJsClient> {
        let (server, prefix) = split_url(url)?;
        let info = request(
            connector,
            &server,
            "GET",
            &format!("{prefix}/info"),
            b"",
            TIMEOUT,
        )?;
        if info.status != 200 {
            return Err(invalid(format!("{prefix}/info answered {}", info.status)));
        }
        let info = String::from_utf8_lossy(&info.into_body()?).into_owned();
        let websocket_allowed = !info.contains("\"websocket\":false");
        let mut last = invalid("no transport to try");
        for &transport in transports {
            if transport == SockJsTransport::WebSocket && !websocket_allowed {
                continue;
            }
            let base = format!("{prefix}/{}/{}", random_id(3)?, random_id(8)?);
            match SockJsClient::open(&server, connector, base, transport) {
                Ok(client) => return Ok(client),
                Err(e) => {
                    log::debug!("SockJS {}: {e}", transport.path());
                    last = e;
                }
            }
        }
        Err(last)
    }

    fn open(
        server: &WsUrl,
        connector: &Connector,
        base: String,
        transport: SockJsTransport,
    ) -> io::Result<SockJsClient> {
        let link = match transport {
            SockJsTransport::WebSocket => {
                let scheme = if server.tls { "wss" } else { "ws" };
                let url = format!("{scheme}://{}{base}/websocket", server.host_header());
                let options = ClientOptions {
                    connector: connector.clone(),
                    ..ClientOptions::default()
                };
                Link::WebSocket(Box::new(WsClient::connect_with(&url, &options)?))
            }
            SockJsTransport::XhrStreaming => {
                let target = format!("{base}/xhr_streaming");
                let response = request(connector, server, "POST", &target, b"", TIMEOUT)?;
                if response.status != 200 {
                    return Err(invalid(format!(
                        "xhr_streaming answered {}",
                        response.status
                    )));
                }
                Link::Streaming(Box::new(response))
            }
            SockJsTransport::XhrPolling => Link::Polling,
        };
        let mut client = SockJsClient {
            server: server.clone(),
            connector: connector.clone(),
            base,
            link,
            transport,
            inbox: Default::default(),
            closed: false,
        };
        // The first frame must be the open frame (after the xhr_streaming prelude).
        loop {
            let frame = client.next_frame()?;
            match frame.as_deref().map(ReceivedFrame::parse) {
                Some(Ok(ReceivedFrame::Heartbeat)) => continue,
                Some(Ok(ReceivedFrame::Open)) => return Ok(client),
                _ => {
                    let got = String::from_utf8_lossy(frame.as_deref().unwrap_or(b"the close"));
                    return Err(invalid(format!("expected the open frame, got {got:?}")));
                }
            }
        }
    }

    /// The transport carrying the session.
    pub fn transport(&self) -> SockJsTransport {
        self.transport
    }

    /// Reads the next SockJS frame from whichever transport carries the session; `None`
    /// when the WebSocket carrying it closed (its close is queued).
    fn next_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        match &mut self.link {
            Link::WebSocket(ws) => loop {
                match ws.read()? {
                    Message::Text(t) => return Ok(Some(t.into_bytes())),
                    close @ Message::Close { .. } => {
                        self.inbox.push_back(close);
                        return Ok(None);
                    }
                    _ => {}
                }
            },
            Link::Streaming(response) => loop {
                let buf = response.buffered();
                if let Some((frame, used)) = next_line_frame(buf) {
                    let frame = frame.to_vec();
                    buf.drain(..used);
                    return Ok(Some(frame));
                }
                if !response.fill()? {
                    // The server ended the response at its byte limit: reconnect.
                    let again = request(
                        &self.connector,
                        &self.server,
                        "POST",
                        &format!("{}/xhr_streaming", self.base),
                        b"",
                        TIMEOUT,
                    )?;
                    **response = again;
                }
            },
            Link::Polling => {
                let response = request(
                    &self.connector,
                    &self.server,
                    "POST",
                    &format!("{}/xhr", self.base),
                    b"",
                    TIMEOUT,
                )?;
                if response.status != 200 {
                    return Err(invalid(format!("xhr answered {}", response.status)));
                }
                let body = response.into_body()?;
                let frame = next_line_frame(&body).map_or(&body[..], |(frame, _)| frame);
                Ok(Some(frame.to_vec()))
            }
        }
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> io::Result<()> {
        let mut frame = VecBytes::new(usize::MAX);
        let encode = |out: &mut [u8]| Frame::Messages(&[text]).write(out);
        frame
            .write_with(text.len() + 8, encode, |e| Some(e.needed))
            .map_err(invalid)?;
        // `a["..."]` without the `a` is the JSON array a client sends.
        let array = frame.as_slice().get(1..).unwrap_or_default();
        match &mut self.link {
            Link::WebSocket(ws) => ws.send_text(&String::from_utf8_lossy(array)),
            _ => {
                let r = request(
                    &self.connector,
                    &self.server,
                    "POST",
                    &format!("{}/xhr_send", self.base),
                    array,
                    TIMEOUT,
                )?;
                match r.status {
                    200 | 204 => Ok(()),
                    status => Err(invalid(format!("xhr_send answered {status}"))),
                }
            }
        }
    }

    /// Like [`SockJsClient::read`], but returns `None` after about `wait` with nothing to
    /// report (or after a heart-beat). Over `xhr` polling a poll is not interrupted: it
    /// returns by the server's heart-beat at the latest.
    pub fn read_for(&mut self, wait: Duration) -> io::Result<Option<Message>> {
        if let Some(m) = self.pop() {
            return Ok(Some(m));
        }
        if self.closed {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "SockJS session closed",
            ));
        }
        let frame = match &mut self.link {
            Link::WebSocket(ws) => match ws.read_for(Some(wait))? {
                Some(Message::Text(t)) => Some(t.into_bytes()),
                Some(close @ Message::Close { .. }) => {
                    self.inbox.push_back(close);
                    None
                }
                _ => return Ok(None),
            },
            Link::Streaming(response) => {
                if !response.buffered().contains(&b'\n') {
                    response.set_timeout(Some(wait))?;
                    let filled = response.fill();
                    response.set_timeout(Some(TIMEOUT))?;
                    match filled {
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                            ) =>
                        {
                            return Ok(None)
                        }
                        Err(e) => return Err(e),
                        // More bytes, or the end of the response (next_frame reconnects).
                        Ok(more) => {
                            if more && !response.buffered().contains(&b'\n') {
                                return Ok(None);
                            }
                        }
                    }
                }
                self.next_frame()?
            }
            Link::Polling => self.next_frame()?,
        };
        self.take(frame)?;
        Ok(self.pop())
    }

    fn pop(&mut self) -> Option<Message> {
        let m = self.inbox.pop_front()?;
        if matches!(m, Message::Close { .. }) {
            self.closed = true;
        }
        Some(m)
    }

    /// Reads until a message or the close arrives (heart-beats are skipped).
    pub fn read(&mut self) -> io::Result<Message> {
        loop {
            if let Some(m) = self.pop() {
                return Ok(m);
            }
            if self.closed {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "SockJS session closed",
                ));
            }
            let frame = self.next_frame()?;
            self.take(frame)?;
        }
    }

    fn take(&mut self, frame: Option<Vec<u8>>) -> io::Result<()> {
        match frame {
            Some(frame) => take_frame(&frame, &mut self.inbox),
            None => Ok(()),
        }
    }

    /// Closes the session (over WebSocket with a close handshake; over HTTP by leaving).
    pub fn close(&mut self) -> io::Result<()> {
        self.closed = true;
        if let Link::WebSocket(ws) = &mut self.link {
            ws.close(1000, "")?;
        }
        Ok(())
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}
