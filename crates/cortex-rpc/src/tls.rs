//! The local certificate authority and the server certificate for `localhost`, `127.0.0.1`
//! and `::1`, made on first start and kept under `<data dir>/tls/`.
//!
//! Users are told to trust the CA system-wide, so it must not be able to vouch for anything
//! else: it is name-constrained to those three names, valid for [`VALID_DAYS`], and its key
//! signs the one server certificate and is then thrown away (never written to disk). When
//! the server certificate nears its end, both are made anew and the log says to trust the
//! new CA.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, NameConstraints, SanType,
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
    /// Where epocd 0.1.0 kept the CA's private key: removed at start (the key is no longer
    /// kept anywhere).
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

/// How long the CA and the server certificate are valid.
pub const VALID_DAYS: i64 = 3 * 365;
/// Renew this many days before the server certificate ends.
const RENEW_DAYS: i64 = 30;

/// When a certificate (PEM, the first of the file) stops being valid, as Unix seconds.
fn not_after(pem_path: &Path) -> Option<i64> {
    let der = CertificateDer::pem_file_iter(pem_path).ok()?.next()?.ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    Some(cert.validity().not_after.timestamp())
}

fn day(offset_days: i64) -> Result<time::OffsetDateTime, RpcError> {
    let at = chrono::Utc::now() + chrono::Duration::days(offset_days);
    let date = at.date_naive();
    use chrono::Datelike as _;
    let month = u8::try_from(date.month()).map_err(tls)?;
    let day = u8::try_from(date.day()).map_err(tls)?;
    Ok(rcgen::date_time_ymd(date.year(), month, day))
}

/// Make the CA and the server certificate unless valid ones exist (renewing them within
/// [`RENEW_DAYS`] of their end). Returns whether it made them. Removes a CA key an older
/// epocd left on disk.
pub fn ensure(paths: &TlsPaths) -> Result<bool, RpcError> {
    if paths.ca_key.exists() {
        std::fs::remove_file(&paths.ca_key)
            .map_err(|e| tls(format!("cannot remove {}: {e}", paths.ca_key.display())))?;
        tracing::warn!(
            "removed {}: epocd no longer keeps a key that can sign certificates",
            paths.ca_key.display()
        );
    }
    let renew_after = chrono::Utc::now().timestamp() + RENEW_DAYS * 86_400;
    if paths.ca_cert.exists() && paths.server_key.exists() {
        match not_after(&paths.server_cert) {
            Some(end) if end > renew_after => return Ok(false),
            Some(_) => tracing::warn!(
                "the server certificate ends within {RENEW_DAYS} days: making a new local CA; trust {} again (epocd cert)",
                paths.ca_cert.display()
            ),
            None => {}
        }
    }
    if let Some(dir) = paths.ca_cert.parent() {
        std::fs::create_dir_all(dir).map_err(|e| tls(format!("cannot create {}: {e}", dir.display())))?;
    }
    let (not_before, not_after) = (day(-1)?, day(VALID_DAYS)?);
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "epocd local CA (localhost only)");
    ca.distinguished_name.push(DnType::OrganizationName, "epocd");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    ca.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(IpAddr::V4(Ipv4Addr::LOCALHOST), 32)),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(IpAddr::V6(Ipv6Addr::LOCALHOST), 128)),
        ],
        excluded_subtrees: Vec::new(),
    });
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_key = KeyPair::generate().map_err(tls)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(tls)?;

    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).map_err(tls)?;
    leaf.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    leaf.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let leaf_key = KeyPair::generate().map_err(tls)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &Issuer::new(ca, ca_key)).map_err(tls)?;
    // The CA key goes out of scope here: it signed its one certificate.

    std::fs::write(&paths.ca_cert, ca_cert.pem())
        .map_err(|e| tls(format!("{}: {e}", paths.ca_cert.display())))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::extensions::{GeneralName, ParsedExtension};

    #[test]
    fn the_ca_vouches_for_localhost_only_for_three_years_and_its_key_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let paths = TlsPaths::in_dir(dir.path());
        std::fs::create_dir_all(dir.path().join("tls")).unwrap();
        std::fs::write(&paths.ca_key, "an old unconstrained CA key").unwrap();
        assert!(ensure(&paths).unwrap(), "made on first start");
        assert!(!paths.ca_key.exists(), "no CA key on disk, the old one removed");
        let der = CertificateDer::pem_file_iter(&paths.ca_cert)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let (_, ca) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        assert!(ca.is_ca());
        let mut permitted = Vec::new();
        for ext in ca.extensions() {
            if let ParsedExtension::NameConstraints(nc) = ext.parsed_extension() {
                assert!(ext.critical, "name constraints are critical");
                for s in nc.permitted_subtrees.as_ref().unwrap() {
                    permitted.push(match &s.base {
                        GeneralName::DNSName(d) => (*d).to_owned(),
                        GeneralName::IPAddress(ip) => format!("{ip:02x?}"),
                        other => panic!("unexpected subtree {other:?}"),
                    });
                }
            }
        }
        assert_eq!(
            permitted,
            [
                "localhost".to_owned(),
                format!("{:02x?}", [127u8, 0, 0, 1, 255, 255, 255, 255]),
                format!("{:02x?}", [[0u8; 15].as_slice(), &[1], &[255u8; 16]].concat()),
            ]
        );
        let days = (ca.validity().not_after.timestamp() - ca.validity().not_before.timestamp()) / 86_400;
        assert!((VALID_DAYS..=VALID_DAYS + 2).contains(&days), "{days} days");
        assert!(!ensure(&paths).unwrap(), "kept while valid");
        assert!(server_config(&paths).is_ok());
    }
}
