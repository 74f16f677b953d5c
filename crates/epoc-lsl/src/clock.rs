//! epocd's sample clock is epoch seconds; LSL's is the machine's monotonic clock. The map is
//! their difference, followed slowly so that a wall-clock step (NTP) cannot make LSL stamps
//! jump: a sample keeps the instant the sample clock gave it, on LSL's clock.

/// Epoch seconds → LSL clock seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClockMap {
    offset: Option<f64>,
}

/// How far one observation moves the offset (the clocks agree to microseconds; this only
/// smooths the read-out jitter and follows slow slews).
const FOLLOW: f64 = 0.02;

impl ClockMap {
    /// A map that has not observed the clocks yet.
    pub fn new() -> ClockMap {
        ClockMap { offset: None }
    }

    /// Note both clocks read at (nearly) the same instant.
    pub fn observe(&mut self, epoch_secs: f64, lsl_secs: f64) {
        let seen = epoch_secs - lsl_secs;
        self.offset = Some(match self.offset {
            // A jump of a second or more is a clock step: take it at once.
            Some(o) if (seen - o).abs() < 1.0 => o + FOLLOW * (seen - o),
            _ => seen,
        });
    }

    /// An LSL clock time as epoch seconds (the sample clock's scale).
    pub fn to_epoch(&self, lsl_secs: f64) -> f64 {
        lsl_secs + self.offset.unwrap_or(0.0)
    }

    /// An epoch time on LSL's clock.
    pub fn to_lsl(&self, epoch_secs: f64) -> f64 {
        epoch_secs - self.offset.unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_times_land_on_the_monotonic_clock_and_jitter_is_smoothed() {
        let mut m = ClockMap::new();
        m.observe(1_700_000_100.0, 100.0);
        assert!((m.to_lsl(1_700_000_100.5) - 100.5).abs() < 1e-6);
        // Read-out jitter of 1 ms moves the map by 2 % of it.
        m.observe(1_700_000_101.001, 101.0);
        assert!((m.to_lsl(1_700_000_101.0) - (101.0 - 0.00002)).abs() < 1e-6);
        // A clock step is taken at once.
        m.observe(1_700_003_700.0, 102.0);
        assert!((m.to_lsl(1_700_003_700.0) - 102.0).abs() < 1e-6);
        assert!((m.to_epoch(m.to_lsl(1_700_003_712.25)) - 1_700_003_712.25).abs() < 1e-6);
    }
}
