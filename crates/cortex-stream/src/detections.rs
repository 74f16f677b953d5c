//! The detections thread of one headset: the `met` and `fac` streams, computed from the ring
//! with a cursor of its own, so neither the acquisition thread nor the fan-out (which serves
//! eeg at the headset rate) ever waits for them. It runs only while a session is subscribed
//! to one of them; each detector runs only while its stream is wanted.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use epoc_facial::{FacFrame, FacialDetector, Thresholds};
use epoc_metrics::{MetSample, PerformanceMetrics};
use epoc_protocol::{DeviceState, ReportKind};
use epoc_sample::Sample;
use sample_ring::{Next, Reader, RingHandle};

use crate::fanout::{FacialSignature, LiveInfo, MentalSetup, Outbox, PendingEpoch, Training};
use crate::frame::{frame_after_sid, frame_before_sid, frame_start, push_f64, sys_frame};
use cortex_api::{Stream, StreamBits};
use epoc_facial::{ExpressionEpoch, ExpressionRecorder, FaceAction};
use epoc_mental::{ComFrame, EpochRecorder, EpochResult, MentalCommands};

/// How often the thread drains the ring: well under a `fac` period (31 ms).
const POLL: Duration = Duration::from_millis(10);
/// Ring items of history the detectors start from (about 12 s of a 256 Hz EPOC+ with its
/// motion), so that `met` has a full window and a first scale at once, and `fac` its noise
/// and muscle baselines. Nothing is sent for them: frames start with new samples.
const HISTORY_ITEMS: u64 = 4096;

pub(crate) enum DetectionControl {
    Subscribe {
        sid: String,
        streams: StreamBits,
        outbox: Arc<dyn Outbox>,
    },
    Unsubscribe {
        sid: String,
        streams: StreamBits,
    },
    Thresholds {
        sid: String,
        thresholds: Thresholds,
    },
    Mental(MentalSetup),
    FacialSignature(FacialSignature),
    Train(Training),
    Stop,
}

/// What records a training epoch.
enum Recorder {
    /// Mental commands: covariance windows.
    Mental(EpochRecorder),
    /// Facial expressions: the user's muscle pattern, from the running facial detector.
    Facial(ExpressionRecorder),
}

/// A training epoch being recorded for a session.
struct Recording {
    sid: String,
    detection: String,
    action: String,
    recorder: Recorder,
}

struct Subscriber {
    sid: String,
    streams: StreamBits,
    outbox: Arc<dyn Outbox>,
    thresholds: Thresholds,
}

/// The running detections thread (joined on drop).
pub(crate) struct Detections {
    control: Sender<DetectionControl>,
    thread: Option<JoinHandle<()>>,
}

impl Detections {
    pub(crate) fn start(ring: &RingHandle<Sample>, name: &str, live: Arc<LiveInfo>) -> std::io::Result<Self> {
        let (control, rx) = unbounded();
        let live_from = ring.written();
        let worker = Worker {
            reader: ring.reader_back(HISTORY_ITEMS),
            live_from,
            control: rx,
            live,
            subs: Vec::new(),
            thresholds: Vec::new(),
            mental: MentalSetup::default(),
            signature: Vec::new(),
            recordings: Vec::new(),
            state: None,
            head: String::with_capacity(256),
            tail: String::with_capacity(64),
        };
        let thread = std::thread::Builder::new()
            .name(format!("detect-{name}"))
            .spawn(move || worker.run())?;
        Ok(Detections {
            control,
            thread: Some(thread),
        })
    }

    pub(crate) fn send(&self, c: DetectionControl) {
        let _ = self.control.send(c);
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }
}

