//! Signal-based EEG quality per sensor: what `eq` should report instead of repeating contact
//! quality. After the EEG Quality Index (Fickling, Liu, D'Arcy, Hajra, Song & Ghosh (2019),
//! *Good data? The EEG Quality Index for automated assessment of signal quality*, IEEE
//! IEMCON): each second of each channel is scored on features that separate clean EEG from
//! artefact, and the scores make a grade on Cortex's 0–4 scale, capped by contact quality.
//! The EQI scores features against the distribution of a clean baseline recording; epocd has
//! no such recording of the wearer, so each feature has fixed poor/bad limits set where clean
//! scalp EEG never goes (docs/detections.md, "EEG quality").

use epoc_protocol::EEG_CHANNELS;
use std::f64::consts::TAU;

/// Highest µV an EPOC ADC reads (16-bit counts × 0.128205 µV).
pub const ADC_TOP_UV: f64 = 65535.0 * 0.128_205_128_205_129;
/// A sample this close (µV) to either end of the ADC range is railing.
pub const RAIL_MARGIN_UV: f64 = 80.0;
/// A window whose standard deviation is under this (µV) is flat: no signal reaches the ADC.
pub const FLAT_UV: f64 = 0.5;

/// Why a window got its grade: each feature's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Stuck near an end of the ADC range.
    pub railing: bool,
    /// No variation at all.
    pub flat: bool,
    /// Penalty 0 (fine), 1 (poor) or 2 (bad) per feature: RMS amplitude, line noise, largest
    /// sample-to-sample step, zero-crossing rate, kurtosis.
    pub penalties: [u8; 5],
}

impl Verdict {
    /// The grade 0–4 before the contact cap.
    pub fn grade(&self) -> u8 {
        if self.railing || self.flat {
            return 0;
        }
        let total: u8 = self.penalties.iter().sum();
        4u8.saturating_sub(total)
    }
}

/// Score one second of one channel (µV, DC included) sampled at `rate` Hz.
pub fn score(window: &[f64], rate: f64) -> Verdict {
    let n = window.len().max(1) as f64;
    let railing = window
        .iter()
        .filter(|v| **v < RAIL_MARGIN_UV || **v > ADC_TOP_UV - RAIL_MARGIN_UV)
        .count() as f64
        > 0.1 * n;
    let mean = window.iter().sum::<f64>() / n;
    let centred: Vec<f64> = window.iter().map(|v| v - mean).collect();
    let var = centred.iter().map(|v| v * v).sum::<f64>() / n;
    let sd = var.sqrt();
    let flat = sd < FLAT_UV;
    if railing || flat {
        return Verdict {
            railing,
            flat,
            penalties: [0; 5],
        };
    }
    let level = |x: f64, poor: f64, bad: f64| u8::from(x > poor) + u8::from(x > bad);
    // 1. Amplitude: scalp EEG is tens of µV; far more is movement, a loose sensor or EMG.
    let amplitude = level(sd, 50.0, 120.0);
    // 2. Line noise: the share of power at 50 and 60 Hz (Goertzel), where the headset notches.
    let line_power = [50.0, 60.0]
        .iter()
        .filter(|f| **f < rate / 2.0)
        .map(|f| goertzel_power(&centred, *f, rate))
        .sum::<f64>();
    let line = level(line_power / var.max(f64::MIN_POSITIVE), 0.2, 0.5);
    // 3. Gradient: the largest step between samples (spikes, pops).
    let step = centred
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f64::max);
    let gradient = level(step, 40.0, 100.0);
    // 4. Zero crossings per second: EEG is dominated by < 20 Hz; far more is broadband noise.
    let crossings = centred
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count() as f64
        * rate
        / n;
    let zero = level(crossings, 0.25 * rate, 0.4 * rate);
    // 5. Kurtosis: clean EEG is near-Gaussian (3); spikes and blinks make it heavy-tailed.
    let kurtosis = centred.iter().map(|v| v.powi(4)).sum::<f64>() / n / (var * var).max(f64::MIN_POSITIVE);
    let tails = level(kurtosis, 6.0, 12.0);
    Verdict {
        railing,
        flat,
        penalties: [amplitude, line, gradient, zero, tails],
    }
}

