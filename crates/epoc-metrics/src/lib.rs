//! Open performance metrics: the Cortex `met` stream computed from published band-power
//! indices (docs/detections.md). Pure: fed samples, it returns values; no clock, no I/O.
//!
//! Every 0.5 s it takes the band power of the last 2 s (the `band-power` crate, the same as
//! the `pow` stream), computes each index over its sites, and, when the window is clean at
//! those sites (good contact, no artefact), accepts the raw value into that user's running
//! distribution, which scales it to 0–1.

mod indices;
mod scaling;

use band_power::{BandPower, POW_VALUES};
use epoc_protocol::EEG_CHANNELS;

pub use indices::Metric;
pub use scaling::{HIGH_PERCENTILE, HISTORY, LOW_PERCENTILE, RunningScale, Scaled, WARM_UP};

/// `met` values per second.
pub const MET_RATE_HZ: u16 = 2;
/// A window whose peak-to-peak exceeds this at a metric's sites holds an artefact (a blink
/// is 100–200 µV, EEG rarely over 100): the metric skips it.
pub const ARTEFACT_UV: f64 = 200.0;
/// The lowest contact level (0–4, as the `dev` stream) a metric's sites must have.
pub const MIN_CONTACT_LEVEL: u8 = 2;
/// A metric stays active this many updates (3 s) after its last accepted window.
pub const STALE_AFTER: u32 = 6;
/// Time constant of long-term excitement, the slow average of excitement, in seconds.
pub const LONG_TERM_SECONDS: f64 = 60.0;

/// One metric at one update.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MetricValue {
    /// Warm, and a clean window was accepted within the last 3 s.
    pub active: bool,
    /// The raw index of this window, when the window was clean (accepted).
    pub raw: Option<f64>,
    /// Where this window's raw value fell, once warm.
    pub scale: Option<Scaled>,
    /// The latest scaled value (held while windows are skipped; None until warm).
    pub scaled: Option<f64>,
}

/// One `met` update.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MetSample {
    /// In the order of [`Metric::ALL`].
    pub values: [MetricValue; 6],
    /// Long-term excitement: excitement's exponential average (None until excitement is warm).
    pub long_term_excitement: Option<f64>,
}

impl MetSample {
    /// The value of `metric`.
    pub fn get(&self, metric: Metric) -> &MetricValue {
        &self.values[metric as usize]
    }
}

#[derive(Debug, Clone, Default)]
struct MetricState {
    scale: RunningScale,
    scaled: Option<f64>,
    since_accepted: Option<u32>,
}

/// The metrics of one headset's EEG.
pub struct PerformanceMetrics {
    power: BandPower,
    every: u32,
    since: u32,
    pow: [f64; POW_VALUES],
    states: [MetricState; 6],
    long_term: Option<f64>,
}

impl PerformanceMetrics {
    /// Metrics for EEG at `rate_hz`.
    pub fn new(rate_hz: u16) -> Self {
        PerformanceMetrics {
            power: BandPower::new(rate_hz),
            every: u32::from((rate_hz / MET_RATE_HZ).max(1)),
            since: 0,
            pow: [0.0; POW_VALUES],
            states: Default::default(),
            long_term: None,
        }
    }

