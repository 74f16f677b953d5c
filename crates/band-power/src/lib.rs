//! Band power per channel over a sliding 2 s window: the live `pow` stream and the `BP`
//! columns of exported records compute it the same way, so both live here.

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

use epoc_protocol::EEG_CHANNELS;

/// Band names and edges in Hz (docs/cortex-api.md, "Streams"): theta 4–8, alpha 8–12, betaL 12–16,
/// betaH 16–25, gamma 25–45.
pub const BANDS: [(&str, f64, f64); 5] = [
    ("theta", 4.0, 8.0),
    ("alpha", 8.0, 12.0),
    ("betaL", 12.0, 16.0),
    ("betaH", 16.0, 25.0),
    ("gamma", 25.0, 45.0),
];

/// How many band-power values a second: the `pow` stream's rate.
pub const POW_RATE_HZ: u32 = 8;

/// Values in one `pow` frame: 5 bands for each of the 14 channels.
pub const POW_VALUES: usize = EEG_CHANNELS * 5;

/// Sliding-window band power: feed every EEG sample, compute when a frame is due.
pub struct BandPower {
    rate: f64,
    len: usize,
    history: Vec<[f64; EEG_CHANNELS]>,
    pos: usize,
    filled: usize,
    window: Vec<f64>,
    window_power: f64,
    fft: Arc<dyn Fft<f64>>,
    buf: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl BandPower {
    /// A 2 s window at `rate_hz`.
    pub fn new(rate_hz: u16) -> Self {
        let len = usize::from(rate_hz.max(2)) * 2;
        let window: Vec<f64> = (0..len)
            .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / len as f64).cos())
            .collect();
        let window_power = window.iter().map(|w| w * w).sum();
        let fft = FftPlanner::new().plan_fft_forward(len);
        let scratch = vec![Complex::default(); fft.get_inplace_scratch_len()];
        BandPower {
            rate: f64::from(rate_hz.max(2)),
            len,
            history: vec![[0.0; EEG_CHANNELS]; len],
            pos: 0,
            filled: 0,
            window,
            window_power,
            fft,
            buf: vec![Complex::default(); len],
            scratch,
        }
    }

    /// The sample rate this window was built for.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Add one EEG sample (µV, display order).
    pub fn push(&mut self, uv: [f64; EEG_CHANNELS]) {
        self.history[self.pos] = uv;
        self.pos = (self.pos + 1) % self.len;
        self.filled = (self.filled + 1).min(self.len);
    }

    /// Peak-to-peak amplitude (µV) of each channel over the window so far: how detections
    /// tell a window spoilt by an artefact (a blink, a movement) from EEG.
    pub fn peak_to_peak(&self) -> [f64; EEG_CHANNELS] {
        let n = self.filled;
        std::array::from_fn(|ch| {
            let (lo, hi) = self.history[..n]
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
                    (lo.min(s[ch]), hi.max(s[ch]))
                });
            if n == 0 { 0.0 } else { hi - lo }
        })
    }

    /// True once a whole window was seen.
    pub fn is_full(&self) -> bool {
        self.filled == self.len
    }

    /// Absolute band power (µV²/Hz: the mean power spectral density within each band) per
    /// channel, sensor-major (`AF3/theta … AF4/gamma`). False until 2 s were seen.
    pub fn compute(&mut self, out: &mut [f64; POW_VALUES]) -> bool {
        if self.filled < self.len {
            return false;
        }
        let df = self.rate / self.len as f64;
        for ch in 0..EEG_CHANNELS {
            let mean = self.history.iter().map(|s| s[ch]).sum::<f64>() / self.len as f64;
            for i in 0..self.len {
                let v = self.history[(self.pos + i) % self.len][ch] - mean;
                self.buf[i] = Complex::new(v * self.window[i], 0.0);
            }
            self.fft.process_with_scratch(&mut self.buf, &mut self.scratch);
            for (b, (_, lo, hi)) in BANDS.iter().enumerate() {
                let k0 = ((lo / df).ceil() as usize).min(self.len / 2);
                let k1 = ((hi / df).ceil() as usize).clamp(k0, self.len / 2);
                let bins = &self.buf[k0..k1];
                let psd: f64 = bins
                    .iter()
                    .map(|c| 2.0 * c.norm_sqr() / (self.rate * self.window_power))
                    .sum();
                out[ch * 5 + b] = psd / bins.len().max(1) as f64;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_10hz_sine_puts_its_power_in_alpha_with_the_right_density() {
        let mut bp = BandPower::new(256);
        let amp = 20.0; // µV
        for n in 0..512 {
            let v = 4200.0 + amp * (std::f64::consts::TAU * 10.0 * n as f64 / 256.0).sin();
            bp.push([v; EEG_CHANNELS]);
        }
        let mut out = [0.0; POW_VALUES];
        assert!(bp.compute(&mut out));
        let (theta, alpha, beta_l) = (out[0], out[1], out[2]);
        assert!(alpha > 100.0 * theta && alpha > 100.0 * beta_l, "{out:?}");
        // Parseval: mean PSD over the 4 Hz alpha band × 4 Hz ≈ the sine's power amp²/2.
        let power = alpha * 4.0;
        assert!(
            (power - amp * amp / 2.0).abs() / (amp * amp / 2.0) < 0.05,
            "power {power}"
        );
    }

    #[test]
    fn nothing_before_the_window_is_full() {
        let mut bp = BandPower::new(128);
        bp.push([0.0; EEG_CHANNELS]);
        assert!(!bp.compute(&mut [0.0; POW_VALUES]));
    }
}
