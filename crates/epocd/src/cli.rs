//! Command-line syntax.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Open daemon for EMOTIV EPOC-family headsets.
#[derive(Debug, Parser)]
#[command(name = "epocd", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default: ~/.config/epocd/epocd.toml, else /etc/epocd/epocd.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log level (overrides the config's log_level; default info).
    #[arg(long, global = true, value_enum, value_name = "LEVEL")]
    pub log_level: Option<crate::config::LogLevel>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decrypt and decode a capture file (raw hidraw dump or emokit CSV) to JSON lines or CSV.
    Decode(DecodeArgs),
    /// List headsets and dongles, and for any that cannot be used, the reason and the fix.
    Devices(DevicesArgs),
    /// Record raw reports from a headset into a file that `decode` and `--replay` read.
    Capture(CaptureArgs),
    /// Print decoded, timestamped samples live: the quick "is my headset working" check.
    Stream(StreamArgs),
    /// Serve the Cortex API (JSON-RPC over WebSocket) on wss://127.0.0.1:6868.
    Serve(ServeArgs),
    /// Print where the local CA certificate is and how to trust it.
    Cert(CertArgs),
    /// Open the live headset page of a running `epocd serve` in the browser (or print its
    /// address).
    Open(OpenArgs),
    /// Convert a capture file to EDF, EDF+ or BDF+ (EEG in µV plus motion).
    Convert(ConvertArgs),
    /// Run the open detections (performance metrics, facial expressions) over a capture file
    /// and print how often each was found, as JSON.
    Detect(DecodeTarget),
    /// List, export and import training profiles (to move a trained user to another machine).
    Profiles(ProfilesArgs),
    /// List the records stored in the data directory (or, with --remote, in the lab's bucket).
    Records(RecordsArgs),
    /// Show the uploads to the lab's bucket and their state; retry failed ones.
    Sync(SyncArgs),
    /// Export a stored record to EDF, EDF+, BDF+ or CSV (with a progress bar).
    Export(ExportArgs),
}

/// Arguments of `epocd profiles`.
#[derive(Debug, clap::Args)]
pub struct ProfilesArgs {
    /// Where epocd keeps its state (default: the XDG data dir, as for `serve`).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// What to do (default: list).
    #[command(subcommand)]
    pub action: Option<ProfilesAction>,
}

/// `epocd profiles` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfilesAction {
    /// List the profiles (name, trained actions, last change); damaged files are named.
    List,
    /// Show what the profile NAME has learnt, as JSON: per mental-command action its epochs,
    /// its cross-validated accuracy and the Riemannian mean of its covariance matrices.
    Show {
        /// The profile.
        name: String,
    },
    /// Write the profile NAME to FILE.
    Export {
        /// The profile.
        name: String,
        /// Where to write it.
        file: PathBuf,
    },
    /// Add the profile in FILE (from `export`), optionally under another name.
    Import {
        /// The file.
        file: PathBuf,
        /// Name it this instead.
        #[arg(long = "as")]
        rename: Option<String>,
    },
}

/// Arguments of `epocd records`.
#[derive(Debug, clap::Args)]
pub struct RecordsArgs {
    /// Where epocd keeps its state (default: the XDG data dir, as for `serve`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print JSON lines (one record object each) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// List the records in the lab's bucket (`[sync]`) instead, and whether each is here.
    #[arg(long)]
    pub remote: bool,
}

/// Arguments of `epocd sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Where epocd keeps its state (default: the XDG data dir, as for `serve`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Try failed uploads again (a running epocd takes them up within a minute).
    #[arg(long)]
    pub retry: bool,
}

/// Export formats of `epocd export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    /// EDF+ continuous (16-bit) with markers as annotations.
    Edfplus,
    /// BDF+ continuous (24-bit) with markers as annotations.
    Bdfplus,
    /// EDF (16-bit): EEG and motion in separate files.
    Edf,
    /// CSV (see --csv-version).
    Csv,
}

/// CSV layouts of `epocd export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CsvVersionArg {
    /// One CSV per stream.
    V1,
    /// One wide CSV with every stream on the EEG timeline.
    V2,
}