    /// Feed one EEG sample (µV, display order) with the current contact levels; every 0.5 s
    /// returns an update (inactive, with no values, until 2 s were seen: apps get `met`
    /// from the start and see it is not ready yet).
    pub fn push(&mut self, uv: [f64; EEG_CHANNELS], contact: &[u8; EEG_CHANNELS]) -> Option<MetSample> {
        self.power.push(uv);
        self.since += 1;
        if self.since < self.every {
            return None;
        }
        self.since = 0;
        if !self.power.compute(&mut self.pow) {
            return Some(MetSample::default());
        }
        let ptp = self.power.peak_to_peak();
        let mut out = MetSample::default();
        for (i, metric) in Metric::ALL.into_iter().enumerate() {
            let clean = metric
                .sites()
                .iter()
                .all(|&ch| ptp[ch] <= ARTEFACT_UV && contact[ch] >= MIN_CONTACT_LEVEL);
            let state = &mut self.states[i];
            let raw = if clean { metric.raw(&self.pow) } else { None };
            let mut value = MetricValue {
                raw,
                ..MetricValue::default()
            };
            state.since_accepted = state.since_accepted.map(|n| n.saturating_add(1));
            if let Some(raw) = raw {
                state.since_accepted = Some(0);
                value.scale = state.scale.accept(raw);
                if let Some(s) = value.scale {
                    state.scaled = Some(s.scaled);
                    if metric == Metric::Excitement {
                        let k = 1.0 / (LONG_TERM_SECONDS * f64::from(MET_RATE_HZ));
                        self.long_term = Some(match self.long_term {
                            Some(lex) => lex + k * (s.scaled - lex),
                            None => s.scaled,
                        });
                    }
                }
            }
            value.scaled = state.scaled;
            value.active = state.scaled.is_some() && state.since_accepted.is_some_and(|n| n < STALE_AFTER);
            out.values[i] = value;
        }
        out.long_term_excitement = self.long_term;
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const GOOD: [u8; EEG_CHANNELS] = [4; EEG_CHANNELS];

    /// A signal with alpha of amplitude `alpha` and beta (20 Hz) of `beta` on every channel,
    /// plus a little deterministic broadband noise.
    fn signal(n: u64, alpha: f64, beta: f64) -> [f64; EEG_CHANNELS] {
        let t = n as f64 / 128.0;
        let noise = ((n.wrapping_mul(2654435761) % 1000) as f64 / 1000.0 - 0.5) * 4.0;
        [4200.0 + alpha * (TAU * 10.0 * t).sin() + beta * (TAU * 20.0 * t).sin() + noise; EEG_CHANNELS]
    }

    fn run(m: &mut PerformanceMetrics, from: u64, secs: u64, alpha: f64, beta: f64) -> Vec<MetSample> {
        (from..from + secs * 128)
            .filter_map(|n| m.push(signal(n, alpha, beta), &GOOD))
            .collect()
    }

    #[test]
    fn two_updates_a_second_and_nothing_known_before_the_first_window() {
        let mut m = PerformanceMetrics::new(128);
        let out = run(&mut m, 0, 10, 10.0, 5.0);
        assert_eq!(out.len(), 20); // t = 0.5, 1.0, … 10.0
        assert!(out[..3].iter().all(|s| *s == MetSample::default()));
        assert!(
            out[3].values.iter().all(|v| v.raw.is_some()),
            "t = 2 s has a full window"
        );
    }

    #[test]
    fn inactive_and_null_while_warming_up_then_active() {
        let mut m = PerformanceMetrics::new(128);
        let out = run(&mut m, 0, 30, 10.0, 5.0);
        let out = &out[3..]; // from the first full window
        assert!(
            out[..WARM_UP - 1]
                .iter()
                .all(|s| s.values.iter().all(|v| !v.active && v.scaled.is_none()))
        );
        assert!(
            out[WARM_UP..]
                .iter()
                .all(|s| s.values.iter().all(|v| v.active && v.scaled.is_some()))
        );
        assert!(out.last().unwrap().long_term_excitement.is_some());
    }

    #[test]
    fn relaxation_rises_with_alpha_and_engagement_with_beta() {
        let mut m = PerformanceMetrics::new(128);
        run(&mut m, 0, 60, 10.0, 5.0);
        let relaxed = run(&mut m, 60 * 128, 10, 30.0, 5.0);
        let r = relaxed.last().unwrap();
        assert!(r.get(Metric::Relaxation).scaled.unwrap() > 0.9, "{r:?}");
        assert!(r.get(Metric::Engagement).scaled.unwrap() < 0.1, "{r:?}");
        let engaged = run(&mut m, 70 * 128, 10, 10.0, 20.0);
        let e = engaged.last().unwrap();
        assert!(e.get(Metric::Engagement).scaled.unwrap() > 0.9, "{e:?}");
        assert!(e.get(Metric::Relaxation).scaled.unwrap() < 0.1, "{e:?}");
    }

    #[test]
    fn an_artefact_skips_the_window_and_a_long_one_deactivates() {
        let mut m = PerformanceMetrics::new(128);
        run(&mut m, 0, 30, 10.0, 5.0);
        // A 400 µV swing on every channel for 5 s.
        let spoilt: Vec<MetSample> = (30 * 128..35 * 128)
            .filter_map(|n| {
                let mut s = signal(n, 10.0, 5.0);
                if n % 128 < 10 {
                    s = s.map(|v| v + 400.0);
                }
                m.push(s, &GOOD)
            })
            .collect();
        assert!(spoilt.iter().all(|s| s.values.iter().all(|v| v.raw.is_none())));
        assert!(!spoilt.last().unwrap().values[0].active);
        assert!(
            spoilt.last().unwrap().values[0].scaled.is_some(),
            "the last value is held"
        );
    }

    #[test]
    fn poor_contact_at_a_metrics_sites_spoils_only_that_metric() {
        let mut m = PerformanceMetrics::new(128);
        let mut contact = GOOD;
        contact[6] = 0; // O1: relaxation reads it, engagement does not
        let out: Vec<MetSample> = (0..5 * 128)
            .filter_map(|n| m.push(signal(n, 10.0, 5.0), &contact))
            .collect();
        let last = out.last().unwrap();
        assert!(last.get(Metric::Relaxation).raw.is_none());
        assert!(last.get(Metric::Engagement).raw.is_some());
    }
}
