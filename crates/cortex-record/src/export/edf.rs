//! Samples to EDF / EDF+ / BDF+: used by record export and by `epocd convert`.
//!
//! EEG is stored losslessly: the physical range is the ADC's whole range in µV and the digital
//! range has exactly as many steps as the ADC (16-bit counts ↦ -32768..32767, 14-bit counts ↦
//! -8192..8191). Samples are placed on the time axis by their stream index, so samples lost on
//! the link are filled with the previous value and marked by an annotation in EDF+/BDF+.
//! Contact quality (`CQ_<sensor>`, 0–4), `CQ_OVERALL` (0–100) and `BATTERY` (%) ride along at
//! 2 Hz with the EEG.

use std::io::{Seek, Write};

use chrono::{Datelike, Timelike};
use epoc_driver::Sample;
use epoc_protocol::{
    DISPLAY_ORDER, DeviceState, EPOCX_MOTION_NAMES, GYRO14_NAMES, MOTION_NAMES, Mode, Model, Resolution,
};

use super::{RecordData, is_motion};
use crate::RecordError;
use crate::edf::{Annotation, EdfFormat, EdfWriter, Header, Signal};
use crate::store::{Marker, RecordMeta};
use crate::time::local_from_unix;

/// Rate of the contact-quality and battery signals in EEG files.
const CQ_RATE: usize = 2;

/// What goes into one EDF-family file.
pub struct EdfInput<'a> {
    /// The headset mode (scales, channel names).
    pub mode: Mode,
    /// EEG-carrying samples, if the file holds EEG.
    pub eeg: Option<&'a [Sample]>,
    /// Motion samples (16-bit motion reports, or 14-bit EEG reports for their gyro).
    pub motion: Option<&'a [Sample]>,
    /// Annotations besides the lost-sample ones (onsets in seconds from the first sample).
    pub annotations: Vec<Annotation>,
    /// Epoch seconds of the file start (the first sample), when the samples have no times.
    pub start: f64,
    /// Equipment name for the recording field.
    pub equipment: String,
}

/// Motion value names of a mode.
pub fn motion_names(mode: Mode) -> &'static [&'static str] {
    match (mode.resolution, mode.model) {
        (Resolution::Bits14, _) => &GYRO14_NAMES,
        (Resolution::Bits16, Model::EpocX) => &EPOCX_MOTION_NAMES,
        (Resolution::Bits16, _) => &MOTION_NAMES,
    }
}

/// Stored integers of a sample's motion slots (all nine for 16-bit, the two gyro axes for
/// 14-bit): the counts themselves.
fn motion_values(s: &Sample, n: usize) -> [i32; 9] {
    let mut out = [0; 9];
    for (o, v) in out.iter_mut().zip(s.report.motion.iter()).take(n) {
        *o = i32::from(*v);
    }
    out
}

