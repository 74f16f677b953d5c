//! Text renderings of decoded samples (JSON lines and CSV), written by hand so every value
//! has a fixed, documented format: µV with 3 decimals, raw counts as integers, times with
//! 6 decimals.

use std::io::{self, Write};

use epoc_protocol::{DISPLAY_ORDER, Mode, Report, ReportKind, Resolution};

/// One output row: a report, where it sits, and (when streaming) its timestamp.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// File index (`decode`) or stream sample index (`stream`).
    pub index: u64,
    /// Unix seconds, for live samples.
    pub time: Option<f64>,
    /// Samples of the same stream lost just before this one.
    pub lost: u16,
    /// The decoded report.
    pub report: &'a Report,
}

/// Whether this report's motion slots hold values worth printing.
fn has_motion(r: &Report) -> bool {
    r.kind == ReportKind::Motion || r.mode.resolution == Resolution::Bits14
}

/// One JSON object per line.
pub fn write_jsonl(out: &mut impl Write, row: &Row) -> io::Result<()> {
    let r = row.report;
    write!(out, r#"{{"index":{}"#, row.index)?;
    if let Some(t) = row.time {
        write!(out, r#","time":{t:.6}"#)?;
    }
    write!(
        out,
        r#","kind":"{}","counter":{},"lost":{}"#,
        r.kind.name(),
        r.sequence(),
        row.lost
    )?;
    if r.has_eeg() {
        out.write_all(br#","eeg":{"#)?;
        for (i, (ch, uv)) in DISPLAY_ORDER.iter().zip(r.eeg_microvolts()).enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(out, r#"{sep}"{}":{uv:.3}"#, ch.name())?;
        }
        out.write_all(b"}")?;
        match r.quality() {
            Some(q) => {
                write!(
                    out,
                    r#","quality":{{"channel":"{}","raw":{}"#,
                    q.channel.name(),
                    q.raw
                )?;
                match q.level() {
                    Some(l) => write!(out, r#","level":{l}}}"#)?,
                    None => out.write_all(br#","level":null}"#)?,
                }
            }
            None => out.write_all(br#","quality":null"#)?,
        }
        match r.battery() {
            Some(b) => {
                write!(out, r#","battery":{{"raw":{}"#, b.raw)?;
                match b.percent {
                    Some(p) => write!(out, r#","percent":{p}}}"#)?,
                    None => out.write_all(br#","percent":null}"#)?,
                }
            }
            None => out.write_all(br#","battery":null"#)?,
        }
    }
    if has_motion(r) {
        let key = if r.kind == ReportKind::Motion {
            "motion"
        } else {
            "gyro"
        };
        write!(out, r#","{key}":{{"#)?;
        for (i, (name, v)) in r.mode.motion_names().iter().zip(r.motion).enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(out, r#"{sep}"{name}":{v}"#)?;
        }
        out.write_all(b"}")?;
    }
    out.write_all(b"}\n")
}

/// The CSV header for a mode; `with_time` adds a `time` column after `index`.
pub fn write_csv_header(out: &mut impl Write, mode: Mode, with_time: bool) -> io::Result<()> {
    out.write_all(b"index")?;
    if with_time {
        out.write_all(b",time")?;
    }
    out.write_all(b",kind,counter,lost")?;
    for ch in DISPLAY_ORDER {
        write!(out, ",{}", ch.name())?;
    }
    out.write_all(b",quality_channel,quality_raw,quality_level,battery_raw,battery_percent")?;
    for name in mode.motion_names() {
        write!(out, ",{name}")?;
    }
    out.write_all(b"\n")
}

/// One CSV row; fields a report does not carry are empty.
pub fn write_csv_row(out: &mut impl Write, row: &Row) -> io::Result<()> {
    let r = row.report;
    write!(out, "{}", row.index)?;
    if let Some(t) = row.time {
        write!(out, ",{t:.6}")?;
    }
    write!(out, ",{},{},{}", r.kind.name(), r.sequence(), row.lost)?;
    if r.has_eeg() {
        for uv in r.eeg_microvolts() {
            write!(out, ",{uv:.3}")?;
        }
    } else {
        out.write_all(&[b','; 14])?;
    }
    match r.quality() {
        Some(q) => {
            write!(out, ",{},{},", q.channel.name(), q.raw)?;
            if let Some(l) = q.level() {
                write!(out, "{l}")?;
            }
        }
        None => out.write_all(b",,,")?,
    }
    match r.battery() {
        Some(b) => {
            write!(out, ",{},", b.raw)?;
            if let Some(p) = b.percent {
                write!(out, "{p}")?;
            }
        }
        None => out.write_all(b",,")?,
    }
    let n = r.mode.motion_names().len();
    if has_motion(r) {
        for v in &r.motion[..n] {
            write!(out, ",{v}")?;
        }
    } else {
        for _ in 0..n {
            out.write_all(b",")?;
        }
    }
    out.write_all(b"\n")
}
