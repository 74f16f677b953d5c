//! Reading in bursts: a real-time virtual headset through the real acquisition thread, its
//! cadence switched between bursts and report by report by demands, as the daemon does.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::unbounded;
use epoc_driver::virtual_headset::VirtualHeadset;
use epoc_driver::*;
use epoc_protocol::ReportKind;
use sample_ring::{Next, Reader};

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// What a reader polling every millisecond for `span` saw.
struct Seen {
    /// New items per poll that found any.
    groups: Vec<usize>,
    /// Seconds from each EEG sample's timestamp to the poll that saw it.
    delays: Vec<f64>,
    /// EEG indices, in order.
    indices: Vec<u64>,
}

fn watch(reader: &mut Reader<Sample>, span: Duration) -> Seen {
    let mut seen = Seen {
        groups: Vec::new(),
        delays: Vec::new(),
        indices: Vec::new(),
    };
    let end = Instant::now() + span;
    while Instant::now() < end {
        let mut group = 0;
        loop {
            match reader.try_next() {
                Next::Item(s) => {
                    group += 1;
                    if s.report.kind == ReportKind::Eeg {
                        seen.delays.push(unix_now() - s.time);
                        seen.indices.push(s.index);
                    }
                }
                Next::Missed(n) => panic!("the reader missed {n} samples"),
                Next::Empty => break,
            }
        }
        if group > 0 {
            seen.groups.push(group);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    seen
}

fn median(v: &[usize]) -> usize {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn contiguous(indices: &[u64]) -> bool {
    indices.windows(2).all(|w| w[1] == w[0] + 1)
}

#[test]
fn bursts_follow_the_demand_and_keep_every_sample_and_honest_timestamps() {
    let cadence = Cadence::idling(cadence::IDLE_INTERVAL);
    let config = AcquisitionConfig {
        cadence: cadence.clone(),
        ..AcquisitionConfig::default()
    };
    let (tx, _rx) = unbounded();
    let source = VirtualHeadset::new(1, true).expect("virtual headset");
    let acq = Acquisition::start(Box::new(source), config, tx).expect("start");
    let mut reader = acq.ring().reader();
    let mut indices = Vec::new();

    // A consumer that wants every report at once: it gets them one or two at a time. The
    // clock settles first (the reports due before the thread first read came all at once).
    let every = cadence.demand(Duration::ZERO);
    indices.extend(watch(&mut reader, Duration::from_millis(2500)).indices);
    let single = watch(&mut reader, Duration::from_millis(1000));
    assert!(
        median(&single.groups) <= 2,
        "report by report: {:?}",
        single.groups
    );
    indices.extend(single.indices);

    // A consumer that may be 20 ms late instead: ~50 bursts a second of ~6 reports.
    let twenty = cadence.demand(Duration::from_millis(20));
    drop(every);
    // Long enough for a clock that took the read times for arrivals to have followed them
    // (its time constant is 2 s).
    indices.extend(watch(&mut reader, Duration::from_millis(4000)).indices);
    let bursts = watch(&mut reader, Duration::from_millis(1500));
    assert!(
        (55..=95).contains(&bursts.groups.len()),
        "20 ms: {} bursts in 1.5 s",
        bursts.groups.len()
    );
    assert!(median(&bursts.groups) >= 4, "20 ms bursts of {:?}", bursts.groups);
    // A sample now waits in the source until its burst: 0 to 20 ms, 10 on average, if its
    // timestamp is still its arrival. Stamped when read instead, it would wait ~0 longer.
    // (Compared with the wait report by report, not with zero: the host's wall clock, which
    // stamps follow, may run at another rate than the monotonic clock that paces the virtual
    // headset, and the stamps then lag by the drift times the clock's time constant.)
    let extra = mean(&bursts.delays) - mean(&single.delays);
    assert!(
        (0.005..0.015).contains(&extra),
        "bursts wait {:.1} ms longer on average: timestamps are not the arrivals",
        extra * 1e3
    );
    indices.extend(bursts.indices);

    // Nobody demands anything: ten bursts a second of ~38 reports each.
    drop(twenty);
    indices.extend(watch(&mut reader, Duration::from_millis(300)).indices);
    let idle = watch(&mut reader, Duration::from_millis(1000));
    assert!(
        (7..=13).contains(&idle.groups.len()),
        "idle: {} bursts in 1 s",
        idle.groups.len()
    );
    assert!(median(&idle.groups) >= 25, "idle bursts of {:?}", idle.groups);
    indices.extend(idle.indices);

    // Through every switch no sample was lost or reordered.
    assert!(indices.len() > 256 * 6, "{} EEG samples", indices.len());
    assert!(contiguous(&indices), "EEG indices have gaps");
    assert_eq!(acq.stats().samples_lost, 0);
}

#[test]
fn a_demand_for_sooner_samples_cuts_the_idle_sleep_short() {
    let cadence = Cadence::idling(cadence::IDLE_INTERVAL);
    let config = AcquisitionConfig {
        cadence: cadence.clone(),
        ..AcquisitionConfig::default()
    };
    let (tx, _rx) = unbounded();
    let source = VirtualHeadset::new(2, true).expect("virtual headset");
    let acq = Acquisition::start(Box::new(source), config, tx).expect("start");
    let mut reader = acq.ring().reader();
    std::thread::sleep(Duration::from_millis(600));
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        // Just after an idle burst: the thread sleeps ~100 ms unless the demand wakes it.
        while !matches!(reader.try_next(), Next::Item(_)) {
            std::thread::sleep(Duration::from_micros(200));
        }
        while !matches!(reader.try_next(), Next::Empty) {}
        std::thread::sleep(Duration::from_millis(5));
        let asked = Instant::now();
        let demand = cadence.demand(Duration::ZERO);
        while !matches!(reader.try_next(), Next::Item(_)) {
            std::thread::sleep(Duration::from_micros(200));
        }
        worst = worst.max(asked.elapsed());
        drop(demand);
        std::thread::sleep(Duration::from_millis(300));
        while !matches!(reader.try_next(), Next::Empty) {}
    }
    assert!(
        worst < Duration::from_millis(40),
        "samples came {} ms after the demand (the idle sleep is 100 ms)",
        worst.as_millis()
    );
}
