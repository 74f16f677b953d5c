//! Trained facial signatures: an 8 s training epoch of one expression records the user's own
//! muscle pattern (the excess envelope per channel while the muscles are active); the trained
//! signature names bursts by those patterns instead of the universal templates.

use epoc_protocol::EEG_CHANNELS;

use crate::muscles::REST_Z;
use crate::{FaceAction, FacialDetector};

/// Seconds an expression training epoch records.
pub const TRAINING_SECONDS: f64 = 8.0;
/// Share of an expression epoch that must show muscle activity (a neutral one: rest).
const MIN_SHARE: f64 = 0.25;

/// How an expression epoch ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpressionEpoch {
    /// The user's pattern for the expression (unit length; empty for neutral).
    Succeeded(Vec<f64>),
    /// Not enough of the epoch matched (no expression held, or no rest for neutral); the
    /// share that did.
    Failed(f64),
}

/// Records one expression epoch from a running [`FacialDetector`].
pub struct ExpressionRecorder {
    action: Option<FaceAction>,
    sum: [f64; EEG_CHANNELS],
    matching: u64,
    seen: u64,
    total: u64,
}

impl ExpressionRecorder {
    /// An epoch of `action` (None: neutral) at `rate_hz`.
    pub fn new(action: Option<FaceAction>, rate_hz: u16) -> Self {
        ExpressionRecorder {
            action,
            sum: [0.0; EEG_CHANNELS],
            matching: 0,
            seen: 0,
            total: (f64::from(rate_hz) * TRAINING_SECONDS) as u64,
        }
    }

    /// Call after each sample the detector was fed; the result once the epoch is complete.
    /// The epoch starts once the detector is warm (its muscle baseline learnt).
    pub fn push(&mut self, detector: &FacialDetector) -> Option<ExpressionEpoch> {
        let (excess, activity) = detector.muscle_pattern()?;
        self.seen += 1;
        let active = activity >= REST_Z;
        if active == self.action.is_some() {
            self.matching += 1;
            if active {
                for (s, e) in self.sum.iter_mut().zip(excess) {
                    *s += e;
                }
            }
        }
        if self.seen < self.total {
            return None;
        }
        let share = self.matching as f64 / self.total.max(1) as f64;
        if share < MIN_SHARE {
            return Some(ExpressionEpoch::Failed(share));
        }
        if self.action.is_none() {
            return Some(ExpressionEpoch::Succeeded(Vec::new()));
        }
        let norm = self.sum.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        Some(ExpressionEpoch::Succeeded(
            self.sum.iter().map(|v| v / norm).collect(),
        ))
    }
}

/// The trained signature of stored epochs: per expression, the normalised mean of its epochs'
/// patterns (epochs of the wrong length are skipped).
pub fn trained_templates<'a>(
    epochs: impl IntoIterator<Item = (&'a str, &'a [f64])>,
) -> Vec<(FaceAction, [f64; EEG_CHANNELS])> {
    let mut out: Vec<(FaceAction, [f64; EEG_CHANNELS])> = Vec::new();
    for (name, pattern) in epochs {
        let (Some(action), true) = (FaceAction::parse(name), pattern.len() == EEG_CHANNELS) else {
            continue;
        };
        let slot = match out.iter_mut().position(|(a, _)| *a == action) {
            Some(i) => &mut out[i].1,
            None => {
                out.push((action, [0.0; EEG_CHANNELS]));
                let last = out.len() - 1;
                &mut out[last].1
            }
        };
        for (s, p) in slot.iter_mut().zip(pattern) {
            *s += p;
        }
    }
    for (_, t) in &mut out {
        let norm = t.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        for v in t.iter_mut() {
            *v /= norm;
        }
    }
    out
}
