//! `epocd convert`: a capture file to EDF, EDF+ or BDF+.
//!
//! The decoded reports become samples on their stream's time axis (lost samples counted from
//! the counter gaps) and go through the same writer as record export
//! (`cortex_record::write_edf`): lossless EEG, contact quality and battery at 2 Hz, motion,
//! gaps filled with the previous value and marked by an annotation in EDF+/BDF+.

use std::io::BufWriter;

use cortex_record::{Annotation, EdfFormat, EdfInput, SampleSource, write_edf};
use epoc_driver::Sample;
use epoc_protocol::{Decoded, ReportKind, Resolution};

use crate::cli::{ConvertArgs, EdfFormatArg};
use crate::decode_cmd::decode_file;
use crate::error::CliError;

/// Give decoded reports the stream indices and times a live headset's samples carry: EEG at
/// the EEG rate ending at `end` (the capture file's time), motion at the time of the EEG
/// sample it followed.
fn to_samples(decoded: &[Decoded], eeg_rate: f64, end: f64) -> (Vec<Sample>, Vec<Sample>) {
    let eeg_count: u64 = decoded
        .iter()
        .filter(|d| d.report.has_eeg())
        .map(|d| u64::from(d.lost) + 1)
        .sum();
    let start = end - eeg_count as f64 / eeg_rate;
    let (mut eeg, mut motion): (Vec<Sample>, Vec<Sample>) = (Vec::new(), Vec::new());
    // Next index of each stream; the first sample of a stream starts its axis (a gap before
    // it is not a loss).
    let next = |v: &Vec<Sample>, lost: u16| v.last().map_or(0, |s| s.index + 1 + u64::from(lost));
    for d in decoded {
        if d.report.has_eeg() {
            let index = next(&eeg, d.lost);
            eeg.push(Sample {
                report: d.report,
                time: start + index as f64 / eeg_rate,
                index,
                lost: d.lost,
            });
        } else if d.report.kind == ReportKind::Motion {
            motion.push(Sample {
                report: d.report,
                time: eeg.last().map_or(start, |s| s.time),
                index: next(&motion, d.lost),
                lost: d.lost,
            });
        }
    }
    (eeg, motion)
}

fn source(samples: &[Sample]) -> SampleSource<'_> {
    Box::new(samples.iter().copied().map(Ok))
}

/// Run `epocd convert`.
pub fn run(args: &ConvertArgs) -> Result<(), CliError> {
    let (detection, decoded) = decode_file(&args.file, args.serial.as_deref(), args.model)?;
    let mode = detection.mode;
    let format = match args.format {
        EdfFormatArg::Edf => EdfFormat::Edf,
        EdfFormatArg::Edfplus => EdfFormat::EdfPlus,
        EdfFormatArg::Bdfplus => EdfFormat::BdfPlus,
    };
    let eeg_rate = f64::from(mode.eeg_rate.hz());
    let modified = std::fs::metadata(&args.file).and_then(|m| m.modified()).ok();
    let end = modified
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or_else(cortex_record::time::unix_now, |d| d.as_secs_f64());
    let (eeg, motion) = to_samples(&decoded, eeg_rate, end);
    if eeg.is_empty() {
        return Err(CliError::Usage(format!(
            "{} holds no EEG samples",
            args.file.display()
        )));
    }
    let source_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let input = EdfInput {
        mode,
        eeg: Some(source(&eeg)),
        // 14-bit gyro rides in every EEG report.
        motion: Some(match mode.resolution {
            Resolution::Bits14 => source(&eeg),
            Resolution::Bits16 => source(&motion),
        }),
        markers: Vec::new(),
        annotations: vec![Annotation {
            onset: 0.0,
            duration: 0.0,
            text: format!("epocd: converted from {source_name}"),
        }],
        seconds: eeg.last().zip(eeg.first()).map_or(0.0, |(l, f)| l.time - f.time),
        start: eeg.first().map_or(end, |s| s.time),
        equipment: format!("epocd_{}", mode.model.cortex_prefix()),
    };
    let file = crate::error::create_output(&args.out, args.force)?;
    let summary = write_edf(BufWriter::new(file), format, input, &mut |_| {})?;
    eprintln!(
        "epocd: wrote {} ({} {}-bit {} Hz, {} s, {} EEG samples, {} gaps)",
        args.out.display(),
        mode.model.cortex_prefix(),
        mode.resolution.bits(),
        mode.eeg_rate.hz(),
        summary.records,
        summary.eeg_samples,
        summary.gaps
    );
    Ok(())
}
