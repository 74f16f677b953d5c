//! The local certificate authority and the server certificate for `localhost` and
//! `127.0.0.1`, made on first start and kept under `<data dir>/tls/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::RpcError;

/// Where the TLS files live.
#[derive(Debug, Clone)]
pub struct TlsPaths {
    /// The CA certificate users trust (also what the Cortex Python example's
    /// `certificates/rootCA.pem` must be replaced with).
    pub ca_cert: PathBuf,
    /// The CA's private key (0600).
    pub ca_key: PathBuf,
    /// The server certificate (chain: leaf, CA).
    pub server_cert: PathBuf,
    /// The server's private key (0600).
    pub server_key: PathBuf,
}

impl TlsPaths {
    /// The files under `<data dir>/tls/`.
    pub fn in_dir(data_dir: &Path) -> Self {
        let d = data_dir.join("tls");
        TlsPaths {
            ca_cert: d.join("epocd-ca.pem"),
            ca_key: d.join("epocd-ca.key"),
            server_cert: d.join("server.pem"),
            server_key: d.join("server.key"),
        }
    }
}

fn tls(e: impl std::fmt::Display) -> RpcError {
    RpcError::Tls(e.to_string())
}

fn write_private(path: &Path, text: &str) -> Result<(), RpcError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| tls(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| tls(format!("cannot write {}: {e}", path.display())))
}

/// Make the CA and the server certificate unless they exist. Returns whether it made them.
pub fn ensure(paths: &TlsPaths) -> Result<bool, RpcError> {
    if paths.ca_cert.exists() && paths.server_cert.exists() && paths.server_key.exists() {
        return Ok(false);
    }
    if let Some(dir) = paths.ca_cert.parent() {
        std::fs::create_dir_all(dir).map_err(|e| tls(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "epocd local CA");
    ca.distinguished_name.push(DnType::OrganizationName, "epocd");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(tls)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(tls)?;

    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).map_err(tls)?;
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::V4(
            std::net::Ipv4Addr::LOCALHOST,
        )));
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::V6(
            std::net::Ipv6Addr::LOCALHOST,
        )));
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let leaf_key = KeyPair::generate().map_err(tls)?;
    let issuer = Issuer::new(ca, ca_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(tls)?;

    std::fs::write(&paths.ca_cert, ca_cert.pem())
        .map_err(|e| tls(format!("{}: {e}", paths.ca_cert.display())))?;
    write_private(&paths.ca_key, &issuer.key().serialize_pem())?;
    std::fs::write(
        &paths.server_cert,
        format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
    )
    .map_err(|e| tls(format!("{}: {e}", paths.server_cert.display())))?;
    write_private(&paths.server_key, &leaf_key.serialize_pem())?;
    Ok(true)
}

/// The rustls server configuration (TLS 1.2 and 1.3, ring provider).
pub fn server_config(paths: &TlsPaths) -> Result<Arc<ServerConfig>, RpcError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&paths.server_cert)
        .map_err(|e| tls(format!("{}: {e}", paths.server_cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls(format!("{}: {e}", paths.server_cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(&paths.server_key)
        .map_err(|e| tls(format!("{}: {e}", paths.server_key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(tls)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(tls)?;
    Ok(Arc::new(config))
}
