//! Acting out a [`VirtualScript`] on top of the virtual headset's background EEG: the eye,
//! muscle and band-power signals of each scripted event, sample by sample.
//!
//! Amplitudes are those of the literature for the EPOC's sites (docs/detections.md): blinks
//! 150 µV at AF3/AF4, gaze steps 80 µV at F7/F8 per side, muscle bursts 20 µV RMS in
//! 25–43 Hz. Each muscle burst's spatial weights are jittered by ±30 % so that no two are
//! alike.

use std::f64::consts::{PI, TAU};

use epoc_protocol::EEG_CHANNELS;

use crate::virtual_script::{Fault, ScriptAction, ScriptEvent, VirtualScript};

/// A channel's value replaced outright by a fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pin {
    /// Hold the channel at its DC level.
    Flat,
    /// This µV.
    At(f64),
}

/// Top of the ADC range, µV (railing).
const RAIL_UV: f64 = 65535.0 * 0.128_205_128_205_129;

// Sites in display order: AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6 F4 F8 AF4.
const BLINK: [f64; EEG_CHANNELS] = [
    1.0, 0.5, 0.2, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.2, 0.5, 1.0,
];
const WINK_LEFT: [f64; EEG_CHANNELS] = [
    1.0, 0.5, 0.25, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.1, 0.2,
];
const LOOK_LEFT: [f64; EEG_CHANNELS] = [
    0.3, 1.0, 0.1, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.2, -0.1, -1.0, -0.3,
];
const SURPRISE: [f64; EEG_CHANNELS] = [
    0.6, 0.4, 1.0, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 1.0, 0.4, 0.6,
];
const FROWN: [f64; EEG_CHANNELS] = [
    1.0, 0.3, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.3, 1.0,
];
const SMILE: [f64; EEG_CHANNELS] = [
    0.2, 0.9, 0.0, 0.5, 0.4, 0.0, 0.0, 0.0, 0.0, 0.4, 0.5, 0.0, 0.9, 0.2,
];
const CLENCH: [f64; EEG_CHANNELS] = [
    0.0, 0.7, 0.2, 0.9, 1.0, 0.4, 0.0, 0.0, 0.4, 1.0, 0.9, 0.2, 0.7, 0.0,
];
/// Where each mental command's rhythm shows ([`crate::virtual_script::MENTAL_ACTIONS`] order):
/// distinct spatial patterns, as imagined movements of different limbs give.
const THINK: [[f64; EEG_CHANNELS]; 13] = [
    [
        0.0, 0.2, 1.0, 0.8, 0.1, 0.0, 0.0, 0.0, 0.0, 0.1, 0.8, 1.0, 0.2, 0.0,
    ], // push: fronto-central
    [
        0.0, 0.0, 0.0, 0.1, 0.2, 1.0, 0.8, 0.8, 1.0, 0.2, 0.1, 0.0, 0.0, 0.0,
    ], // pull: parietal
    [
        0.0, 0.3, 0.0, 0.3, 1.0, 0.2, 0.0, 0.0, 0.2, 1.0, 0.3, 0.0, 0.3, 0.0,
    ], // lift: temporal
    [
        1.0, 0.6, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.6, 1.0,
    ], // drop: prefrontal
    [
        0.2, 0.6, 0.5, 1.0, 0.9, 0.6, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ], // left: left side
    [
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.6, 0.9, 1.0, 0.5, 0.6, 0.2,
    ], // right: right side
    [
        0.8, 0.0, 1.0, 0.0, 0.0, 0.0, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ], // rotateLeft
    [
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.6, 0.0, 0.0, 0.0, 1.0, 0.0, 0.8,
    ], // rotateRight
    [
        0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ], // rotateClockwise
    [
        0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0,
    ], // rotateCounterClockwise
    [
        0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0,
    ], // rotateForwards
    [
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ], // rotateReverse
    [
        0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
    ], // disappear: global
];
/// RMS of a mental command's rhythm at a site of weight 1, µV.
const THINK_UV: f64 = 6.0;

/// Beta (frontal and central) and theta (frontal) reach of the band-power states.
const BETA_SITES: [f64; EEG_CHANNELS] = [
    1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.5, 0.5, 0.6, 0.8, 1.0, 1.0, 1.0, 1.0,
];
const THETA_SITES: [f64; EEG_CHANNELS] = [
    1.0, 0.8, 1.0, 0.8, 0.6, 0.5, 0.4, 0.4, 0.5, 0.6, 0.8, 1.0, 0.8, 1.0,
];

