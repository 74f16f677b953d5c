//! The record writer through the real acquisition thread and a virtual headset: everything
//! written reads back identical; a crash loses at most the unsynced tail, never the store.

use std::time::{Duration, Instant};

use cortex_record::writer::{RecordWriter, read_samples};
use crossbeam_channel::unbounded;
use epoc_driver::virtual_headset::VirtualHeadset;
use epoc_driver::{Acquisition, AcquisitionConfig, Sample};
use epoc_protocol::ReportKind;
use sample_ring::Next;

#[test]
fn a_record_reads_back_exactly_what_the_ring_carried() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _events) = unbounded();
    let config = AcquisitionConfig {
        // Unpaced: ~10^5 samples/s. A ring far larger than the run keeps `check` from being lapped.
        ring_capacity: 1 << 20,
        ..AcquisitionConfig::default()
    };
    let acq = Acquisition::start(Box::new(VirtualHeadset::new(1, false).unwrap()), config, tx).unwrap();
    let ring = acq.ring();
    let mut check = ring.reader_from_oldest();
    let writer = RecordWriter::start(ring.reader_from_oldest(), dir.path()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while writer.stats().samples.load(std::sync::atomic::Ordering::Relaxed) < 5000
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(acq); // the headset goes away; the writer drains what is left
    writer.stop().expect("clean stop");
    let mut expected: Vec<Sample> = Vec::new();
    while let Next::Item(s) = check.try_next() {
        expected.push(s);
    }
    let (eeg, mot) = read_samples(dir.path()).unwrap();
    let exp_eeg: Vec<Sample> = expected
        .iter()
        .filter(|s| s.report.kind != ReportKind::Motion)
        .copied()
        .collect();
    let exp_mot: Vec<Sample> = expected
        .iter()
        .filter(|s| s.report.kind == ReportKind::Motion)
        .copied()
        .collect();
    assert!(exp_eeg.len() >= 4000);
    assert_eq!(eeg, exp_eeg, "every EEG sample, in order, bit for bit");
    assert_eq!(mot, exp_mot);
}

#[test]
fn a_crash_keeps_everything_up_to_the_last_complete_block() {
    let dir = tempfile::tempdir().unwrap();
    let mut ring = sample_ring::ring::<Sample>(4096);
    let writer = RecordWriter::start(ring.handle().reader(), dir.path()).unwrap();
    let sample = |i: u64| Sample {
        report: epoc_protocol::Report {
            mode: epoc_protocol::Mode::EPOC_PLUS_256,
            kind: ReportKind::Eeg,
            counter: (i % 256) as u8,
            eeg: [i as u16; 14],
            aux: 0,
            motion: [0; 9],
        },
        time: i as f64 / 256.0,
        index: i,
        lost: 0,
    };
    for i in 0..1000 {
        ring.push(sample(i));
    }
    writer.stop().unwrap();
    // A power cut in the middle of the last block: the file ends mid-write.
    let path = dir.path().join("eeg.blk");
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len - 100).unwrap();
    let (eeg, _) = read_samples(dir.path()).unwrap();
    assert!(
        eeg.len() >= 1000 - 64 && eeg.len() < 1000,
        "lost at most one block: kept {}",
        eeg.len()
    );
    assert!(
        eeg.iter().enumerate().all(|(i, s)| *s == sample(i as u64)),
        "what is kept is intact"
    );
    // The next start resumes the same files after the torn block.
    let mut ring2 = sample_ring::ring::<Sample>(64);
    let w2 = RecordWriter::start(ring2.handle().reader(), dir.path()).unwrap();
    ring2.push(sample(5000));
    w2.stop().unwrap();
    let (eeg2, _) = read_samples(dir.path()).unwrap();
    assert_eq!(eeg2.len(), eeg.len() + 1);
    assert_eq!(*eeg2.last().unwrap(), sample(5000));
}
