//! The acquisition thread through its real code path, fed by test, virtual and replay sources:
//! events on link changes, recovery after faults, loss counts, timestamps, the virtual EEG.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use epoc_driver::channel_source::{Feed, channel_source};
use epoc_driver::replay::{ReplayOptions, ReplaySource};
use epoc_driver::virtual_headset::VirtualHeadset;
use epoc_driver::*;
use epoc_protocol::{Cipher, DISPLAY_ORDER, KeyLayout, Mode, Model, Report, ReportKind, Serial, encode};
use sample_ring::{Next, Reader};

const SERIAL: &str = "UD20160103001874";

fn identity(real_time: bool) -> Identity {
    Identity {
        serial: Serial::from_usb(SERIAL).unwrap(),
        model_hint: None,
        rate_hint: Some(epoc_protocol::EegRate::Hz256),
        connection: Connection::Virtual,
        location: "test".into(),
        real_time,
    }
}

/// Encrypted EPOC+ 256 Hz EEG reports with consecutive counters from `start`.
fn eeg_reports(start: u32, n: u32) -> Vec<[u8; 32]> {
    let cipher = Cipher::for_layout(KeyLayout::Plus16, &Serial::from_usb(SERIAL).unwrap());
    (start..start + n)
        .map(|i| {
            let r = Report {
                mode: Mode::EPOC_PLUS_256,
                kind: ReportKind::Eeg,
                counter: (i % 256) as u8,
                eeg: [33000 + (i % 100) as u16; 14],
                aux: 0x0200,
                motion: [0; 9],
            };
            let mut b = encode(&r).unwrap();
            cipher.encrypt(&mut b);
            b
        })
        .collect()
}

fn next_event(rx: &Receiver<HeadsetEvent>) -> EventKind {
    rx.recv_timeout(Duration::from_secs(5))
        .expect("an event within 5 s")
        .kind
}