impl<'a> EdfInput<'a> {
    /// The input for a stored record: markers become annotations on the EEG sample nearest
    /// their time.
    pub fn from_record(
        meta: &RecordMeta,
        markers: &[Marker],
        data: &'a RecordData,
        eeg: bool,
        motion: bool,
    ) -> Self {
        let mode = data.eeg.first().map_or(meta.mode, |s| s.report.mode);
        let rate = f64::from(mode.eeg_rate.hz());
        let first_index = data.eeg.first().map_or(0, |s| s.index);
        let axis = |t: f64| {
            data.nearest_eeg(t)
                .map_or(0.0, |i| (data.eeg[i].index - first_index) as f64 / rate)
        };
        let annotations = markers
            .iter()
            .map(|m| {
                let onset = axis(m.start_ms / 1000.0);
                let end = if m.interval {
                    axis(m.end_ms / 1000.0)
                } else {
                    onset
                };
                let value = match &m.value {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                Annotation {
                    onset,
                    duration: (end - onset).max(0.0),
                    text: if m.label.is_empty() {
                        value
                    } else {
                        m.label.clone()
                    },
                }
            })
            .collect();
        EdfInput {
            mode,
            eeg: eeg.then_some(data.eeg.as_slice()),
            motion: motion.then_some(data.motion_stream()),
            annotations,
            start: data.eeg.first().map_or(meta.start, |s| s.time),
            equipment: format!("epocd_{}_{}", mode.model.cortex_prefix(), meta.serial),
        }
    }
}

/// Samples on their stream's axis (position = index − first index), gaps filled with the
/// previous value. Returns the values and the gaps (start position, length).
fn on_axis<T: Copy>(samples: &[Sample], value: impl Fn(&Sample) -> T) -> (Vec<T>, Vec<(usize, usize)>) {
    let mut out: Vec<T> = Vec::with_capacity(samples.len());
    let mut gaps = Vec::new();
    let first = samples.first().map_or(0, |s| s.index);
    for s in samples {
        let pos = usize::try_from(s.index.saturating_sub(first)).unwrap_or(usize::MAX);
        let v = value(s);
        if pos > out.len() {
            // Bound the fill: a corrupt index must not allocate without limit.
            let missing = (pos - out.len()).min(1 << 24);
            gaps.push((out.len(), missing));
            let prev = out.last().copied().unwrap_or(v);
            out.extend(std::iter::repeat_n(prev, missing));
        }
        if pos >= out.len() {
            out.push(v);
        }
    }
    (out, gaps)
}

/// Write one EDF-family file; `progress` gets the EEG samples written so far.
pub fn write_edf<W: Write + Seek>(
    out: W,
    format: EdfFormat,
    input: &EdfInput<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<(), RecordError> {
    let mode = input.mode;
    let eeg_rate = usize::from(mode.eeg_rate.hz());
    let names = motion_names(mode);
    let eeg_samples = input.eeg.unwrap_or(&[]);
    let (counts, dig_min) = match mode.resolution {
        Resolution::Bits16 => (65535.0, -32768),
        Resolution::Bits14 => (16383.0, -8192),
    };
    // Stored integer = ADC count shifted into the digital range: lossless by construction
    // (the physical range maps count 0 to 0 µV and the top count to its µV).
    let (eeg, eeg_gaps) = on_axis(eeg_samples, |s| s.report.eeg.map(|c| i32::from(c) + dig_min));
    // Contact quality and battery, as they stood at each EEG position.
    let device: Vec<DeviceState> = {
        let mut state = DeviceState::default();
        let mut out = Vec::with_capacity(eeg.len());
        let first = eeg_samples.first().map_or(0, |s| s.index);
        for s in eeg_samples {
            state.update(&s.report);
            let pos = (s.index - first) as usize;
            while out.len() <= pos {
                out.push(state);
            }
        }
        out
    };
    let motion_samples: Vec<Sample> = input
        .motion
        .unwrap_or(&[])
        .iter()
        .filter(|s| mode.resolution == Resolution::Bits14 || is_motion(s))
        .copied()
        .collect();
    let (motion, motion_gaps) = on_axis(&motion_samples, |s| motion_values(s, names.len()));
    let motion_rate = match mode.resolution {
        _ if motion.is_empty() => 0,
        Resolution::Bits14 => eeg_rate,
        Resolution::Bits16 => {
            let span = match (motion_samples.first(), motion_samples.last()) {
                (Some(a), Some(b)) if b.time > a.time => b.time - a.time,
                _ => motion.len() as f64 / 64.0,
            };
            let per_sec = motion.len().saturating_sub(1) as f64 / span.max(1e-9);
            [32usize, 64, 128]
                .into_iter()
                .min_by_key(|r| (*r as f64 - per_sec).abs() as u64)
                .unwrap_or(64)
        }
    };
    let has_eeg = !eeg.is_empty();
    if !has_eeg && motion_rate == 0 {
        return Err(RecordError::Invalid(
            "the record holds no samples of the requested streams".into(),
        ));
    }
    let seconds = if has_eeg {
        eeg.len().div_ceil(eeg_rate)
    } else {
        motion.len().div_ceil(motion_rate)
    };

    let uv = mode.resolution.microvolts_per_count();
    let prefix = mode.model.cortex_prefix();
    let mut signals: Vec<Signal> = Vec::new();
    if has_eeg {
        signals.extend(DISPLAY_ORDER.iter().map(|c| Signal {
            label: c.name().to_owned(),
            transducer: format!("{prefix} electrode"),
            physical_dimension: "uV".into(),
            physical_min: 0.0,
            physical_max: counts * uv,
            digital_min: dig_min,
            digital_max: dig_min + counts as i32,
            prefilter: "HP:0.16Hz LP:43Hz N:50/60Hz (headset)".into(),
            samples_per_record: eeg_rate,
        }));
        let level = |label: String, max: f64, unit: &str| Signal {
            label,
            transducer: "epocd".into(),
            physical_dimension: unit.into(),
            physical_min: 0.0,
            physical_max: max,
            digital_min: 0,
            digital_max: max as i32,
            prefilter: String::new(),
            samples_per_record: CQ_RATE,
        };
        signals.extend(
            DISPLAY_ORDER
                .iter()
                .map(|c| level(format!("CQ_{}", c.name()), 4.0, "")),
        );
        signals.push(level("CQ_OVERALL".into(), 100.0, "%"));
        signals.push(level("BATTERY".into(), 100.0, "%"));
    }
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
    let start = local_from_unix(input.start);
    let header = Header {
        patient: "X X X X".into(),
        recording: format!(
            "Startdate {} X X {}",
            start.format("%d-%b-%Y").to_string().to_uppercase(),
            input.equipment.replace(' ', "_")
        ),
        start: (
            start.year(),
            start.month(),
            start.day(),
            start.hour(),
            start.minute(),
            start.second(),
        ),
        start_fraction: f64::from(start.nanosecond().min(999_999_999)) / 1e9,
        record_seconds: 1.0,
        signals,
    };
    let mut w = EdfWriter::new(out, format, header)?;
    for a in &input.annotations {
        w.annotate(a.clone());
    }
    for (at, n) in &eeg_gaps {
        w.annotate(Annotation {
            onset: *at as f64 / eeg_rate as f64,
            duration: *n as f64 / eeg_rate as f64,
            text: format!("epocd: {n} samples lost (filled with the previous value)"),
        });
    }
    if !has_eeg {
        for (at, n) in &motion_gaps {
            w.annotate(Annotation {
                onset: *at as f64 / motion_rate as f64,
                duration: *n as f64 / motion_rate as f64,
                text: format!("epocd: {n} motion samples lost (filled with the previous value)"),
            });
        }
    }
    let n_eeg = if has_eeg { 14 + 16 } else { 0 };
    let n_mot = if motion_rate > 0 { names.len() } else { 0 };
    let mut columns: Vec<Vec<i32>> = (0..n_eeg + n_mot).map(|_| Vec::with_capacity(eeg_rate)).collect();
    for rec in 0..seconds {
        for c in &mut columns {
            c.clear();
        }
        if has_eeg {
            for i in rec * eeg_rate..(rec + 1) * eeg_rate {
                let v = eeg.get(i).or(eeg.last()).copied().unwrap_or([dig_min; 14]);
                for (ch, c) in columns.iter_mut().take(14).enumerate() {
                    c.push(v[ch]);
                }
            }
            for k in 0..CQ_RATE {
                let pos = rec * eeg_rate + k * eeg_rate / CQ_RATE;
                let d = device.get(pos).or(device.last()).copied().unwrap_or_default();
                for (ch, c) in columns.iter_mut().skip(14).take(14).enumerate() {
                    c.push(i32::from(d.levels[ch]));
                }
                columns[28].push(i32::from(d.overall()));
                columns[29].push(i32::from(d.battery_percent.unwrap_or(0)));
            }
        }
        if motion_rate > 0 {
            for i in rec * motion_rate..(rec + 1) * motion_rate {
                let v = motion.get(i).or(motion.last()).copied().unwrap_or([0; 9]);
                for (k, c) in columns.iter_mut().skip(n_eeg).enumerate() {
                    c.push(v[k]);
                }
            }
        }
        let refs: Vec<&[i32]> = columns.iter().map(Vec::as_slice).collect();
        w.write_record_digital(&refs)?;
        if rec % 64 == 0 {
            progress(((rec + 1) * eeg_rate).min(eeg.len()) as u64);
        }
    }
    w.finish()?;
    progress(eeg.len() as u64);
    Ok(())
}
