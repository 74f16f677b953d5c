//! Open facial-expression detection: the Cortex `fac` stream from published EOG and EMG
//! methods (docs/detections.md). Pure: fed samples, it returns frames; no clock, no I/O.

mod eyes;
mod filters;
mod muscles;

use epoc_protocol::EEG_CHANNELS;

pub use eyes::{EyeEvent, FLOOR_UV, LOOK_DOMINANCE, NOISE_FACTOR, WINK_RATIO};
pub use muscles::{EMG_LOW_HZ, ENVELOPE_HZ, FULL_SCALE_Z, MuscleReading, REST_Z, TEMPLATES};
pub use training::{ExpressionEpoch, ExpressionRecorder, trained_templates};

mod training;

/// `fac` frames per second.
pub const FAC_RATE_HZ: u16 = 32;

/// What the eyes did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EyeAction {
    /// Nothing.
    #[default]
    Neutral,
    /// Both eyes closed briefly.
    Blink,
    /// The left eye closed alone.
    WinkLeft,
    /// The right eye closed alone.
    WinkRight,
    /// A glance to the left.
    LookLeft,
    /// A glance to the right.
    LookRight,
}

impl EyeAction {
    /// The Cortex name (`eyeAct`).
    pub const fn name(self) -> &'static str {
        match self {
            EyeAction::Neutral => "neutral",
            EyeAction::Blink => "blink",
            EyeAction::WinkLeft => "winkL",
            EyeAction::WinkRight => "winkR",
            EyeAction::LookLeft => "lookL",
            EyeAction::LookRight => "lookR",
        }
    }
}

/// An expression of the upper or lower face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceAction {
    /// Eyebrows raised (upper face).
    Surprise,
    /// Eyebrows drawn together (upper face).
    Frown,
    /// Lower face.
    Smile,
    /// Teeth clenched (lower face).
    Clench,
}

impl FaceAction {
    /// Every expression the universal signature tells apart.
    pub const ALL: [FaceAction; 4] = [
        FaceAction::Surprise,
        FaceAction::Frown,
        FaceAction::Smile,
        FaceAction::Clench,
    ];

    /// The Cortex name (`uAct` / `lAct`).
    pub const fn name(self) -> &'static str {
        match self {
            FaceAction::Surprise => "surprise",
            FaceAction::Frown => "frown",
            FaceAction::Smile => "smile",
            FaceAction::Clench => "clench",
        }
    }

    /// The expression of this Cortex name.
    pub fn parse(name: &str) -> Option<FaceAction> {
        FaceAction::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Upper face (`uAct`) rather than lower (`lAct`).
    pub const fn is_upper(self) -> bool {
        matches!(self, FaceAction::Surprise | FaceAction::Frown)
    }
}

/// One `fac` frame before per-session thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FacFrame {
    /// Index of the last sample the frame covers.
    pub sample: u64,
    /// An eye event decided since the last frame.
    pub eye: Option<EyeEvent>,
    /// Muscle activity now, if any.
    pub face: Option<MuscleReading>,
}

/// The default threshold of every expression (Cortex's 0–1000 scale).
pub const DEFAULT_THRESHOLD: u16 = 500;

/// Per-expression thresholds (0–1000): an expression is reported when its power × 1000
/// reaches it, so 500 is MNE's z of 4 and a higher value asks for a stronger expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds([u16; 4]);

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds([DEFAULT_THRESHOLD; 4])
    }
}

impl Thresholds {
    /// The threshold of `action`.
    pub fn get(&self, action: FaceAction) -> u16 {
        self.0[action as usize]
    }

    /// Set the threshold of `action` (clamped to 0–1000).
    pub fn set(&mut self, action: FaceAction, value: u16) {
        self.0[action as usize] = value.min(1000);
    }

    /// The `uAct, uPow, lAct, lPow` of `frame` under these thresholds.
    pub fn apply(&self, frame: &FacFrame) -> (&'static str, f64, &'static str, f64) {
        let mut out = ("neutral", 0.0, "neutral", 0.0);
        if let Some(r) = frame.face
            && r.power * 1000.0 >= f64::from(self.get(r.action))
        {
            if r.action.is_upper() {
                (out.0, out.1) = (r.action.name(), r.power);
            } else {
                (out.2, out.3) = (r.action.name(), r.power);
            }
        }
        out
    }
}

/// Facial-expression detection for one headset's EEG.
pub struct FacialDetector {
    eyes: eyes::EyeDetector,
    muscles: muscles::MuscleDetector,
    every: u64,
    n: u64,
    pending_eye: Option<EyeEvent>,
}

impl FacialDetector {
    /// A detector for EEG at `rate_hz`.
    pub fn new(rate_hz: u16) -> Self {
        let rate = f64::from(rate_hz.max(FAC_RATE_HZ));
        FacialDetector {
            eyes: eyes::EyeDetector::new(rate),
            muscles: muscles::MuscleDetector::new(rate),
            every: u64::from((rate_hz / FAC_RATE_HZ).max(1)),
            n: 0,
            pending_eye: None,
        }
    }

    /// Feed one EEG sample (µV, display order); 32 times a second returns a frame.
    pub fn push(&mut self, uv: [f64; EEG_CHANNELS]) -> Option<FacFrame> {
        // AF3, F7, F8, AF4 in display order.
        if let Some(e) = self.eyes.push([uv[0], uv[1], uv[12], uv[13]]) {
            self.pending_eye = Some(e);
        }
        self.muscles.push(uv);
        let sample = self.n;
        self.n += 1;
        if !self.n.is_multiple_of(self.every) {
            return None;
        }
        Some(FacFrame {
            sample,
            eye: self.pending_eye.take(),
            face: self.muscles.reading(),
        })
    }

    /// Name bursts with these trained patterns (a trained signature); the universal templates
    /// stay for expressions not among them. An empty list is the universal signature.
    pub fn set_signature(&mut self, trained: &[(FaceAction, [f64; EEG_CHANNELS])]) {
        self.muscles.set_templates(trained);
    }

    /// The muscle pattern now (excess envelope per channel) and its activity, once warm: what
    /// a training epoch records.
    pub fn muscle_pattern(&self) -> Option<([f64; EEG_CHANNELS], f64)> {
        self.muscles.pattern()
    }
}

#[cfg(test)]
mod tests;
