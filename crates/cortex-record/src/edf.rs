//! A streaming writer for EDF, EDF+ (continuous) and BDF+ files.
//!
//! Why our own: no maintained Rust crate writes EDF+/BDF+ with annotations. The format is a
//! fixed ASCII header (256 bytes + 256 per signal) followed by data records of little-endian
//! integers (16-bit in EDF, 24-bit in BDF); EDF+/BDF+ add an annotation signal holding
//! time-stamped annotation lists (TALs). The record count is written as -1 and patched when
//! the file is finished, so a writer can stream a record of any length.
//! References: edfplus.info (EDF, EDF+ specification), BioSemi's BDF description.

use std::io::{Seek, SeekFrom, Write};

use thiserror::Error;

/// Why a file could not be written.
#[derive(Debug, Error)]
pub enum EdfError {
    /// The output failed (disk full, permissions).
    #[error("cannot write the EDF file: {0}")]
    Io(#[from] std::io::Error),
    /// A header value that the format cannot hold.
    #[error("invalid EDF header: {0}")]
    Header(String),
    /// A data record with the wrong number of samples.
    #[error("data record: {0}")]
    Record(String),
}

/// Which member of the family to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdfFormat {
    /// Plain EDF (16-bit, no annotations).
    Edf,
    /// EDF+ continuous (16-bit, annotation signal).
    EdfPlus,
    /// BDF+ continuous (24-bit, annotation signal).
    BdfPlus,
}

impl EdfFormat {
    fn bytes_per_sample(self) -> usize {
        match self {
            EdfFormat::BdfPlus => 3,
            _ => 2,
        }
    }

    fn has_annotations(self) -> bool {
        !matches!(self, EdfFormat::Edf)
    }

    /// The digital range the format can store.
    pub fn digital_limits(self) -> (i32, i32) {
        match self {
            EdfFormat::BdfPlus => (-8_388_608, 8_388_607),
            _ => (-32_768, 32_767),
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            EdfFormat::BdfPlus => "bdf",
            _ => "edf",
        }
    }
}

/// One signal (channel).
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// Label, at most 16 characters (`EEG AF3` style or plain `AF3`).
    pub label: String,
    /// Transducer type.
    pub transducer: String,
    /// Physical dimension, e.g. `uV`.
    pub physical_dimension: String,
    /// Physical value of `digital_min`.
    pub physical_min: f64,
    /// Physical value of `digital_max`.
    pub physical_max: f64,
    /// Smallest stored integer.
    pub digital_min: i32,
    /// Largest stored integer.
    pub digital_max: i32,
    /// Prefiltering text.
    pub prefilter: String,
    /// Samples of this signal in each data record.
    pub samples_per_record: usize,
}

impl Signal {
    /// Convert a physical value to the stored integer (rounded, clamped to the range).
    pub fn to_digital(&self, physical: f64) -> i32 {
        let (pmin, pmax) = (self.physical_min, self.physical_max);
        let (dmin, dmax) = (f64::from(self.digital_min), f64::from(self.digital_max));
        let v = if physical.is_finite() { physical } else { pmin };
        let d = (v - pmin) / (pmax - pmin) * (dmax - dmin) + dmin;
        d.round().clamp(dmin, dmax) as i32
    }
}

/// Header fields shared by all signals.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Patient identification (EDF+: `code sex birthdate name`, `X` for unknown).
    pub patient: String,
    /// Recording identification (EDF+: `Startdate dd-MMM-yyyy admincode technician equipment`).
    pub recording: String,
    /// Start: year, month, day, hour, minute, second (local time of the recording).
    pub start: (i32, u32, u32, u32, u32, u32),
    /// Sub-second part of the start, in seconds (EDF+ puts it in the first TAL).
    pub start_fraction: f64,
    /// Seconds per data record (1 s here).
    pub record_seconds: f64,
    /// The data signals (the annotation signal is added by the writer for EDF+/BDF+).
    pub signals: Vec<Signal>,
    /// Bytes of annotations each data record can hold (at least [`MIN_ANNOTATION_BYTES`]);
    /// size it with [`annotation_room`] so that no annotation is left out.
    pub annotation_bytes: usize,
}

