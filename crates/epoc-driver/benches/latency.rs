//! Latency from a report entering the source to a ring reader seeing the decoded sample,
//! through the real acquisition thread (issue target: p99 ≤ 50 µs over 100k reports).
//! Reports are fed at ~5 kHz (one per 200 µs) so each one is measured alone, not queued.
//! Run: `cargo bench -p epoc-driver --bench latency`.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;
use epoc_driver::channel_source::{Feed, channel_source};
use epoc_driver::{Acquisition, AcquisitionConfig, Connection, Identity};
use epoc_protocol::{Cipher, EegRate, KeyLayout, Mode, Report, ReportKind, Serial, encode};
use sample_ring::Next;

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: usize = if quick { 2_000 } else { 101_000 };
    let warmup = 1_000.min(n / 2);
    let serial = Serial::from_usb("UD20160103001874").expect("serial");
    let cipher = Cipher::for_layout(KeyLayout::Plus16, &serial);
    let reports: Vec<[u8; 32]> = (0..n)
        .map(|i| {
            let r = Report {
                mode: Mode::EPOC_PLUS_256,
                kind: ReportKind::Eeg,
                counter: (i % 256) as u8,
                eeg: [33000; 14],
                aux: 0x200,
                motion: [0; 9],
            };
            let mut b = encode(&r).expect("encode");
            cipher.encrypt(&mut b);
            b
        })
        .collect();
    let identity = Identity {
        serial,
        model_hint: None,
        rate_hint: Some(EegRate::Hz256),
        connection: Connection::Virtual,
        location: "bench".into(),
        real_time: true,
    };
    let (feed, source) = channel_source(identity);
    let (tx, _events) = unbounded();
    let config = AcquisitionConfig {
        silence: Duration::from_secs(10),
        ..AcquisitionConfig::default()
    };
    let acq = Acquisition::start(Box::new(source), config, tx).expect("start");
    let mut reader = acq.ring().reader();
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let t0 = Instant::now();

    let feeder = {
        let sent = Arc::clone(&sent);
        std::thread::spawn(move || {
            for (i, r) in reports.into_iter().enumerate() {
                sent[i].store(t0.elapsed().as_nanos() as u64, Ordering::Release);
                if feed.send(Feed::Report(r)).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };

    let mut latencies = Vec::with_capacity(n);
    let deadline = Instant::now() + Duration::from_secs(120);
    while latencies.len() < n - warmup && Instant::now() < deadline {
        match reader.try_next() {
            Next::Item(s) => {
                let seen = t0.elapsed().as_nanos() as u64;
                let i = s.index as usize;
                if i >= warmup && i < n {
                    latencies.push(seen.saturating_sub(sent[i].load(Ordering::Acquire)));
                }
            }
            Next::Missed(m) => eprintln!("reader missed {m}"),
            Next::Empty => std::hint::spin_loop(),
        }
    }
    let _ = feeder.join();
    latencies.sort_unstable();
    let pct =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)] as f64 / 1000.0;
    println!(
        "source → ring reader latency over {} reports: p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
        latencies.len(),
        pct(0.50),
        pct(0.99),
        pct(0.999),
        pct(1.0)
    );
}
