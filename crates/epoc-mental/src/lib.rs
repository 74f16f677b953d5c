//! Open mental commands: the Cortex `com` stream from a classifier trained per user
//! (docs/detections.md, "Mental commands"). Pure: fed samples, it returns decisions.
//!
//! Minimum distance to Riemannian mean (Barachant, Bonnet, Congedo & Jutten 2012,
//! *Multiclass brain–computer interface classification by Riemannian geometry*, IEEE TBME 59,
//! 920–928): each second of 8–30 Hz EEG becomes a 14×14 spatial covariance matrix; an action
//! is the class whose Riemannian mean of trained matrices is nearest. Few trials suffice and
//! any number of classes is handled, which suits Cortex's few 8 s training epochs.

pub mod features;
pub mod model;
pub mod spd;

use epoc_protocol::EEG_CHANNELS;

pub use features::{ARTEFACT_UV, BAND_HZ, Windower};
pub use model::{Classifier, DEFAULT_SENSITIVITY, Decision, Epoch, NEUTRAL, TrainedAction, TrainingSet};

/// `com` frames per second.
pub const COM_RATE_HZ: u16 = 8;
/// Seconds one training epoch records (`getTrainingTime`).
pub const TRAINING_SECONDS: f64 = 8.0;
/// Windows per second while training (every 0.5 s).
const TRAINING_WINDOWS_PER_S: f64 = 2.0;
/// An epoch with fewer usable windows than this fraction failed (poor contact, artefacts).
pub const MIN_USABLE: f64 = 0.5;

/// One `com` value.
#[derive(Debug, Clone, PartialEq)]
pub struct ComFrame {
    /// `neutral` or an active action.
    pub action: String,
    /// Confidence 0–1 (0 for neutral).
    pub power: f64,
}

/// Weight of the newest window in the smoothed class probabilities: with a frame every
/// 1/8 s, a change of mind shows within about half a second, and one odd window does not
/// flip the command.
pub const SMOOTHING: f64 = 0.5;

/// The live mental-command detector of one headset.
pub struct MentalCommands {
    windows: Windower,
    every: u64,
    n: u64,
    classifier: Option<Classifier>,
    sensitivity: Vec<(String, u8)>,
    smoothed: Vec<f64>,
}

impl MentalCommands {
    /// For EEG at `rate_hz`, with no classifier yet (it reports neutral).
    pub fn new(rate_hz: u16) -> Self {
        MentalCommands {
            windows: Windower::new(rate_hz),
            every: u64::from((rate_hz / COM_RATE_HZ).max(1)),
            n: 0,
            classifier: None,
            sensitivity: Vec::new(),
            smoothed: Vec::new(),
        }
    }

    /// Use `classifier` (None: untrained, always neutral) with these sensitivities.
    pub fn set_classifier(&mut self, classifier: Option<Classifier>, sensitivity: Vec<(String, u8)>) {
        self.classifier = classifier;
        self.sensitivity = sensitivity;
        self.smoothed.clear();
    }

    /// Feed one EEG sample (µV, display order); 8 times a second returns a frame.
    pub fn push(&mut self, uv: [f64; EEG_CHANNELS]) -> Option<ComFrame> {
        self.windows.push(uv);
        self.n += 1;
        if !self.n.is_multiple_of(self.every) {
            return None;
        }
        let neutral = ComFrame {
            action: NEUTRAL.to_owned(),
            power: 0.0,
        };
        let (Some(c), Some(cov)) = (&self.classifier, self.windows.covariance()) else {
            return Some(neutral);
        };
        let d = c.classify(&cov, &self.sensitivity);
        if self.smoothed.len() != d.probabilities.len() {
            self.smoothed = d.probabilities.clone();
        }
        for (s, p) in self.smoothed.iter_mut().zip(&d.probabilities) {
            *s += SMOOTHING * (p - *s);
        }
        let (best, power) = self
            .smoothed
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        let action = c.action(best).unwrap_or(NEUTRAL);
        Some(if action == NEUTRAL {
            neutral
        } else {
            ComFrame {
                action: action.to_owned(),
                power,
            }
        })
    }
}

/// Records one training epoch: a window every 0.5 s for [`TRAINING_SECONDS`].
pub struct EpochRecorder {
    windows: Windower,
    every: u64,
    n: u64,
    total: u64,
    taken: Vec<Vec<f64>>,
    attempted: usize,
}

/// How a training epoch ended.
#[derive(Debug, Clone, PartialEq)]
pub enum EpochResult {
    /// Enough usable windows.
    Succeeded(Epoch),
    /// Too many windows spoilt by artefacts or poor signal; the fraction usable.
    Failed(f64),
}

impl EpochRecorder {
    /// A recorder for EEG at `rate_hz`.
    pub fn new(rate_hz: u16) -> Self {
        let rate = f64::from(rate_hz.max(64));
        EpochRecorder {
            windows: Windower::new(rate_hz),
            every: (rate / TRAINING_WINDOWS_PER_S) as u64,
            n: 0,
            total: (rate * (TRAINING_SECONDS + features::WINDOW_S)) as u64,
            taken: Vec::new(),
            attempted: 0,
        }
    }

    /// Feed one sample; the result once the epoch is complete (the first second only fills
    /// the window).
    pub fn push(&mut self, uv: [f64; EEG_CHANNELS]) -> Option<EpochResult> {
        self.windows.push(uv);
        self.n += 1;
        let rate = self.every as f64 * TRAINING_WINDOWS_PER_S;
        if self.n as f64 > rate * features::WINDOW_S && self.n.is_multiple_of(self.every) {
            self.attempted += 1;
            if let Some(c) = self.windows.covariance() {
                self.taken.push(features::upper(&c));
            }
        }
        if self.n < self.total {
            return None;
        }
        let usable = self.taken.len() as f64 / self.attempted.max(1) as f64;
        Some(if usable >= MIN_USABLE {
            EpochResult::Succeeded(Epoch {
                windows: std::mem::take(&mut self.taken),
            })
        } else {
            EpochResult::Failed(usable)
        })
    }
}

#[cfg(test)]
mod tests;