/// Mean power of `x` at frequency `f` (one bin, Goertzel), normalised so a sine of amplitude
/// A gives A²/2.
fn goertzel_power(x: &[f64], f: f64, rate: f64) -> f64 {
    let w = TAU * f / rate;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for v in x {
        let s = v + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - c * s1 * s2;
    let n = x.len().max(1) as f64;
    2.0 * power / (n * n)
}

/// Per-second grades of one headset's 14 channels.
pub struct SignalQuality {
    rate: f64,
    window: Vec<[f64; EEG_CHANNELS]>,
    grades: [u8; EEG_CHANNELS],
}

impl SignalQuality {
    /// For EEG at `rate_hz`.
    pub fn new(rate_hz: u16) -> Self {
        SignalQuality {
            rate: f64::from(rate_hz.max(1)),
            window: Vec::with_capacity(usize::from(rate_hz)),
            grades: [0; EEG_CHANNELS],
        }
    }

    /// Feed one sample (µV) with the current contact levels; once a second, the grades (each
    /// capped by its contact level).
    pub fn push(
        &mut self,
        uv: [f64; EEG_CHANNELS],
        contact: &[u8; EEG_CHANNELS],
    ) -> Option<[u8; EEG_CHANNELS]> {
        self.window.push(uv);
        if (self.window.len() as f64) < self.rate {
            return None;
        }
        let mut column = Vec::with_capacity(self.window.len());
        for ch in 0..EEG_CHANNELS {
            column.clear();
            column.extend(self.window.iter().map(|s| s[ch]));
            self.grades[ch] = score(&column, self.rate).grade().min(contact[ch]);
        }
        self.window.clear();
        Some(self.grades)
    }
}

/// Overall quality 0–100 from per-sensor grades: the mean grade as a percentage.
pub fn overall(grades: &[u8; EEG_CHANNELS]) -> u8 {
    let sum: u32 = grades.iter().map(|g| u32::from(*g)).sum();
    (sum * 100 / (4 * EEG_CHANNELS as u32)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f64 = 256.0;

    fn noise(n: usize) -> f64 {
        let x = (n as u64)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
            >> 11;
        (x % 2_000_000) as f64 / 1_000_000.0 - 1.0
    }

    /// Clean-ish EEG: 10 Hz alpha of 15 µV, 6 Hz theta of 8 µV and a little noise, at 4200 µV.
    fn clean(n: usize) -> f64 {
        let t = n as f64 / RATE;
        4200.0 + 15.0 * (TAU * 10.0 * t).sin() + 8.0 * (TAU * 6.0 * t + 1.0).sin() + 3.0 * noise(n)
    }

    fn window(f: impl Fn(usize) -> f64) -> Vec<f64> {
        (0..256).map(f).collect()
    }

    #[test]
    fn clean_eeg_is_good() {
        let v = score(&window(clean), RATE);
        assert_eq!(v.grade(), 4, "{v:?}");
    }

    #[test]
    fn flat_and_railing_sensors_are_zero() {
        assert!(score(&window(|_| 4200.0), RATE).flat);
        assert_eq!(score(&window(|_| 4200.0), RATE).grade(), 0);
        let rail = score(&window(|n| ADC_TOP_UV - 10.0 + noise(n)), RATE);
        assert!(rail.railing && rail.grade() == 0, "{rail:?}");
        let low = score(&window(|n| 20.0 + 5.0 * noise(n)), RATE);
        assert!(low.railing, "{low:?}");
    }

    #[test]
    fn mains_noise_is_caught_by_its_line_feature() {
        let v = score(
            &window(|n| clean(n) + 40.0 * (TAU * 50.0 * n as f64 / RATE).sin()),
            RATE,
        );
        assert_eq!(v.penalties[1], 2, "{v:?}");
        assert!(v.grade() <= 2, "{v:?}");
    }

    #[test]
    fn heavy_emg_and_spikes_lower_the_grade() {
        let emg = score(&window(|n| clean(n) + 60.0 * noise(n * 7 + 3)), RATE);
        assert!(emg.grade() <= 2, "{emg:?}");
        let spike = score(&window(|n| clean(n) + if n == 128 { 300.0 } else { 0.0 }), RATE);
        assert!(spike.penalties[2] == 2 && spike.penalties[4] >= 1, "{spike:?}");
    }

    #[test]
    fn grades_never_exceed_contact_and_come_once_a_second() {
        let mut q = SignalQuality::new(256);
        let mut contact = [4u8; EEG_CHANNELS];
        contact[3] = 1;
        let mut out = None;
        for n in 0..256 {
            let s = [clean(n); EEG_CHANNELS];
            let r = q.push(s, &contact);
            if n < 255 {
                assert!(r.is_none());
            }
            out = r;
        }
        let g = out.unwrap();
        assert_eq!(g[3], 1);
        assert_eq!(g[0], 4);
        assert_eq!(overall(&[4; EEG_CHANNELS]), 100);
        assert_eq!(overall(&g), ((13 * 4 + 1) * 100 / 56) as u8);
    }
}
