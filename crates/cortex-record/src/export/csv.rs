//! CSV export (docs/cortex-api.md, "Export formats"): a `key:value` header line, a line of column names, then
//! one row per sample. V2 puts every selected stream on the EEG timeline (cells of slower
//! streams stay empty between their samples); V1 writes one file per stream.
//!
//! Rows are formatted by hand into one reused buffer: an hour at 256 Hz is ~920 000 rows.

use std::collections::HashMap;
use std::io::{BufWriter, Write};

use band_power::{BANDS, BandPower, POW_RATE_HZ, POW_VALUES};
use epoc_protocol::{DISPLAY_ORDER, DeviceState, Resolution};
use epoc_sample::Sample;
use serde_json::Value;

use super::detections::FeCells;
use super::{Pending, RecordData, StreamTypes, is_motion};
use crate::RecordError;
use crate::store::{Marker, RecordMeta};
use epoc_metrics::{MET_RATE_HZ, MetSample, Metric};

/// Which columns (and whose timeline) a CSV file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// V2: every selected stream on the EEG timeline.
    Wide,
    /// V1 EEG file: EEG, contact quality and markers.
    Eeg,
    /// V1 motion file: one row per motion sample.
    Motion,
    /// V1 band-power file: one row per band-power computation (8 Hz).
    BandPower,
    /// V1 detections file: performance metrics and facial expressions, on the rows (of the
    /// EEG timeline) where either has a value.
    Detections,
}

/// Append `v` with exactly `decimals` decimals (rounded), fast: integer arithmetic only.
fn push_fixed(out: &mut Vec<u8>, v: f64, decimals: u32) {
    let v = if v.is_finite() { v } else { 0.0 };
    let scale = 10u64.pow(decimals);
    let scaled = (v.abs() * scale as f64).round() as u64;
    if v < 0.0 && scaled != 0 {
        out.push(b'-');
    }
    push_uint(out, scaled / scale);
    if decimals > 0 {
        out.push(b'.');
        // The fraction with its leading zeros: format scale + frac and drop the leading 1.
        let mut buf = itoa::Buffer::new();
        let padded = buf.format(scale + scaled % scale);
        out.extend_from_slice(&padded.as_bytes()[1..]);
    }
}

fn push_uint(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn push_int(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_uint(out, n.unsigned_abs());
}

fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c == ',' || c.is_control() { ' ' } else { c })
        .collect()
}

/// The integer a marker puts in `MarkerValueInt`: its value when it is an integer (or an
/// integer string), else its position in the record.
fn marker_int(m: &Marker) -> i64 {
    match &m.value {
        Value::Number(n) => n.as_i64().unwrap_or(m.seq),
        Value::String(s) => s.trim().parse().unwrap_or(m.seq),
        _ => m.seq,
    }
}

fn header_line(
    meta: &RecordMeta,
    data: &RecordData,
    streams: StreamTypes,
    layout: Layout,
    columns: usize,
    rows: usize,
) -> String {
    let mode = data.eeg.first().map_or(meta.mode, |s| s.report.mode);
    let rate = mode.eeg_rate.hz();
    let mot_rate = match mode.resolution {
        Resolution::Bits14 => u32::from(rate),
        Resolution::Bits16 => {
            let eeg_span = data.eeg.len().max(1) as f64 / f64::from(rate);
            ((data.motion.len() as f64 / eeg_span / 32.0).round() as u32 * 32).clamp(0, 128)
        }
    };
    let mut types = Vec::new();
    let mut rates = Vec::new();
    if streams.eeg && matches!(layout, Layout::Wide | Layout::Eeg) {
        types.push("EEG");
        rates.push(format!("eeg_{rate}"));
    }
    if streams.motion && matches!(layout, Layout::Wide | Layout::Motion) {
        types.push("MOTION");
        rates.push(format!("mot_{mot_rate}"));
    }
    if streams.band_power && matches!(layout, Layout::Wide | Layout::BandPower) {
        types.push("BP");
        rates.push(format!("pow_{POW_RATE_HZ}"));
    }
    if streams.performance_metrics && matches!(layout, Layout::Wide | Layout::Detections) {
        types.extend(["PM", "FE"]);
        rates.push(format!("met_{MET_RATE_HZ}"));
        rates.push(format!("fac_{}", epoc_facial::FAC_RATE_HZ));
    }
    let version = if layout == Layout::Wide { "2.1" } else { "1.0" };
    format!(
        "title:{}, start timestamp:{:.6}, stop timestamp:{:.6}, headset type:{}, headset serial:{}, \
         headset firmware:epocd-{}, channels:{columns}, sampling rate:{}, samples:{rows}, version:{version}, \
         stream types:{}\n",
        clean(&meta.title),
        meta.start,
        meta.end.unwrap_or(meta.start),
        mode.model.cortex_prefix(),
        clean(&meta.serial),
        env!("CARGO_PKG_VERSION"),
        rates.join(";"),
        types.join(";"),
    )
}

