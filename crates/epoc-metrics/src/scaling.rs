//! Per-user scaling: a raw index becomes 0–1 by where it falls within that user's own recent
//! values, which is what Emotiv's Raw/Min/Max/Scaled export columns imply.

use std::collections::VecDeque;

/// How many accepted raw values the distribution keeps: 5 minutes at 2 Hz.
pub const HISTORY: usize = 600;
/// Accepted values needed before a scaled value is given: 10 s at 2 Hz.
pub const WARM_UP: usize = 20;
/// The percentiles taken as the user's `Min` and `Max` (robust to a few outliers).
pub const LOW_PERCENTILE: f64 = 5.0;
/// See [`LOW_PERCENTILE`].
pub const HIGH_PERCENTILE: f64 = 95.0;

/// A raw value placed in its user's range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaled {
    /// The 5th percentile of the recent raw values.
    pub min: f64,
    /// The 95th percentile of the recent raw values.
    pub max: f64,
    /// `(raw − min) / (max − min)` clamped to 0–1 (0.5 when the range is empty).
    pub scaled: f64,
}

/// The running distribution of one index.
#[derive(Debug, Clone, Default)]
pub struct RunningScale {
    history: VecDeque<f64>,
    sorted: Vec<f64>,
}

impl RunningScale {
    /// Accept `raw` into the distribution, then place it (None during warm-up).
    pub fn accept(&mut self, raw: f64) -> Option<Scaled> {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(raw);
        if self.history.len() < WARM_UP {
            return None;
        }
        self.sorted.clear();
        self.sorted.extend(self.history.iter().copied());
        self.sorted.sort_by(f64::total_cmp);
        let min = percentile(&self.sorted, LOW_PERCENTILE);
        let max = percentile(&self.sorted, HIGH_PERCENTILE);
        let scaled = if max > min {
            ((raw - min) / (max - min)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        Some(Scaled { min, max, scaled })
    }
}

/// The `q`-th percentile of sorted values, interpolating linearly between the two nearest
/// ranks (the usual definition: rank `q/100 · (n − 1)`).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let rank = q / 100.0 * last as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(last);
    let frac = rank - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 5.0), 5.0);
        assert_eq!(percentile(&[1.0, 2.0], 50.0), 1.5);
        assert_eq!(percentile(&[3.0], 95.0), 3.0);
    }

    #[test]
    fn nothing_until_warm_then_values_place_within_the_range() {
        let mut s = RunningScale::default();
        for i in 0..WARM_UP - 1 {
            assert_eq!(s.accept(i as f64), None);
        }
        let top = s.accept(1000.0).unwrap();
        assert_eq!(top.scaled, 1.0);
        let low = s.accept(-5.0).unwrap();
        assert_eq!(low.scaled, 0.0);
        let mid = s.accept(9.0).unwrap();
        assert!(mid.scaled > 0.2 && mid.scaled < 0.8, "{mid:?}");
    }

    #[test]
    fn the_history_forgets_after_five_minutes() {
        let mut s = RunningScale::default();
        for _ in 0..HISTORY {
            s.accept(100.0);
        }
        for _ in 0..HISTORY {
            s.accept(1.0);
        }
        let r = s.accept(1.0).unwrap();
        assert_eq!((r.min, r.max), (1.0, 1.0));
    }
}
