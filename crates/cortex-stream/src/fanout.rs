//! One thread per connected headset that turns ring samples into Cortex data frames for every
//! subscribed session, and computes the derived streams (dev, eq at 2 Hz; pow at 8 Hz). It
//! starts and stops the headset's detections thread (met, fac) as sessions subscribe.
//!
//! It sleeps until the acquisition thread publishes (unpark), so frames leave within
//! microseconds without polling. Each frame goes into the subscriber's bounded [`Outbox`];
//! a full outbox means that client stopped reading: it is warned and dropped, and nobody else
//! (the headset thread, other clients) waits for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use epoc_driver::Wakeup;
use epoc_protocol::{DeviceState, ReportKind, Resolution};
use epoc_sample::Sample;
use sample_ring::{Next, Reader, RingHandle};

use crate::frame::{frame_after_sid, frame_before_sid, frame_start, push_f64};
use crate::pace::Pace;
use cortex_api::{Stream, StreamBits, warning};

use band_power::{BandPower, POW_VALUES};
use epoc_facial::Thresholds;

use crate::detections::{DetectionControl, Detections};

/// The bits of the streams the detections thread serves.
const DETECTION_BITS: StreamBits =
    Stream::Met.bit() | Stream::Fac.bit() | Stream::Com.bit() | Stream::Sys.bit();

/// Where a client's frames go. Implemented by the WebSocket layer with one ordered queue
/// and two lanes: data frames are bounded (a client that stops reading is dropped), warnings
/// are never refused (a client's flow may depend on them: 30 after stopRecord, 0 before
/// being dropped).
pub trait Outbox: Send + Sync {
    /// Queue one data frame made of `parts` joined. The fan-out passes pieces because only
    /// the sid differs between subscribers: no per-client string is built. False when the
    /// data lane is full: the client is not keeping up.
    fn push_parts(&self, parts: &[&str]) -> bool;
    /// Queue a warning: in order with everything else, never refused.
    fn push_warning(&self, frame: String);
    /// Send this last frame (a warning) if possible, then close the connection.
    fn close(&self, last: String);
}

enum Control {
    Subscribe {
        sid: String,
        streams: StreamBits,
        outbox: Arc<dyn Outbox>,
    },
    Unsubscribe {
        sid: String,
        streams: StreamBits,
    },
    Remove {
        sid: String,
    },
    Marker(String),
    Thresholds {
        sid: String,
        thresholds: Thresholds,
    },
    Mental(MentalSetup),
    FacialSignature(FacialSignature),
    Train(Training),
    Stop,
}

/// The trained facial patterns of the profile loaded on the headset (empty: the universal
/// signature).
pub type FacialSignature = Vec<(epoc_facial::FaceAction, [f64; epoc_protocol::EEG_CHANNELS])>;

/// The mental-command classifier of the profile loaded on the headset, and its
/// sensitivities (None: no profile or nothing trained; `com` says neutral).
#[derive(Clone, Default)]
pub struct MentalSetup {
    /// The fitted classifier.
    pub classifier: Option<epoc_mental::Classifier>,
    /// Sensitivity (1–10) per active action.
    pub sensitivity: Vec<(String, u8)>,
}

/// A training request for the detections thread.
#[derive(Debug, Clone)]
pub struct Training {
    /// The session that trains (its `sys` stream hears the events).
    pub sid: String,
    /// `mentalCommand` or `facialExpression`.
    pub detection: String,
    /// The action (None: cancel this session's training in progress).
    pub action: Option<String>,
}

struct Subscriber {
    sid: String,
    streams: StreamBits,
    outbox: Arc<dyn Outbox>,
}

/// Live facts about the headset the fan-out learns from the samples (for headset objects
/// and the dev/eq streams).
#[derive(Debug, Default)]
pub struct LiveInfo {
    /// Battery percent (255 = unknown yet).
    pub battery_percent: AtomicU8,
    /// Motion samples per second, as observed.
    pub motion_rate: AtomicU16,
    /// Frames dropped because a client was too slow (per headset).
    pub dropped_clients: AtomicU32,
    /// Training epochs recorded and waiting for `training accept` or `reject`.
    pub pending_epochs: std::sync::Mutex<Vec<PendingEpoch>>,
}