/// The facial-expression columns (docs/cortex-api.md, "Export formats").
const FE_COLS: [&str; 6] = [
    "FE.BlinkWink",
    "FE.HorizontalEyesDirection",
    "FE.UpperFaceAction",
    "FE.UpperFaceActionPower",
    "FE.LowerFaceAction",
    "FE.LowerFaceActionPower",
];

/// The `PM.*` cells of a row: each metric's IsActive (1/0), Scaled, Raw (when this window
/// was accepted), Min and Max (once warm), then long-term excitement; empty between updates.
fn push_met(line: &mut Vec<u8>, m: Option<&MetSample>) {
    let Some(m) = m else {
        line.extend(std::iter::repeat_n(b',', Metric::ALL.len() * 5 + 1));
        return;
    };
    let cell = |line: &mut Vec<u8>, v: Option<f64>| {
        line.push(b',');
        if let Some(v) = v {
            push_fixed(line, v, 6);
        }
    };
    for metric in Metric::ALL {
        let v = m.get(metric);
        line.push(b',');
        line.push(if v.active { b'1' } else { b'0' });
        cell(line, v.scaled);
        cell(line, v.raw);
        cell(line, v.scale.map(|s| s.min));
        cell(line, v.scale.map(|s| s.max));
    }
    cell(line, m.long_term_excitement);
}

/// The `FE.*` cells of a row: eye events at their onset, face actions at each `fac` frame.
fn push_fe(line: &mut Vec<u8>, fe: Option<&FeCells>) {
    let fe = fe.copied().unwrap_or_default();
    for name in [fe.blink_wink, fe.horizontal] {
        line.push(b',');
        if let Some(n) = name {
            line.extend_from_slice(n.as_bytes());
        }
    }
    match fe.face {
        Some((u, u_pow, l, l_pow)) => {
            for (name, power) in [(u, u_pow), (l, l_pow)] {
                line.push(b',');
                line.extend_from_slice(name.as_bytes());
                line.push(b',');
                push_fixed(line, power, 3);
            }
        }
        None => line.extend_from_slice(b",,,,"),
    }
}

