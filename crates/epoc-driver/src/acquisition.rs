//! One dedicated OS thread per headset: read → decrypt → decode → timestamp → ring.
//!
//! The per-report loop allocates nothing, takes no lock and does no file or socket I/O; it
//! only touches the source, the decoder, the clock, the ring and a few relaxed counters.
//! Link changes become [`HeadsetEvent`]s on a crossbeam channel. The loop either blocks in
//! `read` and publishes each report as it comes, or, when no consumer needs that (see
//! [`Cadence`]), sleeps on a grid and takes the waiting reports in one burst.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Sender;
use epoc_protocol::{Decoder, KeyLayout, Mode, Model, REPORT_LEN, ReportKind, detect};
use sample_ring::{RingHandle, Writer, ring};

use crate::DriverError;
use crate::cadence::Cadence;
use crate::clock::StreamClock;
use crate::event::{EventKind, HeadsetEvent, headset_id};
use crate::source::{Identity, Source};
use crate::wakeup::Wakeup;
use epoc_sample::Sample;

/// Reports collected before trial decryption (one-sixth of a second of EPOC+ traffic).
pub const DETECT_WINDOW: usize = 64;
/// Consecutive undecodable reports after which the headset is assumed to have changed mode.
const REDETECT_AFTER: u32 = 128;

/// Tunables of an acquisition thread.
#[derive(Debug, Clone)]
pub struct AcquisitionConfig {
    /// Samples kept per headset (rounded up to a power of two).
    pub ring_capacity: usize,
    /// No report for this long counts as a disconnect.
    pub silence: Duration,
    /// Longest a single read may block (bounds how fast `stop` is noticed).
    pub read_timeout: Duration,
    /// Key layouts to try; empty = all layouts of the model hint, or all.
    pub candidates: Vec<KeyLayout>,
    /// Woken after every published sample, or burst of samples.
    pub wakeup: Wakeup,
    /// How soon consumers need the samples: report by report, or in bursts.
    pub cadence: Cadence,
}

impl Default for AcquisitionConfig {
    fn default() -> Self {
        AcquisitionConfig {
            ring_capacity: 16_384,
            silence: Duration::from_secs(1),
            read_timeout: Duration::from_millis(50),
            candidates: Vec::new(),
            wakeup: Wakeup::new(),
            cadence: Cadence::new(),
        }
    }
}

/// Where a headset's link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Waiting for reports, or detecting the key layout.
    Connecting,
    /// Samples are flowing.
    Connected,
    /// The link dropped; reconnecting.
    Disconnected,
    /// The thread has ended.
    Ended,
}

/// Counters the thread keeps (relaxed atomics; read them any time).
#[derive(Debug, Default)]
struct Shared {
    state: AtomicU8,
    mode: AtomicU8,
    /// Motion samples per second from the detection window (0 until detection).
    motion_rate: AtomicU16,
    reports: AtomicU64,
    samples_lost: AtomicU64,
    rejected: AtomicU64,
}

/// A snapshot of an acquisition's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquisitionStats {
    /// Reports read from the source.
    pub reports: u64,
    /// Samples lost to counter gaps.
    pub samples_lost: u64,
    /// Reports that did not decode (corrupted, or before a re-detection).
    pub rejected: u64,
}

