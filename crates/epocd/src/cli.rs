//! Command-line syntax.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Open daemon for EMOTIV EPOC-family headsets.
#[derive(Debug, Parser)]
#[command(name = "epocd", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decrypt and decode a capture file (raw hidraw dump or emokit CSV) to JSON lines or CSV.
    Decode(DecodeArgs),
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
