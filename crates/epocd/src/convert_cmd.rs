//! `epocd convert`: a capture file to EDF, EDF+ or BDF+.
//!
//! EEG is stored losslessly: the physical range is the ADC's whole range in µV and the
//! digital range has exactly as many steps as the ADC (16-bit counts ↦ -32768..32767,
//! 14-bit counts ↦ -8192..8191). Samples lost on the link (counter gaps) are filled with the
//! previous value and marked by an annotation in EDF+/BDF+, so the time axis stays true.

use std::io::BufWriter;

use cortex_record::{Annotation, EdfFormat, EdfWriter, Header, Signal};
use epoc_protocol::{DISPLAY_ORDER, Decoded, ReportKind, Resolution};

use crate::cli::{ConvertArgs, EdfFormatArg};
use crate::decode_cmd::decode_file;
use crate::error::CliError;
use crate::output::motion_names;

/// Place samples on their stream's time axis (index = position incl. lost samples), filling
/// gaps with the previous value. Returns the values and the gaps (start index, length).
fn on_axis<const N: usize>(samples: &[(u16, [f64; N])]) -> (Vec<[f64; N]>, Vec<(usize, usize)>) {
    let mut out = Vec::with_capacity(samples.len());
    let mut gaps = Vec::new();
    for (lost, v) in samples {
        if *lost > 0 && !out.is_empty() {
            let prev = *out.last().unwrap_or(v);
            gaps.push((out.len(), usize::from(*lost)));
            out.extend(std::iter::repeat_n(prev, usize::from(*lost)));
        }
        out.push(*v);
    }
    (out, gaps)
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
    let eeg_rate = usize::from(mode.eeg_rate.hz());
    let eeg: Vec<(u16, [f64; 14])> = decoded
        .iter()
        .filter(|d| d.report.has_eeg())
        .map(|d| (d.lost, d.report.eeg_microvolts()))
        .collect();
    if eeg.is_empty() {
        return Err(CliError::Usage(format!(
            "{} holds no EEG samples",
            args.file.display()
        )));
    }
    let (eeg, gaps) = on_axis(&eeg);
    // Motion: 16-bit motion reports at their own rate; 14-bit gyro rides in every EEG packet.
    let names = motion_names(mode);
    let motion_src: Vec<(u16, [f64; 9])> = decoded
        .iter()
        .filter(|d: &&Decoded| match mode.resolution {
            Resolution::Bits14 => d.report.has_eeg(),
            Resolution::Bits16 => d.report.kind == ReportKind::Motion,
        })
        .map(|d| (d.lost, d.report.motion.map(f64::from)))
        .collect();
    let (motion, _) = on_axis(&motion_src);
    let motion_rate = match mode.resolution {
        Resolution::Bits14 => eeg_rate,
        Resolution::Bits16 if motion.is_empty() => 0,
        Resolution::Bits16 => {
            let per_sec = motion.len() as f64 * eeg_rate as f64 / eeg.len() as f64;
            [32usize, 64, 128]
                .into_iter()
                .min_by_key(|r| (*r as f64 - per_sec).abs() as u64)
                .unwrap_or(64)
        }
    };
    let seconds = eeg.len().div_ceil(eeg_rate);

    let (counts, dig_min) = match mode.resolution {
        Resolution::Bits16 => (65535.0, -32768),
        Resolution::Bits14 => (16383.0, -8192),
    };
    let uv = mode.resolution.microvolts_per_count();
    let mut signals: Vec<Signal> = DISPLAY_ORDER
        .iter()
        .map(|c| Signal {
            label: c.name().to_owned(),
            transducer: format!("{} electrode", mode.model.cortex_prefix()),
            physical_dimension: "uV".into(),
            physical_min: 0.0,
            physical_max: counts * uv,
            digital_min: dig_min,
            digital_max: dig_min + counts as i32,
            prefilter: "HP:0.16Hz LP:43Hz N:50/60Hz (headset)".into(),
            samples_per_record: eeg_rate,
        })
        .collect();
    let (mot_min, mot_max) = match mode.resolution {
        Resolution::Bits14 => (0, 4095),
        Resolution::Bits16 => (-32768, 32767),
    };
    if motion_rate > 0 {
        signals.extend(names.iter().map(|n| Signal {
            label: (*n).to_owned(),
            transducer: "motion sensor".into(),
            physical_dimension: "count".into(),
            physical_min: f64::from(mot_min),
            physical_max: f64::from(mot_max),
            digital_min: mot_min,
            digital_max: mot_max,
            prefilter: String::new(),
            samples_per_record: motion_rate,
        }));
    }
    let modified = std::fs::metadata(&args.file).and_then(|m| m.modified()).ok();
    let end: chrono::DateTime<chrono::Local> =
        modified.map_or_else(chrono::Local::now, chrono::DateTime::from);
    let start = end - chrono::Duration::milliseconds((eeg.len() as f64 / eeg_rate as f64 * 1000.0) as i64);
    use chrono::{Datelike, Timelike};
    let header = Header {
        patient: "X X X X".into(),
        recording: format!(
            "Startdate {} X X epocd_{}",
            start.format("%d-%b-%Y").to_string().to_uppercase(),
            mode.model.cortex_prefix()
        ),
        start: (
            start.year(),
            start.month(),
            start.day(),
            start.hour(),
            start.minute(),
            start.second(),
        ),
        start_fraction: 0.0,
        record_seconds: 1.0,
        signals,
    };
    let file = crate::error::create_output(&args.out, args.force)?;
    let mut w = EdfWriter::new(BufWriter::new(file), format, header)?;
    let source = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    w.annotate(Annotation {
        onset: 0.0,
        duration: 0.0,
        text: format!("epocd: converted from {source}"),
    });
    for (at, n) in &gaps {
        w.annotate(Annotation {
            onset: *at as f64 / eeg_rate as f64,
            duration: *n as f64 / eeg_rate as f64,
            text: format!("epocd: {n} samples lost (filled with the previous value)"),
        });
    }
    let mut columns: Vec<Vec<f64>> =
        vec![Vec::with_capacity(eeg_rate); 14 + if motion_rate > 0 { names.len() } else { 0 }];
    for rec in 0..seconds {
        for c in &mut columns {
            c.clear();
        }
        for i in rec * eeg_rate..(rec + 1) * eeg_rate {
            let v = eeg.get(i).or(eeg.last()).copied().unwrap_or([0.0; 14]);
            for (ch, c) in columns.iter_mut().take(14).enumerate() {
                c.push(v[ch]);
            }
        }
        if motion_rate > 0 {
            for i in rec * motion_rate..(rec + 1) * motion_rate {
                let v = motion.get(i).or(motion.last()).copied().unwrap_or([0.0; 9]);
                for (k, c) in columns.iter_mut().skip(14).enumerate() {
                    c.push(v[k]);
                }
            }
        }
        let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        w.write_record(&refs)?;
    }
    w.finish()?;
    eprintln!(
        "epocd: wrote {} ({} {}-bit {} Hz, {} s, {} EEG samples, {} gaps)",
        args.out.display(),
        mode.model.cortex_prefix(),
        mode.resolution.bits(),
        eeg_rate,
        seconds,
        eeg.len(),
        gaps.len()
    );
    Ok(())
}