/// A training epoch recorded for a session, waiting for its app to accept or reject it.
#[derive(Debug, Clone)]
pub struct PendingEpoch {
    /// The session that trained.
    pub sid: String,
    /// `mentalCommand` or `facialExpression`.
    pub detection: String,
    /// The trained action.
    pub action: String,
    /// What was recorded.
    pub epoch: epoc_mental::Epoch,
}

/// The fan-out thread of one headset.
pub struct Fanout {
    control: Sender<Control>,
    live: Arc<LiveInfo>,
    thread: Option<JoinHandle<()>>,
}

impl Fanout {
    /// Start fanning out `ring`; `wakeup` is the acquisition's publish hook.
    /// While `pace` batches, the thread drains on the batching grid instead of per report.
    pub fn start(
        ring: RingHandle<Sample>,
        wakeup: &Wakeup,
        name: &str,
        pace: Arc<Pace>,
    ) -> std::io::Result<Self> {
        let (control, rx) = unbounded();
        let live = Arc::new(LiveInfo {
            battery_percent: AtomicU8::new(255),
            ..LiveInfo::default()
        });
        let mut worker = Worker::new(ring.reader(), rx, Arc::clone(&live), wakeup.clone(), pace);
        worker.detection_source = Some((ring.clone(), name.to_owned()));
        let thread = std::thread::Builder::new()
            .name(format!("fanout-{name}"))
            .spawn(move || worker.run())?;
        wakeup.set_thread(thread.thread().clone());
        Ok(Fanout {
            control,
            live,
            thread: Some(thread),
        })
    }

    /// A cheap handle for subscribing and markers, usable without holding whatever owns
    /// this fan-out (the service hands one to work it runs after a reply).
    pub fn handle(&self) -> FanoutHandle {
        FanoutHandle {
            control: self.control.clone(),
            thread: self.thread.as_ref().map(|t| t.thread().clone()),
        }
    }

    /// Add `streams` (a bit set of [`Stream::bit`]) for session `sid`.
    pub fn subscribe(&self, sid: &str, streams: StreamBits, outbox: Arc<dyn Outbox>) {
        self.handle().subscribe(sid, streams, outbox);
    }

    /// Remove `streams` for session `sid`.
    pub fn unsubscribe(&self, sid: &str, streams: StreamBits) {
        self.handle().unsubscribe(sid, streams);
    }

    /// Forget session `sid` entirely.
    pub fn remove(&self, sid: &str) {
        self.handle().remove(sid);
    }

    /// Put a marker object (JSON) into the `MARKERS` column of the next eeg frame, where
    /// every app subscribed to this headset's eeg sees it.
    pub fn add_marker(&self, json: String) {
        self.handle().add_marker(json);
    }

    /// Facts learned from the data.
    pub fn live(&self) -> &LiveInfo {
        &self.live
    }
}

/// What the control plane may tell a running fan-out. Sending to a fan-out that has
/// stopped does nothing.
#[derive(Clone)]
pub struct FanoutHandle {
    control: Sender<Control>,
    thread: Option<std::thread::Thread>,
}

impl FanoutHandle {
    fn send(&self, c: Control) {
        let _ = self.control.send(c);
        if let Some(t) = &self.thread {
            t.unpark();
        }
    }

    /// Add `streams` (a bit set of [`Stream::bit`]) for session `sid`: frames of samples
    /// published from now on go to `outbox`.
    pub fn subscribe(&self, sid: &str, streams: StreamBits, outbox: Arc<dyn Outbox>) {
        self.send(Control::Subscribe {
            sid: sid.to_owned(),
            streams,
            outbox,
        });
    }

    /// Remove `streams` for session `sid`.
    pub fn unsubscribe(&self, sid: &str, streams: StreamBits) {
        self.send(Control::Unsubscribe {
            sid: sid.to_owned(),
            streams,
        });
    }

    /// Forget session `sid` entirely.
    pub fn remove(&self, sid: &str) {
        self.send(Control::Remove { sid: sid.to_owned() });
    }

    /// See [`Fanout::add_marker`].
    pub fn add_marker(&self, json: String) {
        self.send(Control::Marker(json));
    }

    /// The facial-expression thresholds of session `sid` (its `fac` stream applies them).
    pub fn set_thresholds(&self, sid: &str, thresholds: Thresholds) {
        self.send(Control::Thresholds {
            sid: sid.to_owned(),
            thresholds,
        });
    }