/// Write one CSV file of `layout`.
pub(crate) fn write_wide(
    pending: &Pending,
    meta: &RecordMeta,
    markers: &[Marker],
    data: &RecordData,
    streams: StreamTypes,
    layout: Layout,
    progress: &mut dyn FnMut(u64),
) -> Result<(), RecordError> {
    let mode = data.eeg.first().map_or(meta.mode, |s| s.report.mode);
    let names = mode.motion_names();
    let eeg_cols = streams.eeg && matches!(layout, Layout::Wide | Layout::Eeg);
    let mot_cols = streams.motion && matches!(layout, Layout::Wide | Layout::Motion);
    let pow_cols = streams.band_power && matches!(layout, Layout::Wide | Layout::BandPower);
    let det_cols = streams.performance_metrics && matches!(layout, Layout::Wide | Layout::Detections);
    let detections = det_cols.then(|| super::detections::rows(&data.eeg));

    let mut cols: Vec<String> = vec!["Timestamp".into(), "OriginalTimestamp".into()];
    if eeg_cols {
        cols.extend(["EEG.Counter", "EEG.Interpolated"].map(String::from));
        cols.extend(DISPLAY_ORDER.iter().map(|c| format!("EEG.{}", c.name())));
        cols.extend(
            [
                "EEG.RawCq",
                "EEG.Battery",
                "EEG.BatteryPercent",
                "MarkerIndex",
                "MarkerType",
                "MarkerValueInt",
                "EEG.MarkerHardware",
            ]
            .map(String::from),
        );
        cols.extend(DISPLAY_ORDER.iter().map(|c| format!("CQ.{}", c.name())));
        cols.push("CQ.Overall".into());
    }
    if mot_cols {
        cols.extend(["MOT.CounterMems", "MOT.InterpolatedMems"].map(String::from));
        cols.extend(names.iter().map(|n| format!("MOT.{n}")));
    }
    if pow_cols {
        for c in DISPLAY_ORDER {
            for (band, _, _) in BANDS {
                let mut b = band.to_owned();
                if let Some(first) = b.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                cols.push(format!("POW.{}.{b}", c.name()));
            }
        }
    }

    if det_cols {
        for m in Metric::ALL {
            for part in ["IsActive", "Scaled", "Raw", "Min", "Max"] {
                cols.push(format!("PM.{}.{part}", m.export_name()));
            }
        }
        cols.push("PM.LongTermExcitement".into());
        cols.extend(FE_COLS.map(String::from));
    }

    // Rows: the EEG timeline, except for the V1 motion, band-power and detections files.
    let motion: Vec<&Sample> = match mode.resolution {
        Resolution::Bits14 => data.eeg.iter().collect(),
        Resolution::Bits16 => data.motion.iter().filter(|s| is_motion(s)).collect(),
    };
    let rate = usize::from(mode.eeg_rate.hz());
    let pow_every = (rate / POW_RATE_HZ as usize).max(1);
    let rows = match layout {
        Layout::Wide | Layout::Eeg => data.eeg.len(),
        Layout::Motion => motion.len(),
        Layout::BandPower => data.eeg.len().saturating_sub(2 * rate - 1).div_ceil(pow_every),
        Layout::Detections => detections.as_ref().map_or(0, |d| {
            (0..data.eeg.len())
                .filter(|i| d.met.contains_key(i) || d.fe.contains_key(i))
                .count()
        }),
    };

    let file = pending.create()?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let io = |e: std::io::Error| RecordError::Io {
        path: pending.path().to_path_buf(),
        source: e,
    };
    out.write_all(header_line(meta, data, streams, layout, cols.len(), rows).as_bytes())
        .map_err(io)?;
    out.write_all(cols.join(",").as_bytes()).map_err(io)?;
    out.write_all(b"\n").map_err(io)?;

    let mut line: Vec<u8> = Vec::with_capacity(4096);
    if layout == Layout::Motion {
        for s in &motion {
            line.clear();
            push_fixed(&mut line, s.time, 6);
            line.push(b',');
            push_fixed(&mut line, s.time, 6);
            push_motion(&mut line, s, names.len());
            line.push(b'\n');
            out.write_all(&line).map_err(io)?;
        }
        out.flush().map_err(io)?;
        progress(motion.len() as u64);
        return Ok(());
    }

    // Markers land on the EEG row nearest their time: (index, type 1 start / 2 end, value).
    let mut marks: HashMap<usize, (i64, u8, i64)> = HashMap::new();
    if eeg_cols {
        for m in markers {
            if let Some(i) = data.nearest_eeg(m.start_ms / 1000.0) {
                marks.insert(i, (m.seq, 1, marker_int(m)));
            }
            if m.interval
                && let Some(i) = data.nearest_eeg(m.end_ms / 1000.0)
            {
                marks.insert(i, (m.seq, 2, marker_int(m)));
            }
        }
    }
    let mut device = DeviceState::default();
    let mut power = pow_cols.then(|| BandPower::new(mode.eeg_rate.hz()));
    let mut pow = [0.0; POW_VALUES];
    let mut since_pow = 0usize;
    let mut next_motion = 0usize;
    let half = 0.5 / rate as f64;
    for (i, s) in data.eeg.iter().enumerate() {
        let r = &s.report;
        device.update(r);
        let pow_now = match power.as_mut() {
            Some(bp) => {
                bp.push(r.eeg_microvolts());
                since_pow += 1;
                since_pow >= pow_every && {
                    since_pow = 0;
                    bp.compute(&mut pow)
                }
            }
            None => false,
        };
        if layout == Layout::BandPower {
            if pow_now {
                line.clear();
                push_fixed(&mut line, s.time, 6);
                line.push(b',');
                push_fixed(&mut line, s.time, 6);
                for v in pow {
                    line.push(b',');
                    push_fixed(&mut line, v, 6);
                }
                line.push(b'\n');
                out.write_all(&line).map_err(io)?;
            }
            continue;
        }
        if layout == Layout::Detections
            && detections
                .as_ref()
                .is_none_or(|d| !d.met.contains_key(&i) && !d.fe.contains_key(&i))
        {
            continue;
        }
        line.clear();
        push_fixed(&mut line, s.time, 6);
        line.push(b',');
        push_fixed(&mut line, s.time, 6);
        if eeg_cols {
            line.push(b',');
            push_uint(&mut line, u64::from(r.counter));
            line.extend_from_slice(b",0");
            for uv in r.eeg_microvolts() {
                line.push(b',');
                push_fixed(&mut line, uv, 3);
            }
            line.push(b',');
            if r.quality().is_some() {
                push_uint(&mut line, u64::from(r.aux));
            }
            let percent = device.battery_percent;
            line.push(b',');
            if let Some(p) = percent {
                push_uint(&mut line, (u64::from(p) * 4 + 50) / 100);
            }
            line.push(b',');
            if let Some(p) = percent {
                push_uint(&mut line, u64::from(p));
            }
            match marks.get(&i) {
                Some((idx, kind, value)) => {
                    line.push(b',');
                    push_int(&mut line, *idx);
                    line.push(b',');
                    push_uint(&mut line, u64::from(*kind));
                    line.push(b',');
                    push_int(&mut line, *value);
                }
                None => line.extend_from_slice(b",,,"),
            }
            line.extend_from_slice(b",0");
            for l in device.levels {
                line.push(b',');
                push_uint(&mut line, u64::from(l));
            }
            line.push(b',');
            push_uint(&mut line, u64::from(device.overall()));
        }
        if mot_cols {
            // The motion sample(s) up to half an EEG period after this row.
            let mut latest = None;
            while let Some(m) = motion.get(next_motion)
                && m.time <= s.time + half
            {
                latest = Some(*m);
                next_motion += 1;
            }
            match latest {
                Some(m) => push_motion(&mut line, m, names.len()),
                None => line.extend(std::iter::repeat_n(b',', 2 + names.len())),
            }
        }
        if pow_cols {
            for v in pow {
                line.push(b',');
                if pow_now {
                    push_fixed(&mut line, v, 6);
                }
            }
        }
        if let Some(d) = &detections {
            push_met(&mut line, d.met.get(&i));
            push_fe(&mut line, d.fe.get(&i));
        }
        line.push(b'\n');
        out.write_all(&line).map_err(io)?;
        if i % 65_536 == 0 {
            progress(i as u64);
        }
    }
    out.flush().map_err(io)?;
    progress(data.eeg.len() as u64);
    Ok(())
}