/// A running acquisition thread. Dropping it stops the thread and waits for it.
pub struct Acquisition {
    identity: Identity,
    ring: RingHandle<Sample>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Acquisition {
    /// Start the thread for `source`; events go to `events`.
    pub fn start(
        source: Box<dyn Source>,
        config: AcquisitionConfig,
        events: Sender<HeadsetEvent>,
    ) -> Result<Self, DriverError> {
        let identity = source.identity().clone();
        let writer = ring::<Sample>(config.ring_capacity);
        let ring = writer.handle();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            source,
            config,
            writer,
            shared: Arc::clone(&shared),
            stop: Arc::clone(&stop),
            events,
            eeg_index: 0,
            motion_index: 0,
            last_eeg_time: 0.0,
        };
        let name = format!("acq-{}", identity.serial);
        let cadence = worker.config.cadence.clone();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || worker.run())?;
        cadence.set_thread(thread.thread().clone());
        Ok(Acquisition {
            identity,
            ring,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The samples; make a reader per consumer.
    pub fn ring(&self) -> RingHandle<Sample> {
        self.ring.clone()
    }

    /// Who the source is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The current link state.
    pub fn state(&self) -> LinkState {
        match self.shared.state.load(Ordering::Acquire) {
            1 => LinkState::Connected,
            2 => LinkState::Disconnected,
            3 => LinkState::Ended,
            _ => LinkState::Connecting,
        }
    }

    /// The detected mode, once known.
    pub fn mode(&self) -> Option<Mode> {
        decode_mode(self.shared.mode.load(Ordering::Acquire))
    }

    /// Motion samples per second (0, 32, 64 or 128), from the reports detection looked at;
    /// `None` before detection.
    pub fn motion_rate(&self) -> Option<u16> {
        self.mode()?;
        Some(self.shared.motion_rate.load(Ordering::Acquire))
    }

    /// The Cortex headset id (model from detection, else the transport's hint, else EPOC+).
    pub fn headset_id(&self) -> String {
        let model = self
            .mode()
            .map(|m| m.model)
            .or(self.identity.model_hint)
            .unwrap_or(Model::EpocPlus);
        headset_id(model, &self.identity.serial)
    }

    /// Counters so far.
    pub fn stats(&self) -> AcquisitionStats {
        AcquisitionStats {
            reports: self.shared.reports.load(Ordering::Relaxed),
            samples_lost: self.shared.samples_lost.load(Ordering::Relaxed),
            rejected: self.shared.rejected.load(Ordering::Relaxed),
        }
    }

    /// Ask the thread to stop and wait for it (within one read timeout).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Acquisition {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The published mode: 0 until detection, else the packed mode with bit 7 set.
fn encode_mode(m: Mode) -> u8 {
    0x80 | epoc_sample::pack_mode(m)
}

fn decode_mode(b: u8) -> Option<Mode> {
    (b & 0x80 != 0).then(|| epoc_sample::unpack_mode(b))
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Why the streaming phase returned.
enum Exit {
    Stop,
    Ended(Option<String>),
    Redetect,
}

struct Worker {
    source: Box<dyn Source>,
    config: AcquisitionConfig,
    writer: Writer<Sample>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    events: Sender<HeadsetEvent>,
    eeg_index: u64,
    motion_index: u64,
    last_eeg_time: f64,
}

impl Worker {
    fn emit(&self, kind: EventKind) {
        let model = decode_mode(self.shared.mode.load(Ordering::Acquire))
            .map(|m| m.model)
            .or(self.source.identity().model_hint)
            .unwrap_or(Model::EpocPlus);
        let identity = self.source.identity();
        // A closed receiver only means nobody listens any more; acquisition goes on.
        let _ = self.events.send(HeadsetEvent {
            headset_id: headset_id(model, &identity.serial),
            serial: identity.serial.as_str().to_owned(),
            kind,
        });
    }

    fn set_state(&self, s: LinkState) {
        let v = match s {
            LinkState::Connecting => 0,
            LinkState::Connected => 1,
            LinkState::Disconnected => 2,
            LinkState::Ended => 3,
        };
        self.shared.state.store(v, Ordering::Release);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn candidates(&self) -> Vec<KeyLayout> {
        if !self.config.candidates.is_empty() {
            return self.config.candidates.clone();
        }
        match self.source.identity().model_hint {
            Some(Model::Epoc) => KeyLayout::EPOC.to_vec(),
            Some(Model::EpocPlus) => KeyLayout::EPOC_PLUS.to_vec(),
            Some(Model::EpocX) => KeyLayout::EPOC_X.to_vec(),
            None => KeyLayout::ALL.to_vec(),
        }
    }

    fn run(mut self) {
        let exit = self.run_inner();
        self.set_state(LinkState::Ended);
        let reason = match exit {
            Exit::Ended(reason) => reason,
            _ => None,
        };
        self.emit(EventKind::Ended { reason });
    }

    fn run_inner(&mut self) -> Exit {
        let candidates = self.candidates();
        let mut window = [[0u8; REPORT_LEN]; DETECT_WINDOW];
        let mut arrivals = [0f64; DETECT_WINDOW];
        let mut told_failure = false;
        loop {
            self.set_state(LinkState::Connecting);
            let n = match self.fill(&mut window, &mut arrivals) {
                Ok(n) => n,
                Err(exit) => return exit,
            };
            let serial = self.source.identity().serial.clone();
            let mut detection = match detect(&serial, &window[..n], &candidates) {
                Ok(d) => d,
                Err(e) => {
                    self.shared.rejected.fetch_add(n as u64, Ordering::Relaxed);
                    if !told_failure {
                        told_failure = true;
                        self.emit(EventKind::DetectionFailed {
                            reason: e.to_string(),
                        });
                    }
                    continue;
                }
            };
            told_failure = false;
            detection.mode.eeg_rate = crate::rates::settle_eeg_rate(
                self.source.identity(),
                &detection,
                &window[..n],
                &arrivals[..n],
            );
            self.shared.motion_rate.store(
                crate::rates::motion_rate(self.source.identity(), &detection, &window[..n]),
                Ordering::Release,
            );
            self.shared
                .mode
                .store(encode_mode(detection.mode), Ordering::Release);
            self.set_state(LinkState::Connected);
            self.emit(EventKind::Connected {
                mode: detection.mode,
                layout: detection.layout,
            });
            let mut decoder = Decoder::from_detection(&serial, &detection);
            let real_time = self.source.identity().real_time;
            let mut clock = StreamClock::new(f64::from(detection.mode.eeg_rate.hz()), real_time);
            for (report, arrival) in window[..n].iter().zip(arrivals) {
                self.process(&mut decoder, &mut clock, report, Some(arrival));
            }
            self.config.wakeup.wake();
            match self.stream(&mut decoder, &mut clock) {
                Exit::Redetect => continue,
                other => return other,
            }
        }
    }

    /// Collect a detection window, riding out disconnects.
    fn fill(
        &mut self,
        window: &mut [[u8; REPORT_LEN]; DETECT_WINDOW],
        arrivals: &mut [f64; DETECT_WINDOW],
    ) -> Result<usize, Exit> {
        let mut n = 0;
        let mut last = Instant::now();
        while n < DETECT_WINDOW {
            if self.stopping() {
                return Err(Exit::Stop);
            }
            match self.source.read(self.config.read_timeout) {
                Ok(Some(r)) => {
                    window[n] = r;
                    arrivals[n] = unix_now();
                    n += 1;
                    last = Instant::now();
                }
                Ok(None) if last.elapsed() < self.config.silence => {}
                Ok(None) => {
                    self.outage(format!("no report for {} ms", self.config.silence.as_millis()))?;
                    n = 0;
                    last = Instant::now();
                }
                Err(DriverError::Ended) if n >= epoc_protocol::MIN_REPORTS => return Ok(n),
                Err(DriverError::Ended) => return Err(Exit::Ended(Some("end of capture".into()))),
                Err(e) => {
                    self.outage(e.to_string())?;
                    n = 0;
                    last = Instant::now();
                }
            }
        }
        Ok(n)
    }

    /// The streaming loop: report by report, or in bursts, as the cadence says.
    fn stream(&mut self, decoder: &mut Decoder, clock: &mut StreamClock) -> Exit {
        let real_time = self.source.identity().real_time;
        let mut last = Instant::now();
        loop {
            if self.stopping() {
                return Exit::Stop;
            }
            // A source that is not paced (replay as fast as possible) always has a report
            // waiting: a burst would never end.
            let (got, outcome) = match self.config.cadence.interval().filter(|_| real_time) {
                None => self.read_one(decoder, clock),
                Some(interval) => self.read_burst(decoder, clock, interval),
            };
            if got {
                last = Instant::now();
            }
            match outcome {
                Ok(true) => {}
                Ok(false) => return Exit::Redetect,
                Err(DriverError::Ended) => return Exit::Ended(Some("end of capture".into())),
                Err(e) => return self.outage(e.to_string()).map_or_else(|e| e, |()| Exit::Redetect),
            }
            if !got && last.elapsed() >= self.config.silence {
                let reason = format!("no report for {} ms", self.config.silence.as_millis());
                return self.outage(reason).map_or_else(|e| e, |()| Exit::Redetect);
            }
        }
    }

    /// Block for one report and publish it at once. Returns whether a report came, and
    /// `Ok(false)` when detection must run again.
    fn read_one(
        &mut self,
        decoder: &mut Decoder,
        clock: &mut StreamClock,
    ) -> (bool, Result<bool, DriverError>) {
        match self.source.read(self.config.read_timeout) {
            Ok(Some(report)) => {
                let ok = self.process(decoder, clock, &report, Some(unix_now()));
                self.config.wakeup.wake();
                (true, Ok(ok))
            }
            Ok(None) => (false, Ok(true)),
            Err(e) => (false, Err(e)),
        }
    }

    /// Sleep until the next point of the burst grid (or until a consumer asks for samples
    /// sooner), then publish every report waiting and wake the consumer once.
    fn read_burst(
        &mut self,
        decoder: &mut Decoder,
        clock: &mut StreamClock,
        interval: Duration,
    ) -> (bool, Result<bool, DriverError>) {
        let now = Instant::now();
        let due = Cadence::next_burst(now, interval);
        std::thread::park_timeout(due.saturating_duration_since(now));
        let mut got = false;
        let mut newest_eeg = None;
        let outcome = loop {
            if self.stopping() {
                break Ok(true);
            }
            match self.source.read(Duration::ZERO) {
                Ok(Some(report)) => {
                    got = true;
                    let before = self.eeg_index;
                    if !self.process(decoder, clock, &report, None) {
                        break Ok(false);
                    }
                    if self.eeg_index != before {
                        newest_eeg = Some(self.eeg_index - 1);
                    }
                }
                Ok(None) => break Ok(true),
                Err(e) => break Err(e),
            }
        };
        if let Some(index) = newest_eeg {
            // The newest report arrived within the last sample period: half of one ago, on
            // average.
            clock.observe(index, unix_now() - clock.period() / 2.0);
        }
        if got {
            self.config.wakeup.wake();
        }
        (got, outcome)
    }

    /// Decode one report into the ring. `arrival` is its host arrival time when known (read
    /// report by report), `None` in a burst (stamped from the counter; the burst corrects the
    /// clock once). Returns false when the headset seems to have changed mode (a long run of
    /// undecodable reports) and detection must run again.
    fn process(
        &mut self,
        decoder: &mut Decoder,
        clock: &mut StreamClock,
        report: &[u8; REPORT_LEN],
        arrival: Option<f64>,
    ) -> bool {
        self.shared.reports.fetch_add(1, Ordering::Relaxed);
        let before = decoder.mode().eeg_rate;
        let decoded = match decoder.decode(report) {
            Ok(d) => d,
            Err(_) => {
                self.shared.rejected.fetch_add(1, Ordering::Relaxed);
                return decoder.rejected_streak() < REDETECT_AFTER;
            }
        };
        if decoded.lost > 0 {
            self.shared
                .samples_lost
                .fetch_add(u64::from(decoded.lost), Ordering::Relaxed);
        }
        let (index, time) = if decoded.report.kind == ReportKind::Motion {
            // Motion has no rate of its own in the stream; it is stamped with the time of the
            // EEG sample it follows (at most one EEG period off).
            self.motion_index += 1 + u64::from(decoded.lost);
            (self.motion_index - 1, self.last_eeg_time)
        } else {
            let mode = decoder.mode();
            if mode.eeg_rate != before {
                clock.set_rate(f64::from(mode.eeg_rate.hz()), self.eeg_index);
                self.shared.mode.store(encode_mode(mode), Ordering::Release);
            }
            self.eeg_index += 1 + u64::from(decoded.lost);
            let index = self.eeg_index - 1;
            let time = match arrival {
                Some(at) => clock.stamp(index, at),
                None => clock.predict(index, unix_now()),
            };
            self.last_eeg_time = time;
            (index, time)
        };
        self.writer.push(Sample {
            report: decoded.report,
            time,
            index,
            lost: decoded.lost,
        });
        true
    }

    /// Announce a disconnect and try to get the device back until it returns, ends, or we
    /// are told to stop. `Ok` means it is back (detection runs again: its mode may differ).
    fn outage(&mut self, reason: String) -> Result<(), Exit> {
        tracing::warn!("link lost: {reason}; reconnecting");
        self.set_state(LinkState::Disconnected);
        self.emit(EventKind::Disconnected { reason });
        let mut backoff = Duration::from_millis(100);
        loop {
            if self.stopping() {
                return Err(Exit::Stop);
            }
            match self.source.reconnect() {
                Ok(()) => {
                    tracing::info!("link back after an outage");
                    self.emit(EventKind::Reconnected);
                    return Ok(());
                }
                Err(DriverError::Ended) => return Err(Exit::Ended(Some("device gone".into()))),
                Err(e) => {
                    tracing::debug!("reconnect failed ({e}); retrying in {} ms", backoff.as_millis());
                    // Sleep in short steps so a stop request is still noticed quickly.
                    let until = Instant::now() + backoff;
                    while Instant::now() < until && !self.stopping() {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}