const BLINK_UV: f64 = 150.0;
const LOOK_UV: f64 = 80.0;
const EMG_UV: f64 = 20.0;
/// EMG of a sensor over a tense muscle all along (the `emg:` fault), µV: three times a clench.
const HEAVY_EMG_UV: f64 = 60.0;
const BETA_UV: f64 = 3.0;
const THETA_UV: f64 = 3.0;
/// Seconds over which a band-power state is reached and left.
const STATE_RAMP_S: f64 = 5.0;
/// Seconds over which a gaze or a muscle burst comes and goes.
const EDGE_S: f64 = 0.05;

/// Band gains a state aims at: (alpha, beta, theta).
fn state_gains(action: ScriptAction) -> Option<(f64, f64, f64)> {
    match action {
        ScriptAction::Relaxed => Some((2.0, 0.7, 1.0)),
        ScriptAction::Engaged => Some((0.6, 2.0, 0.8)),
        ScriptAction::Neutral => Some((1.0, 1.0, 1.0)),
        _ => None,
    }
}

/// Narrow-band noise: white noise through `stages` two-pole resonators around `hz`, about
/// `bandwidth` wide, normalised to unit RMS. Several stages make the band's skirts fall steeply,
/// as a cortical rhythm's do, instead of leaking into the muscle band.
#[derive(Debug, Clone)]
struct Resonator {
    a1: f64,
    a2: f64,
    gain: f64,
    state: Vec<(f64, f64)>,
}

impl Resonator {
    fn new(hz: f64, bandwidth: f64, rate: f64, stages: usize) -> Self {
        let r = 1.0 - PI * bandwidth / rate;
        let c = (TAU * hz / rate).cos();
        let mut unit = Resonator {
            a1: 2.0 * r * c,
            a2: -r * r,
            gain: 1.0,
            state: vec![(0.0, 0.0); stages.max(1)],
        };
        // The RMS for unit white noise is the root energy of the impulse response.
        let mut probe = unit.clone();
        let energy: f64 = (0..16_384)
            .map(|i| probe.next(if i == 0 { 1.0 } else { 0.0 }).powi(2))
            .sum();
        unit.gain = 1.0 / energy.sqrt();
        unit
    }

    fn next(&mut self, x: f64) -> f64 {
        let mut v = x;
        for (y1, y2) in &mut self.state {
            let y = self.a1 * *y1 + self.a2 * *y2 + v;
            *y2 = *y1;
            *y1 = y;
            v = y;
        }
        v * self.gain
    }
}

#[derive(Debug, Clone)]
struct Active {
    event: ScriptEvent,
    weights: [f64; EEG_CHANNELS],
}

/// The scripted part of the signal.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    events: Vec<ScriptEvent>,
    next: usize,
    active: Vec<Active>,
    rate: f64,
    beta: Vec<Resonator>,
    theta: Vec<Resonator>,
    emg: Vec<Resonator>,
    /// One 12 Hz source per mental command.
    think: Vec<Resonator>,
}

impl Actor {
    pub(crate) fn new(script: &VirtualScript, rate: f64) -> Self {
        Actor {
            events: script.events.clone(),
            next: 0,
            active: Vec::new(),
            rate,
            beta: (0..EEG_CHANNELS)
                .map(|_| Resonator::new(20.0, 6.0, rate, 3))
                .collect(),
            theta: (0..EEG_CHANNELS)
                .map(|_| Resonator::new(6.0, 3.0, rate, 2))
                .collect(),
            emg: (0..EEG_CHANNELS)
                .map(|_| Resonator::new(36.0, 14.0, rate, 1))
                .collect(),
            think: (0..THINK.len())
                .map(|_| Resonator::new(12.0, 4.0, rate, 2))
                .collect(),
        }
    }

