//! The fan-out of each connected headset: it turns ring samples into Cortex data frames for
//! every subscribed session, and computes the derived streams (dev, eq at 2 Hz; pow at 8 Hz).
//! It starts and stops the headset's detections thread (met, fac) as sessions subscribe. The
//! daemon runs every headset's fan-out on one [`FanoutPool`] thread.
//!
//! The pool sleeps until an acquisition thread publishes (unpark), so frames leave as soon as
//! the samples exist, without polling. While anyone is subscribed it asks the acquisition for
//! samples within the stream interval (`Pace::stream_interval`), so that a burst of reports
//! costs one wake-up here and one per writer. Each frame goes into the subscriber's bounded
//! [`Outbox`]; a full outbox means that client stopped reading: it is warned and dropped, and
//! nobody else (the headset thread, other clients) waits for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use epoc_driver::{Cadence, CadenceDemand, Wakeup};
use epoc_protocol::{ReportKind, Resolution};
use epoc_sample::Sample;
use sample_ring::{Next, Reader, RingHandle};

use crate::frame::{frame_after_sid, frame_before_sid, frame_start};
use crate::pace::Pace;
pub use crate::pool::FanoutPool;
use cortex_api::{Stream, StreamBits};

use epoc_facial::Thresholds;

use crate::derived::{Derived, write_values};
use crate::detections::{DetectionControl, Detections};
pub use crate::outbox::Outbox;
use crate::outbox::drop_slow;

/// The bits of the streams the detections thread serves.
const DETECTION_BITS: StreamBits =
    Stream::Met.bit() | Stream::Fac.bit() | Stream::Com.bit() | Stream::Sys.bit();

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

/// The fan-out of one headset, run by a [`FanoutPool`] thread.
pub struct Fanout {
    control: Sender<Control>,
    live: Arc<LiveInfo>,
    pool: Arc<FanoutPool>,
    /// Disconnected once the pool has dropped this fan-out's worker.
    gone: Receiver<()>,
}

impl Fanout {
    /// Start fanning out `ring` on a thread of its own; see [`Fanout::start_in`].
    pub fn start(
        ring: RingHandle<Sample>,
        wakeup: &Wakeup,
        cadence: &Cadence,
        name: &str,
        pace: Arc<Pace>,
    ) -> std::io::Result<Self> {
        let pool = FanoutPool::start(&format!("fanout-{name}"))?;
        Ok(Self::start_in(&pool, ring, wakeup, cadence, name, pace))
    }

    /// Start fanning out `ring` on `pool`'s thread; `wakeup` is the acquisition's publish
    /// hook, `cadence` how the fan-out asks it for samples sooner while anyone is subscribed.
    /// While `pace` batches, the fan-out drains on the batching grid instead of per burst.
    pub fn start_in(
        pool: &Arc<FanoutPool>,
        ring: RingHandle<Sample>,
        wakeup: &Wakeup,
        cadence: &Cadence,
        name: &str,
        pace: Arc<Pace>,
    ) -> Self {
        let (control, rx) = unbounded();
        let (gone_tx, gone) = crossbeam_channel::bounded(0);
        let live = Arc::new(LiveInfo {
            battery_percent: AtomicU8::new(255),
            ..LiveInfo::default()
        });
        let mut worker = Worker::new(
            ring.reader(),
            rx,
            Arc::clone(&live),
            wakeup.clone(),
            pace,
            gone_tx,
        );
        worker.cadence = Some((cadence.clone(), None));
        worker.detection_source = Some((ring.clone(), name.to_owned()));
        wakeup.set_thread(pool.thread().clone());
        pool.add(worker);
        Fanout {
            control,
            live,
            pool: Arc::clone(pool),
            gone,
        }
    }

