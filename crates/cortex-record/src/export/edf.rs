//! Samples to EDF / EDF+ / BDF+: used by record export and by `epocd convert`.
//!
//! EEG is stored losslessly: the physical range is the ADC's whole range in µV and the digital
//! range has exactly as many steps as the ADC (16-bit counts ↦ -32768..32767, 14-bit counts ↦
//! -8192..8191). Samples are placed on the time axis by their stream index, so samples lost on
//! the link are filled with the previous value and marked by an annotation in EDF+/BDF+.
//! Contact quality (`CQ_<sensor>`, 0–4), `CQ_OVERALL` (0–100) and `BATTERY` (%) ride along at
//! 2 Hz with the EEG.
//!
//! Samples are streamed: each 1 s data record is assembled from the sample sources and
//! written at once, so a record of any length is exported in constant memory, and markers and
//! gaps become annotations as they are met.

use std::io::{Seek, Write};
use std::path::Path;

use chrono::{Datelike, Timelike};
use epoc_protocol::{DISPLAY_ORDER, DeviceState, Mode, Resolution};
use epoc_sample::Sample;

use super::axis::{Fill, Lane, MarkerPlacer, TimedMarker};
use super::is_motion;
use super::source::{SampleSource, open_source};
use crate::RecordError;
use crate::edf::{Annotation, EdfFormat, EdfWriter, Header, Signal, annotation_room};
use crate::store::{Marker, RecordMeta};
use crate::time::local_from_unix;
use crate::writer::{EEG_FILE, MOTION_FILE, SampleCursor};

/// Rate of the contact-quality and battery signals in EEG files.
const CQ_RATE: usize = 2;
/// Motion samples looked at to tell the motion rate (16-bit modes set it per headset).
const RATE_PROBE: usize = 512;

/// What goes into one EDF-family file.
pub struct EdfInput<'a> {
    /// The headset mode (scales, channel names), used when no sample says otherwise.
    pub mode: Mode,
    /// EEG-carrying samples, if the file holds EEG.
    pub eeg: Option<SampleSource<'a>>,
    /// Samples carrying motion: motion reports (16-bit modes; other kinds are skipped) or EEG
    /// reports for their gyro (14-bit).
    pub motion: Option<SampleSource<'a>>,
    /// Markers, placed on the axis of the file's first stream.
    pub markers: Vec<TimedMarker>,
    /// Annotations at fixed onsets (seconds from the first sample).
    pub annotations: Vec<Annotation>,
    /// About how many seconds the file covers (sizes the annotation room; 0: unknown).
    pub seconds: f64,
    /// Epoch seconds of the file start, when there is no sample to take it from.
    pub start: f64,
    /// Equipment name for the recording field.
    pub equipment: String,
}

/// What [`write_edf`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdfSummary {
    /// EEG samples read (gap fill not counted).
    pub eeg_samples: u64,
    /// Motion samples read.
    pub motion_samples: u64,
    /// Data records (seconds) written.
    pub records: u64,
    /// Gaps filled on the file's first stream.
    pub gaps: u64,
}

impl EdfInput<'static> {
    /// The input for a stored record, streamed from its block files: markers become
    /// annotations on the EEG sample nearest their time.
    pub fn from_record(
        meta: &RecordMeta,
        markers: &[Marker],
        record_dir: &Path,
        eeg: bool,
        motion: bool,
    ) -> Result<Self, RecordError> {
        let eeg_path = record_dir.join(EEG_FILE);
        let first = match SampleCursor::open(&eeg_path)? {
            Some(mut c) => c.next().transpose()?,
            None => None,
        };
        let mode = first.map_or(meta.mode, |s| s.report.mode);
        let motion_path = match mode.resolution {
            Resolution::Bits14 => eeg_path.clone(),
            Resolution::Bits16 => record_dir.join(MOTION_FILE),
        };
        let markers = markers
            .iter()
            .map(|m| {
                let value = match &m.value {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                TimedMarker {
                    start: m.start_ms / 1000.0,
                    end: m.interval.then_some(m.end_ms / 1000.0),
                    text: if m.label.is_empty() {
                        value
                    } else {
                        m.label.clone()
                    },
                }
            })
            .collect();
        Ok(EdfInput {
            mode,
            eeg: if eeg { open_source(&eeg_path)? } else { None },
            motion: if motion { open_source(&motion_path)? } else { None },
            markers,
            annotations: Vec::new(),
            seconds: meta
                .end
                .map_or(0.0, |end| end - first.map_or(meta.start, |s| s.time)),
            start: first.map_or(meta.start, |s| s.time),
            equipment: format!("epocd_{}_{}", mode.model.cortex_prefix(), meta.serial),
        })
    }
}