/// Stream types of `epocd export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamArg {
    /// EEG with contact quality and markers.
    Eeg,
    /// Motion sensors.
    Motion,
    /// Band power (CSV only).
    Bp,
    /// The detections, recomputed from the EEG: PM and FE columns (CSV), facial-expression
    /// annotations (EDF+, BDF+).
    Pm,
}

/// Arguments of `epocd export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The record id (from `epocd records`; a unique prefix is enough).
    pub record: String,
    /// File format.
    #[arg(long, value_enum)]
    pub format: ExportFormatArg,
    /// CSV layout.
    #[arg(long, value_enum, default_value_t = CsvVersionArg::V2)]
    pub csv_version: CsvVersionArg,
    /// Streams to include (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [StreamArg::Eeg, StreamArg::Motion])]
    pub streams: Vec<StreamArg>,
    /// An existing folder to write into (files are never overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// Where epocd keeps its state (default: the XDG data dir, as for `serve`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// File formats of `convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EdfFormatArg {
    /// EDF (16-bit).
    Edf,
    /// EDF+ continuous with annotations (16-bit).
    Edfplus,
    /// BDF+ continuous with annotations (24-bit).
    Bdfplus,
}

/// Arguments of `epocd convert`.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// Headset model; `auto` detects it from the reports.
    #[arg(long, value_enum, default_value_t = ModelArg::Auto)]
    pub model: ModelArg,
    /// Dongle serial (required for raw dumps; emokit CSVs name it).
    #[arg(long)]
    pub serial: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EdfFormatArg::Edfplus)]
    pub format: EdfFormatArg,
    /// The output file. Never overwritten without --force.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
    /// The capture file.
    pub file: PathBuf,
}

/// Arguments of `epocd serve`. Each flag overrides the same option of the config file.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [config: listen; default 127.0.0.1:6868, loopback only].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Where records, tokens, grants and the TLS files live [config: data_dir; default: the
    /// XDG data dir].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Serve plain ws:// instead of wss:// (development only) [config: tls = false].
    #[arg(long)]
    pub no_tls: bool,
    /// Add this many virtual headsets [config: virtual_headsets].
    #[arg(long = "virtual", value_name = "N")]
    pub virtual_headsets: Option<u32>,
    /// The virtual headsets act out this script of blinks, expressions and mental states
    /// (docs/detections.md) [config: virtual_script].
    #[arg(long, value_name = "FILE")]
    pub virtual_script: Option<PathBuf>,
    /// Add a headset that plays this capture in a loop (repeatable; pair each with --serial)
    /// [config: [[replay]]; flags replace the config's list].
    #[arg(long, value_name = "FILE")]
    pub replay: Vec<PathBuf>,
    /// Dongle serial of each --replay capture, in the same order.
    #[arg(long, value_name = "SERIAL")]
    pub serial: Vec<String>,
    /// Also allow this web origin (e.g. https://lab.example); repeatable [config:
    /// allowed_origins; flags replace the config's list].
    #[arg(long)]
    pub allow_origin: Vec<String>,
    /// Do not serve the live headset page at / [config: page = false].
    #[arg(long)]
    pub no_page: bool,
    /// Do not watch USB for dongles [config: hotplug = false].
    #[arg(long)]
    pub no_hotplug: bool,
    /// Seconds a controlDevice refresh scans Bluetooth, 0 for no Bluetooth [config:
    /// ble_scan_seconds; default 3].
    #[arg(long)]
    pub ble_scan: Option<f64>,
    /// Publish every headset to the Lab Streaming Layer [config: [lsl] enabled = true].
    #[arg(long)]
    pub lsl: bool,
    /// With --lsl, also publish band power as an outlet [config: [lsl] band_power = true].
    #[arg(long)]
    pub lsl_band_power: bool,
    /// Put the markers of this LSL marker stream (by name) into every record in progress;
    /// repeatable [config: [lsl] marker_streams; flags replace the config's list].
    #[arg(long, value_name = "NAME")]
    pub lsl_marker_stream: Vec<String>,
    /// Connections served at once [config: max_connections; default 512].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_connections: Option<u32>,
    /// Seconds a connection without a session may stay silent [config: idle_timeout_seconds;
    /// default 600].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(10..))]
    pub idle_timeout: Option<u64>,
    /// Milliseconds a streamed sample may wait, so that headsets are read in bursts: less CPU,
    /// more latency; 0 sends each report as it arrives [config: stream_interval_ms; default 4].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=100))]
    pub stream_interval: Option<u64>,
}

