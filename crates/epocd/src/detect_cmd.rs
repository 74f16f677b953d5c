//! `epocd detect`: the open detections over a capture file, summarised as JSON — how often
//! each metric was active and where it sat, and how often each facial event was found. The
//! same code as the live `met` and `fac` streams (docs/detections.md).

use std::io::Write;

use cortex_record::DetectionWalker;
use epoc_facial::Thresholds;
use epoc_metrics::Metric;
use serde_json::{Map, Value, json};

use crate::cli::{DecodeTarget, ModelArg};
use crate::decode_cmd::{DecodeError, decode_file};

const EYE_ACTIONS: [&str; 5] = ["blink", "winkL", "winkR", "lookL", "lookR"];
const FACE_ACTIONS: [&str; 4] = ["surprise", "frown", "smile", "clench"];

/// Run `epocd detect`.
pub fn run(args: &DecodeTarget) -> Result<(), DecodeError> {
    let model: ModelArg = args.model;
    let (detection, decoded) = decode_file(&args.file, args.serial.as_deref(), model)?;
    let rate = detection.mode.eeg_rate.hz();
    let mut walker = DetectionWalker::new(rate);
    if args.ignore_contact {
        walker = walker.ignoring_contact();
    }
    let thresholds = Thresholds::default();
    let mut eeg = 0u64;
    let mut updates = 0u64;
    // Per metric: updates active, scaled values, raw values of accepted (clean) windows.
    let mut met: Vec<(u64, Vec<f64>, Vec<f64>)> = vec![(0, Vec::new(), Vec::new()); Metric::ALL.len()];
    let mut eye = [0u64; EYE_ACTIONS.len()];
    let mut face = [0u64; FACE_ACTIONS.len()];
    let mut face_seconds = [0f64; FACE_ACTIONS.len()];
    let mut last_face: Option<&str> = None;
    for d in &decoded {
        let r = &d.report;
        if !r.has_eeg() {
            continue;
        }
        eeg += 1;
        let (met_update, fac_frame) = walker.step(r);
        if let Some(m) = met_update {
            updates += 1;
            for (i, metric) in Metric::ALL.into_iter().enumerate() {
                let v = m.get(metric);
                if v.active {
                    met[i].0 += 1;
                }
                met[i].1.extend(v.scale.map(|s| s.scaled));
                met[i].2.extend(v.raw);
            }
        }
        if let Some(f) = fac_frame {
            if let Some(e) = f.eye
                && let Some(i) = EYE_ACTIONS.iter().position(|a| *a == e.action.name())
            {
                eye[i] += 1;
            }
            let (u, _, l, _) = thresholds.apply(&f);
            let act = [u, l].into_iter().find(|a| *a != "neutral");
            if let Some(i) = act.and_then(|a| FACE_ACTIONS.iter().position(|x| *x == a)) {
                face_seconds[i] += 1.0 / f64::from(epoc_facial::FAC_RATE_HZ);
                if last_face != act {
                    face[i] += 1;
                }
            }
            last_face = act;
        }
    }
    let seconds = eeg as f64 / f64::from(rate);
    let minutes = (seconds / 60.0).max(1e-9);
    let mut metrics_out = Map::new();
    for (i, metric) in Metric::ALL.into_iter().enumerate() {
        let (active, scaled, raw) = &met[i];
        metrics_out.insert(
            metric.met_name().into(),
            json!({
                "activeFraction": ratio(*active, updates),
                "acceptedFraction": ratio(raw.len() as u64, updates),
                "meanRaw": mean(raw),
                "meanScaled": mean(scaled),
            }),
        );
    }
    let mut facial_out = Map::new();
    for (i, name) in EYE_ACTIONS.iter().enumerate() {
        facial_out.insert(
            (*name).into(),
            json!({"count": eye[i], "perMinute": eye[i] as f64 / minutes}),
        );
    }
    for (i, name) in FACE_ACTIONS.iter().enumerate() {
        facial_out.insert(
            (*name).into(),
            json!({"count": face[i], "perMinute": face[i] as f64 / minutes, "seconds": face_seconds[i]}),
        );
    }
    let summary = json!({
        "file": args.file.display().to_string(),
        "model": detection.mode.model.cortex_prefix(),
        "eegRate": rate,
        "seconds": seconds,
        "metUpdates": updates,
        "contactIgnored": args.ignore_contact,
        "met": Value::Object(metrics_out),
        "fac": Value::Object(facial_out),
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &summary)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .map_err(DecodeError::Write)
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
