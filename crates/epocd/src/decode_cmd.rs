//! `epocd decode`: a capture file in, one decoded row per report out.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use epoc_protocol::{
    Decoder, KeyLayout, OFFLINE_WINDOW, ProtocolError, Serial, detect, parse_capture, serial_in_file_name,
};
use thiserror::Error;

use crate::cli::{DecodeArgs, FormatArg, ModelArg};
use crate::output;

/// Reports decrypted per batch.
const BATCH: usize = 512;

/// Why `decode` could not do its job; each says what to do about it.
#[derive(Debug, Error)]
pub enum DecodeError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not in a capture format.
    #[error("{path} is {source}")]
    NotACapture {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ProtocolError,
    },
    /// Raw dumps do not name their dongle.
    #[error(
        "--serial is required: the key comes from the dongle serial (the USB serial string, e.g. \
         UD20160103001874), which {0} does not name"
    )]
    SerialRequired(PathBuf),
    /// The serial cannot make a key.
    #[error("bad --serial: {0}")]
    BadSerial(ProtocolError),
    /// No key layout fits.
    #[error("{0}")]
    NoKey(ProtocolError),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Write(io::Error),
}

impl DecodeError {
    /// 2 for bad input (the user must change something), 1 for failures writing output.
    pub fn exit_status(&self) -> u8 {
        match self {
            DecodeError::Write(_) => 1,
            _ => 2,
        }
    }
}

fn candidates(model: ModelArg) -> &'static [KeyLayout] {
    match model {
        ModelArg::Auto => &KeyLayout::ALL,
        ModelArg::Epoc => &KeyLayout::EPOC,
        ModelArg::Epocplus => &KeyLayout::EPOC_PLUS,
        ModelArg::Epocx => &KeyLayout::EPOC_X,
    }
}

/// A capture read, parsed and detected: what `decode` prints and `convert` writes start here.
struct Opened {
    serial: Serial,
    detection: epoc_protocol::Detection,
    capture: epoc_protocol::Capture,
}

fn open_capture(file: &Path, serial: Option<&str>, model: ModelArg) -> Result<Opened, DecodeError> {
    let bytes = std::fs::read(file).map_err(|source| DecodeError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let capture = parse_capture(&bytes).map_err(|source| DecodeError::NotACapture {
        path: file.to_path_buf(),
        source,
    })?;
    let from_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(serial_in_file_name);
    let text = serial
        .or(from_name)
        .ok_or_else(|| DecodeError::SerialRequired(file.to_path_buf()))?;
    let serial = Serial::from_usb(text).map_err(DecodeError::BadSerial)?;
    let window = &capture.reports[..capture.reports.len().min(OFFLINE_WINDOW)];
    let detection = detect(&serial, window, candidates(model)).map_err(DecodeError::NoKey)?;
    note_cut_off_end(file, &capture);
    Ok(Opened {
        serial,
        detection,
        capture,
    })
}

/// Read, detect and decode a whole capture (what `decode` prints and `convert` writes).
pub fn decode_file(
    file: &Path,
    serial: Option<&str>,
    model: ModelArg,
) -> Result<(epoc_protocol::Detection, Vec<epoc_protocol::Decoded>), DecodeError> {
    let Opened {
        serial,
        detection,
        capture,
    } = open_capture(file, serial, model)?;
    let mut decoder = Decoder::from_detection(&serial, &detection);
    let mut reports = capture.reports;
    let mut out = Vec::with_capacity(reports.len());
    for chunk in reports.chunks_mut(BATCH) {
        decoder.decode_many(chunk, |d| {
            if let Ok(d) = d {
                out.push(d);
            }
        });
    }
    Ok((detection, out))
}

/// Run `epocd decode`.
pub fn run(args: &DecodeArgs) -> Result<(), DecodeError> {
    let Opened {
        serial,
        detection,
        capture,
    } = open_capture(&args.file, args.serial.as_deref(), args.model)?;
    let mode = detection.mode;
    eprintln!(
        "epocd: {} reports, {} {}-bit {} Hz (key layout {}, {}% of reports consistent)",
        capture.reports.len(),
        mode.model.cortex_prefix(),
        mode.resolution.bits(),
        mode.eeg_rate.hz(),
        detection.layout.name(),
        detection.matched_percent,
    );

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let skipped = match write_all(&mut out, args.format, &serial, &detection, capture.reports) {
        Ok(skipped) => skipped,
        // `epocd decode … | head` closing the pipe is not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(DecodeError::Write(e)),
    };
    if skipped > 0 {
        eprintln!(
            "epocd: skipped {skipped} reports that did not decrypt to a valid packet (corrupted in the capture)"
        );
    }
    Ok(())
}

fn note_cut_off_end(path: &Path, capture: &epoc_protocol::Capture) {
    if capture.trailing_bytes > 0 {
        eprintln!(
            "epocd: {}: ignoring {} bytes after the last whole 32-byte report",
            path.display(),
            capture.trailing_bytes
        );
    }
    if let Some(line) = capture.truncated_last_line {
        eprintln!(
            "epocd: {}: ignoring the truncated last row (line {line})",
            path.display()
        );
    }
}

/// Decode and write every report; returns how many were skipped as invalid.
fn write_all(
    out: &mut impl Write,
    format: FormatArg,
    serial: &Serial,
    detection: &epoc_protocol::Detection,
    mut reports: Vec<[u8; 32]>,
) -> io::Result<usize> {
    let mut decoder = Decoder::from_detection(serial, detection);
    if format == FormatArg::Csv {
        output::write_csv_header(out, detection.mode, false)?;
    }
    let mut index = 0;
    let mut skipped = 0;
    let mut result = Ok(());
    for chunk in reports.chunks_mut(BATCH) {
        decoder.decode_many(chunk, |decoded| {
            if result.is_ok() {
                match decoded {
                    Ok(d) => {
                        let row = output::Row {
                            index: index as u64,
                            time: None,
                            lost: d.lost,
                            report: &d.report,
                        };
                        result = match format {
                            FormatArg::Jsonl => output::write_jsonl(out, &row),
                            FormatArg::Csv => output::write_csv_row(out, &row),
                        }
                    }
                    Err(_) => skipped += 1,
                }
            }
            index += 1;
        });
        result
            .as_ref()
            .map_err(|e| io::Error::new(e.kind(), e.to_string()))?;
    }
    out.flush()?;
    Ok(skipped)
}