    /// Channels a fault pins at sample `n` (None: not pinned). Call after [`Actor::act`].
    pub(crate) fn pins(&self) -> [Option<Pin>; EEG_CHANNELS] {
        let mut out = [None; EEG_CHANNELS];
        for a in &self.active {
            if let ScriptAction::Fault(kind, ch) = a.event.action
                && let Some(slot) = out.get_mut(ch)
            {
                match kind {
                    Fault::Flat => *slot = Some(Pin::Flat),
                    Fault::Rail => *slot = Some(Pin::At(RAIL_UV)),
                    Fault::Mains | Fault::Loose | Fault::Emg => {}
                }
            }
        }
        out
    }

    /// The contact quality (0–4) each sensor reports now: a flat or railing sensor does not
    /// touch the scalp (0), a loose one is poor (2); mains and EMG pick-up leave contact good.
    pub(crate) fn contact(&self) -> [u8; EEG_CHANNELS] {
        let mut out = [4; EEG_CHANNELS];
        for a in &self.active {
            if let ScriptAction::Fault(kind, ch) = a.event.action
                && let Some(slot) = out.get_mut(ch)
            {
                let level = match kind {
                    Fault::Flat | Fault::Rail => 0,
                    Fault::Loose => 2,
                    Fault::Mains | Fault::Emg => 4,
                };
                *slot = (*slot).min(level);
            }
        }
        out
    }

    /// The alpha gain now, and the scripted µV of every channel at sample `n`. `noise` gives
    /// standard normal numbers.
    pub(crate) fn act(&mut self, n: u64, mut noise: impl FnMut() -> f64) -> (f64, [f64; EEG_CHANNELS]) {
        let t = n as f64 / self.rate;
        while let Some(e) = self.events.get(self.next)
            && e.start <= t
        {
            let base = match e.action {
                ScriptAction::Blink => BLINK,
                ScriptAction::WinkLeft => WINK_LEFT,
                ScriptAction::WinkRight => mirrored(WINK_LEFT),
                ScriptAction::LookLeft => LOOK_LEFT,
                ScriptAction::LookRight => LOOK_LEFT.map(|w| -w),
                ScriptAction::Surprise => SURPRISE,
                ScriptAction::Frown => FROWN,
                ScriptAction::Smile => SMILE,
                ScriptAction::Clench => CLENCH,
                ScriptAction::Think(i) => THINK.get(i).copied().unwrap_or([0.0; EEG_CHANNELS]),
                ScriptAction::Fault(..) => [0.0; EEG_CHANNELS],
                ScriptAction::Relaxed | ScriptAction::Engaged | ScriptAction::Neutral => [0.0; EEG_CHANNELS],
            };
            let jitter = matches!(
                e.action,
                ScriptAction::Surprise | ScriptAction::Frown | ScriptAction::Smile | ScriptAction::Clench
            );
            let weights = base.map(|w| {
                if jitter {
                    w * (1.0 + 0.3 * (noise() / 2.0).clamp(-1.0, 1.0))
                } else {
                    w
                }
            });
            self.active.push(Active { event: *e, weights });
            self.next += 1;
        }
        let mut gains = (1.0, 1.0, 1.0);
        let mut out = [0.0; EEG_CHANNELS];
        let mut emg_level = [0.0; EEG_CHANNELS];
        let mut thoughts: Vec<(usize, [f64; EEG_CHANNELS], f64)> = Vec::new();
        let mut faults_noise: Vec<(usize, f64)> = Vec::new();
        self.active.retain(|a| {
            let e = &a.event;
            let x = t - e.start;
            if let Some((ga, gb, gt)) = state_gains(e.action) {
                let k =
                    (x / STATE_RAMP_S).clamp(0.0, 1.0) - ((x - e.duration) / STATE_RAMP_S).clamp(0.0, 1.0);
                gains = (
                    gains.0 * (1.0 + (ga - 1.0) * k),
                    gains.1 * (1.0 + (gb - 1.0) * k),
                    gains.2 * (1.0 + (gt - 1.0) * k),
                );
                return x < e.duration + STATE_RAMP_S;
            }
            match e.action {
                ScriptAction::Blink | ScriptAction::WinkLeft | ScriptAction::WinkRight => {
                    let shape = 0.5 * (1.0 - (TAU * x / e.duration).cos());
                    add(&mut out, &a.weights, BLINK_UV * e.strength * shape);
                    x < e.duration
                }
                ScriptAction::Think(i) => {
                    thoughts.push((i, a.weights, THINK_UV * e.strength * plateau(x, e.duration)));
                    x < e.duration + EDGE_S
                }
                ScriptAction::Fault(kind, ch) => {
                    if let Some(o) = out.get_mut(ch) {
                        match kind {
                            Fault::Mains => *o += 40.0 * e.strength * (TAU * 50.0 * t).sin(),
                            Fault::Loose => faults_noise.push((ch, 60.0 * e.strength)),
                            Fault::Emg => {}
                            Fault::Flat | Fault::Rail => {}
                        }
                    }
                    if kind == Fault::Emg
                        && let Some(level) = emg_level.get_mut(ch)
                    {
                        *level += HEAVY_EMG_UV * e.strength;
                    }
                    x < e.duration
                }
                ScriptAction::LookLeft | ScriptAction::LookRight => {
                    add(
                        &mut out,
                        &a.weights,
                        LOOK_UV * e.strength * plateau(x, e.duration),
                    );
                    x < e.duration + EDGE_S
                }
                _ => {
                    add(
                        &mut emg_level,
                        &a.weights,
                        EMG_UV * e.strength * plateau(x, e.duration),
                    );
                    x < e.duration + EDGE_S
                }
            }
        });
        for (ch, level) in faults_noise {
            out[ch] += level * noise();
        }
        for (i, weights, level) in thoughts {
            if let Some(source) = self.think.get_mut(i) {
                add(&mut out, &weights, level * source.next(noise()));
            }
        }
        for ch in 0..EEG_CHANNELS {
            out[ch] += BETA_UV * gains.1 * BETA_SITES[ch] * self.beta[ch].next(noise());
            out[ch] += THETA_UV * gains.2 * THETA_SITES[ch] * self.theta[ch].next(noise());
            let emg = self.emg[ch].next(noise());
            out[ch] += emg_level[ch] * emg;
        }
        (gains.0, out)
    }
}

