//! A client that stops reading is warned and dropped; the others keep every frame. Derived
//! streams keep their rates, batched delivery loses nothing, subscribers set the
//! acquisition's cadence, and headsets share one fan-out thread yet stop on their own.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cortex_api::Stream;
use cortex_stream::{Fanout, FanoutPool};
use cortex_stream::{Outbox, Pace};
use epoc_driver::{Sample, Wakeup};
use epoc_protocol::{Mode, Report, ReportKind};
use serde_json::Value;

#[derive(Default)]
struct Recorder {
    limit: Option<usize>,
    frames: Mutex<Vec<String>>,
    closed: Mutex<Option<String>>,
    /// Frames queued quietly and not flushed yet, and flushes that handed some over.
    unflushed: Mutex<usize>,
    flushes: Mutex<usize>,
    /// The names of the threads that queued frames.
    threads: Mutex<Vec<String>>,
}

impl Outbox for Recorder {
    fn push_parts(&self, parts: &[&str]) -> bool {
        let frame = parts.concat();
        let mut f = self.frames.lock().unwrap();
        if self.limit.is_some_and(|l| f.len() >= l) {
            return false;
        }
        f.push(frame);
        let name = std::thread::current().name().unwrap_or("").to_owned();
        let mut threads = self.threads.lock().unwrap();
        if !threads.contains(&name) {
            threads.push(name);
        }
        true
    }
    fn push_parts_quietly(&self, parts: &[&str]) -> bool {
        let queued = self.push_parts(parts);
        *self.unflushed.lock().unwrap() += usize::from(queued);
        queued
    }
    fn flush(&self) {
        let mut unflushed = self.unflushed.lock().unwrap();
        if *unflushed > 0 {
            *unflushed = 0;
            *self.flushes.lock().unwrap() += 1;
        }
    }
    fn push_warning(&self, frame: String) {
        self.frames.lock().unwrap().push(frame);
    }
    fn close(&self, last: String) {
        *self.closed.lock().unwrap() = Some(last);
    }
}

fn sample(i: u64) -> Sample {
    Sample {
        report: Report {
            mode: Mode::EPOC_PLUS_256,
            kind: ReportKind::Eeg,
            counter: (i % 256) as u8,
            eeg: [33000; 14],
            aux: 0x200,
            motion: [0; 9],
        },
        time: 1_700_000_000.0 + i as f64 / 256.0,
        index: i,
        lost: 0,
    }
}

/// Whether the eeg frames' counters follow each other (mod 256).
fn consecutive(frames: &[String]) -> bool {
    let counters: Vec<i64> = frames
        .iter()
        .map(|f| {
            serde_json::from_str::<Value>(f).unwrap()["eeg"][0]
                .as_i64()
                .unwrap()
        })
        .collect();
    counters.windows(2).all(|w| (w[0] + 1) % 256 == w[1])
}