/// Arguments of `epocd cert`.
#[derive(Debug, clap::Args)]
pub struct CertArgs {
    /// The data dir `serve` uses (default: the XDG data dir).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Arguments of `epocd open`.
#[derive(Debug, clap::Args)]
pub struct OpenArgs {
    /// Only print the page's address; do not start a browser.
    #[arg(long)]
    pub print: bool,
}

/// Arguments of `epocd devices`.
#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Seconds to scan for Bluetooth headsets (0 = do not scan).
    #[arg(long, default_value_t = 3.0)]
    pub ble_scan: f64,
}

/// Arguments of `epocd capture`.
#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// Headset: a Cortex id or serial from `epocd devices`, a hidraw path, a BLE address or
    /// name, or `virtual:N`. Default: the only usable dongle.
    #[arg(long)]
    pub device: Option<String>,
    /// File to write (raw 32-byte reports, back to back). Never overwritten without --force.
    #[arg(long)]
    pub out: PathBuf,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `epocd stream`.
#[derive(Debug, clap::Args)]
pub struct StreamArgs {
    /// Stream virtual headset N (1 when no number is given).
    #[arg(long = "virtual", value_name = "N", num_args = 0..=1, default_missing_value = "1", conflicts_with_all = ["replay", "device"])]
    pub virtual_headset: Option<u32>,
    /// Stream a capture file as if it were a headset.
    #[arg(long, value_name = "FILE", conflicts_with = "device")]
    pub replay: Option<PathBuf>,
    /// Dongle serial of the replayed capture (emokit CSVs: read from the file name if omitted).
    #[arg(long, requires = "replay")]
    pub serial: Option<String>,
    /// Replay as fast as possible instead of at the headset's rate.
    #[arg(long, requires = "replay")]
    pub fast: bool,
    /// Replay in a loop.
    #[arg(long = "loop", requires = "replay")]
    pub looping: bool,
    /// A real headset (see `epocd devices`); default: the only usable dongle.
    #[arg(long)]
    pub device: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Jsonl)]
    pub format: FormatArg,
    /// Stop after this many seconds.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Stop after this many samples.
    #[arg(long)]
    pub count: Option<u64>,
}

/// Which headset a capture came from; `auto` finds out by trial decryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Try every key layout.
    Auto,
    /// Original EPOC (14-bit).
    Epoc,
    /// EPOC+ (16-bit, or 14-bit EPOC mode).
    Epocplus,
    /// EPOC X.
    Epocx,
}

/// Output formats of `decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// One JSON object per report.
    Jsonl,
    /// A header row, then one row per report.
    Csv,
}

/// Arguments of `epocd detect`: a capture file and how to read it.
#[derive(Debug, clap::Args)]
pub struct DecodeTarget {
    /// Headset model; `auto` detects it from the reports.
    #[arg(long, value_enum, default_value_t = ModelArg::Auto)]
    pub model: ModelArg,
    /// Dongle serial (USB serial string, e.g. UD20160103001874). Required for raw dumps;
    /// for emokit CSVs it is read from the file name when omitted.
    #[arg(long)]
    pub serial: Option<String>,
    /// Treat every electrode as in good contact (for captures whose contact quality is
    /// missing or unreliable); otherwise metrics skip sites the headset reports as poor.
    #[arg(long)]
    pub ignore_contact: bool,
    /// The capture file.
    pub file: PathBuf,
}

/// Arguments of `epocd decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Headset model; `auto` detects it from the reports.
    #[arg(long, value_enum, default_value_t = ModelArg::Auto)]
    pub model: ModelArg,
    /// Dongle serial (USB serial string, e.g. UD20160103001874). Required for raw dumps;
    /// for emokit CSVs it is read from the file name when omitted.
    #[arg(long)]
    pub serial: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Jsonl)]
    pub format: FormatArg,
    /// The capture file.
    pub file: PathBuf,
}
