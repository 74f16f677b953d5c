//! The record store end to end (issue 5 figures): sustained ingestion by the record writer
//! (samples/s through CRC'd block files with fsync), and export of a 1-hour 256 Hz EPOC+
//! record from the store to EDF+ (target ≤ 0.2 s) and to CSV V2 (target ≤ 1 s).
//! Run: `cargo bench -p cortex-record --bench record_store [-- NAME...]` (`--bench` for the
//! full hour; without it, a 60 s record as a quick check; NAME picks exports, e.g. `EDF+`).
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use cortex_record::store::{RecordMeta, RecordState};
use cortex_record::writer::RecordWriter;
use cortex_record::{CsvVersion, EdfFormat, ExportFormat, ExportRequest, StreamTypes, export_record};
use epoc_protocol::{EEG_CHANNELS, Mode, Report, ReportKind};
use epoc_sample::Sample;

fn samples(seconds: usize) -> Vec<Sample> {
    let mut out = Vec::with_capacity(seconds * 320);
    let t0 = 1_764_000_000.0;
    for n in 0..seconds * 256 {
        let t = n as f64 / 256.0;
        let mut eeg = [0u16; EEG_CHANNELS];
        for (c, v) in eeg.iter_mut().enumerate() {
            *v = (32768.0 + 400.0 * (std::f64::consts::TAU * (6.0 + c as f64) * t).sin()) as u16;
        }
        out.push(Sample {
            report: Report {
                mode: Mode::EPOC_PLUS_256,
                kind: ReportKind::Eeg,
                counter: (n % 256) as u8,
                eeg,
                aux: 100,
                motion: [0; 9],
            },
            time: t0 + t,
            index: n as u64,
            lost: 0,
        });
        if n % 4 == 0 {
            out.push(Sample {
                report: Report {
                    mode: Mode::EPOC_PLUS_256,
                    kind: ReportKind::Motion,
                    counter: (n / 4 % 128) as u8,
                    eeg: [0; EEG_CHANNELS],
                    aux: 0,
                    motion: [(n % 1000) as i16; 9],
                },
                time: t0 + t,
                index: (n / 4) as u64,
                lost: 0,
            });
        }
    }
    out
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    // Other arguments pick exports by name (`EDF+`, `CSV`); none runs them all.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let seconds = if full { 3600 } else { 60 };
    let data = samples(seconds);
    let dir = tempfile::tempdir().expect("tempdir");
    let record_dir = dir.path().join("record");

    // Ingestion: everything is in the ring before the writer starts; time until it is durable.
    let mut ring = sample_ring::ring::<Sample>(data.len().next_power_of_two());
    for s in &data {
        ring.push(*s);
    }
    let start = Instant::now();
    let writer = RecordWriter::start(ring.handle().reader_from_oldest(), &record_dir).expect("writer");
    while writer.stats().samples.load(std::sync::atomic::Ordering::Relaxed) < data.len() as u64 {
        std::thread::sleep(Duration::from_millis(1));
    }
    writer.stop().expect("stop");
    let ingest = start.elapsed();
    println!(
        "ingestion: {} samples ({} s of EPOC+ EEG+motion) in {:.3} s = {:.2} M samples/s ({:.0}x real time)",
        data.len(),
        seconds,
        ingest.as_secs_f64(),
        data.len() as f64 / ingest.as_secs_f64() / 1e6,
        seconds as f64 / ingest.as_secs_f64()
    );

    let start = Instant::now();
    let loaded = cortex_record::RecordData::load(&record_dir).expect("load");
    println!(
        "read back: {} EEG + {} motion samples in {:.3} s (part of every export below)",
        loaded.eeg.len(),
        loaded.motion.len(),
        start.elapsed().as_secs_f64()
    );
    drop(loaded);
    let meta = RecordMeta {
        uuid: "bench".into(),
        title: "bench".into(),
        description: String::new(),
        tags: Vec::new(),
        application_id: "bench".into(),
        application_version: String::new(),
        license_id: String::new(),
        owner_id: String::new(),
        experiment_id: 0,
        subject_name: String::new(),
        session_id: String::new(),
        headset_id: "EPOCPLUS-BENCH".into(),
        serial: "BENCH".into(),
        mode: Mode::EPOC_PLUS_256,
        start: 1_764_000_000.0,
        end: Some(1_764_000_000.0 + seconds as f64),
        state: RecordState::Stopped,
        note: String::new(),
    };
    let eeg_motion = StreamTypes {
        eeg: true,
        motion: true,
        ..StreamTypes::default()
    };
    for (name, format, streams) in [
        (
            "EDF+ (EEG+CQ+motion)",
            ExportFormat::Edf(EdfFormat::EdfPlus),
            eeg_motion,
        ),
        (
            "BDF+ (EEG+CQ+motion)",
            ExportFormat::Edf(EdfFormat::BdfPlus),
            eeg_motion,
        ),
        (
            "CSV V2 (EEG+motion)",
            ExportFormat::Csv(CsvVersion::V2),
            eeg_motion,
        ),
        (
            "CSV V2 (EEG+motion+BP)",
            ExportFormat::Csv(CsvVersion::V2),
            StreamTypes {
                band_power: true,
                ..eeg_motion
            },
        ),
    ] {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        // This machine's disk and neighbours make single runs noisy: report the median of
        // five runs (and the fastest), each into a fresh folder.
        let mut runs = Vec::new();
        let mut bytes = 0u64;
        for _ in 0..5 {
            let out = tempfile::tempdir().expect("tempdir");
            let req = ExportRequest {
                format,
                streams,
                folder: out.path().to_path_buf(),
            };
            let start = Instant::now();
            let files = export_record(&meta, &[], &record_dir, &req, &serde_json::json!({}), &mut |_| {})
                .expect("export");
            runs.push(start.elapsed().as_secs_f64());
            bytes = files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum();
        }
        runs.sort_by(f64::total_cmp);
        println!(
            "export {seconds} s to {name}: median {:.3} s, fastest {:.3} s of 5 ({:.1} MB)",
            runs[2],
            runs[0],
            bytes as f64 / 1e6
        );
    }
}