/// Stored integers of a sample's motion slots (all nine for 16-bit, the two gyro axes for
/// 14-bit): the counts themselves.
fn motion_values(s: &Sample) -> [i32; 9] {
    s.report.motion.map(i32::from)
}

/// The motion rate of a 16-bit stream, from its first samples (index over time), snapped to
/// the rates a headset can be set to. Returns the rate and the source with nothing lost.
fn probe_motion_rate<'a>(src: SampleSource<'a>) -> Result<(usize, SampleSource<'a>), RecordError> {
    let mut src = src;
    let mut head = Vec::with_capacity(RATE_PROBE);
    for s in src.by_ref().take(RATE_PROBE) {
        head.push(s?);
    }
    let per_sec = match (head.first(), head.last()) {
        (Some(a), Some(b)) if b.time > a.time && b.index > a.index => {
            (b.index - a.index) as f64 / (b.time - a.time)
        }
        _ => 64.0,
    };
    let rate = [32usize, 64, 128]
        .into_iter()
        .min_by(|x, y| {
            (*x as f64 - per_sec)
                .abs()
                .total_cmp(&(*y as f64 - per_sec).abs())
        })
        .unwrap_or(64);
    if head.is_empty() {
        return Ok((0, Box::new(std::iter::empty())));
    }
    Ok((rate, Box::new(head.into_iter().map(Ok).chain(src))))
}

