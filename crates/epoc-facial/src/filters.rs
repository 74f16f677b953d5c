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
    fn a_band_pass_passes_the_band_and_stops_outside() {
        let make = || Chain::new(256.0, &[(Type::HighPass, 1.0), (Type::LowPass, 10.0)]);
        assert!(gain(&mut make(), 256.0, 4.0) > 0.9);
        assert!(gain(&mut make(), 256.0, 40.0) < 0.1);
        assert!(gain(&mut make(), 256.0, 0.1) < 0.05);
    }
}
