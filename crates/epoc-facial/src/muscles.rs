//! Surprise, frown, smile and clench from the EMG of the face muscles.
//!
//! The approach of MNE's muscle annotation (`annotate_muscle_zscore`): high-pass the EEG into
//! the muscle band, take each channel's envelope, z-score it, sum over channels divided by
//! √n, low-pass at 4 Hz, and call it muscle activity above a z of 4. MNE uses 110–140 Hz;
//! the EPOC's own filters pass only up to ~43 Hz (with notches at 50/60 Hz), so the band here
//! is 32 Hz up to that limit, through an 8th-order Butterworth high-pass so that beta (up to 25 Hz),
//! which rises with mental effort, stays out. Online, each channel's z-score is against a
//! running baseline learned while the face is at rest.
//!
//! Which expression: the spatial pattern of the excess envelope, compared (cosine
//! similarity) with one template per expression from where its muscles sit relative to the
//! EPOC sites (frontalis: surprise; corrugator: frown; zygomaticus: smile; masseter and
//! temporalis: clench). This is the universal signature; trained signatures are per user.

use biquad::Type;
use epoc_protocol::EEG_CHANNELS;

use crate::FaceAction;
use crate::filters::Chain;

/// Activity (summed z / √n) that [`power`](MuscleReading::power) maps to 1.
pub const FULL_SCALE_Z: f64 = 8.0;
/// The muscle band's lower edge, Hz: above beta (to 25 Hz), whose rise with mental effort
/// must not read as a muscle.
pub const EMG_LOW_HZ: f64 = 32.0;
/// The envelope's smoothing, Hz.
pub const ENVELOPE_HZ: f64 = 4.0;
/// Seconds before detections start (the baseline is learned).
pub const WARM_UP_S: f64 = 10.0;
/// Seconds of baseline memory.
const BASELINE_MEMORY_S: f64 = 20.0;
/// Seconds of baseline memory during muscle activity: a lasting change of the background
/// (a new electrode contact, a noisy room) is absorbed within a minute instead of reading as
/// an endless expression.
const ACTIVE_MEMORY_S: f64 = 30.0;
/// The baseline learns only while activity stays under this z.
pub const REST_Z: f64 = 2.0;
/// A burst ends after this long at rest (muscle activity flickers within one expression).
const END_AFTER_S: f64 = 0.3;
/// A burst is named once it has lasted this long (its first moments fit any pattern).
const NAME_AFTER_S: f64 = 0.15;

/// Where each expression shows, by site (AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6 F4 F8 AF4).
pub const TEMPLATES: [(FaceAction, [f64; EEG_CHANNELS]); 4] = [
    (
        FaceAction::Surprise,
        [
            0.6, 0.5, 1.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 1.0, 0.5, 0.6,
        ],
    ),
    (
        FaceAction::Frown,
        [
            1.0, 0.2, 0.5, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.5, 0.2, 1.0,
        ],
    ),
    (
        FaceAction::Smile,
        [
            0.3, 1.0, 0.2, 0.6, 0.3, 0.0, 0.0, 0.0, 0.0, 0.3, 0.6, 0.2, 1.0, 0.3,
        ],
    ),
    (
        FaceAction::Clench,
        [
            0.1, 0.8, 0.2, 0.8, 1.0, 0.3, 0.1, 0.1, 0.3, 1.0, 0.8, 0.2, 0.8, 0.1,
        ],
    ),
];

/// The muscle activity now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MuscleReading {
    /// The expression whose pattern fits best.
    pub action: FaceAction,
    /// Activity scaled to 0–1 (z / [`FULL_SCALE_Z`]).
    pub power: f64,
}

pub(crate) struct MuscleDetector {
    rate: f64,
    band: Vec<Chain>,
    smooth: Vec<Chain>,
    offset: Option<[f64; EEG_CHANNELS]>,
    envelope: [f64; EEG_CHANNELS],
    mean: [f64; EEG_CHANNELS],
    var: [f64; EEG_CHANNELS],
    /// The excess envelope summed since the current burst began: its pattern decides the
    /// expression, so one burst keeps one name.
    burst: Option<[f64; EEG_CHANNELS]>,
    burst_len: u64,
    /// Samples at rest since the burst was last active.
    resting: u64,
    /// The name a burst got when it was first named: it keeps it to its end.
    burst_action: Option<FaceAction>,
    /// The patterns bursts are named by: the universal templates, or the user's trained ones.
    templates: Vec<(FaceAction, [f64; EEG_CHANNELS])>,
    n: u64,
}

impl MuscleDetector {
    pub(crate) fn new(rate: f64) -> Self {
        let band = (0..EEG_CHANNELS)
            .map(|_| Chain::butterworth_high_pass(rate, EMG_LOW_HZ, 8))
            .collect();
        let smooth = (0..EEG_CHANNELS)
            .map(|_| {
                Chain::new(
                    rate,
                    &[(Type::LowPass, ENVELOPE_HZ), (Type::LowPass, ENVELOPE_HZ)],
                )
            })
            .collect();
        MuscleDetector {
            rate,
            band,
            smooth,
            offset: None,
            envelope: [0.0; EEG_CHANNELS],
            mean: [0.0; EEG_CHANNELS],
            var: [0.0; EEG_CHANNELS],
            burst: None,
            burst_len: 0,
            resting: 0,
            burst_action: None,
            templates: TEMPLATES.to_vec(),
            n: 0,
        }
    }

