//! The detections of a stored record, recomputed from its EEG for export: the same
//! `epoc-metrics` and `epoc-facial` code as the live `met` and `fac` streams, run from the
//! record's first sample, so every export of a record gives the same values
//! (docs/detections.md, "In records and exports").

use std::collections::{HashMap, VecDeque};

use epoc_facial::{FacFrame, FacialDetector, Thresholds};
use epoc_metrics::{MetSample, PerformanceMetrics};
use epoc_protocol::{DeviceState, Report};
use epoc_sample::Sample;

use super::TimedMarker;

/// The facial-expression cells of one CSV row (`FE.*`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct FeCells {
    /// `blink`, `winkL` or `winkR` whose onset is this row.
    pub blink_wink: Option<&'static str>,
    /// `lookL` or `lookR` whose onset is this row.
    pub horizontal: Option<&'static str>,
    /// Upper and lower face action and power, on the rows of `fac` frames.
    pub face: Option<(&'static str, f64, &'static str, f64)>,
}

/// Detections by EEG row index.
#[derive(Debug, Default)]
pub(crate) struct DetectionRows {
    pub met: HashMap<usize, MetSample>,
    pub fe: HashMap<usize, FeCells>,
}

/// The metrics and facial detector fed one EEG report at a time, with the contact quality
/// the reports carry, as the live `met` and `fac` streams are fed. The exports and
/// `epocd detect` walk stored or captured EEG with it.
pub struct DetectionWalker {
    device: DeviceState,
    metrics: Option<PerformanceMetrics>,
    facial: FacialDetector,
    ignore_contact: bool,
}

impl DetectionWalker {
    /// Metrics and facial expressions of EEG at `rate` Hz.
    pub fn new(rate: u16) -> Self {
        DetectionWalker {
            device: DeviceState::default(),
            metrics: Some(PerformanceMetrics::new(rate)),
            facial: FacialDetector::new(rate),
            ignore_contact: false,
        }
    }

    /// Facial expressions only (the metrics cost an FFT per window).
    pub fn facial_only(rate: u16) -> Self {
        DetectionWalker {
            metrics: None,
            ..DetectionWalker::new(rate)
        }
    }

    /// Take every sensor as well connected: for captures whose contact quality is unknown
    /// or wrong, where the metrics would otherwise reject every window.
    pub fn ignoring_contact(mut self) -> Self {
        self.ignore_contact = true;
        self
    }

    /// Feed one EEG report; a metrics update and a facial frame when they are due.
    pub fn step(&mut self, r: &Report) -> (Option<MetSample>, Option<FacFrame>) {
        self.device.update(r);
        let uv = r.eeg_microvolts();
        let contact = if self.ignore_contact {
            [4; epoc_protocol::EEG_CHANNELS]
        } else {
            self.device.levels
        };
        let met = self.metrics.as_mut().and_then(|m| m.push(uv, &contact));
        (met, self.facial.push(uv))
    }
}

/// Every detection of `eeg` (a record's EEG samples, in order), by row.
pub(crate) fn rows(eeg: &[Sample]) -> DetectionRows {
    let mut out = DetectionRows::default();
    let Some(first) = eeg.first() else { return out };
    let mut walker = DetectionWalker::new(first.report.mode.eeg_rate.hz());
    let thresholds = Thresholds::default();
    for (i, s) in eeg.iter().enumerate() {
        let (met, fac) = walker.step(&s.report);
        if let Some(m) = met {
            out.met.insert(i, m);
        }
        let Some(f) = fac else { continue };
        out.fe.entry(i).or_default().face = Some(thresholds.apply(&f));
        if let Some(e) = f.eye {
            let cells = out.fe.entry(e.onset as usize).or_default();
            let name = e.action.name();
            if name.starts_with("look") {
                cells.horizontal = Some(name);
            } else {
                cells.blink_wink = Some(name);
            }
        }
    }
    out
}

/// Seconds of neutral frames within one expression that do not split it in two (its power
/// may dip under the threshold for a frame or so).
pub(crate) const JOIN_GAP_S: f64 = 0.25;

/// Facial-expression events of a record's EEG as annotations (`FE:blink` at the blink's
/// onset; `FE:smile` over the span of the smile, gaps under [`JOIN_GAP_S`] joined),
/// streaming: constant memory.
pub(crate) fn facial_annotations<E>(
    eeg: impl Iterator<Item = Result<Sample, E>>,
) -> Result<Vec<TimedMarker>, E> {
    let mut out = Vec::new();
    let mut walker: Option<DetectionWalker> = None;
    // Times of recent samples, for eye events found after their onset.
    let mut recent: VecDeque<f64> = VecDeque::new();
    let mut n = 0u64;
    let thresholds = Thresholds::default();
    let mut open: Option<(f64, &'static str, f64)> = None;
    for s in eeg {
        let s = s?;
        let w = walker.get_or_insert_with(|| DetectionWalker::facial_only(s.report.mode.eeg_rate.hz()));
        recent.push_back(s.time);
        if recent.len() > 4096 {
            recent.pop_front();
        }
        let (_, fac) = w.step(&s.report);
        n += 1;
        let Some(f) = fac else { continue };
        if let Some(e) = f.eye {
            let back = (n - 1 - e.onset) as usize;
            let at = recent
                .len()
                .checked_sub(1 + back)
                .and_then(|i| recent.get(i))
                .copied();
            out.push(TimedMarker {
                start: at.unwrap_or(s.time),
                end: None,
                text: format!("FE:{}", e.action.name()),
            });
        }
        let (u, _, l, _) = thresholds.apply(&f);
        let act = [u, l].into_iter().find(|a| *a != "neutral");
        match (act, open) {
            (Some(a), Some((start, b, end))) if a == b && s.time - end < JOIN_GAP_S => {
                open = Some((start, b, s.time))
            }
            (None, Some((_, _, end))) if s.time - end < JOIN_GAP_S => {}
            (act, prev) => {
                if let Some((start, name, end)) = prev {
                    out.push(TimedMarker {
                        start,
                        end: Some(end),
                        text: format!("FE:{name}"),
                    });
                }
                open = act.map(|a| (s.time, a, s.time));
            }
        }
    }
    if let Some((start, name, end)) = open {
        out.push(TimedMarker {
            start,
            end: Some(end),
            text: format!("FE:{name}"),
        });
    }
    Ok(out)
}