impl Drop for Detections {
    fn drop(&mut self) {
        self.send(DetectionControl::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Detectors {
    rate: u16,
    device: DeviceState,
    metrics: Option<PerformanceMetrics>,
    facial: Option<FacialDetector>,
    mental: Option<MentalCommands>,
}

struct Worker {
    reader: Reader<Sample>,
    /// Ring position of the first sample whose detections are sent (older ones only warm
    /// the detectors up).
    live_from: u64,
    control: Receiver<DetectionControl>,
    live: Arc<LiveInfo>,
    subs: Vec<Subscriber>,
    /// Thresholds set for sessions not (yet) subscribed to `fac`.
    thresholds: Vec<(String, Thresholds)>,
    /// The classifier `com` uses.
    mental: MentalSetup,
    /// The facial signature `fac` uses.
    signature: FacialSignature,
    /// Training epochs in progress.
    recordings: Vec<Recording>,
    state: Option<Detectors>,
    head: String,
    tail: String,
}

impl Worker {
    fn run(mut self) {
        // The first subscription comes right after the start: wait for it, so the history
        // warms up the detectors it wants.
        if let Ok(c) = self.control.recv_timeout(Duration::from_secs(1))
            && !self.control_message(c)
        {
            return;
        }
        loop {
            while let Ok(c) = self.control.try_recv() {
                if !self.control_message(c) {
                    return;
                }
            }
            self.sync_detectors();
            loop {
                let live = self.reader.position() >= self.live_from;
                match self.reader.try_next() {
                    Next::Item(s) => self.on_sample(&s, live),
                    Next::Missed(n) => {
                        tracing::warn!("detections fell {n} samples behind the headset; they restart");
                        self.state = None;
                    }
                    Next::Empty => break,
                }
            }
            std::thread::park_timeout(POLL);
        }
    }

    /// Apply one control message; false to stop.
    fn control_message(&mut self, c: DetectionControl) -> bool {
        match c {
            DetectionControl::Subscribe { sid, streams, outbox } => {
                match self.subs.iter_mut().find(|s| s.sid == sid) {
                    Some(s) => s.streams |= streams,
                    None => {
                        let thresholds = self
                            .thresholds
                            .iter()
                            .find(|(s, _)| *s == sid)
                            .map_or_else(Thresholds::default, |(_, t)| *t);
                        self.subs.push(Subscriber {
                            sid,
                            streams,
                            outbox,
                            thresholds,
                        });
                    }
                }
            }
            DetectionControl::Unsubscribe { sid, streams } => {
                if let Some(s) = self.subs.iter_mut().find(|s| s.sid == sid) {
                    s.streams &= !streams;
                }
                self.subs.retain(|s| s.streams != 0);
            }
            DetectionControl::Thresholds { sid, thresholds } => {
                if let Some(s) = self.subs.iter_mut().find(|s| s.sid == sid) {
                    s.thresholds = thresholds;
                }
                self.thresholds.retain(|(s, _)| *s != sid);
                self.thresholds.push((sid, thresholds));
            }
            DetectionControl::Mental(setup) => {
                if let Some(m) = self.state.as_mut().and_then(|d| d.mental.as_mut()) {
                    m.set_classifier(setup.classifier.clone(), setup.sensitivity.clone());
                }
                self.mental = setup;
            }
            DetectionControl::FacialSignature(sig) => {
                if let Some(f) = self.state.as_mut().and_then(|d| d.facial.as_mut()) {
                    f.set_signature(&sig);
                }
                self.signature = sig;
            }
            DetectionControl::Train(t) => self.train(t),
            DetectionControl::Stop => return false,
        }
        true
    }

    /// Start recording an epoch for a session (replacing one in progress), or cancel.
    fn train(&mut self, t: Training) {
        self.recordings.retain(|r| r.sid != t.sid);
        let Some(action) = t.action else { return };
        let rate = self.state.as_ref().map_or(128, |d| d.rate);
        let facial = t.detection == "facialExpression";
        let event = if facial { "FE_Started" } else { "MC_Started" };
        self.send_sys(&t.sid, &t.detection, event, None);
        let recorder = if facial {
            Recorder::Facial(ExpressionRecorder::new(FaceAction::parse(&action), rate))
        } else {
            Recorder::Mental(EpochRecorder::new(rate))
        };
        self.recordings.push(Recording {
            sid: t.sid,
            detection: t.detection,
            action,
            recorder,
        });
        self.sync_detectors();
    }

    /// A `sys` frame for session `sid`, if it subscribed to `sys`.
    fn send_sys(&mut self, sid: &str, detection: &str, event: &str, time: Option<f64>) {
        let time = time.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        });
        let frame = sys_frame(sid, detection, event, time);
        let failed: Vec<usize> = (0..self.subs.len())
            .filter(|&i| {
                let sub = &self.subs[i];
                sub.sid == sid && sub.streams & Stream::Sys.bit() != 0 && !sub.outbox.push_parts(&[&frame])
            })
            .collect();
        self.drop_clients(failed);
    }

    fn wants(&self, stream: Stream) -> bool {
        self.subs.iter().any(|s| s.streams & stream.bit() != 0)
    }

    /// Drop a detector nobody wants (it starts fresh, warm-up included, when wanted again).
    fn sync_detectors(&mut self) {
        let met = self.wants(Stream::Met);
        // Facial training reads the running facial detector: it runs for sessions that may
        // train (subscribed to sys), so that it is warm when training starts.
        let fac = self.wants(Stream::Fac)
            || self.wants(Stream::Sys)
            || self
                .recordings
                .iter()
                .any(|r| matches!(r.recorder, Recorder::Facial(_)));
        let com = self.wants(Stream::Com);
        if let Some(d) = self.state.as_mut() {
            if !com {
                d.mental = None;
            }
            if com && d.mental.is_none() {
                let mut m = MentalCommands::new(d.rate);
                m.set_classifier(self.mental.classifier.clone(), self.mental.sensitivity.clone());
                d.mental = Some(m);
            }
            if !met {
                d.metrics = None;
            }
            if !fac {
                d.facial = None;
            }
            if met && d.metrics.is_none() {
                d.metrics = Some(PerformanceMetrics::new(d.rate));
            }
            if fac && d.facial.is_none() {
                let mut f = FacialDetector::new(d.rate);
                f.set_signature(&self.signature);
                d.facial = Some(f);
            }
        }
    }

    fn on_sample(&mut self, s: &Sample, live: bool) {
        let r = &s.report;
        if r.kind == ReportKind::Motion || !r.has_eeg() {
            return;
        }
        let rate = r.mode.eeg_rate.hz();
        if self.state.as_ref().is_none_or(|d| d.rate != rate) {
            self.state = Some(Detectors {
                rate,
                device: DeviceState::default(),
                metrics: None,
                facial: None,
                mental: None,
            });
            self.sync_detectors();
        }
        let Some(d) = self.state.as_mut() else { return };
        d.device.update(r);
        let uv = r.eeg_microvolts();
        let met = d.metrics.as_mut().and_then(|m| m.push(uv, &d.device.levels));
        let fac = d.facial.as_mut().and_then(|f| f.push(uv));
        let com = d.mental.as_mut().and_then(|m| m.push(uv));
        if !live {
            return;
        }
        self.record_training(uv, s.time);
        if let Some(c) = com {
            self.send_com(&c, s.time);
        }
        if let Some(m) = met {
            self.send_met(&m, s.time);
        }
        if let Some(f) = fac {
            self.send_fac(&f, s.time);
        }
    }

    /// Feed the epochs being recorded; a finished one is announced (Succeeded or Failed)
    /// and, if usable, kept for `training accept`.
    fn record_training(&mut self, uv: [f64; epoc_protocol::EEG_CHANNELS], time: f64) {
        let facial = self.state.as_ref().and_then(|d| d.facial.as_ref());
        let mut done = Vec::new();
        for (i, r) in self.recordings.iter_mut().enumerate() {
            let result = match &mut r.recorder {
                Recorder::Mental(m) => m.push(uv),
                Recorder::Facial(f) => facial.and_then(|d| f.push(d)).map(|e| match e {
                    ExpressionEpoch::Succeeded(pattern) => EpochResult::Succeeded(epoc_mental::Epoch {
                        windows: if pattern.is_empty() {
                            Vec::new()
                        } else {
                            vec![pattern]
                        },
                    }),
                    ExpressionEpoch::Failed(share) => EpochResult::Failed(share),
                }),
            };
            if let Some(result) = result {
                done.push((i, result));
            }
        }
        for (i, result) in done.into_iter().rev() {
            let r = self.recordings.remove(i);
            let prefix = if r.detection == "facialExpression" {
                "FE"
            } else {
                "MC"
            };
            let event = match result {
                EpochResult::Succeeded(epoch) => {
                    if let Ok(mut pending) = self.live.pending_epochs.lock() {
                        pending.retain(|p| p.sid != r.sid);
                        pending.push(PendingEpoch {
                            sid: r.sid.clone(),
                            detection: r.detection.clone(),
                            action: r.action.clone(),
                            epoch,
                        });
                    }
                    "Succeeded"
                }
                EpochResult::Failed(usable) => {
                    tracing::info!(
                        "session {}: training {} failed, {:.0} % of the epoch usable (artefacts or poor contact)",
                        r.sid,
                        r.action,
                        usable * 100.0
                    );
                    "Failed"
                }
            };
            self.send_sys(&r.sid, &r.detection, &format!("{prefix}_{event}"), Some(time));
        }
    }

    fn send_com(&mut self, c: &ComFrame, time: f64) {
        let head = &mut self.head;
        frame_start(head, Stream::Com);
        head.push('"');
        head.push_str(&c.action);
        head.push_str("\",");
        push_f64(head, c.power, 3);
        frame_before_sid(head);
        frame_after_sid(&mut self.tail, time);
        self.broadcast(Stream::Com);
    }

    /// Queue the frame in `head` + sid + `tail` for every subscriber of `stream`.
    fn broadcast(&mut self, stream: Stream) {
        let bit = stream.bit();
        let (head, tail) = (&self.head, &self.tail);
        let failed: Vec<usize> = (0..self.subs.len())
            .filter(|&i| {
                let sub = &self.subs[i];
                sub.streams & bit != 0 && !sub.outbox.push_parts(&[head, &sub.sid, tail])
            })
            .collect();
        self.drop_clients(failed);
    }

    fn send_met(&mut self, m: &MetSample, time: f64) {
        let head = &mut self.head;
        frame_start(head, Stream::Met);
        write_met(head, m);
        frame_before_sid(head);
        frame_after_sid(&mut self.tail, time);
        self.broadcast(Stream::Met);
    }

    fn send_fac(&mut self, f: &FacFrame, time: f64) {
        let bit = Stream::Fac.bit();
        frame_after_sid(&mut self.tail, time);
        let mut failed = Vec::new();
        for (i, sub) in self.subs.iter().enumerate() {
            if sub.streams & bit == 0 {
                continue;
            }
            // Thresholds are per session, so the head is too (32 short frames a second).
            let head = &mut self.head;
            frame_start(head, Stream::Fac);
            let (u_act, u_pow, l_act, l_pow) = sub.thresholds.apply(f);
            let eye = f.eye.map_or("neutral", |e| e.action.name());
            for (k, (name, power)) in [(eye, None), (u_act, Some(u_pow)), (l_act, Some(l_pow))]
                .into_iter()
                .enumerate()
            {
                if k > 0 {
                    head.push(',');
                }
                head.push('"');
                head.push_str(name);
                head.push('"');
                if let Some(p) = power {
                    head.push(',');
                    push_f64(head, p, 3);
                }
            }
            frame_before_sid(head);
            if !sub.outbox.push_parts(&[head, &sub.sid, &self.tail]) {
                failed.push(i);
            }
        }
        self.drop_clients(failed);
    }

    fn drop_clients(&mut self, failed: Vec<usize>) {
        crate::outbox::drop_slow(&mut self.subs, failed, &self.live, |s| (&s.sid, &s.outbox));
    }
}

/// `met` values in [`cortex_api::streams::MET_COLS`] order: each metric's `isActive` and
/// scaled value (null until known), long-term excitement after excitement.
fn write_met(out: &mut String, m: &MetSample) {
    use epoc_metrics::Metric;
    fn cell(out: &mut String, v: Option<f64>) {
        if !out.ends_with('[') {
            out.push(',');
        }
        match v {
            Some(v) => push_f64(out, v, 6),
            None => out.push_str("null"),
        }
    }
    for metric in Metric::ALL {
        let v = m.get(metric);
        if !out.ends_with('[') {
            out.push(',');
        }
        out.push_str(if v.active { "true" } else { "false" });
        cell(out, v.scaled);
        if metric == Metric::Excitement {
            cell(out, m.long_term_excitement);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn met_values_follow_the_cols() {
        let mut m = MetSample::default();
        m.values[1].active = true;
        m.values[1].scaled = Some(0.25);
        m.long_term_excitement = Some(0.5);
        let mut out = String::from("[");
        write_met(&mut out, &m);
        out.push(']');
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let cols = cortex_api::streams::MET_COLS;
        assert_eq!(v.as_array().unwrap().len(), cols.len());
        let at = |name: &str| &v[cols.iter().position(|c| *c == name).unwrap()];
        assert_eq!(at("eng.isActive"), &serde_json::json!(true));
        assert_eq!(at("eng"), &serde_json::json!(0.25));
        assert_eq!(at("lex"), &serde_json::json!(0.5));
        assert_eq!(at("attention"), &serde_json::Value::Null);
        assert_eq!(at("int.isActive"), &serde_json::json!(false));
    }
}
