//! Writing one hour of EPOC+ data (14 EEG channels at 256 Hz, 9 motion at 64 Hz) as EDF+ to
//! a file (issue 5 target for the export path: ≤ 0.2 s). Run:
//! `cargo bench -p cortex-record --bench edf_export`.
#![allow(missing_docs)]

use std::io::BufWriter;
use std::time::Instant;

use cortex_record::{Annotation, EdfFormat, EdfWriter, Header, Signal};

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let seconds = if quick { 10 } else { 3600 };
    let eeg = |label: &str| Signal {
        label: label.into(),
        transducer: "EPOC+ electrode".into(),
        physical_dimension: "uV".into(),
        physical_min: 0.0,
        physical_max: 8401.923,
        digital_min: -32768,
        digital_max: 32767,
        prefilter: String::new(),
        samples_per_record: 256,
    };
    let mut signals: Vec<Signal> = (0..14).map(|i| eeg(&format!("E{i}"))).collect();
    signals.extend((0..9).map(|i| Signal {
        label: format!("M{i}"),
        physical_dimension: "count".into(),
        physical_min: -32768.0,
        physical_max: 32767.0,
        samples_per_record: 64,
        ..eeg("m")
    }));
    let header = Header {
        patient: "X X X X".into(),
        recording: "Startdate 25-NOV-2026 X X epocd".into(),
        start: (2026, 11, 25, 6, 0, 0),
        start_fraction: 0.0,
        record_seconds: 1.0,
        signals,
        annotation_bytes: 0,
    };
    let eeg_block: Vec<f64> = (0..256).map(|i| 4200.0 + (i as f64 * 0.3).sin() * 20.0).collect();
    let mot_block: Vec<f64> = (0..64).map(|i| i as f64 * 10.0).collect();
    let mut refs: Vec<&[f64]> = vec![&eeg_block; 14];
    refs.extend(std::iter::repeat_n(mot_block.as_slice(), 9));
    let dir = std::env::temp_dir().join(format!("epocd-edf-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("hour.edf");
    let start = Instant::now();
    let file = std::fs::File::create(&path).expect("create");
    let mut w = EdfWriter::new(
        BufWriter::with_capacity(1 << 20, file),
        EdfFormat::EdfPlus,
        header,
    )
    .expect("header");
    for s in 0..seconds {
        if s % 60 == 0 {
            w.annotate(Annotation {
                onset: s as f64,
                duration: 0.0,
                text: format!("minute {}", s / 60),
            });
        }
        w.write_record(&refs).expect("record");
    }
    w.finish().expect("finish");
    let secs = start.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!(
        "EDF+ export of {seconds} s of EPOC+ data (14 x 256 Hz + 9 x 64 Hz): {secs:.3} s, {:.1} MB",
        size as f64 / 1e6
    );
    let _ = std::fs::remove_dir_all(dir);
}
