//! The bucket: where it is, and the credentials to use it.
//!
//! Credentials come from the usual places, first found wins: a file named in the
//! configuration; the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`); the AWS shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
//! `~/.aws/credentials`), then the AWS config file (`AWS_CONFIG_FILE`, else `~/.aws/config`),
//! in the profile `AWS_PROFILE` names (else `default`). They are kept in memory only and never
//! printed: [`Credentials`]'s `Debug` shows where they came from, not what they are.

use std::path::{Path, PathBuf};
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};

use crate::SyncError;

/// An access key and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id.
    pub access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    /// Where they were found (for messages).
    pub source: String,
}

impl Credentials {
    /// Credentials given directly.
    pub fn new(access_key_id: &str, secret_access_key: &str, source: &str) -> Credentials {
        Credentials {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            session_token: None,
            source: source.to_owned(),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials from {} (secret not shown)", self.source)
    }
}

/// Where records go: a bucket and a prefix in it, on an S3-compatible server.
#[derive(Debug, Clone)]
pub struct SyncTarget {
    /// The bucket.
    pub bucket: String,
    /// The prefix in it (no slashes at the ends; may be empty).
    pub prefix: String,
    /// The server (`https://minio.lab.example:9000`), or None for AWS itself.
    pub endpoint: Option<String>,
    /// The region (servers other than AWS mostly ignore it).
    pub region: String,
    /// The credentials.
    pub credentials: Credentials,
    /// A CA certificate (PEM) the server's certificate is signed by, for a lab's own CA.
    pub ca_file: Option<PathBuf>,
    /// How long one request may take, retries included, before it counts as failed.
    pub request_timeout: Duration,
}

/// `s3://bucket/some/prefix` → (`bucket`, `some/prefix`).
pub fn parse_bucket_url(url: &str) -> Result<(String, String), SyncError> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| {
        SyncError::Config(format!(
            "url = {url:?} must name a bucket as s3://bucket or s3://bucket/prefix"
        ))
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !bucket_ok {
        return Err(SyncError::Config(format!(
            "{bucket:?} is not a bucket name (3 to 63 lower-case letters, digits, dots and dashes)"
        )));
    }
    Ok((bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}

impl SyncTarget {
    /// Whether requests go over plain http (credentials and records readable on the network).
    pub fn insecure(&self) -> bool {
        self.endpoint
            .as_deref()
            .is_some_and(|e| e.to_ascii_lowercase().starts_with("http://"))
    }

    /// A client for the bucket.
    pub fn store(&self) -> Result<AmazonS3, SyncError> {
        // The HTTP client's TLS uses the process's rustls provider: ring, as the rest of epocd.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut options = ClientOptions::new()
            .with_allow_http(self.insecure())
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout(self.request_timeout);
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path).map_err(SyncError::io(path))?;
            let cert = object_store::Certificate::from_pem(&pem)
                .map_err(|e| SyncError::Config(format!("ca_file {}: {e}", path.display())))?;
            options = options.with_root_certificate(cert);
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.credentials.access_key_id)
            .with_secret_access_key(&self.credentials.secret_access_key)
            .with_client_options(options)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(200),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: self.request_timeout,
            });
        if let Some(token) = &self.credentials.session_token {
            builder = builder.with_token(token);
        }
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        builder.build().map_err(|e| SyncError::Config(e.to_string()))
    }
}

/// The credentials to use, from the first place that has them (see the module docs). `env`
/// reads an environment variable; `home` is the user's home folder.
pub fn find_credentials(
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Credentials, SyncError> {
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    if let Some(file) = file {
        return from_ini_file(file, &profile, false)?.ok_or_else(|| {
            SyncError::Credentials(format!(
                "{} has no aws_access_key_id and aws_secret_access_key in [{profile}]",
                file.display()
            ))
        });
    }
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Credentials {
            access_key_id: id,
            secret_access_key: secret,
            session_token: env("AWS_SESSION_TOKEN"),
            source: "the environment (AWS_ACCESS_KEY_ID)".into(),
        });
    }
    let shared = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".aws/credentials")));
    let config = env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".aws/config")));
    for (path, config_style) in [(shared, false), (config, true)] {
        if let Some(path) = path.filter(|p| p.exists())
            && let Some(c) = from_ini_file(&path, &profile, config_style)?
        {
            return Ok(c);
        }
    }
    Err(SyncError::Credentials(
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for epocd, put them in ~/.aws/credentials, or name a \
         credentials file in [sync] credentials_file"
            .into(),
    ))
}

/// Read `[profile]` of an AWS-style INI file (`[profile name]` in the config file, except for
/// `default`). The format is a few `key = value` lines per section, which is all this reads.
fn from_ini_file(path: &Path, profile: &str, config_style: bool) -> Result<Option<Credentials>, SyncError> {
    let text = std::fs::read_to_string(path).map_err(SyncError::io(path))?;
    let wanted = if config_style && profile != "default" {
        format!("profile {profile}")
    } else {
        profile.to_owned()
    };
    let mut in_section = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.trim() == wanted;
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_owned();
            match k.trim() {
                "aws_access_key_id" => id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    Ok(match (id, secret) {
        (Some(access_key_id), Some(secret_access_key)) => Some(Credentials {
            access_key_id,
            secret_access_key,
            session_token: token,
            source: format!("{} [{wanted}]", path.display()),
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_urls() {
        assert_eq!(
            parse_bucket_url("s3://eeg-lab/epocd/site-a/").unwrap(),
            ("eeg-lab".to_owned(), "epocd/site-a".to_owned())
        );
        assert_eq!(
            parse_bucket_url("s3://eeg-lab").unwrap(),
            ("eeg-lab".to_owned(), String::new())
        );
        for bad in ["http://x/y", "s3://", "s3://UPPER", "s3://a"] {
            assert!(parse_bucket_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_come_from_the_first_place_that_has_them() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        std::fs::write(
            home.join(".aws/credentials"),
            "[default]\naws_access_key_id = HOMEKEY\naws_secret_access_key = homesecret\n\n[lab]\naws_access_key_id=LABKEY\naws_secret_access_key=labsecret\n",
        )
        .unwrap();
        let none = |_: &str| None;
        let c = find_credentials(None, &none, Some(home)).unwrap();
        assert_eq!(c.access_key_id, "HOMEKEY");
        let lab = |k: &str| (k == "AWS_PROFILE").then(|| "lab".to_owned());
        assert_eq!(
            find_credentials(None, &lab, Some(home)).unwrap().access_key_id,
            "LABKEY"
        );
        let envs = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("ENVKEY".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("envsecret".to_owned()),
            _ => None,
        };
        assert_eq!(
            find_credentials(None, &envs, Some(home)).unwrap().access_key_id,
            "ENVKEY"
        );
        let named = home.join("epocd-s3");
        std::fs::write(
            &named,
            "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = topsecretvalue\n",
        )
        .unwrap();
        let c = find_credentials(Some(&named), &envs, Some(home)).unwrap();
        assert_eq!(c.access_key_id, "FILEKEY", "a file named in the config wins");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("topsecretvalue") && !shown.contains("FILEKEY"),
            "{shown}"
        );
        let empty = tempfile::tempdir().unwrap();
        let err = find_credentials(None, &none, Some(empty.path())).unwrap_err();
        assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");
    }
}