    /// One EEG sample (µV, display order).
    pub(crate) fn push(&mut self, uv: [f64; EEG_CHANNELS]) {
        let offset = *self.offset.get_or_insert(uv);
        for ch in 0..EEG_CHANNELS {
            let x = self.band[ch].run(uv[ch] - offset[ch]);
            self.envelope[ch] = self.smooth[ch].run(x * x).max(0.0).sqrt();
        }
        let warming = (self.n as f64) < WARM_UP_S * self.rate;
        let activity = self.activity();
        if warming || activity < REST_Z {
            self.resting += 1;
            if warming || self.resting as f64 > END_AFTER_S * self.rate {
                self.burst = None;
                self.burst_len = 0;
                self.burst_action = None;
            }
        } else {
            self.resting = 0;
            self.burst_len += 1;
            let sum = self.burst.get_or_insert([0.0; EEG_CHANNELS]);
            for ((total, e), m) in sum.iter_mut().zip(&self.envelope).zip(&self.mean) {
                *total += (e - m).max(0.0);
            }
            if self.burst_action.is_none() && self.burst_len as f64 >= NAME_AFTER_S * self.rate {
                let sum = *sum;
                self.burst_action = Some(self.name(&sum));
            }
        }
        // Fast at first, then a slow memory; while active, slower still, and each step
        // clipped to 2 SD (a Huber-type update): an expression barely moves the baseline, a
        // lasting change of the background is absorbed.
        let memory = if warming || activity < REST_Z {
            BASELINE_MEMORY_S
        } else {
            ACTIVE_MEMORY_S
        };
        let k = (1.0 / (self.n as f64 + 1.0)).max(1.0 / (memory * self.rate));
        for ch in 0..EEG_CHANNELS {
            let sd = self.var[ch].sqrt();
            let raw = self.envelope[ch] - self.mean[ch];
            let d = if warming {
                raw
            } else {
                raw.clamp(-2.0 * sd, 2.0 * sd)
            };
            self.mean[ch] += k * d;
            self.var[ch] += k * (d * d - self.var[ch]);
        }
        self.n += 1;
    }

    fn z(&self, ch: usize) -> f64 {
        let sd = self.var[ch].sqrt().max(0.05 * self.mean[ch]).max(1e-6);
        (self.envelope[ch] - self.mean[ch]) / sd
    }

    /// Summed z over channels / √n: MNE's muscle score.
    fn activity(&self) -> f64 {
        (0..EEG_CHANNELS).map(|ch| self.z(ch)).sum::<f64>() / (EEG_CHANNELS as f64).sqrt()
    }

    /// Use `trained` patterns for those expressions (the universal templates for the rest).
    pub(crate) fn set_templates(&mut self, trained: &[(FaceAction, [f64; EEG_CHANNELS])]) {
        self.templates = TEMPLATES.to_vec();
        for (action, pattern) in trained {
            if let Some(t) = self.templates.iter_mut().find(|(a, _)| a == action) {
                t.1 = *pattern;
            }
        }
    }

    /// The excess envelope per channel now and the activity, once warm.
    pub(crate) fn pattern(&self) -> Option<([f64; EEG_CHANNELS], f64)> {
        if (self.n as f64) < WARM_UP_S * self.rate {
            return None;
        }
        let excess = std::array::from_fn(|ch| (self.envelope[ch] - self.mean[ch]).max(0.0));
        Some((excess, self.activity()))
    }

    /// The expression whose template best fits `excess` (cosine similarity).
    fn name(&self, excess: &[f64; EEG_CHANNELS]) -> FaceAction {
        let norm = excess.iter().map(|e| e * e).sum::<f64>().sqrt();
        self.templates
            .iter()
            .map(|(action, t)| {
                let tn = t.iter().map(|w| w * w).sum::<f64>().sqrt();
                let dot: f64 = t.iter().zip(excess).map(|(w, e)| w * e).sum();
                (*action, dot / (tn * norm.max(1e-12)))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(FaceAction::Clench, |(a, _)| a)
    }

    /// The reading now; None while warming up or at rest (no positive activity).
    pub(crate) fn reading(&self) -> Option<MuscleReading> {
        if (self.n as f64) < WARM_UP_S * self.rate {
            return None;
        }
        let activity = self.activity();
        if activity <= 0.0 || (self.burst.is_some() && (self.burst_len as f64) < NAME_AFTER_S * self.rate) {
            return None;
        }
        let action = match (self.burst_action, &self.burst) {
            (Some(a), _) => a,
            (None, Some(sum)) => self.name(sum),
            (None, None) => self.name(&std::array::from_fn(|ch| {
                (self.envelope[ch] - self.mean[ch]).max(0.0)
            })),
        };
        Some(MuscleReading {
            action,
            power: (activity / FULL_SCALE_Z).clamp(0.0, 1.0),
        })
    }
}
