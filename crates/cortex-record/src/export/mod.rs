//! Export of stored records: CSV (V1, V2), EDF, EDF+ and BDF+ (docs/cortex-api.md, "Export formats").
//!
//! Every export first checks the whole request (folder absolute, existing, writable; stream
//! types valid for the format; no target file already there), then writes each file under a
//! temporary name and links it into place only when all files are complete. A bad request or
//! a failure half-way (disk full) leaves no partial file and never replaces an existing one.

mod axis;
mod csv;
mod detections;
mod edf;
mod naming;
mod source;

use std::path::{Path, PathBuf};

use epoc_protocol::{ReportKind, Resolution};
use epoc_sample::Sample;
use serde_json::Value;

pub use axis::TimedMarker;
pub use detections::DetectionWalker;
pub use edf::{EdfInput, EdfSummary, write_edf};
pub use naming::file_stem;
pub use source::SampleSource;

use crate::RecordError;
use crate::edf::EdfFormat;
use crate::store::{Marker, RecordMeta};
use crate::writer::{EEG_FILE, MOTION_FILE, SampleCursor, read_samples};

/// The CSV layouts of docs/cortex-api.md, "Export formats".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvVersion {
    /// One CSV per stream (EEG+CQ+markers, motion, band power).
    V1,
    /// One wide CSV with every selected stream on the EEG timeline.
    V2,
}

/// What `exportRecord` was asked to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV in one of its layouts.
    Csv(CsvVersion),
    /// EDF, EDF+ or BDF+.
    Edf(EdfFormat),
}

/// The stream types an export can include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamTypes {
    /// EEG with contact quality and markers.
    pub eeg: bool,
    /// Motion sensors.
    pub motion: bool,
    /// Band power (computed from the EEG as the live `pow` stream is).
    pub band_power: bool,
    /// The detections, recomputed from the EEG: performance-metric (`PM.*`) and
    /// facial-expression (`FE.*`) columns in CSV, facial-expression annotations in EDF+/BDF+.
    pub performance_metrics: bool,
}

impl StreamTypes {
    /// Parse Cortex's `streamTypes` (`EEG`, `MOTION`, `BP`, `PM`); unknown names are an error.
    pub fn parse(names: &[String]) -> Result<StreamTypes, RecordError> {
        let mut t = StreamTypes::default();
        for n in names {
            match n.as_str() {
                "EEG" => t.eeg = true,
                "MOTION" => t.motion = true,
                "BP" => t.band_power = true,
                "PM" => t.performance_metrics = true,
                other => {
                    return Err(RecordError::Invalid(format!(
                        "unknown stream type {other:?}: streamTypes takes EEG, MOTION, BP and PM"
                    )));
                }
            }
        }
        if !(t.eeg || t.motion || t.band_power || t.performance_metrics) {
            return Err(RecordError::Invalid(
                "streamTypes is empty: name at least one of EEG, MOTION, BP, PM".into(),
            ));
        }
        Ok(t)
    }
}

/// An export request, checked by [`ExportRequest::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    /// The format.
    pub format: ExportFormat,
    /// The streams to include.
    pub streams: StreamTypes,
    /// The folder the app named.
    pub folder: PathBuf,
}

