//! Adaptive write batching. Each frame is normally written as soon as it exists (sub-ms
//! latency). Under heavy fan-out (many clients × headsets) one `write` per frame costs more
//! CPU than the rest of the daemon together, so above a load threshold every connection
//! writes what it has queued once per tick, all connections on the same tick: one wake-up of
//! the runtime serves them all, and each `write` carries a dozen frames. The threshold has
//! hysteresis so the mode does not flap, and replies to requests are never held back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Frames per second (all connections) above which writes are batched.
pub const BATCH_ABOVE: f64 = 50_000.0;
/// Frames per second below which batching stops again.
pub const BATCH_BELOW: f64 = 35_000.0;
/// How often batched connections write: the extra latency a frame can see under heavy load.
pub const TICK: Duration = Duration::from_millis(12);
/// How often the load is measured.
pub const MEASURE_EVERY: Duration = Duration::from_millis(500);

/// The server-wide delivery load, shared by every connection's writer.
pub struct Load {
    frames: AtomicU64,
    batching: AtomicBool,
    origin: Instant,
}

/// Whether to batch, given the current mode and the measured frame rate.
pub fn next_mode(batching: bool, frames_per_sec: f64) -> bool {
    if batching {
        frames_per_sec > BATCH_BELOW
    } else {
        frames_per_sec > BATCH_ABOVE
    }
}

impl Load {
    /// No load yet, writing frame by frame.
    pub fn new() -> Load {
        Load {
            frames: AtomicU64::new(0),
            batching: AtomicBool::new(false),
            origin: Instant::now(),
        }
    }

    /// `n` frames were written.
    pub fn count(&self, n: u64) {
        self.frames.fetch_add(n, Ordering::Relaxed);
    }

    /// Frames written so far (for the measuring task).
    pub fn total(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Whether writers batch now.
    pub fn batching(&self) -> bool {
        self.batching.load(Ordering::Relaxed)
    }

    /// Record a measured rate; returns the new mode when it changed.
    pub fn measured(&self, frames_per_sec: f64) -> Option<bool> {
        let was = self.batching();
        let now = next_mode(was, frames_per_sec);
        self.batching.store(now, Ordering::Relaxed);
        (now != was).then_some(now)
    }

    /// The next tick after `now`, on a grid shared by every connection.
    pub fn next_tick(&self, now: Instant) -> Instant {
        let tick = TICK.as_nanos().max(1);
        let since = now.saturating_duration_since(self.origin).as_nanos();
        let next = (since / tick + 1) * tick;
        self.origin + Duration::from_nanos(u64::try_from(next).unwrap_or(u64::MAX))
    }
}

impl Default for Load {
    fn default() -> Self {
        Load::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_has_hysteresis() {
        assert!(
            !next_mode(false, 40_000.0),
            "under the upper threshold: stay immediate"
        );
        assert!(next_mode(false, 60_000.0));
        assert!(next_mode(true, 40_000.0), "between the thresholds: stay batched");
        assert!(!next_mode(true, 30_000.0));
        let load = Load::new();
        assert_eq!(load.measured(80_000.0), Some(true));
        assert_eq!(load.measured(45_000.0), None);
        assert_eq!(load.measured(10_000.0), Some(false));
    }

    #[test]
    fn ticks_fall_on_one_grid() {
        let load = Load::new();
        let a = load.next_tick(load.origin + Duration::from_millis(1));
        let b = load.next_tick(load.origin + Duration::from_millis(11));
        let c = load.next_tick(load.origin + TICK);
        assert_eq!(a, load.origin + TICK);
        assert_eq!(
            a, b,
            "connections waking at different times write on the same tick"
        );
        assert_eq!(
            c,
            load.origin + 2 * TICK,
            "a tick exactly now waits for the next one"
        );
    }
}
