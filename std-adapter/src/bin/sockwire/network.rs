//! How the client subcommands reach the server: CAs to trust for TLS, an HTTP proxy.

use std::path::PathBuf;

use clap::Args;
use sockwire_std::connector::Connector;

/// TLS trust and proxy flags of the client subcommands.
#[derive(Args)]
pub struct Network {
    /// A PEM file of CA certificates to trust for wss://, https:// and stomp+ssl://,
    /// besides the system's roots (repeat for more).
    #[arg(long = "ca", value_name = "FILE")]
    cas: Vec<PathBuf>,
    /// Connects through the HTTP proxy at URL (http://HOST:PORT), with CONNECT.
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
}

impl Network {
    /// The connector these flags describe.
    pub fn connector(&self) -> Result<Connector, String> {
        let mut connector = Connector::default();
        for ca in &self.cas {
            connector = connector.with_ca_file(ca).map_err(|e| e.to_string())?;
        }
        if let Some(proxy) = &self.proxy {
            connector = connector
                .with_proxy(proxy)
                .map_err(|e| format!("--proxy {proxy}: {e}"))?;
        }
        Ok(connector)
    }
}
