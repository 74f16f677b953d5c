//! From EEG to spatial covariance matrices: each channel band-passed 8–30 Hz (the mu and beta
//! rhythms whose spatial pattern changes with imagined movement), then the regularised
//! covariance of the last second, every 1/8 s.

use biquad::{Biquad, Coefficients, DirectForm2Transposed, Q_BUTTERWORTH_F64, ToHertz, Type};
use epoc_protocol::EEG_CHANNELS;
use nalgebra::DMatrix;

/// The band, Hz.
pub const BAND_HZ: (f64, f64) = (8.0, 30.0);
/// Window length in seconds.
pub const WINDOW_S: f64 = 1.0;
/// A window whose raw peak-to-peak exceeds this on any channel holds an artefact (a blink, a
/// movement, a loose electrode) and is not used.
pub const ARTEFACT_UV: f64 = 200.0;
/// Shrinkage toward the scaled identity: C + ε·tr(C)/n·I keeps every matrix well inside the
/// positive-definite cone (flat or duplicated channels would make it singular).
pub const SHRINKAGE: f64 = 0.01;

/// Band-pass filters and the last window of samples of one headset.
pub struct Windower {
    filters: Vec<[DirectForm2Transposed<f64>; 4]>,
    offset: Option<[f64; EEG_CHANNELS]>,
    filtered: Vec<[f64; EEG_CHANNELS]>,
    raw: Vec<[f64; EEG_CHANNELS]>,
    pos: usize,
    filled: usize,
    len: usize,
}

impl Windower {
    /// For EEG at `rate_hz`.
    pub fn new(rate_hz: u16) -> Self {
        let rate = f64::from(rate_hz.max(64));
        let section = |kind, f: f64| {
            Coefficients::<f64>::from_params(kind, rate.hz(), f.hz(), Q_BUTTERWORTH_F64)
                .map(DirectForm2Transposed::<f64>::new)
        };
        let filters = (0..EEG_CHANNELS)
            .filter_map(|_| {
                Some([
                    section(Type::HighPass, BAND_HZ.0).ok()?,
                    section(Type::HighPass, BAND_HZ.0).ok()?,
                    section(Type::LowPass, BAND_HZ.1).ok()?,
                    section(Type::LowPass, BAND_HZ.1).ok()?,
                ])
            })
            .collect();
        let len = (rate * WINDOW_S) as usize;
        Windower {
            filters,
            offset: None,
            filtered: vec![[0.0; EEG_CHANNELS]; len],
            raw: vec![[0.0; EEG_CHANNELS]; len],
            pos: 0,
            filled: 0,
            len,
        }
    }

    /// Add one sample (µV, display order).
    pub fn push(&mut self, uv: [f64; EEG_CHANNELS]) {
        let offset = *self.offset.get_or_insert(uv);
        let mut out = [0.0; EEG_CHANNELS];
        for (ch, f) in self.filters.iter_mut().enumerate() {
            out[ch] = f.iter_mut().fold(uv[ch] - offset[ch], |v, s| s.run(v));
        }
        self.filtered[self.pos] = out;
        self.raw[self.pos] = uv;
        self.pos = (self.pos + 1) % self.len;
        self.filled = (self.filled + 1).min(self.len);
    }

    /// The covariance of the last window, or None while it is not full or holds an artefact.
    pub fn covariance(&self) -> Option<DMatrix<f64>> {
        if self.filled < self.len {
            return None;
        }
        for ch in 0..EEG_CHANNELS {
            let (lo, hi) = self
                .raw
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
                    (lo.min(s[ch]), hi.max(s[ch]))
                });
            if hi - lo > ARTEFACT_UV {
                return None;
            }
        }
        Some(covariance(&self.filtered))
    }
}

/// The regularised sample covariance of `window` (rows: samples), mean removed.
pub fn covariance(window: &[[f64; EEG_CHANNELS]]) -> DMatrix<f64> {
    let n = window.len().max(2) as f64;
    let mean: [f64; EEG_CHANNELS] =
        std::array::from_fn(|ch| window.iter().map(|s| s[ch]).sum::<f64>() / window.len().max(1) as f64);
    let mut c = DMatrix::<f64>::zeros(EEG_CHANNELS, EEG_CHANNELS);
    for s in window {
        for i in 0..EEG_CHANNELS {
            let di = s[i] - mean[i];
            for j in i..EEG_CHANNELS {
                c[(i, j)] += di * (s[j] - mean[j]);
            }
        }
    }
    for i in 0..EEG_CHANNELS {
        for j in i..EEG_CHANNELS {
            c[(i, j)] /= n - 1.0;
            c[(j, i)] = c[(i, j)];
        }
    }
    let load = SHRINKAGE * c.trace() / EEG_CHANNELS as f64;
    for i in 0..EEG_CHANNELS {
        c[(i, i)] += load.max(1e-9);
    }
    c
}

/// The upper triangle of a symmetric matrix, row by row (how profiles store matrices).
pub fn upper(m: &DMatrix<f64>) -> Vec<f64> {
    let n = m.nrows();
    (0..n)
        .flat_map(|i| (i..n).map(move |j| (i, j)))
        .map(|(i, j)| m[(i, j)])
        .collect()
}

/// The symmetric `n`×`n` matrix of an upper triangle; None if the length does not fit.
pub fn from_upper(v: &[f64], n: usize) -> Option<DMatrix<f64>> {
    if v.len() != n * (n + 1) / 2 {
        return None;
    }
    let mut m = DMatrix::zeros(n, n);
    let mut k = 0;
    for i in 0..n {
        for j in i..n {
            m[(i, j)] = v[k];
            m[(j, i)] = v[k];
            k += 1;
        }
    }
    Some(m)
}
