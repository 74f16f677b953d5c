//! The configuration file (`epocd.toml`): what a service needs set once rather than on every
//! command line. Flags override it; an unknown key or a bad value is an error that names the
//! key and the file, so a typo never silently falls back to a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::CliError;

/// The system-wide file, used when the user has none (and named by the system unit).
pub const SYSTEM_CONFIG: &str = "/etc/epocd/epocd.toml";

/// A capture served as a headset.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayEntry {
    /// The capture file.
    pub file: PathBuf,
    /// The dongle serial that recorded it.
    pub serial: String,
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Failures only.
    Error,
    /// Failures and what needs attention.
    Warn,
    /// Start-up, headsets, sessions and records (the default).
    Info,
    /// Each connection and request.
    Debug,
    /// Everything.
    Trace,
}

/// The default of `stream_interval_ms` (the service's own default).
pub const DEFAULT_STREAM_INTERVAL_MS: u64 = cortex_service::DEFAULT_STREAM_INTERVAL.as_millis() as u64;
/// The longest `stream_interval_ms`: the dongle's kernel buffer holds 166 ms of reports.
pub const MAX_STREAM_INTERVAL_MS: u64 = 100;

/// Every option of `epocd.toml`, with its default (see `packaging/epocd.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the Cortex API listens on.
    pub listen: SocketAddr,
    /// Where records, tokens and TLS files live (default: the XDG data dir).
    pub data_dir: Option<PathBuf>,
    /// wss:// (true) or plain ws://.
    pub tls: bool,
    /// Web origins allowed besides this machine's own.
    pub allowed_origins: Vec<String>,
    /// Serve the live headset page at `/` of the same port.
    pub page: bool,
    /// Virtual headsets to add.
    pub virtual_headsets: u32,
    /// A script the virtual headsets act out (docs/detections.md).
    pub virtual_script: Option<PathBuf>,
    /// Captures to serve as looping headsets.
    pub replay: Vec<ReplayEntry>,
    /// Watch USB for dongles.
    pub hotplug: bool,
    /// Seconds a refresh scans Bluetooth (0: no Bluetooth).
    pub ble_scan_seconds: f64,
    /// Log verbosity.
    pub log_level: LogLevel,
    /// Connections served at once (each costs a file descriptor and a little memory).
    pub max_connections: usize,
    /// Seconds a connection without a session may stay silent before it is closed.
    pub idle_timeout_seconds: u64,
    /// Milliseconds a streamed sample may wait before it leaves for the apps and LSL: the
    /// headsets are read in bursts this far apart (0: each report as it arrives).
    pub stream_interval_ms: u64,
    /// The Lab Streaming Layer (`[lsl]`).
    pub lsl: LslConfig,
    /// Record sync to the lab's bucket (`[sync]`); none: records stay on this machine.
    pub sync: Option<SyncConfig>,
}

/// The `[sync]` table: where stopped records are uploaded (docs/sync.md).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// `s3://bucket` or `s3://bucket/prefix`.
    pub url: String,
    /// The S3-compatible server (a lab's MinIO: `https://minio.lab.example:9000`); none for
    /// AWS itself. `http://` is allowed, with a warning in the log.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The region (most servers other than AWS ignore it).
    #[serde(default = "default_region")]
    pub region: String,
    /// A file with the credentials (AWS credentials-file format); none: the environment, then
    /// ~/.aws/credentials and ~/.aws/config.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// A CA certificate (PEM) for a server whose certificate a lab's own CA signed.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Whether deleteRecord also deletes the record's copy in the bucket.
    #[serde(default)]
    pub delete_remote: bool,
    /// MiB per part of a multipart upload (5 to 512).
    #[serde(default = "default_part_size_mib")]
    pub part_size_mib: u64,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_part_size_mib() -> u64 {
    8
}

