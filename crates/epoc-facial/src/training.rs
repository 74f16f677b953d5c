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

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const RATE: u16 = 256;

    fn noise(n: u64, ch: usize) -> f64 {
        let x = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add((ch as u64).wrapping_mul(1442695040888963407))
            >> 11;
        (x % 2_000_000) as f64 / 1_000_000.0 - 1.0
    }

    fn emg(n: u64) -> f64 {
        let t = n as f64 / f64::from(RATE);
        [34.0, 37.5, 41.0]
            .iter()
            .enumerate()
            .map(|(i, f)| (TAU * f * t + 7.0 * noise(n / 16, i)).sin())
            .sum::<f64>()
            * 8.0
    }

    /// This user's smile shows where the universal templates expect a clench.
    const ODD_SMILE: [f64; EEG_CHANNELS] = [
        0.0, 0.7, 0.2, 0.9, 1.0, 0.4, 0.0, 0.0, 0.4, 1.0, 0.9, 0.2, 0.7, 0.0,
    ];

    fn sample(n: u64, active: bool) -> [f64; EEG_CHANNELS] {
        std::array::from_fn(|ch| {
            4200.0 + 3.0 * noise(n, ch) + if active { ODD_SMILE[ch] * emg(n) } else { 0.0 }
        })
    }

    fn named_during(detector: &mut FacialDetector, from: u64, secs: u64) -> Vec<&'static str> {
        let t = crate::Thresholds::default();
        (from..from + secs * u64::from(RATE))
            .filter_map(|n| detector.push(sample(n, n - from > 64)))
            .map(|f| t.apply(&f).2)
            .filter(|a| *a != "neutral")
            .collect()
    }

    #[test]
    fn a_trained_signature_names_the_users_own_pattern() {
        let mut d = FacialDetector::new(RATE);
        let mut n = 0;
        for _ in 0..12 * u64::from(RATE) {
            d.push(sample(n, false));
            n += 1;
        }
        // Universal: the odd smile reads as a clench.
        let universal = named_during(&mut d, n, 3);
        n += 3 * u64::from(RATE);
        assert!(
            universal.iter().all(|a| *a == "clench") && !universal.is_empty(),
            "{universal:?}"
        );
        for _ in 0..2 * u64::from(RATE) {
            d.push(sample(n, false));
            n += 1;
        }
        // Train smile: hold it for the epoch.
        let mut rec = ExpressionRecorder::new(Some(FaceAction::Smile), RATE);
        let pattern = loop {
            d.push(sample(n, true));
            n += 1;
            if let Some(r) = rec.push(&d) {
                break r;
            }
        };
        let ExpressionEpoch::Succeeded(pattern) = pattern else {
            panic!("{pattern:?}")
        };
        for _ in 0..3 * u64::from(RATE) {
            d.push(sample(n, false));
            n += 1;
        }
        d.set_signature(&trained_templates([("smile", pattern.as_slice())]));
        let trained = named_during(&mut d, n, 3);
        assert!(
            trained.iter().all(|a| *a == "smile") && !trained.is_empty(),
            "{trained:?}"
        );
    }

    #[test]
    fn an_epoch_without_the_expression_fails() {
        let mut d = FacialDetector::new(RATE);
        let mut rec = ExpressionRecorder::new(Some(FaceAction::Frown), RATE);
        let mut n = 0;
        let r = loop {
            d.push(sample(n, false));
            n += 1;
            if let Some(r) = rec.push(&d) {
                break r;
            }
        };
        assert!(matches!(r, ExpressionEpoch::Failed(s) if s < 0.25), "{r:?}");
        // 10 s of warm-up, then the 8 s epoch.
        assert_eq!(
            n,
            18 * u64::from(RATE) - 1,
            "the epoch starts once the detector is warm"
        );
    }
}
