//! TLS for the server's listeners: a certificate chain and key read from PEM files into
//! rustls configurations, which [`TlsConfigs::reload`] swaps for connections accepted
//! after it (a reload that fails keeps the configurations in use).

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;

/// Where a TLS listener's certificate chain and private key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM file of the certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// PEM file of the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The configurations the listeners hand new TLS connections: the HTTP listener's
/// (ALPN `http/1.1`) and STOMP's (no ALPN).
struct Configs {
    http: Arc<ServerConfig>,
    stomp: Arc<ServerConfig>,
}

/// The server's TLS configurations, shared by its workers, reloadable from the files.
pub struct TlsConfigs {
    settings: TlsSettings,
    current: RwLock<Arc<Configs>>,
}

impl TlsConfigs {
    /// Reads the files; an error says which file and why.
    pub fn load(settings: TlsSettings) -> io::Result<TlsConfigs> {
        let current = RwLock::new(Arc::new(read(&settings)?));
        Ok(TlsConfigs { settings, current })
    }

    /// Reads the files again: connections accepted from now on get the new certificate,
    /// those already open keep theirs. On an error nothing changes.
    pub fn reload(&self) -> io::Result<()> {
        let fresh = Arc::new(read(&self.settings)?);
        match self.current.write() {
            Ok(mut current) => *current = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }

    fn current(&self) -> Arc<Configs> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The configuration of the HTTP listener now.
    pub fn http(&self) -> Arc<ServerConfig> {
        self.current().http.clone()
    }

    /// The configuration of the STOMP listener now.
    pub fn stomp(&self) -> Arc<ServerConfig> {
        self.current().stomp.clone()
    }
}

fn read(settings: &TlsSettings) -> io::Result<Configs> {
    let chain = crate::pem::certificates(&settings.cert)?;
    let key = crate::pem::private_key(&settings.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut stomp = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} and {}: {e}",
                    settings.cert.display(),
                    settings.key.display()
                ),
            )
        })?;
    stomp.ignore_client_order = true;
    let mut http = stomp.clone();
    http.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Configs {
        http: Arc::new(http),
        stomp: Arc::new(stomp),
    })
}