/// The `[lsl]` table.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LslConfig {
    /// Publish every headset (EEG, motion, markers) to LSL.
    pub enabled: bool,
    /// LSL marker streams (by name) whose markers go into every record in progress.
    pub marker_streams: Vec<String>,
    /// Also publish band power as an outlet (with `enabled`).
    pub band_power: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 6868)),
            data_dir: None,
            tls: true,
            allowed_origins: Vec::new(),
            page: true,
            virtual_headsets: 0,
            virtual_script: None,
            replay: Vec::new(),
            hotplug: true,
            ble_scan_seconds: 3.0,
            log_level: LogLevel::Info,
            max_connections: 512,
            idle_timeout_seconds: 600,
            stream_interval_ms: DEFAULT_STREAM_INTERVAL_MS,
            lsl: LslConfig::default(),
            sync: None,
        }
    }
}

/// Whether a sync url names a bucket (the message says how it should look).
fn cortex_sync_url(url: &str) -> Result<(), String> {
    cortex_service::parse_bucket_url(url)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The per-user file: `$XDG_CONFIG_HOME/epocd/epocd.toml`.
pub fn user_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "epocd", "epocd").map(|p| p.config_dir().join("epocd.toml"))
}

impl Config {
    /// Parse a file's text; errors name the file and, through the TOML error, the key.
    pub fn parse(text: &str, path: &Path) -> Result<Config, CliError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            CliError::Usage(format!(
                "config file {}: {}",
                path.display(),
                e.to_string().trim_end()
            ))
        })?;
        let bad = |key: &str, why: &str| {
            Err(CliError::Usage(format!(
                "config file {}: key `{key}`: {why}",
                path.display()
            )))
        };
        if !(0.0..=60.0).contains(&config.ble_scan_seconds) {
            return bad("ble_scan_seconds", "must be between 0 and 60");
        }
        if !(1..=65_536).contains(&config.max_connections) {
            return bad("max_connections", "must be between 1 and 65536");
        }
        if config.idle_timeout_seconds < 10 {
            return bad("idle_timeout_seconds", "must be at least 10");
        }
        if config.stream_interval_ms > MAX_STREAM_INTERVAL_MS {
            return bad(
                "stream_interval_ms",
                &format!("must be between 0 and {MAX_STREAM_INTERVAL_MS}"),
            );
        }
        if let Some(d) = &config.data_dir
            && !d.is_absolute()
        {
            return bad("data_dir", "must be an absolute path");
        }
        if let Some(s) = &config.sync {
            if !(5..=512).contains(&s.part_size_mib) {
                return bad("sync.part_size_mib", "must be between 5 and 512");
            }
            if let Err(e) = cortex_sync_url(&s.url) {
                return bad("sync.url", &e);
            }
            if let Some(e) = &s.endpoint
                && !(e.starts_with("http://") || e.starts_with("https://"))
            {
                return bad(
                    "sync.endpoint",
                    &format!("{e:?} must start with https:// (or http://)"),
                );
            }
        }
        for o in &config.allowed_origins {
            if !(o.starts_with("http://") || o.starts_with("https://")) {
                return bad(
                    "allowed_origins",
                    &format!("{o:?} is not an origin such as \"https://lab.example\""),
                );
            }
        }
        Ok(config)
    }

    /// The configuration in force: `explicit` (which must exist), else the user's file, else
    /// the system file, else the defaults. Returns it with the file it came from.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), CliError> {
        let candidates: Vec<PathBuf> = match explicit {
            Some(p) => vec![p.to_path_buf()],
            None => user_config_path()
                .into_iter()
                .chain([PathBuf::from(SYSTEM_CONFIG)])
                .collect(),
        };
        for path in candidates {
            match std::fs::read_to_string(&path) {
                Ok(text) => return Ok((Config::parse(&text, &path)?, Some(path))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => continue,
                Err(e) => {
                    return Err(CliError::Io {
                        context: format!("cannot read config file {}", path.display()),
                        source: e,
                    });
                }
            }
        }
        Ok((Config::default(), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("/etc/epocd/epocd.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_shipped_file_documents_every_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/epocd.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(Config::parse(&text, &path).unwrap(), Config::default());
        // Uncommenting every option gives the defaults again (plus the example data dir,
        // script and capture), so the comments show the real defaults and every key is spelled right.
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix('#') {
                Some(rest) if (rest.contains(" = ") || rest.starts_with("[")) && !rest.starts_with(' ') => {
                    rest
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let expected = Config {
            data_dir: Some(PathBuf::from("/var/lib/epocd")),
            virtual_script: Some(PathBuf::from("/etc/epocd/session.script")),
            replay: vec![ReplayEntry {
                file: PathBuf::from("/path/to/capture.dump"),
                serial: "UD20160103001874".into(),
            }],
            sync: Some(SyncConfig {
                url: "s3://eeg-lab/epocd".into(),
                endpoint: Some("https://minio.lab.example:9000".into()),
                region: default_region(),
                credentials_file: Some(PathBuf::from("/etc/epocd/s3-credentials")),
                ca_file: Some(PathBuf::from("/etc/epocd/lab-ca.pem")),
                delete_remote: false,
                part_size_mib: default_part_size_mib(),
            }),
            ..Config::default()
        };
        assert_eq!(Config::parse(&uncommented, &path).unwrap(), expected);
        let keys = uncommented
            .lines()
            .filter(|l| l.contains(" = ") && !l.starts_with('#'))
            .count();
        assert_eq!(
            keys,
            13 + 2 + 3 + 7,
            "every option (and the replay, lsl and sync tables' keys) appears"
        );
    }

    #[test]
    fn values_are_read() {
        let c = parse(
            "listen = \"127.0.0.1:7000\"\ntls = false\nvirtual_headsets = 2\nlog_level = \"debug\"\n\
             [[replay]]\nfile = \"/tmp/a.dump\"\nserial = \"SN1\"\n",
        )
        .unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert!(!c.tls);
        assert_eq!(c.virtual_headsets, 2);
        assert_eq!(c.log_level, LogLevel::Debug);
        assert_eq!(c.replay[0].serial, "SN1");
    }

    #[test]
    fn an_unknown_key_or_a_bad_value_names_the_key_and_the_file() {
        for (text, key) in [
            ("lisen = \"127.0.0.1:1\"\n", "lisen"),
            ("virtual_headsets = \"two\"\n", "virtual_headsets"),
            ("virtual_headsets = -1\n", "virtual_headsets"),
            ("listen = \"localhost\"\n", "listen"),
            ("log_level = \"loud\"\n", "log_level"),
            ("tls = 1\n", "tls"),
            ("ble_scan_seconds = 600.0\n", "ble_scan_seconds"),
            ("stream_interval_ms = 250\n", "stream_interval_ms"),
            ("stream_interval_ms = -1\n", "stream_interval_ms"),
            ("data_dir = \"relative/dir\"\n", "data_dir"),
            ("allowed_origins = [\"lab.example\"]\n", "allowed_origins"),
            ("[[replay]]\nfile = \"/a\"\n", "serial"),
            ("[[replay]]\nfile = \"/a\"\nserial = \"S\"\nspeed = 2\n", "speed"),
            ("tls = true\ntls = false\n", "tls"),
            ("listen = \n", "listen"),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains("/etc/epocd/epocd.toml"), "{text:?}: {e}");
            assert!(e.contains(key), "{text:?} should name {key}: {e}");
        }
    }

    #[test]
    fn an_explicit_file_must_exist_and_a_missing_default_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let e = Config::load(Some(&missing)).unwrap_err().to_string();
        assert!(e.contains("nope.toml"), "{e}");
        let file = dir.path().join("epocd.toml");
        std::fs::write(&file, "virtual_headsets = 3\n").unwrap();
        let (c, from) = Config::load(Some(&file)).unwrap();
        assert_eq!((c.virtual_headsets, from), (3, Some(file)));
    }
}