/// An annotation: onset and duration in seconds from the start, and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Seconds from the file start.
    pub onset: f64,
    /// Seconds (0 for an instant).
    pub duration: f64,
    /// The text (no control characters).
    pub text: String,
}

/// The least room per record for annotations (the time-keeping TAL and a few dozen short
/// annotations); a file with more, or longer, annotations gets more ([`annotation_room`]).
pub const MIN_ANNOTATION_BYTES: usize = 512;

/// Room a TAL entry takes beyond its text: onset, duration and separators.
const TAL_OVERHEAD: usize = 48;
/// Room kept in every record for annotations found while writing (gaps in the data).
const LATE_ANNOTATION_BYTES: usize = 192;

/// The annotation room per data record that holds every annotation of a file of
/// `records` records, given each one's onset (seconds from the start) and text length. An
/// annotation is written in the record holding its onset or, when that record is full, in a
/// following one; so every record must hold the largest annotation, and the records from any
/// point on must together hold every annotation from that point on.
pub fn annotation_room(annotations: &[(f64, usize)], records: usize, record_seconds: f64) -> usize {
    let records = records.max(1);
    let mut per_record = vec![0usize; records];
    let mut largest = 0;
    for &(onset, text) in annotations {
        let at = if onset.is_finite() && record_seconds > 0.0 {
            ((onset.max(0.0) / record_seconds) as usize).min(records - 1)
        } else {
            0
        };
        per_record[at] += text + TAL_OVERHEAD;
        largest = largest.max(text + TAL_OVERHEAD);
    }
    let mut suffix = 0usize;
    let mut average = 0usize;
    for (k, bytes) in per_record.iter().enumerate().rev() {
        suffix += bytes;
        average = average.max(suffix.div_ceil(records - k));
    }
    (TAL_OVERHEAD + LATE_ANNOTATION_BYTES + largest + average).max(MIN_ANNOTATION_BYTES)
}

fn field(out: &mut Vec<u8>, text: &str, width: usize, name: &str) -> Result<(), EdfError> {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.len() > width {
        return Err(EdfError::Header(format!(
            "{name} {clean:?} is longer than {width} characters"
        )));
    }
    out.extend_from_slice(clean.as_bytes());
    out.extend(std::iter::repeat_n(b' ', width - clean.len()));
    Ok(())
}

/// A number in at most `width` characters, as many decimals as fit.
fn number(v: f64, width: usize) -> Result<String, EdfError> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let s = format!("{}", v as i64);
        if s.len() <= width {
            return Ok(s);
        }
    }
    for decimals in (0..=width).rev() {
        let s = format!("{v:.decimals$}");
        if s.len() <= width {
            return Ok(s);
        }
    }
    Err(EdfError::Header(format!(
        "{v} does not fit in {width} characters"
    )))
}

fn tal_onset(seconds: f64) -> String {
    let s = format!("{seconds:+.6}");
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_owned()
}

/// Writes one file. Call [`EdfWriter::write_record`] once per data record, then
/// [`EdfWriter::finish`] (which patches the record count).
pub struct EdfWriter<W: Write + Seek> {
    out: W,
    format: EdfFormat,
    header: Header,
    records: u64,
    pending: Vec<Annotation>,
    buf: Vec<u8>,
}