/// Write one EDF-family file; `progress` gets the positions of the first stream written so
/// far.
pub fn write_edf<W: Write + Seek>(
    out: W,
    format: EdfFormat,
    input: EdfInput<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<EdfSummary, RecordError> {
    let EdfInput {
        mode,
        eeg,
        motion,
        markers,
        annotations,
        seconds,
        start,
        equipment,
    } = input;
    let (counts, dig_min) = match mode.resolution {
        Resolution::Bits16 => (65535.0, -32768),
        Resolution::Bits14 => (16383.0, -8192),
    };
    let eeg_rate = usize::from(mode.eeg_rate.hz());
    let names = mode.motion_names();
    let bits14 = mode.resolution == Resolution::Bits14;

    // Stored integer = ADC count shifted into the digital range: lossless by construction
    // (the physical range maps count 0 to 0 µV and the top count to its µV).
    let mut eeg = eeg.map(|src| Lane::new(src, |s: &Sample| s.report.eeg.map(i32::from), [0; 14]));
    let mut has_eeg = false;
    if let Some(lane) = eeg.as_mut() {
        has_eeg = lane.has_more()?;
    }
    let (motion_rate, mut motion) = match motion {
        None => (0, None),
        Some(src) => {
            let src: SampleSource<'_> =
                Box::new(src.filter(move |r| r.as_ref().map_or(true, |s| bits14 || is_motion(s))));
            let (rate, src) = if bits14 {
                (eeg_rate, src)
            } else {
                probe_motion_rate(src)?
            };
            let mut lane = Lane::new(src, motion_values, [0; 9]);
            if lane.has_more()? {
                (rate, Some(lane))
            } else {
                (0, None)
            }
        }
    };
    if !has_eeg && motion_rate == 0 {
        return Err(RecordError::Invalid(
            "the record holds no samples of the requested streams".into(),
        ));
    }
    // The file's time axis is its first stream's: EEG when there is any, else motion.
    let peek_primary = |eeg: &mut Option<Lane<'_, 14>>, motion: &mut Option<Lane<'_, 9>>| match (eeg, motion)
    {
        (Some(lane), _) if has_eeg => lane.peek(),
        (_, Some(lane)) => lane.peek(),
        _ => Ok(None),
    };
    let mut next = peek_primary(&mut eeg, &mut motion)?;
    let start_time = next.map(|s| s.time).filter(|t| *t > 0.0).unwrap_or(start);

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
    let start = local_from_unix(start_time);
    let header = Header {
        patient: "X X X X".into(),
        recording: format!(
            "Startdate {} X X {}",
            start.format("%d-%b-%Y").to_string().to_uppercase(),
            equipment.replace(' ', "_")
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
        // Room for every marker, however dense or long (gaps found later have their own).
        annotation_bytes: annotation_room(
            &markers
                .iter()
                .map(|m| (m.start - start_time, m.text.len()))
                .chain(annotations.iter().map(|a| (a.onset, a.text.len())))
                .collect::<Vec<_>>(),
            seconds.max(0.0).ceil() as usize + 1,
            1.0,
        ),
    };
    let mut w = EdfWriter::new(out, format, header)?;
    for a in annotations {
        w.annotate(a);
    }
    let (primary_rate, n_eeg) = if has_eeg {
        (eeg_rate, 14 + 16)
    } else {
        (motion_rate, 0)
    };
    let n_mot = if motion_rate > 0 { names.len() } else { 0 };
    let mut columns: Vec<Vec<i32>> = (0..n_eeg)
        .map(|i| vec![0; if i < 14 { eeg_rate } else { CQ_RATE }])
        .chain((0..n_mot).map(|_| vec![0; motion_rate]))
        .collect();
    let mut placer = MarkerPlacer::new(markers);
    let mut ready = Vec::new();
    let mut device = DeviceState::default();
    let cq_every = (eeg_rate / CQ_RATE).max(1);
    let lost = |at: usize, n: usize, rate: usize, what: &str| Annotation {
        onset: at as f64 / rate as f64,
        duration: n as f64 / rate as f64,
        text: format!("epocd: {n} {what}lost (filled with the previous value)"),
    };
    let mut records = 0u64;
    while next.is_some() {
        let base = records as usize;
        if has_eeg && let Some(lane) = eeg.as_mut() {
            for k in 0..eeg_rate {
                let at = base * eeg_rate + k;
                match lane.step()? {
                    Fill::Sample(s) => {
                        device.update(&s.report);
                        placer.sample(s.time, at);
                    }
                    Fill::GapStart(n) => w.annotate(lost(at, n, eeg_rate, "samples ")),
                    Fill::Filler => {}
                }
                for (c, count) in columns.iter_mut().zip(lane.last) {
                    c[k] = count + dig_min;
                }
                if k % cq_every == 0 && k / cq_every < CQ_RATE {
                    let j = k / cq_every;
                    for (c, level) in columns[14..28].iter_mut().zip(device.levels) {
                        c[j] = i32::from(level);
                    }
                    columns[28][j] = i32::from(device.overall());
                    columns[29][j] = i32::from(device.battery_percent.unwrap_or(0));
                }
            }
        }
        if let Some(lane) = motion.as_mut() {
            for k in 0..motion_rate {
                let at = base * motion_rate + k;
                match lane.step()? {
                    Fill::Sample(s) if !has_eeg => placer.sample(s.time, at),
                    Fill::GapStart(n) if !has_eeg => w.annotate(lost(at, n, motion_rate, "motion samples ")),
                    _ => {}
                }
                for (c, v) in columns[n_eeg..].iter_mut().zip(lane.last) {
                    c[k] = v;
                }
            }
        }
        next = peek_primary(&mut eeg, &mut motion)?;
        if next.is_none() {
            placer.finish();
        }
        placer.ready(primary_rate, &mut ready);
        for a in ready.drain(..) {
            w.annotate(a);
        }
        let refs: Vec<&[i32]> = columns.iter().map(Vec::as_slice).collect();
        w.write_record_digital(&refs)?;
        records += 1;
        if records.is_multiple_of(64) {
            progress(records * primary_rate as u64);
        }
    }
    w.finish()?;
    let mut summary = EdfSummary {
        records,
        ..EdfSummary::default()
    };
    if let Some(lane) = eeg.as_mut() {
        lane.drain()?;
        summary.eeg_samples = lane.read;
        if has_eeg {
            summary.gaps = lane.gaps;
        }
    }
    if let Some(lane) = motion.as_mut() {
        lane.drain()?;
        summary.motion_samples = lane.read;
        if !has_eeg {
            summary.gaps = lane.gaps;
        }
    }
    progress(records * primary_rate as u64);
    Ok(summary)
}