    /// A cheap handle for subscribing and markers, usable without holding whatever owns
    /// this fan-out (the service hands one to work it runs after a reply).
    pub fn handle(&self) -> FanoutHandle {
        FanoutHandle {
            control: self.control.clone(),
            thread: self.pool.thread().clone(),
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
    thread: std::thread::Thread,
}

impl FanoutHandle {
    fn send(&self, c: Control) {
        let _ = self.control.send(c);
        self.thread.unpark();
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
    /// Returns once the worker is gone: its demand on the acquisition, its outboxes and its
    /// detections thread with it.
    fn drop(&mut self) {
        self.handle().send(Control::Stop);
        let _ = self.gone.recv();
    }
}

/// How often a fan-out with nobody subscribed takes in its samples (the derived state only).
/// Once a second is enough for battery and contact quality that nobody is streaming.
const IDLE_DRAIN: Duration = Duration::from_secs(1);

pub(crate) struct Worker {
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
    /// The acquisition's cadence, and the demand held on it while anyone is subscribed
    /// (with the interval it asks for).
    cadence: Option<(Cadence, Option<(CadenceDemand, Duration)>)>,
    /// Whether the acquisition's wake-ups are off (the worker drains on a schedule).
    quiet: bool,
    /// Dropped with the worker: tells the `Fanout` that it is gone.
    _gone: Sender<()>,
}

impl Worker {
    fn new(
        reader: Reader<Sample>,
        control: Receiver<Control>,
        live: Arc<LiveInfo>,
        wakeup: Wakeup,
        pace: Arc<Pace>,
        gone: Sender<()>,
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
            cadence: None,
            quiet: false,
            _gone: gone,
        }
    }

    /// Take in every sample published so far; the frames made go to the writers with one
    /// wake-up each.
    fn drain(&mut self) {
        let mut took = false;
        loop {
            match self.reader.try_next() {
                Next::Item(s) => {
                    took = true;
                    self.on_sample(&s);
                }
                Next::Missed(_) => {} // only if this thread was starved for a whole ring lap
                Next::Empty => break,
            }
        }
        if took {
            for sub in &self.subs {
                sub.outbox.flush();
            }
        }
    }

    /// One look: control messages, new samples, the demand on the acquisition. Returns when
    /// to look again at the latest (a publish or a control message wakes the pool sooner),
    /// or None once told to stop.
    pub(crate) fn step(&mut self) -> Option<Instant> {
        // With nobody listening this worker may have slept up to IDLE_DRAIN: the samples
        // published before a subscribe belong to the state before it, so take them in first.
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
                Control::Stop => return None,
            }
        }
        self.drain();
        let listened = self.subs.iter().any(|s| s.streams != 0);
        let wanted = listened || self.detections.is_some();
        self.demand_samples(wanted.then(|| match self.pace.batching() {
            // The drains follow the writers' tick: reports must be in the ring by then,
            // not up to a stream interval later (that would cost a whole tick).
            true => Duration::ZERO,
            false => self.pace.stream_interval(),
        }));
        let now = Instant::now();
        if self.pace.batching() || !listened {
            // Batched delivery: no wake-up per report; drain on the grid. Nobody to
            // deliver to: only the derived state (battery, quality) is kept current, once
            // a second; a control message wakes the pool at once.
            if !self.quiet {
                self.quiet = true;
                self.wakeup.set_quiet(true);
            }
            Some(if listened {
                self.pace.next_drain(now)
            } else {
                now + IDLE_DRAIN
            })
        } else if self.quiet {
            // Back to burst by burst: wake-ups on, then look once more before sleeping.
            self.quiet = false;
            self.wakeup.set_quiet(false);
            Some(now)
        } else {
            Some(now + Duration::from_millis(100))
        }
    }

    /// Hold a demand on the acquisition's cadence for samples within `within` while anyone
    /// is subscribed; none otherwise (the acquisition idles).
    fn demand_samples(&mut self, within: Option<Duration>) {
        if let Some((cadence, demand)) = &mut self.cadence
            && within != demand.as_ref().map(|d| d.1)
        {
            *demand = within.map(|w| (cadence.demand(w), w));
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
            if sub.streams & bit != 0 && !sub.outbox.push_parts_quietly(&[head, &sub.sid, &self.tail]) {
                dropped.push(i);
            }
        }
        drop_slow(&mut self.subs, dropped, &self.live, |s| (&s.sid, &s.outbox));
    }
}
