//! Sample timestamps from the device counter, anchored to the host clock.
//!
//! USB and BLE deliver reports in bursts, so arrival time jitters by milliseconds. The
//! headset samples at a fixed rate, so the true time of sample `n` is `t0 + n / rate`. This
//! clock anchors `t0` on the first arrival and then nudges it toward the arrivals with a small
//! gain: jitter averages out, slow drift between the headset's crystal and the host clock is
//! followed, and consecutive timestamps stay spaced at the sample period.

/// Correction gain per sample: a time constant of ~2 s at 256 Hz.
const GAIN: f64 = 1.0 / 512.0;
/// The most one correction may move the clock, as a share of its error. One look at a
/// burst's newest report is uncertain by a sample period; a long idle burst (~38 reports)
/// would otherwise move the clock by 7 % of that each time: steps of ~0.1 ms between bursts.
const MAX_WEIGHT: f64 = 1.0 / 64.0;
/// An error this large is no longer drift (a stall, a suspended host): start over.
const REANCHOR_SECS: f64 = 1.0;

/// The timestamp source of one stream.
#[derive(Debug, Clone)]
pub struct StreamClock {
    period: f64,
    follow_host: bool,
    anchor: Option<(f64, u64)>,
    /// The index of the last sample that corrected the anchor.
    last_observed: Option<u64>,
}

impl StreamClock {
    /// A clock for `rate_hz` samples per second. With `follow_host` false (replay as fast as
    /// possible) only the first arrival is used and times follow the counter exactly.
    pub fn new(rate_hz: f64, follow_host: bool) -> Self {
        StreamClock {
            period: 1.0 / rate_hz.max(1.0),
            follow_host,
            anchor: None,
            last_observed: None,
        }
    }

    /// Change the rate (a 16-bit stream learned to be 256 Hz) without moving the last time.
    pub fn set_rate(&mut self, rate_hz: f64, at_index: u64) {
        if let Some((t0, i0)) = self.anchor {
            let now = t0 + (at_index - i0.min(at_index)) as f64 * self.period;
            self.anchor = Some((now, at_index));
        }
        self.period = 1.0 / rate_hz.max(1.0);
    }

    /// Forget the anchor (after a reconnect the counter restarts).
    pub fn reset(&mut self) {
        self.anchor = None;
        self.last_observed = None;
    }

    /// The sample period in seconds.
    pub fn period(&self) -> f64 {
        self.period
    }

    /// The timestamp of sample `index`, which arrived at host time `arrival` (Unix seconds).
    pub fn stamp(&mut self, index: u64, arrival: f64) -> f64 {
        self.observe(index, arrival);
        self.predict(index, arrival)
    }

    /// The timestamp of sample `index` from the counter alone (no correction); `arrival` is
    /// used only if there is no anchor yet, or the counter went back.
    pub fn predict(&mut self, index: u64, arrival: f64) -> f64 {
        match self.anchor {
            Some((t0, i0)) if index >= i0 => t0 + (index - i0) as f64 * self.period,
            _ => self.anchor_at(index, arrival),
        }
    }

    /// Start over: sample `index` is at `arrival`.
    fn anchor_at(&mut self, index: u64, arrival: f64) -> f64 {
        self.anchor = Some((arrival, index));
        self.last_observed = Some(index);
        arrival
    }

    /// Sample `index` arrived at host time `arrival`: nudge the anchor toward it, by the gain
    /// per sample times the samples since the last correction.
    pub fn observe(&mut self, index: u64, arrival: f64) {
        let Some((t0, i0)) = self.anchor.filter(|a| index >= a.1) else {
            self.anchor_at(index, arrival);
            return;
        };
        if !self.follow_host {
            return;
        }
        let since = self
            .last_observed
            .filter(|last| index > *last)
            .map_or(1, |last| index - last);
        self.last_observed = Some(index);
        let error = arrival - (t0 + (index - i0) as f64 * self.period);
        if error.abs() > REANCHOR_SECS {
            self.anchor_at(index, arrival);
            return;
        }
        let weight = (since as f64 * GAIN).min(MAX_WEIGHT);
        self.anchor = Some((t0 + error * weight, i0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_smoothed_and_spacing_kept() {
        let mut c = StreamClock::new(256.0, true);
        let mut last = None;
        // Arrivals in bursts of 8 every 1/32 s, as USB polling delivers them.
        for n in 0..2560u64 {
            let arrival = 1000.0 + ((n / 8) as f64 + 1.0) / 32.0;
            let t = c.stamp(n, arrival);
            if let Some(prev) = last {
                let dt: f64 = t - prev;
                assert!(
                    (dt - 1.0 / 256.0).abs() < 1.0 / 256.0 * 0.05,
                    "spacing {dt} at {n}"
                );
            }
            last = Some(t);
        }
    }

    #[test]
    fn bursts_corrected_once_each_track_like_reports_one_by_one() {
        // 200 ppm drift again, read in bursts of 10 ms: each burst is stamped from the counter
        // and corrected once with its newest sample, which arrived within the last period.
        let rate = 256.0;
        let mut burst = StreamClock::new(rate, true);
        let mut single = StreamClock::new(rate, true);
        let arrival = |n: u64| 50.0 + n as f64 / rate * (1.0 + 200e-6);
        let (mut err_burst, mut err_single) = (0.0, 0.0);
        let mut last = None;
        for n in 0..(rate as u64) * 120 {
            err_single = single.stamp(n, arrival(n)) - arrival(n);
            let t = burst.predict(n, arrival(n));
            err_burst = t - arrival(n);
            if let Some(prev) = last {
                let dt: f64 = t - prev;
                assert!((dt - 1.0 / rate).abs() < 1e-4, "spacing {dt} at {n}");
            }
            last = Some(t);
            let newest_of_burst = (n + 1) % 3 == 0; // ~3 samples per 10 ms
            if newest_of_burst {
                let read_at = arrival(n) + 0.5 / rate; // read within the next period
                burst.observe(n, read_at - burst.period() / 2.0);
            }
        }
        assert!(err_single.abs() < 0.002, "one by one: {err_single}");
        assert!(err_burst.abs() < 0.002, "in bursts: {err_burst}");
    }

    #[test]
    fn drift_is_followed() {
        // Headset crystal 200 ppm fast: host arrivals lag the nominal schedule more and more.
        let mut c = StreamClock::new(128.0, true);
        let mut err = 0.0;
        for n in 0..128 * 120u64 {
            let arrival = 50.0 + n as f64 / 128.0 * (1.0 + 200e-6);
            err = c.stamp(n, arrival) - arrival;
        }
        assert!(err.abs() < 0.002, "tracking error {err}");
    }

    #[test]
    fn unpaced_sources_follow_the_counter() {
        let mut c = StreamClock::new(256.0, false);
        assert_eq!(c.stamp(0, 10.0), 10.0);
        assert_eq!(c.stamp(256, 10.001), 11.0);
        c.set_rate(128.0, 256);
        assert_eq!(c.stamp(384, 10.002), 12.0);
    }

    #[test]
    fn a_long_stall_reanchors() {
        let mut c = StreamClock::new(128.0, true);
        c.stamp(0, 0.0);
        assert_eq!(c.stamp(1, 5.0), 5.0);
    }
}