    /// The mental-command classifier `com` uses from now on.
    pub fn set_mental(&self, setup: MentalSetup) {
        self.send(Control::Mental(setup));
    }

    /// The facial signature `fac` names expressions by from now on.
    pub fn set_facial_signature(&self, signature: FacialSignature) {
        self.send(Control::FacialSignature(signature));
    }

    /// Start (or, with no action, cancel) recording a training epoch for a session; the
    /// events go to its `sys` stream and the epoch to [`LiveInfo::pending_epochs`].
    pub fn train(&self, training: Training) {
        self.send(Control::Train(training));
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        self.handle().send(Control::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Rolling state for the derived streams.
struct Derived {
    rate: u16,
    device: DeviceState,
    since_dev: u32,
    since_pow: u32,
    window_received: u32,
    window_lost: u32,
    eeg_seen: u64,
    motion_seen: u64,
    power: BandPower,
    pow: [f64; POW_VALUES],
    /// Signal-based EEG quality, graded once a second.
    quality: epoc_quality::SignalQuality,
    /// The latest grades (0–4 per sensor, capped by contact); None before the first second.
    grades: Option<[u8; epoc_protocol::EEG_CHANNELS]>,
}

impl Derived {
    fn new(rate: u16) -> Self {
        Derived {
            rate,
            device: DeviceState::default(),
            since_dev: 0,
            since_pow: 0,
            window_received: 0,
            window_lost: 0,
            eeg_seen: 0,
            motion_seen: 0,
            power: BandPower::new(rate),
            pow: [0.0; POW_VALUES],
            quality: epoc_quality::SignalQuality::new(rate),
            grades: None,
        }
    }

    fn sample_rate_quality(&self) -> f64 {
        let total = self.window_received + self.window_lost;
        if total == 0 {
            1.0
        } else {
            f64::from(self.window_received) / f64::from(total)
        }
    }
}

/// How often a fan-out with nobody subscribed takes in its samples (the derived state only).
const IDLE_DRAIN: Duration = Duration::from_millis(250);

struct Worker {
    reader: Reader<Sample>,
    wakeup: Wakeup,
    pace: Arc<Pace>,
    control: Receiver<Control>,
    live: Arc<LiveInfo>,
    subs: Vec<Subscriber>,
    derived: Option<Derived>,
    frame: String,
    tail: String,
    markers: Vec<String>,
    /// Where the detections thread reads, and its name.
    detection_source: Option<(RingHandle<Sample>, String)>,
    /// The detections thread, while some session wants met or fac.
    detections: Option<Detections>,
    /// Sessions subscribed to met or fac, and to which.
    detection_subs: Vec<(String, StreamBits)>,
    /// Facial-expression thresholds per session.
    thresholds: Vec<(String, Thresholds)>,
    /// The mental-command classifier, for a detections thread started later.
    mental: MentalSetup,
    /// The facial signature, likewise.
    signature: FacialSignature,
}

impl Worker {
    fn new(
        reader: Reader<Sample>,
        control: Receiver<Control>,
        live: Arc<LiveInfo>,
        wakeup: Wakeup,
        pace: Arc<Pace>,
    ) -> Self {
        Worker {
            reader,
            wakeup,
            pace,
            control,
            live,
            subs: Vec::new(),
            derived: None,
            frame: String::with_capacity(512),
            tail: String::with_capacity(64),
            markers: Vec::new(),
            detection_source: None,
            detections: None,
            detection_subs: Vec::new(),
            thresholds: Vec::new(),
            mental: MentalSetup::default(),
            signature: Vec::new(),
        }
    }

    /// Take in every sample published so far.
    fn drain(&mut self) {
        loop {
            match self.reader.try_next() {
                Next::Item(s) => self.on_sample(&s),
                Next::Missed(_) => {} // only if this thread was starved for a whole ring lap
                Next::Empty => break,
            }
        }
    }

    fn run(mut self) {
        let mut quiet = false;
        loop {
            // With nobody listening this thread sleeps up to IDLE_DRAIN: the samples published
            // before a subscribe belong to the state before it, so take them in first.
            if !self.subs.iter().any(|s| s.streams != 0) {
                self.drain();
            }
            while let Ok(c) = self.control.try_recv() {
                match c {
                    Control::Subscribe { sid, streams, outbox } => {
                        if streams & DETECTION_BITS != 0 {
                            self.detections_subscribe(&sid, streams & DETECTION_BITS, &outbox);
                        }
                        let streams = streams & !DETECTION_BITS;
                        match self.subs.iter_mut().find(|s| s.sid == sid) {
                            Some(s) => s.streams |= streams,
                            None => self.subs.push(Subscriber { sid, streams, outbox }),
                        }
                    }
                    Control::Unsubscribe { sid, streams } => {
                        if streams & DETECTION_BITS != 0 {
                            self.detections_unsubscribe(&sid, streams & DETECTION_BITS);
                        }
                        if let Some(s) = self.subs.iter_mut().find(|s| s.sid == sid) {
                            s.streams &= !streams;
                        }
                    }
                    Control::Remove { sid } => {
                        self.detections_unsubscribe(&sid, DETECTION_BITS);
                        self.thresholds.retain(|(s, _)| *s != sid);
                        self.subs.retain(|s| s.sid != sid);
                    }
                    Control::Marker(json) => self.markers.push(json),
                    Control::Thresholds { sid, thresholds } => {
                        if let Some(d) = &self.detections {
                            d.send(DetectionControl::Thresholds {
                                sid: sid.clone(),
                                thresholds,
                            });
                        }
                        self.thresholds.retain(|(s, _)| *s != sid);
                        self.thresholds.push((sid, thresholds));
                    }
                    Control::Mental(setup) => {
                        if let Some(d) = &self.detections {
                            d.send(DetectionControl::Mental(setup.clone()));
                        }
                        self.mental = setup;
                    }
                    Control::FacialSignature(sig) => {
                        if let Some(d) = &self.detections {
                            d.send(DetectionControl::FacialSignature(sig.clone()));
                        }
                        self.signature = sig;
                    }
                    Control::Train(t) => {
                        if let Some(d) = &self.detections {
                            d.send(DetectionControl::Train(t));
                        }
                    }
                    Control::Stop => return,
                }
            }
            self.drain();
            let listened = self.subs.iter().any(|s| s.streams != 0);
            if self.pace.batching() || !listened {
                // Batched delivery: no wake-up per report; drain on the grid. Nobody to
                // deliver to: only the derived state (battery, quality) is kept current, a few
                // times a second; a control message wakes the thread at once.
                if !quiet {
                    quiet = true;
                    self.wakeup.set_quiet(true);
                }
                let now = Instant::now();
                let wait = if listened {
                    self.pace.next_drain(now).saturating_duration_since(now)
                } else {
                    IDLE_DRAIN
                };
                std::thread::park_timeout(wait);
            } else if quiet {
                // Back to frame by frame: wake-ups on, then look once more before sleeping.
                quiet = false;
                self.wakeup.set_quiet(false);
            } else {
                std::thread::park_timeout(Duration::from_millis(100));
            }
        }
    }

    /// Start the detections thread if it is not running, and subscribe `sid` there.
    fn detections_subscribe(&mut self, sid: &str, streams: StreamBits, outbox: &Arc<dyn Outbox>) {
        let mut started = false;
        if self.detections.is_none()
            && let Some((ring, name)) = &self.detection_source
        {
            match Detections::start(ring, name, Arc::clone(&self.live)) {
                Ok(d) => {
                    self.detections = Some(d);
                    started = true;
                }
                Err(e) => tracing::error!("cannot start the detections thread of {name}: {e}"),
            }
        }
        let Some(d) = &self.detections else { return };
        d.send(DetectionControl::Subscribe {
            sid: sid.to_owned(),
            streams,
            outbox: Arc::clone(outbox),
        });
        if started {
            d.send(DetectionControl::Mental(self.mental.clone()));
            d.send(DetectionControl::FacialSignature(self.signature.clone()));
            for (sid, thresholds) in &self.thresholds {
                d.send(DetectionControl::Thresholds {
                    sid: sid.clone(),
                    thresholds: *thresholds,
                });
            }
        }
        match self.detection_subs.iter_mut().find(|(s, _)| s == sid) {
            Some((_, bits)) => *bits |= streams,
            None => self.detection_subs.push((sid.to_owned(), streams)),
        }
    }

    /// Unsubscribe `sid` from detection `streams`; stop the thread when nobody is left.
    fn detections_unsubscribe(&mut self, sid: &str, streams: StreamBits) {
        let Some(d) = &self.detections else { return };
        d.send(DetectionControl::Unsubscribe {
            sid: sid.to_owned(),
            streams,
        });
        for (s, bits) in self.detection_subs.iter_mut() {
            if s == sid {
                *bits &= !streams;
            }
        }
        self.detection_subs.retain(|(_, bits)| *bits != 0);
        if self.detection_subs.is_empty() {
            self.detections = None; // joins the thread
        }
    }

    fn on_sample(&mut self, s: &Sample) {
        let r = &s.report;
        let rate = r.mode.eeg_rate.hz();
        if self.derived.as_ref().is_none_or(|d| d.rate != rate) {
            self.derived = Some(Derived::new(rate));
        }
        if r.kind == ReportKind::Motion {
            if let Some(d) = self.derived.as_mut() {
                d.motion_seen += 1;
            }
            self.send(Stream::Mot, s);
            return;
        }
        // EEG (and 14-bit battery packets, which carry EEG): update the derived state first.
        let pow_wanted = self.subs.iter().any(|sub| sub.streams & Stream::Pow.bit() != 0);
        let (pow_due, dev_due) = {
            let Some(d) = self.derived.as_mut() else { return };
            d.eeg_seen += 1;
            if d.eeg_seen.is_multiple_of(u64::from(rate)) {
                let per_sec = d.motion_seen as f64 * f64::from(rate) / d.eeg_seen as f64;
                let nearest = [0u16, 32, 64, 128]
                    .into_iter()
                    .min_by_key(|r| (f64::from(*r) - per_sec).abs() as u32);
                self.live
                    .motion_rate
                    .store(nearest.unwrap_or(0), Ordering::Relaxed);
            }
            d.device.update(r);
            if let Some(p) = d.device.battery_percent {
                self.live.battery_percent.store(p, Ordering::Relaxed);
            }
            d.window_received += 1;
            d.window_lost += u32::from(s.lost);
            let uv = r.eeg_microvolts();
            d.power.push(uv);
            if let Some(g) = d.quality.push(uv, &d.device.levels) {
                d.grades = Some(g);
            }
            d.since_dev += 1;
            d.since_pow += 1;
            // The spectrum is only worth computing for someone.
            let pow_due = d.since_pow >= u32::from(rate) / band_power::POW_RATE_HZ && {
                d.since_pow = 0;
                pow_wanted && d.power.compute(&mut d.pow)
            };
            let dev_due = d.since_dev >= u32::from(rate / 2);
            if dev_due {
                d.since_dev = 0;
            }
            (pow_due, dev_due)
        };
        if r.mode.resolution == Resolution::Bits14 {
            // 14-bit packets carry the gyro: the motion stream follows the EEG.
            self.send(Stream::Mot, s);
        }
        self.send(Stream::Eeg, s);
        self.markers.clear();
        if pow_due {
            self.send(Stream::Pow, s);
        }
        if dev_due {
            self.send(Stream::Dev, s);
            self.send(Stream::Eq, s);
            if let Some(d) = self.derived.as_mut() {
                d.window_received = 0;
                d.window_lost = 0;
            }
        }
    }

    /// Build the frame of `stream` once and queue it for each subscriber (only the sid
    /// differs between them).
    fn send(&mut self, stream: Stream, s: &Sample) {
        let bit = stream.bit();
        if !self.subs.iter().any(|sub| sub.streams & bit != 0) {
            return;
        }
        let head = &mut self.frame;
        frame_start(head, stream);
        write_values(head, stream, s, self.derived.as_ref());
        if stream == Stream::Eeg && !self.markers.is_empty() && head.ends_with(']') {
            head.pop();
            head.push_str(&self.markers.join(","));
            head.push(']');
        }
        frame_before_sid(head);
        frame_after_sid(&mut self.tail, s.time);
        let mut dropped: Vec<usize> = Vec::new();
        for (i, sub) in self.subs.iter().enumerate() {
            if sub.streams & bit != 0 && !sub.outbox.push_parts(&[head, &sub.sid, &self.tail]) {
                dropped.push(i);
            }
        }
        drop_slow(&mut self.subs, dropped, &self.live, |s| (&s.sid, &s.outbox));
    }
}

/// Drop the subscribers at `failed` whose outbox was full: count each connection once, warn
/// the client and close it, and forget every session of that connection. Works by outbox
/// identity, not by index, so two failing sessions of one connection never shift the index
/// of an innocent one. `parts` gives a subscriber's sid and outbox (the fan-out and the
/// detections thread keep different subscriber records).
pub(crate) fn drop_slow<S>(
    subs: &mut Vec<S>,
    failed: Vec<usize>,
    live: &LiveInfo,
    parts: impl Fn(&S) -> (&str, &Arc<dyn Outbox>),
) {
    let mut gone: Vec<Arc<dyn Outbox>> = Vec::new();
    for i in failed {
        let Some(sub) = subs.get(i) else { continue };
        let (sid, outbox) = parts(sub);
        if gone.iter().any(|g| Arc::ptr_eq(g, outbox)) {
            continue;
        }
        live.dropped_clients.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("session {sid}: the client did not keep up with its data and was disconnected");
        outbox.close(warning::client_too_slow(sid));
        gone.push(Arc::clone(outbox));
    }
    subs.retain(|s| !gone.iter().any(|g| Arc::ptr_eq(g, parts(s).1)));
}

fn write_values(out: &mut String, stream: Stream, s: &Sample, d: Option<&Derived>) {
    let r = &s.report;
    match stream {
        Stream::Eeg => {
            out.push_str(&r.sequence().to_string());
            out.push_str(",0");
            for uv in r.eeg_microvolts() {
                out.push(',');
                push_f64(out, uv, 3);
            }
            out.push(',');
            push_f64(out, f64::from(r.aux), 1);
            out.push_str(",0,[]");
        }
        Stream::Mot => {
            out.push_str(&r.sequence().to_string());
            out.push_str(",0");
            let n = cortex_api::streams::motion_sensors(r.mode).len();
            for v in &r.motion[..n] {
                out.push(',');
                out.push_str(&v.to_string());
            }
        }
        Stream::Dev => {
            let Some(d) = d else { return };
            let percent = d.device.battery_percent.unwrap_or(0);
            out.push_str(&(u32::from(percent).div_ceil(25).min(4)).to_string());
            out.push(',');
            push_f64(out, d.sample_rate_quality(), 2);
            out.push_str(",[");
            for (i, l) in d.device.levels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&l.to_string());
            }
            out.push(',');
            out.push_str(&d.device.overall().to_string());
            out.push_str("],");
            out.push_str(&percent.to_string());
        }
        Stream::Eq => {
            let Some(d) = d else { return };
            // Signal quality once a second of EEG was graded; contact quality until then. Never
            // above the contact quality of now (it may have dropped since the last grading).
            let contact = d.device.levels;
            let grades = d
                .grades
                .map_or(contact, |g| std::array::from_fn(|i| g[i].min(contact[i])));
            out.push_str(&d.device.battery_percent.unwrap_or(0).to_string());
            out.push(',');
            out.push_str(&epoc_quality::overall(&grades).to_string());
            out.push(',');
            push_f64(out, d.sample_rate_quality(), 2);
            for l in grades {
                out.push(',');
                out.push_str(&l.to_string());
            }
        }
        Stream::Met | Stream::Fac | Stream::Com | Stream::Sys => {} // the detections thread writes these
        Stream::Pow => {
            let Some(d) = d else { return };
            for (i, v) in d.pow.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_f64(out, *v, 3);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Outbox for Counting {
        fn push_parts(&self, _: &[&str]) -> bool {
            true
        }
        fn push_warning(&self, _: String) {}
        fn close(&self, _: String) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn two_slow_sessions_of_one_connection_drop_it_once_and_nobody_else() {
        let slow = Arc::new(Counting::default());
        let other = Arc::new(Counting::default());
        let (slow_box, other_box): (Arc<dyn Outbox>, Arc<dyn Outbox>) = (slow.clone(), other.clone());
        let mut subs = vec![
            ("a1".to_owned(), Arc::clone(&slow_box)),
            ("b".to_owned(), Arc::clone(&other_box)),
            ("a2".to_owned(), Arc::clone(&slow_box)),
            ("c".to_owned(), Arc::clone(&other_box)),
        ];
        let live = LiveInfo::default();
        drop_slow(&mut subs, vec![0, 2], &live, |s| (&s.0, &s.1));
        let left: Vec<&str> = subs.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(left, ["b", "c"]);
        assert_eq!(slow.0.load(Ordering::Relaxed), 1, "closed once");
        assert_eq!(other.0.load(Ordering::Relaxed), 0);
        assert_eq!(live.dropped_clients.load(Ordering::Relaxed), 1);
    }
}
