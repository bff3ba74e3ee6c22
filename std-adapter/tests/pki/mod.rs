//! A certificate authority made in the test, and server certificates it signs for
//! `localhost` and 127.0.0.1, written as PEM files for `sockwire serve`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::CertificateDer;

/// A test CA, its files in a directory of their own (removed when dropped).
pub struct Pki {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate.
    pub ca: CertificateDer<'static>,
    /// The directory: `ca.pem`, `cert.pem`, `key.pem`.
    pub dir: PathBuf,
    /// The server certificate `cert.pem` holds now.
    pub server: CertificateDer<'static>,
}

impl Pki {
    /// A new CA named `name`, and a server certificate signed by it.
    pub fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("sockwire-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("sockwire test CA {name}"),
        );
        let key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        let issuer = Issuer::new(params, key);
        let mut pki = Pki {
            issuer,
            ca: ca.der().clone(),
            dir,
            server: CertificateDer::from(Vec::new()),
        };
        pki.issue();
        pki
    }

    /// Signs a new server certificate (a new key too) and writes both files over the
    /// old ones.
    pub fn issue(&mut self) {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        std::fs::write(self.dir.join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(self.dir.join("key.pem"), key.serialize_pem()).unwrap();
        self.server = cert.der().clone();
    }

    /// A file in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `--tls-cert` and `--tls-key` for `sockwire serve`.
    pub fn serve_args(&self) -> [String; 4] {
        [
            "--tls-cert".into(),
            text(&self.path("cert.pem")),
            "--tls-key".into(),
            text(&self.path("key.pem")),
        ]
    }
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