impl ExportRequest {
    /// Check what does not depend on a record: the folder and the format/stream combination.
    pub fn validate(&self) -> Result<(), RecordError> {
        if !self.folder.is_absolute() {
            return Err(RecordError::Invalid(format!(
                "folder {:?} must be an absolute path",
                self.folder.display().to_string()
            )));
        }
        let meta = std::fs::metadata(&self.folder).map_err(|e| {
            RecordError::Invalid(format!(
                "folder {} cannot be used ({e}): create it first",
                self.folder.display()
            ))
        })?;
        if !meta.is_dir() {
            return Err(RecordError::Invalid(format!(
                "{} is not a folder",
                self.folder.display()
            )));
        }
        // The one reliable writability test is to write: a new file of an unpredictable name,
        // created exclusively (never through a link someone planted).
        let probe = self.folder.join(format!(".epocd-write-test-{}", unguessable()));
        create_exclusive(&probe).map_err(|e| {
            RecordError::Invalid(format!("folder {} is not writable ({e})", self.folder.display()))
        })?;
        let _ = std::fs::remove_file(&probe);
        if let ExportFormat::Edf(format) = self.format {
            if self.streams.band_power {
                return Err(RecordError::Invalid(
                    "EDF, EDFPLUS and BDFPLUS exports take the EEG, MOTION and PM stream types, not BP \
                     (export band power as CSV)"
                        .into(),
                ));
            }
            if self.streams.performance_metrics && !self.streams.eeg {
                return Err(RecordError::Invalid(
                    "in EDFPLUS and BDFPLUS, PM annotates the EEG with facial-expression events: add EEG to streamTypes"
                        .into(),
                ));
            }
            if format == EdfFormat::Edf && self.streams.performance_metrics {
                return Err(RecordError::Invalid(
                    "plain EDF has no annotations for the detections: export PM as EDFPLUS, BDFPLUS or CSV"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

/// How far an export got, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Work done (EEG samples written, summed over files).
    pub done: u64,
    /// Total work.
    pub total: u64,
}

/// A record's samples, loaded from its block files.
pub struct RecordData {
    /// Samples carrying EEG, in order.
    pub eeg: Vec<Sample>,
    /// Motion samples (16-bit modes; 14-bit gyro rides in `eeg`).
    pub motion: Vec<Sample>,
}

impl RecordData {
    /// Load everything up to the last intact block of each stream.
    pub fn load(record_dir: &Path) -> Result<RecordData, RecordError> {
        let (eeg, motion) = read_samples(record_dir)?;
        Ok(RecordData { eeg, motion })
    }

    /// Time of the last sample of any stream.
    pub fn last_time(&self) -> Option<f64> {
        let a = self.eeg.last().map(|s| s.time);
        let b = self.motion.last().map(|s| s.time);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// The motion samples as a stream of their own: motion reports (16-bit) or the gyro of
    /// every EEG report (14-bit).
    pub fn motion_stream(&self) -> &[Sample] {
        match self.eeg.first().map(|s| s.report.mode.resolution) {
            Some(Resolution::Bits14) => &self.eeg,
            _ => &self.motion,
        }
    }

    /// The EEG sample nearest to `time` (epoch seconds), by position in `eeg`.
    pub fn nearest_eeg(&self, time: f64) -> Option<usize> {
        if self.eeg.is_empty() {
            return None;
        }
        let i = self.eeg.partition_point(|s| s.time < time);
        if i == 0 {
            return Some(0);
        }
        if i >= self.eeg.len() {
            return Some(self.eeg.len() - 1);
        }
        let (a, b) = (self.eeg[i - 1].time, self.eeg[i].time);
        Some(if time - a <= b - time { i - 1 } else { i })
    }
}

/// Whether a sample belongs to the motion stream of its mode.
pub(crate) fn is_motion(s: &Sample) -> bool {
    s.report.kind == ReportKind::Motion
}

/// A random name part: nobody can plant a file or link where epocd will create one.
fn unguessable() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Create a new file, failing if anything exists at `path`: with `O_CREAT | O_EXCL` the open
/// follows no symbolic link, dangling or not, so a link planted in a shared folder cannot
/// redirect the write to another file.
pub(crate) fn create_exclusive(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// A file being written under a temporary, unpredictable name next to its final place, and
/// linked into place only when complete (`link` never replaces and never follows a link at
/// the target).
pub(crate) struct Pending {
    temp: PathBuf,
    target: PathBuf,
}

impl Pending {
    pub(crate) fn new(target: PathBuf) -> Pending {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = target.with_file_name(format!(".{name}.partial-{}", unguessable()));
        Pending { temp, target }
    }

    /// The temporary file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.temp
    }

    /// Create the temporary file (exclusively).
    pub(crate) fn create(&self) -> Result<std::fs::File, RecordError> {
        create_exclusive(&self.temp).map_err(RecordError::io(&self.temp))
    }

    /// Create the temporary file with `bytes` as its content.
    pub(crate) fn write_all(&self, bytes: &[u8]) -> Result<(), RecordError> {
        use std::io::Write as _;
        self.create()?
            .write_all(bytes)
            .map_err(RecordError::io(&self.temp))
    }
}

/// Export one record. `record_object` is the record object (with its markers) the JSON
/// companion file carries; the service builds it, the exporter adds the sample counts.
/// Returns the files written.
pub fn export_record(
    meta: &RecordMeta,
    markers: &[Marker],
    record_dir: &Path,
    req: &ExportRequest,
    record_object: &Value,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<PathBuf>, RecordError> {
    req.validate()?;
    if meta.end.is_none() {
        return Err(RecordError::Invalid(format!(
            "record {} is still recording: stop it (stopRecord) and wait for warning 30",
            meta.uuid
        )));
    }
    // An empty record exports the same way in every format: a clear failure, no file.
    let has_samples = |name: &str| -> Result<bool, RecordError> {
        Ok(match SampleCursor::open(&record_dir.join(name))? {
            Some(mut c) => c.next().transpose()?.is_some(),
            None => false,
        })
    };
    if !has_samples(EEG_FILE)? && !has_samples(MOTION_FILE)? {
        return Err(RecordError::Invalid(format!(
            "record {} has no samples (it was stopped before the headset sent any): there is nothing to export",
            meta.uuid
        )));
    }
    // CSV lines up streams sample by sample, so it reads the record into memory; EDF streams.
    let data = match req.format {
        ExportFormat::Csv(_) => Some(RecordData::load(record_dir)?),
        ExportFormat::Edf(_) => None,
    };
    let mut counts = data.as_ref().map_or((None, None), |d| {
        (Some(d.eeg.len() as u64), Some(d.motion_stream().len() as u64))
    });
    let eeg_estimate = match &data {
        Some(d) => d.eeg.len() as u64,
        None => SampleCursor::open(&record_dir.join(EEG_FILE))?.map_or(0, |c| c.estimated_len() as u64),
    };
    let stem = file_stem(meta);
    let mut files: Vec<(PathBuf, FileKind)> = Vec::new();
    let mut add =
        |suffix: &str, kind: FileKind| files.push((req.folder.join(format!("{stem}{suffix}")), kind));
    match req.format {
        ExportFormat::Csv(CsvVersion::V2) => {
            let mut suffix = String::from(".md");
            if req.streams.performance_metrics {
                suffix.push_str(".pm.fe");
            }
            if req.streams.band_power {
                suffix.push_str(".bp");
            }
            add(&format!("{suffix}.csv"), FileKind::Csv(csv::Layout::Wide));
            add("_intervalMarker.csv", FileKind::IntervalMarkers);
        }
        ExportFormat::Csv(CsvVersion::V1) => {
            if req.streams.eeg {
                add("_EEG.csv", FileKind::Csv(csv::Layout::Eeg));
            }
            if req.streams.motion {
                add("_MOTION.csv", FileKind::Csv(csv::Layout::Motion));
            }
            if req.streams.band_power {
                add("_BP.csv", FileKind::Csv(csv::Layout::BandPower));
            }
            if req.streams.performance_metrics {
                add("_PM.csv", FileKind::Csv(csv::Layout::Detections));
            }
            add("_intervalMarker.csv", FileKind::IntervalMarkers);
        }
        ExportFormat::Edf(EdfFormat::Edf) => {
            if req.streams.eeg {
                add(
                    ".edf",
                    FileKind::Edf {
                        eeg: true,
                        motion: false,
                    },
                );
            }
            if req.streams.motion {
                add(
                    "_motion.edf",
                    FileKind::Edf {
                        eeg: false,
                        motion: true,
                    },
                );
            }
        }
        ExportFormat::Edf(f) => add(
            &format!(".{}", f.extension()),
            FileKind::Edf {
                eeg: req.streams.eeg,
                motion: req.streams.motion,
            },
        ),
    }
    add(".json", FileKind::Json);
    if let Some((existing, _)) = files.iter().find(|(p, _)| p.exists()) {
        return Err(RecordError::Invalid(format!(
            "{} already exists: epocd never overwrites an export; remove it or choose another folder",
            existing.display()
        )));
    }
    let total = files.iter().filter(|(_, k)| k.counts()).count() as u64 * eeg_estimate.max(1);
    let mut done = 0u64;
    let pending: Vec<Pending> = files.iter().map(|(p, _)| Pending::new(p.clone())).collect();
    let result = (|| {
        for (p, (_, kind)) in pending.iter().zip(&files) {
            let mut step = |n: u64| {
                progress(Progress {
                    done: done + n,
                    total,
                })
            };
            let csv_data = || {
                data.as_ref()
                    .ok_or_else(|| RecordError::Invalid("CSV export without the record's samples".into()))
            };
            match kind {
                FileKind::Csv(layout) => {
                    csv::write_wide(p, meta, markers, csv_data()?, req.streams, *layout, &mut step)?
                }
                FileKind::IntervalMarkers => csv::write_interval_markers(p, meta, markers, csv_data()?)?,
                FileKind::Json => {
                    let mut record = record_object.clone();
                    let (eeg, motion) = sample_counts(record_dir, meta, counts)?;
                    record["eegSamples"] = Value::from(eeg);
                    record["motionSamples"] = Value::from(motion);
                    let text = serde_json::to_string_pretty(&record)
                        .map_err(|e| RecordError::Invalid(format!("cannot encode the record: {e}")))?;
                    p.write_all(text.as_bytes())?;
                }
                FileKind::Edf { eeg, motion } => {
                    let ExportFormat::Edf(format) = req.format else {
                        continue;
                    };
                    let mut input = EdfInput::from_record(meta, markers, record_dir, *eeg, *motion)?;
                    if req.streams.performance_metrics
                        && let Some(cursor) = SampleCursor::open(&record_dir.join(EEG_FILE))?
                    {
                        input.markers.extend(detections::facial_annotations(cursor)?);
                    }
                    let file = p.create()?;
                    let summary = write_edf(std::io::BufWriter::new(file), format, input, &mut step)?;
                    if *eeg {
                        counts.0 = Some(summary.eeg_samples);
                    }
                    if *motion {
                        counts.1 = Some(summary.motion_samples);
                    }
                }
            }
            if kind.counts() {
                done += eeg_estimate.max(1);
            }
        }
        // Everything is complete: link into place (fails rather than replaces).
        let mut placed: Vec<PathBuf> = Vec::new();
        for p in &pending {
            if let Err(e) = std::fs::hard_link(&p.temp, &p.target) {
                for done in &placed {
                    let _ = std::fs::remove_file(done);
                }
                return Err(RecordError::Invalid(
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        format!(
                            "{} already exists (another export finished first): epocd never overwrites an export; \
                         nothing was exported",
                            p.target.display()
                        )
                    } else {
                        format!("cannot create {} ({e}); nothing was exported", p.target.display())
                    },
                ));
            }
            placed.push(p.target.clone());
        }
        Ok(placed)
    })();
    for p in &pending {
        let _ = std::fs::remove_file(&p.temp);
    }
    progress(Progress { done: total, total });
    result
}

/// Samples in the record's EEG and motion streams, counted from the files where an export
/// did not already count them.
fn sample_counts(
    record_dir: &Path,
    meta: &RecordMeta,
    known: (Option<u64>, Option<u64>),
) -> Result<(u64, u64), RecordError> {
    let count = |name: &str, motion_only: bool| -> Result<u64, RecordError> {
        let mut n = 0;
        if let Some(cursor) = SampleCursor::open(&record_dir.join(name))? {
            for s in cursor {
                let s = s?;
                n += u64::from(!motion_only || is_motion(&s));
            }
        }
        Ok(n)
    };
    let eeg = match known.0 {
        Some(n) => n,
        None => count(EEG_FILE, false)?,
    };
    let motion = match (known.1, meta.mode.resolution) {
        (Some(n), _) => n,
        (None, Resolution::Bits14) => eeg,
        (None, Resolution::Bits16) => count(MOTION_FILE, true)?,
    };
    Ok((eeg, motion))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Csv(csv::Layout),
    IntervalMarkers,
    Json,
    Edf { eeg: bool, motion: bool },
}

impl FileKind {
    fn counts(self) -> bool {
        !matches!(self, FileKind::IntervalMarkers | FileKind::Json)
    }
}