fn push_motion(line: &mut Vec<u8>, s: &Sample, n: usize) {
    line.push(b',');
    push_uint(line, u64::from(s.report.counter));
    line.extend_from_slice(b",0");
    for v in s.report.motion.iter().take(n) {
        line.push(b',');
        push_int(line, i64::from(*v));
    }
}

/// The `_intervalMarker.csv` companion: one row per marker.
pub(crate) fn write_interval_markers(
    pending: &Pending,
    meta: &RecordMeta,
    markers: &[Marker],
    data: &RecordData,
) -> Result<(), RecordError> {
    let start = data.eeg.first().map_or(meta.start, |s| s.time);
    let mut text = String::from("latency,duration,type,marker_value,key,timestamp,marker_id\n");
    for m in markers {
        let at = data
            .nearest_eeg(m.start_ms / 1000.0)
            .map_or(m.start_ms / 1000.0, |i| data.eeg[i].time);
        let end = if m.interval {
            data.nearest_eeg(m.end_ms / 1000.0)
                .map_or(m.end_ms / 1000.0, |i| data.eeg[i].time)
        } else {
            at
        };
        let value = match &m.value {
            Value::String(s) => clean(s),
            v => v.to_string(),
        };
        text.push_str(&format!(
            "{:.6},{:.6},{},{value},-1,{:.6},{}\n",
            at - start,
            (end - at).max(0.0),
            clean(&m.label),
            at,
            m.seq
        ));
    }
    pending.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(v: f64, d: u32) -> String {
        let mut out = Vec::new();
        push_fixed(&mut out, v, d);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn fixed_formatting_matches_std_rounding() {
        for &v in &[
            0.0,
            1.5,
            -2.25,
            4201.923076923,
            8401.92307692,
            0.0004,
            1_700_000_000.123_456,
        ] {
            for d in [0u32, 3, 6] {
                assert_eq!(
                    fixed(v, d),
                    format!("{v:.*}", d as usize),
                    "{v} with {d} decimals"
                );
            }
        }
        assert_eq!(fixed(-0.0001, 3), "0.000");
        assert_eq!(fixed(f64::NAN, 3), "0.000");
    }
}
