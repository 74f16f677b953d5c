//! The raw indices: each one a published band-power ratio over named EPOC sites
//! (docs/detections.md gives the formula and the paper of each).

use band_power::POW_VALUES;

/// Sites in display order (AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6 F4 F8 AF4).
pub(crate) mod site {
    pub const AF3: usize = 0;
    pub const F7: usize = 1;
    pub const F3: usize = 2;
    pub const FC5: usize = 3;
    pub const P7: usize = 5;
    pub const O1: usize = 6;
    pub const O2: usize = 7;
    pub const P8: usize = 8;
    pub const FC6: usize = 10;
    pub const F4: usize = 11;
    pub const F8: usize = 12;
    pub const AF4: usize = 13;
}
use site::*;

/// The metrics, in the order of the `met` columns (long-term excitement, which has no
/// index of its own, is derived from excitement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Attention: inverse frontal theta/beta ratio.
    Attention,
    /// Engagement: β/(α+θ) (Pope et al. 1995).
    Engagement,
    /// Excitement (arousal): frontal β/α (Ramirez & Vamvakousis 2012).
    Excitement,
    /// Stress (experimental): frontal high-beta/alpha.
    Stress,
    /// Relaxation: relative posterior alpha.
    Relaxation,
    /// Interest: frontal alpha asymmetry (Coan & Allen 2004).
    Interest,
}

impl Metric {
    /// Every metric, in `met` column order.
    pub const ALL: [Metric; 6] = [
        Metric::Attention,
        Metric::Engagement,
        Metric::Excitement,
        Metric::Stress,
        Metric::Relaxation,
        Metric::Interest,
    ];

    /// The `met` column stem (`eng` for `eng.isActive` and `eng`).
    pub const fn met_name(self) -> &'static str {
        match self {
            Metric::Attention => "attention",
            Metric::Engagement => "eng",
            Metric::Excitement => "exc",
            Metric::Stress => "str",
            Metric::Relaxation => "rel",
            Metric::Interest => "int",
        }
    }

    /// The export name (`PM.Engagement.Scaled`).
    pub const fn export_name(self) -> &'static str {
        match self {
            Metric::Attention => "Attention",
            Metric::Engagement => "Engagement",
            Metric::Excitement => "Excitement",
            Metric::Stress => "Stress",
            Metric::Relaxation => "Relaxation",
            Metric::Interest => "Interest",
        }
    }

    /// The sites the index reads: an artefact or poor contact there spoils it.
    pub const fn sites(self) -> &'static [usize] {
        match self {
            Metric::Attention | Metric::Excitement => &[AF3, F3, F4, AF4],
            Metric::Engagement => &[F3, FC5, P7, P8, FC6, F4],
            Metric::Stress => &[AF3, F7, F3, F4, F8, AF4],
            Metric::Relaxation => &[P7, O1, O2, P8],
            Metric::Interest => &[F3, F4],
        }
    }

    /// The raw index from band power (`pow`: mean µV²/Hz per band, sensor-major as the `pow`
    /// stream). None when a denominator is zero (a flat signal).
    pub fn raw(self, pow: &[f64; POW_VALUES]) -> Option<f64> {
        let sites = self.sites();
        let sum = |band: Band| -> f64 { sites.iter().map(|&ch| band.power(pow, ch)).sum() };
        let ratio = |num: f64, den: f64| (den > 0.0 && num.is_finite()).then(|| num / den);
        match self {
            Metric::Attention => ratio(sum(Band::Beta), sum(Band::Theta)),
            Metric::Engagement => ratio(sum(Band::Beta), sum(Band::Alpha) + sum(Band::Theta)),
            Metric::Excitement => ratio(sum(Band::Beta), sum(Band::Alpha)),
            Metric::Stress => ratio(sum(Band::BetaHigh), sum(Band::Alpha)),
            Metric::Relaxation => ratio(sum(Band::Alpha), sum(Band::Total)),
            Metric::Interest => {
                let (left, right) = (Band::Alpha.power(pow, F3), Band::Alpha.power(pow, F4));
                (left > 0.0 && right > 0.0).then(|| right.ln() - left.ln())
            }
        }
    }
}

/// Band powers integrated over their width (µV²): the `pow` values are mean densities, and
/// ratios of bands of different widths need the integral.
#[derive(Debug, Clone, Copy)]
enum Band {
    Theta,
    Alpha,
    /// betaL + betaH, 12–25 Hz.
    Beta,
    BetaHigh,
    /// theta to gamma, 4–45 Hz.
    Total,
}

impl Band {
    fn power(self, pow: &[f64; POW_VALUES], ch: usize) -> f64 {
        let density = |b: usize| pow[ch * 5 + b] * (band_power::BANDS[b].2 - band_power::BANDS[b].1);
        match self {
            Band::Theta => density(0),
            Band::Alpha => density(1),
            Band::Beta => density(2) + density(3),
            Band::BetaHigh => density(3),
            Band::Total => (0..5).map(density).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(theta: f64, alpha: f64, beta_l: f64, beta_h: f64, gamma: f64) -> [f64; POW_VALUES] {
        std::array::from_fn(|i| [theta, alpha, beta_l, beta_h, gamma][i % 5])
    }

    #[test]
    fn engagement_is_beta_over_alpha_plus_theta_integrated_over_band_widths() {
        // θ 4 Hz wide, α 4, βL 4, βH 9: with unit densities β = 13, α + θ = 8.
        let pow = flat(1.0, 1.0, 1.0, 1.0, 1.0);
        assert_eq!(Metric::Engagement.raw(&pow), Some(13.0 / 8.0));
        assert_eq!(Metric::Relaxation.raw(&pow), Some(4.0 / 41.0));
        assert_eq!(Metric::Interest.raw(&pow), Some(0.0));
    }

    #[test]
    fn more_right_frontal_alpha_means_more_interest() {
        let mut pow = flat(1.0, 1.0, 1.0, 1.0, 1.0);
        pow[site::F4 * 5 + 1] = std::f64::consts::E;
        assert!((Metric::Interest.raw(&pow).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_flat_signal_has_no_index() {
        let pow = [0.0; POW_VALUES];
        for m in Metric::ALL {
            assert_eq!(m.raw(&pow), None, "{m:?}");
        }
    }
}