#[test]
fn a_full_client_is_dropped_with_a_warning_and_others_get_everything() {
    let mut writer = sample_ring::ring::<Sample>(1024);
    let wakeup = Wakeup::new();
    let fanout = Fanout::start(
        writer.handle(),
        &wakeup,
        &epoc_driver::Cadence::new(),
        "test",
        Arc::new(Pace::new()),
    )
    .unwrap();
    let fast = Arc::new(Recorder::default());
    let slow = Arc::new(Recorder {
        limit: Some(10),
        ..Recorder::default()
    });
    fanout.subscribe("fast-session", Stream::Eeg.bit(), fast.clone());
    fanout.subscribe(
        "slow-session",
        Stream::Eeg.bit() | Stream::Dev.bit(),
        slow.clone(),
    );
    std::thread::sleep(Duration::from_millis(50)); // let the subscriptions land
    for i in 0..300 {
        writer.push(sample(i));
        wakeup.wake();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while fast.frames.lock().unwrap().len() < 300 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let frames = fast.frames.lock().unwrap().clone();
    assert_eq!(frames.len(), 300, "the reading client got every sample");
    let first: Value = serde_json::from_str(&frames[0]).unwrap();
    assert_eq!(first["sid"], "fast-session");
    assert!(first.get("id").is_none());
    assert_eq!(first["eeg"].as_array().unwrap().len(), 19);
    assert_eq!(first["eeg"][0], 0);
    assert!(consecutive(&frames), "in order, none missing");

    assert_eq!(
        slow.frames.lock().unwrap().len(),
        10,
        "nothing more is queued for a full client"
    );
    let last: Value = serde_json::from_str(slow.closed.lock().unwrap().as_deref().expect("closed")).unwrap();
    assert_eq!(last["warning"]["code"], 0);
    assert_eq!(last["warning"]["message"]["sessionId"], "slow-session");
    assert!(
        last["warning"]["message"]["behavior"]
            .as_str()
            .unwrap()
            .contains("did not read")
    );
    assert_eq!(
        fanout
            .live()
            .dropped_clients
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn dev_eq_and_pow_come_at_their_rates() {
    let mut writer = sample_ring::ring::<Sample>(4096);
    let wakeup = Wakeup::new();
    let fanout = Fanout::start(
        writer.handle(),
        &wakeup,
        &epoc_driver::Cadence::new(),
        "rates",
        Arc::new(Pace::new()),
    )
    .unwrap();
    let rec = Arc::new(Recorder::default());
    fanout.subscribe(
        "s",
        Stream::Dev.bit() | Stream::Eq.bit() | Stream::Pow.bit(),
        rec.clone(),
    );
    std::thread::sleep(Duration::from_millis(50));
    for i in 0..(256 * 4) {
        writer.push(sample(i));
        wakeup.wake();
        if i % 64 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let frames = rec.frames.lock().unwrap();
    let count = |k: &str| {
        frames
            .iter()
            .filter(|f| f.starts_with(&format!("{{\"{k}\"")))
            .count()
    };
    assert_eq!(count("dev"), 8, "2 Hz over 4 s");
    assert_eq!(count("eq"), 8);
    assert_eq!(
        count("pow"),
        17,
        "8 Hz once the 2 s window is full (from 2 s to 4 s)"
    );
    let dev: Value =
        serde_json::from_str(frames.iter().find(|f| f.starts_with("{\"dev\"")).unwrap()).unwrap();
    assert_eq!(
        dev["dev"][2].as_array().unwrap().len(),
        15,
        "14 CQ values and OVERALL"
    );
}

fn wait_for(rec: &Recorder, n: usize, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while rec.frames.lock().unwrap().len() < n {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    true
}

#[test]
fn batched_delivery_loses_nothing_and_frame_by_frame_resumes_at_once() {
    let mut writer = sample_ring::ring::<Sample>(4096);
    let wakeup = Wakeup::new();
    let pace = Arc::new(Pace::new());
    pace.set_batching(true);
    let fanout = Fanout::start(
        writer.handle(),
        &wakeup,
        &epoc_driver::Cadence::new(),
        "paced",
        Arc::clone(&pace),
    )
    .unwrap();
    let rec = Arc::new(Recorder::default());
    fanout.subscribe("s", Stream::Eeg.bit(), rec.clone());
    std::thread::sleep(Duration::from_millis(50));
    for i in 0..200 {
        writer.push(sample(i));
        wakeup.wake();
        if i % 20 == 0 {
            std::thread::sleep(Duration::from_millis(3));
        }
    }
    assert!(
        wait_for(&rec, 200, Duration::from_secs(5)),
        "every sample published while batching arrives"
    );

    pace.set_batching(false);
    std::thread::sleep(Duration::from_millis(100)); // the fan-out notices at its next drain
    let mut delays = Vec::new();
    for i in 200..205 {
        std::thread::sleep(Duration::from_millis(7));
        let pushed = Instant::now();
        writer.push(sample(i));
        wakeup.wake();
        assert!(wait_for(&rec, i as usize + 1, Duration::from_secs(5)));
        delays.push(pushed.elapsed());
    }
    delays.sort();
    assert!(
        delays[2] < Duration::from_millis(20),
        "frame by frame again: the publisher wakes the fan-out (median {:?})",
        delays[2]
    );
    let frames = rec.frames.lock().unwrap();
    assert_eq!(frames.len(), 205);
    assert!(consecutive(&frames), "in order, none missing or repeated");
}

/// Poll `f` until it holds or `within` passes.
fn eventually(within: Duration, f: impl Fn() -> bool) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    f()
}

#[test]
fn subscribers_set_the_acquisition_cadence_and_a_burst_wakes_the_writer_once() {
    use epoc_driver::Cadence;
    let mut writer = sample_ring::ring::<Sample>(4096);
    let wakeup = Wakeup::new();
    let pace = Arc::new(Pace::with_stream_interval(Duration::from_millis(4)));
    let idle = Duration::from_millis(100);
    let cadence = Cadence::idling(idle);
    let fanout = Fanout::start(writer.handle(), &wakeup, &cadence, "cadence", Arc::clone(&pace)).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        cadence.interval(),
        Some(idle),
        "nobody subscribed: the headset idles"
    );

    let rec = Arc::new(Recorder::default());
    fanout.subscribe("s", Stream::Eeg.bit(), rec.clone());
    assert!(
        eventually(Duration::from_secs(1), || cadence.interval()
            == Some(Duration::from_millis(4))),
        "a subscriber asks for samples within the stream interval: {:?}",
        cadence.interval()
    );

    // A burst of ten samples, published with one wake-up: ten frames, one flush.
    for i in 0..10 {
        writer.push(sample(i));
    }
    wakeup.wake();
    assert!(wait_for(&rec, 10, Duration::from_secs(5)));
    assert!(eventually(Duration::from_secs(1), || *rec
        .unflushed
        .lock()
        .unwrap()
        == 0));
    assert_eq!(
        *rec.flushes.lock().unwrap(),
        1,
        "the writer is woken once for the burst"
    );

    // Batched delivery drains on the writers' tick: the reports must be in the ring by then.
    pace.set_batching(true);
    assert!(
        eventually(Duration::from_secs(1), || cadence.interval().is_none()),
        "while batching, report by report: {:?}",
        cadence.interval()
    );
    pace.set_batching(false);
    fanout.unsubscribe("s", Stream::Eeg.bit());
    assert!(
        eventually(Duration::from_secs(2), || cadence.interval() == Some(idle)),
        "the last subscriber gone, the headset idles again: {:?}",
        cadence.interval()
    );
}

#[test]
fn headsets_share_one_pool_thread_and_one_stops_without_the_other() {
    let pool = FanoutPool::start("pool-test").unwrap();
    let pace = Arc::new(Pace::new());
    let cadence = epoc_driver::Cadence::new();
    let mut rings = [
        sample_ring::ring::<Sample>(1024),
        sample_ring::ring::<Sample>(1024),
    ];
    let wakeups = [Wakeup::new(), Wakeup::new()];
    let recorders = [Arc::new(Recorder::default()), Arc::new(Recorder::default())];
    let mut fanouts: Vec<Option<Fanout>> = (0..2)
        .map(|i| {
            let f = Fanout::start_in(
                &pool,
                rings[i].handle(),
                &wakeups[i],
                &cadence,
                &format!("headset-{i}"),
                Arc::clone(&pace),
            );
            f.subscribe(&format!("session-{i}"), Stream::Eeg.bit(), recorders[i].clone());
            Some(f)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50)); // let the subscriptions land
    for i in 0..100 {
        for h in 0..2 {
            rings[h].push(sample(i));
            wakeups[h].wake();
        }
    }
    for rec in &recorders {
        assert!(
            wait_for(rec, 100, Duration::from_secs(5)),
            "each headset's client got its 100 frames"
        );
        assert!(consecutive(&rec.frames.lock().unwrap()));
        assert_eq!(
            *rec.threads.lock().unwrap(),
            vec!["pool-test".to_owned()],
            "made on the pool's thread"
        );
    }

    // Headset 0 goes: its fan-out stops (the drop returns once its worker is gone), and
    // headset 1 goes on being served by the same thread.
    fanouts[0] = None;
    for i in 100..200 {
        rings[0].push(sample(i));
        rings[1].push(sample(i));
        wakeups[0].wake();
        wakeups[1].wake();
    }
    assert!(
        wait_for(&recorders[1], 200, Duration::from_secs(5)),
        "headset 1 is still served"
    );
    assert!(consecutive(&recorders[1].frames.lock().unwrap()));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        recorders[0].frames.lock().unwrap().len(),
        100,
        "nothing after its fan-out stopped"
    );
    drop(fanouts);
}
