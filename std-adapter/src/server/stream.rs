//! A connection's socket: plain TCP, or TCP carrying TLS (rustls), with the nonblocking
//! semantics the worker expects of both: `WouldBlock` when nothing can move now, TLS
//! records written out as the socket allows.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;

use mio::event::Source;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::{ServerConfig, ServerConnection};

/// A connection's socket.
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream>),
}

/// TLS over a nonblocking TCP socket.
pub struct TlsStream {
    tcp: TcpStream,
    tls: ServerConnection,
    /// `close_notify` is queued.
    closing: bool,
}

impl Stream {
    /// TLS, server side, over `tcp`, with `config` (the handshake runs as bytes arrive).
    pub fn tls(tcp: TcpStream, config: Arc<ServerConfig>) -> io::Result<Stream> {
        let tls = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(Stream::Tls(Box::new(TlsStream {
            tcp,
            tls,
            closing: false,
        })))
    }

    /// Ends the write side once everything written is out: TLS's `close_notify`, then
    /// the TCP FIN. `WouldBlock` while the socket cannot take the last records yet; call
    /// again when it is writable.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.shutdown(Shutdown::Write),
            Stream::Tls(s) => {
                if !s.closing {
                    s.closing = true;
                    s.tls.send_close_notify();
                }
                s.send_records()?;
                s.tcp.shutdown(Shutdown::Write)
            }
        }
    }
}

impl TlsStream {
    /// Writes the TLS records rustls holds until none is left (`Ok`) or the socket would
    /// block (`WouldBlock`).
    fn send_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.tcp) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Like [`TlsStream::send_records`], where a full socket is no error: the rest goes
    /// out when it is writable.
    fn send_records_now(&mut self) -> io::Result<()> {
        match self.send_records() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // Plaintext already decrypted comes first: the socket may not signal again
            // for it.
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n), // 0: the peer's close_notify
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            match self.tls.read_tls(&mut self.tcp) {
                Ok(0) => return Ok(0), // TCP closed without close_notify: the end too
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let processed = self.tls.process_new_packets();
            // Handshake answers, or the alert that says why the peer is refused.
            let sent = self.send_records_now();
            if let Err(e) = processed {
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            sent?;
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Records of earlier writes go first; while they wait, take no more.
        self.send_records()?;
        let n = self.tls.writer().write(buf)?;
        self.send_records_now()?;
        if n == 0 && !buf.is_empty() {
            // rustls's buffer is full (before the handshake ends).
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    /// Writes out what TLS still holds; `WouldBlock` while the socket cannot take it.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(_) => Ok(()),
            Stream::Tls(s) => s.send_records(),
        }
    }
}

impl Source for Stream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.tcp().register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.tcp().reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.tcp().deregister(registry)
    }
}

impl Stream {
    fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(s) => &mut s.tcp,
        }
    }

    /// Whether bytes already read from the socket wait inside (decrypted TLS records):
    /// the socket will not signal readiness for them again.
    pub fn has_buffered_input(&mut self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(s) => s
                .tls
                .process_new_packets()
                .is_ok_and(|state| state.plaintext_bytes_to_read() > 0),
        }
    }
}
