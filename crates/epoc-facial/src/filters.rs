//! Second-order Butterworth sections from the `biquad` crate, cascaded.

use biquad::{Biquad, Coefficients, DirectForm2Transposed, Q_BUTTERWORTH_F64, ToHertz, Type};

/// A chain of biquads run sample by sample.
#[derive(Clone)]
pub(crate) struct Chain(Vec<DirectForm2Transposed<f64>>);

impl Chain {
    /// `sections` of each `(type, corner Hz)` at `rate` Hz. A corner at or above Nyquist is
    /// left out (it would pass everything anyway).
    pub(crate) fn new(rate: f64, stages: &[(Type<f64>, f64)]) -> Self {
        let sections = stages
            .iter()
            .filter_map(|(kind, corner)| {
                Coefficients::<f64>::from_params(*kind, rate.hz(), corner.hz(), Q_BUTTERWORTH_F64).ok()
            })
            .map(DirectForm2Transposed::<f64>::new)
            .collect();
        Chain(sections)
    }

    /// An `order`-th order (even) Butterworth high-pass at `corner` Hz: sections with the
    /// Butterworth Q of each pole pair, so the stop band falls at `order` × 6 dB/octave.
    pub(crate) fn butterworth_high_pass(rate: f64, corner: f64, order: usize) -> Self {
        let pairs = order / 2;
        let sections = (1..=pairs)
            .filter_map(|k| {
                let theta = (2 * k - 1) as f64 * std::f64::consts::PI / (2 * order) as f64;
                let q = 1.0 / (2.0 * theta.cos());
                Coefficients::<f64>::from_params(Type::HighPass, rate.hz(), corner.hz(), q).ok()
            })
            .map(DirectForm2Transposed::<f64>::new)
            .collect();
        Chain(sections)
    }

    pub(crate) fn run(&mut self, x: f64) -> f64 {
        self.0.iter_mut().fold(x, |v, s| s.run(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    fn gain(chain: &mut Chain, rate: f64, f: f64) -> f64 {
        let n = (rate * 4.0) as usize;
        let mut peak: f64 = 0.0;
        for i in 0..n {
            let y = chain.run((TAU * f * i as f64 / rate).sin());
            if i > n / 2 {
                peak = peak.max(y.abs());
            }
        }
        peak
    }

    #[test]
    fn an_eighth_order_butterworth_is_3_db_down_at_its_corner_and_steep_below() {
        let make = || Chain::butterworth_high_pass(256.0, 32.0, 8);
        assert!((gain(&mut make(), 256.0, 32.0) - std::f64::consts::FRAC_1_SQRT_2).abs() < 0.02);
        // |H| = 1 / sqrt(1 + (w_c/w)^16) on the bilinear transform's warped frequencies
        // w = tan(pi f / fs): 0.016 at 20 Hz.
        assert!((gain(&mut make(), 256.0, 20.0) - 0.016).abs() < 0.003);
        assert!(gain(&mut make(), 256.0, 40.0) > 0.95);
    }

    #[test]
    fn a_band_pass_passes_the_band_and_stops_outside() {
        let make = || Chain::new(256.0, &[(Type::HighPass, 1.0), (Type::LowPass, 10.0)]);
        assert!(gain(&mut make(), 256.0, 4.0) > 0.9);
        assert!(gain(&mut make(), 256.0, 40.0) < 0.1);
        assert!(gain(&mut make(), 256.0, 0.1) < 0.05);
    }
}