impl<W: Write + Seek> EdfWriter<W> {
    /// Write the header and get ready for records.
    pub fn new(mut out: W, format: EdfFormat, header: Header) -> Result<Self, EdfError> {
        let (lo, hi) = format.digital_limits();
        for s in &header.signals {
            if s.digital_min < lo || s.digital_max > hi || s.digital_min >= s.digital_max {
                return Err(EdfError::Header(format!(
                    "signal {}: digital range {}..{} does not fit {lo}..{hi}",
                    s.label, s.digital_min, s.digital_max
                )));
            }
            if s.physical_min == s.physical_max || s.samples_per_record == 0 {
                return Err(EdfError::Header(format!(
                    "signal {}: empty physical range or no samples",
                    s.label
                )));
            }
        }
        let mut signals = header.signals.clone();
        if format.has_annotations() {
            let label = if format == EdfFormat::BdfPlus {
                "BDF Annotations"
            } else {
                "EDF Annotations"
            };
            signals.push(Signal {
                label: label.into(),
                transducer: String::new(),
                physical_dimension: String::new(),
                physical_min: -1.0,
                physical_max: 1.0,
                digital_min: lo,
                digital_max: hi,
                prefilter: String::new(),
                samples_per_record: header
                    .annotation_bytes
                    .max(MIN_ANNOTATION_BYTES)
                    .div_ceil(format.bytes_per_sample()),
            });
        }
        let ns = signals.len();
        let mut h = Vec::with_capacity(256 * (ns + 1));
        match format {
            EdfFormat::BdfPlus => {
                h.push(0xFF);
                h.extend_from_slice(b"BIOSEMI");
            }
            _ => field(&mut h, "0", 8, "version")?,
        }
        field(&mut h, &header.patient, 80, "patient")?;
        field(&mut h, &header.recording, 80, "recording")?;
        let (y, mo, d, hh, mi, ss) = header.start;
        field(
            &mut h,
            &format!("{d:02}.{mo:02}.{:02}", y.rem_euclid(100)),
            8,
            "start date",
        )?;
        field(&mut h, &format!("{hh:02}.{mi:02}.{ss:02}"), 8, "start time")?;
        field(&mut h, &(256 * (ns + 1)).to_string(), 8, "header bytes")?;
        let reserved = match format {
            EdfFormat::Edf => "",
            EdfFormat::EdfPlus => "EDF+C",
            EdfFormat::BdfPlus => "BDF+C",
        };
        field(&mut h, reserved, 44, "reserved")?;
        field(&mut h, "-1", 8, "number of records")?;
        field(&mut h, &number(header.record_seconds, 8)?, 8, "record duration")?;
        field(&mut h, &ns.to_string(), 4, "number of signals")?;
        let per = |h: &mut Vec<u8>, f: &dyn Fn(&Signal) -> Result<String, EdfError>, w: usize, name: &str| {
            for s in &signals {
                field(h, &f(s)?, w, name)?;
            }
            Ok::<(), EdfError>(())
        };
        per(&mut h, &|s| Ok(s.label.clone()), 16, "label")?;
        per(&mut h, &|s| Ok(s.transducer.clone()), 80, "transducer")?;
        per(
            &mut h,
            &|s| Ok(s.physical_dimension.clone()),
            8,
            "physical dimension",
        )?;
        per(&mut h, &|s| number(s.physical_min, 8), 8, "physical minimum")?;
        per(&mut h, &|s| number(s.physical_max, 8), 8, "physical maximum")?;
        per(&mut h, &|s| Ok(s.digital_min.to_string()), 8, "digital minimum")?;
        per(&mut h, &|s| Ok(s.digital_max.to_string()), 8, "digital maximum")?;
        per(&mut h, &|s| Ok(s.prefilter.clone()), 80, "prefiltering")?;
        per(
            &mut h,
            &|s| Ok(s.samples_per_record.to_string()),
            8,
            "samples per record",
        )?;
        per(&mut h, &|_| Ok(String::new()), 32, "reserved")?;
        out.write_all(&h)?;
        Ok(EdfWriter {
            out,
            format,
            header: Header { signals, ..header },
            records: 0,
            pending: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// Queue an annotation; it is written into the data record that contains its onset
    /// (or the next one written). Ignored by plain EDF.
    pub fn annotate(&mut self, a: Annotation) {
        if self.format.has_annotations() {
            self.pending.push(a);
        }
    }

    /// Write one data record of stored integers (already in each signal's digital range;
    /// clamped if not): the lossless path when the values are ADC counts.
    pub fn write_record_digital(&mut self, signals: &[&[i32]]) -> Result<(), EdfError> {
        self.encode(signals, |s, v| v.clamp(s.digital_min, s.digital_max))
    }

    /// Write one data record: for each data signal, exactly `samples_per_record` physical
    /// values.
    pub fn write_record(&mut self, signals: &[&[f64]]) -> Result<(), EdfError> {
        self.encode(signals, |s, v| s.to_digital(v))
    }

    /// Check a record's shape, pack its values little-endian at the format's width, and write it.
    fn encode<T: Copy>(
        &mut self,
        signals: &[&[T]],
        digital: impl Fn(&Signal, T) -> i32,
    ) -> Result<(), EdfError> {
        let data_signals = self.header.signals.len() - usize::from(self.format.has_annotations());
        if signals.len() != data_signals {
            return Err(EdfError::Record(format!(
                "{} signals given, {data_signals} expected",
                signals.len()
            )));
        }
        let bps = self.format.bytes_per_sample();
        self.buf.clear();
        for (s, values) in self.header.signals.iter().zip(signals) {
            if values.len() != s.samples_per_record {
                return Err(EdfError::Record(format!(
                    "{}: {} samples given, {} expected",
                    s.label,
                    values.len(),
                    s.samples_per_record
                )));
            }
            let at = self.buf.len();
            self.buf.resize(at + values.len() * bps, 0);
            for (out, v) in self.buf[at..].chunks_exact_mut(bps).zip(*values) {
                out.copy_from_slice(&digital(s, *v).to_le_bytes()[..bps]);
            }
        }
        self.finish_record()
    }

    /// Append the annotation signal to the record in `buf` and write it out.
    fn finish_record(&mut self) -> Result<(), EdfError> {
        let bps = self.format.bytes_per_sample();
        if self.format.has_annotations() {
            let record_start = self.records as f64 * self.header.record_seconds;
            let record_end = record_start + self.header.record_seconds;
            let slot = self
                .header
                .signals
                .last()
                .map_or(0, |s| s.samples_per_record * bps);
            let mut tal = Vec::with_capacity(slot);
            let onset = record_start + self.header.start_fraction;
            tal.extend_from_slice(tal_onset(onset).as_bytes());
            tal.extend_from_slice(b"\x14\x14\x00");
            let mut keep = Vec::new();
            for a in std::mem::take(&mut self.pending) {
                let mut entry = tal_onset(a.onset + self.header.start_fraction).into_bytes();
                if a.duration > 0.0 {
                    entry.push(0x15);
                    entry.extend_from_slice(
                        format!("{:.6}", a.duration)
                            .trim_end_matches('0')
                            .trim_end_matches('.')
                            .as_bytes(),
                    );
                }
                entry.push(0x14);
                entry.extend(a.text.bytes().filter(|b| *b >= 0x20));
                entry.extend_from_slice(b"\x14\x00");
                if entry.len() + 32 > slot {
                    return Err(EdfError::Record(format!(
                        "an annotation of {} bytes does not fit the {slot} bytes of a data record",
                        entry.len()
                    )));
                }
                if a.onset < record_end && tal.len() + entry.len() <= slot {
                    tal.extend_from_slice(&entry);
                } else {
                    keep.push(a); // later onset, or no room: a following record takes it
                }
            }
            self.pending = keep;
            tal.resize(slot, 0);
            self.buf.extend_from_slice(&tal);
        }
        self.out.write_all(&self.buf)?;
        self.records += 1;
        Ok(())
    }

    /// Data records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Patch the record count into the header and flush. Returns the output.
    pub fn finish(mut self) -> Result<W, EdfError> {
        if !self.pending.is_empty() && self.format.has_annotations() {
            return Err(EdfError::Record(format!(
                "{} annotations found no room in the file: none may be left out",
                self.pending.len()
            )));
        }
        let count = self.records.to_string();
        let mut f = Vec::new();
        field(&mut f, &count, 8, "number of records")?;
        self.out.seek(SeekFrom::Start(236))?;
        self.out.write_all(&f)?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn signal(n: usize) -> Signal {
        Signal {
            label: "AF3".into(),
            transducer: "EPOC+ electrode".into(),
            physical_dimension: "uV".into(),
            physical_min: 0.0,
            physical_max: 8401.923,
            digital_min: -32768,
            digital_max: 32767,
            prefilter: String::new(),
            samples_per_record: n,
        }
    }

    fn header() -> Header {
        Header {
            patient: "X X X X".into(),
            recording: "Startdate 25-NOV-2026 X X epocd".into(),
            start: (2026, 11, 25, 5, 50, 1),
            start_fraction: 0.25,
            record_seconds: 1.0,
            signals: vec![signal(4)],
            annotation_bytes: 0,
        }
    }

    #[test]
    fn header_layout_and_record_count_patch() {
        let mut w = EdfWriter::new(Cursor::new(Vec::new()), EdfFormat::EdfPlus, header()).unwrap();
        w.annotate(Annotation {
            onset: 1.5,
            duration: 0.0,
            text: "blink".into(),
        });
        w.write_record(&[&[0.0, 1.0, 2.0, 8401.923]]).unwrap();
        w.write_record(&[&[0.0; 4]]).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let text = String::from_utf8_lossy(&bytes[..256]);
        assert_eq!(&text[0..8], "0       ");
        assert_eq!(&text[168..176], "25.11.26");
        assert_eq!(&text[176..184], "05.50.01");
        assert_eq!(&text[184..192], "768     ", "header bytes for 2 signals");
        assert_eq!(&text[192..197], "EDF+C");
        assert_eq!(&text[236..244], "2       ", "patched record count");
        assert_eq!(&text[252..256], "2   ");
        let labels = String::from_utf8_lossy(&bytes[256..288]);
        assert_eq!(labels, "AF3             EDF Annotations ");
        let record = 4 * 2 + 512;
        assert_eq!(bytes.len(), 768 + 2 * record);
        // Lossless ends of the range.
        assert_eq!(i16::from_le_bytes([bytes[768], bytes[769]]), -32768);
        assert_eq!(i16::from_le_bytes([bytes[774], bytes[775]]), 32767);
        // First TAL of record 0 keeps time (start fraction); the blink lands in record 1.
        let tal0 = &bytes[776..776 + 512];
        assert!(tal0.starts_with(b"+0.25\x14\x14\x00"));
        assert!(!tal0.windows(5).any(|w| w == b"blink"));
        let tal1 = &bytes[768 + record + 8..];
        assert!(tal1.starts_with(b"+1.25\x14\x14\x00+1.75\x14blink\x14\x00"));
    }

    #[test]
    fn bdf_is_24_bit() {
        let mut h = header();
        h.signals[0].digital_min = -8_388_608;
        h.signals[0].digital_max = 8_388_607;
        let mut w = EdfWriter::new(Cursor::new(Vec::new()), EdfFormat::BdfPlus, h).unwrap();
        w.write_record(&[&[8401.923, 0.0, 0.0, 0.0]]).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        assert_eq!(&bytes[0..8], b"\xFFBIOSEMI");
        assert_eq!(&bytes[768..771], &[0xFF, 0xFF, 0x7F]);
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut h = header();
        h.signals[0].label = "a label far too long".into();
        assert!(EdfWriter::new(Cursor::new(Vec::new()), EdfFormat::Edf, h).is_err());
        let mut h = header();
        h.signals[0].digital_max = 100_000;
        assert!(EdfWriter::new(Cursor::new(Vec::new()), EdfFormat::Edf, h).is_err());
        let mut w = EdfWriter::new(Cursor::new(Vec::new()), EdfFormat::Edf, header()).unwrap();
        assert!(w.write_record(&[&[0.0; 3]]).is_err());
        assert!(w.write_record(&[]).is_err());
    }

    #[test]
    fn numbers_fit_eight_characters() {
        assert_eq!(number(8401.923076923, 8).unwrap(), "8401.923");
        assert_eq!(number(-32768.0, 8).unwrap(), "-32768");
        assert_eq!(number(1.0, 8).unwrap(), "1");
        assert_eq!(tal_onset(1.25), "+1.25");
        assert_eq!(tal_onset(3.0), "+3");
    }
}