/// `out += weights × scale`, channel by channel.
fn add(out: &mut [f64; EEG_CHANNELS], weights: &[f64; EEG_CHANNELS], scale: f64) {
    for (o, w) in out.iter_mut().zip(weights) {
        *o += w * scale;
    }
}

/// 0 → 1 over [`EDGE_S`] (raised cosine), held, and back to 0 after `duration`.
fn plateau(x: f64, duration: f64) -> f64 {
    let edge = |v: f64| 0.5 - 0.5 * (PI * (v / EDGE_S).clamp(0.0, 1.0)).cos();
    edge(x) - edge(x - duration)
}

/// The same weights with left and right sites swapped.
fn mirrored(w: [f64; EEG_CHANNELS]) -> [f64; EEG_CHANNELS] {
    std::array::from_fn(|ch| w[EEG_CHANNELS - 1 - ch])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resonator_has_unit_rms() {
        let mut r = Resonator::new(20.0, 6.0, 256.0, 2);
        let mut state = 1u64;
        let mut normal = || {
            // Box–Muller on a simple LCG: enough for an RMS check.
            let mut u = || {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            (-2.0 * u().ln()).sqrt() * (TAU * u()).cos()
        };
        let n = 200_000;
        let power: f64 = (0..n).map(|_| r.next(normal()).powi(2)).sum::<f64>() / n as f64;
        assert!((power.sqrt() - 1.0).abs() < 0.05, "rms {}", power.sqrt());
    }

    #[test]
    fn display_order_mirrors_left_and_right() {
        // AF3 ↔ AF4, F7 ↔ F8, O1 ↔ O2.
        let m = mirrored(WINK_LEFT);
        assert_eq!((m[13], m[12], m[0]), (WINK_LEFT[0], WINK_LEFT[1], WINK_LEFT[13]));
    }

    #[test]
    fn a_blink_peaks_mid_way_and_ends() {
        let script = VirtualScript::parse("1 blink").unwrap();
        let mut a = Actor::new(&script, 256.0);
        let mut peak: f64 = 0.0;
        let mut at = 0;
        for n in 0..512 {
            let (_, out) = a.act(n, || 0.0);
            if out[0] > peak {
                (peak, at) = (out[0], n);
            }
        }
        assert!(
            (peak - BLINK_UV).abs() < 1.0 && (at as i64 - 256 - 32).abs() <= 1,
            "{peak} at {at}"
        );
        assert!(a.active.is_empty());
    }
}