/// Drain a reader until `want` samples arrived or `deadline` passed.
fn collect(reader: &mut Reader<Sample>, want: usize, deadline: Duration) -> (Vec<Sample>, u64) {
    let (mut out, mut missed) = (Vec::new(), 0);
    let end = Instant::now() + deadline;
    while out.len() < want && Instant::now() < end {
        match reader.try_next() {
            Next::Item(s) => out.push(s),
            Next::Missed(n) => missed += n,
            Next::Empty => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    (out, missed)
}

#[test]
fn a_disconnect_raises_an_event_and_the_thread_resumes() {
    let (feed, source) = channel_source(identity(true));
    let (tx, events) = unbounded();
    let acq = Acquisition::start(Box::new(source), AcquisitionConfig::default(), tx).unwrap();
    let mut reader = acq.ring().reader_from_oldest();
    for r in eeg_reports(0, 100) {
        feed.send(Feed::Report(r)).unwrap();
    }
    match next_event(&events) {
        EventKind::Connected { mode, layout } => {
            assert_eq!(layout, KeyLayout::Plus16);
            assert_eq!(mode.model, Model::EpocPlus);
        }
        other => panic!("expected Connected, got {other:?}"),
    }
    let (first, _) = collect(&mut reader, 100, Duration::from_secs(5));
    assert_eq!(first.len(), 100, "every report before the fault became a sample");
    assert_eq!(acq.state(), LinkState::Connected);

    // Unplug: the next read fails; reports sent meanwhile are lost.
    feed.send(Feed::Disconnect("test unplug".into())).unwrap();
    match next_event(&events) {
        EventKind::Disconnected { reason } => assert!(reason.contains("test unplug"), "{reason}"),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert_eq!(acq.state(), LinkState::Disconnected);
    for r in eeg_reports(100, 20) {
        feed.send(Feed::Report(r)).unwrap();
    }
    feed.send(Feed::Replug).unwrap();
    assert_eq!(next_event(&events), EventKind::Reconnected);
    for r in eeg_reports(120, 100) {
        feed.send(Feed::Report(r)).unwrap();
    }
    assert!(matches!(next_event(&events), EventKind::Connected { .. }));
    let (after, _) = collect(&mut reader, 100, Duration::from_secs(5));
    assert_eq!(after.len(), 100, "samples flow again after the reconnect");
    assert_eq!(after[0].report.counter, 120);
    assert!(
        after[0].index > first[99].index,
        "indices keep increasing across the outage"
    );
}

#[test]
fn silence_counts_as_a_disconnect() {
    let (feed, source) = channel_source(identity(true));
    let (tx, events) = unbounded();
    let config = AcquisitionConfig {
        silence: Duration::from_millis(300),
        ..AcquisitionConfig::default()
    };
    let _acq = Acquisition::start(Box::new(source), config, tx).unwrap();
    for r in eeg_reports(0, 80) {
        feed.send(Feed::Report(r)).unwrap();
    }
    assert!(matches!(next_event(&events), EventKind::Connected { .. }));
    let t = Instant::now();
    match next_event(&events) {
        EventKind::Disconnected { reason } => assert!(reason.contains("no report for 300 ms"), "{reason}"),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn counter_gaps_are_counted_as_lost_samples() {
    let (feed, source) = channel_source(identity(false));
    let (tx, events) = unbounded();
    let acq = Acquisition::start(Box::new(source), AcquisitionConfig::default(), tx).unwrap();
    let mut reader = acq.ring().reader_from_oldest();
    let mut reports = eeg_reports(0, 300);
    reports.drain(150..160); // 10 reports lost on the link
    reports.remove(200); // and one more
    for r in reports {
        feed.send(Feed::Report(r)).unwrap();
    }
    assert!(matches!(next_event(&events), EventKind::Connected { .. }));
    let (samples, _) = collect(&mut reader, 289, Duration::from_secs(5));
    assert_eq!(samples.len(), 289);
    assert_eq!(samples.iter().map(|s| u64::from(s.lost)).sum::<u64>(), 11);
    assert_eq!(acq.stats().samples_lost, 11);
    // Indices skip the lost samples, and times (counter-based: this source is not real time)
    // are spaced exactly by (1 + lost) sample periods.
    for w in samples.windows(2) {
        assert_eq!(w[1].index, w[0].index + 1 + u64::from(w[1].lost));
        let dt = w[1].time - w[0].time;
        assert!(
            (dt - (1.0 + f64::from(w[1].lost)) / 256.0).abs() < 1e-9,
            "dt {dt}"
        );
    }
}

#[test]
fn a_wrong_serial_is_reported_and_nothing_is_published() {
    let mut id = identity(true);
    id.serial = Serial::from_usb("UD20160103009999").unwrap();
    let (feed, source) = channel_source(id);
    let (tx, events) = unbounded();
    let acq = Acquisition::start(Box::new(source), AcquisitionConfig::default(), tx).unwrap();
    for r in eeg_reports(0, 80) {
        feed.send(Feed::Report(r)).unwrap();
    }
    match next_event(&events) {
        EventKind::DetectionFailed { reason } => assert!(reason.contains("check the serial"), "{reason}"),
        other => panic!("expected DetectionFailed, got {other:?}"),
    }
    assert_eq!(acq.ring().written(), 0, "no garbage samples");
    assert_eq!(acq.state(), LinkState::Connecting);
}

#[test]
fn stop_is_prompt_and_ends_with_an_event() {
    let (_feed, source) = channel_source(identity(true));
    let (tx, events) = unbounded();
    let mut acq = Acquisition::start(Box::new(source), AcquisitionConfig::default(), tx).unwrap();
    let t = Instant::now();
    acq.stop();
    assert!(t.elapsed() < Duration::from_millis(500));
    assert_eq!(next_event(&events), EventKind::Ended { reason: None });
    assert_eq!(acq.state(), LinkState::Ended);
}

/// Power of `x` at `freq` Hz (one DFT bin, Hann-windowed).
fn power_at(x: &[f64], rate: f64, freq: f64) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n).cos();
        let ph = std::f64::consts::TAU * freq * i as f64 / rate;
        re += (v - mean) * w * ph.cos();
        im -= (v - mean) * w * ph.sin();
    }
    re * re + im * im
}

#[test]
fn the_virtual_headset_looks_like_eeg_with_alpha_at_the_back() {
    let (tx, events) = unbounded();
    let source = VirtualHeadset::new(1, false).unwrap(); // as fast as possible
    let config = AcquisitionConfig {
        ring_capacity: 1 << 16,
        ..AcquisitionConfig::default()
    };
    let acq = Acquisition::start(Box::new(source), config, tx).unwrap();
    let mut reader = acq.ring().reader_from_oldest();
    match next_event(&events) {
        EventKind::Connected { mode, layout } => {
            assert_eq!(
                (mode, layout),
                (Mode::EPOC_PLUS_256, KeyLayout::Plus16),
                "decrypts as a real EPOC+"
            );
        }
        other => panic!("{other:?}"),
    }
    // 16 s of EEG (and the motion in between).
    let (samples, missed) = collect(&mut reader, 4096 * 5, Duration::from_secs(20));
    assert_eq!(missed, 0);
    let eeg: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.report.kind == ReportKind::Eeg)
        .collect();
    let motion = samples.len() - eeg.len();
    assert!(eeg.len() >= 4096 * 3, "{} EEG samples", eeg.len());
    assert!(
        (eeg.len() as f64 / motion as f64 - 4.0).abs() < 0.01,
        "64 Hz motion beside 256 Hz EEG"
    );
    for s in &eeg {
        for uv in s.report.eeg_microvolts() {
            assert!((3500.0..5000.0).contains(&uv), "{uv} µV outside the EPOC+ range");
        }
    }
    let q = eeg
        .iter()
        .filter_map(|s| s.report.quality())
        .next()
        .expect("quality multiplexed");
    assert_eq!(q.level(), Some(4));
    assert!(
        eeg.iter().any(|s| s.report.battery().is_some()),
        "battery at counter 255"
    );

    let channel = |name: &str| -> Vec<f64> {
        let i = DISPLAY_ORDER.iter().position(|c| c.name() == name).unwrap();
        eeg.iter()
            .take(4096)
            .map(|s| s.report.eeg_microvolts()[i])
            .collect()
    };
    for name in ["O1", "O2"] {
        let x = channel(name);
        let spectrum: Vec<(f64, f64)> = (4..=60)
            .map(|k| k as f64 * 0.5)
            .map(|f| (f, power_at(&x, 256.0, f)))
            .collect();
        let (peak, _) = spectrum
            .iter()
            .copied()
            .fold((0.0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
        assert!(
            (9.0..=11.0).contains(&peak),
            "{name}: spectral peak at {peak} Hz, not alpha"
        );
    }
    let alpha = |name: &str| power_at(&channel(name), 256.0, 10.0);
    assert!(
        alpha("O1") > 10.0 * alpha("AF3"),
        "alpha strongest at the back of the head"
    );
    // Blinks: AF3 has big slow excursions that O1 does not.
    let range =
        |x: &[f64]| x.iter().cloned().fold(f64::MIN, f64::max) - x.iter().cloned().fold(f64::MAX, f64::min);
    assert!(range(&channel("AF3")) > 80.0, "blinks on AF3");
}

fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("EPOCD_SHARED_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures"));
    if dir.join("emokit").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "shared captures missing under CI"
    );
    None
}

#[test]
fn paced_replay_runs_at_the_headset_rate() {
    let Some(shared) = shared() else { return };
    let path = shared.join("emokit/emotiv_encrypted_data_UD20160103001874_2017-04-05.17-21-32.384061.csv");
    let src = ReplaySource::open(
        &path,
        SERIAL,
        ReplayOptions {
            real_time: true,
            looping: true,
        },
    )
    .unwrap();
    let (tx, events) = unbounded();
    let acq = Acquisition::start(Box::new(src), AcquisitionConfig::default(), tx).unwrap();
    let mut reader = acq.ring().reader();
    assert!(matches!(next_event(&events), EventKind::Connected { .. }));
    let t = Instant::now();
    let (samples, _) = collect(&mut reader, 384, Duration::from_secs(5));
    let secs = t.elapsed().as_secs_f64();
    let eeg = samples
        .iter()
        .filter(|s| s.report.kind == ReportKind::Eeg)
        .count();
    assert_eq!(eeg, 256);
    assert!(
        (0.8..1.3).contains(&secs),
        "256 EEG samples took {secs} s at 256 Hz"
    );
}
