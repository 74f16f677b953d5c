//! Adaptive write batching. Each frame is normally written as soon as it exists (sub-ms
//! latency). Under heavy fan-out (many clients × headsets) one `write` per frame costs more
//! CPU than the rest of the daemon together, so above a load threshold every connection
//! writes what it has queued once per tick, all connections on the same tick: one wake-up of
//! the runtime serves them all, and each `write` carries about twenty frames. The mode lives
//! in the session layer's [`Pace`], which the fan-out threads follow too (they drain just
//! before each tick instead of waking per report). The threshold has hysteresis so the mode
//! does not flap, and replies to requests are never held back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cortex_session::Pace;
use tokio::time::Instant;

/// Frames per second (all connections) above which writes are batched.
pub const BATCH_ABOVE: f64 = 50_000.0;
/// Frames per second below which batching stops again.
pub const BATCH_BELOW: f64 = 35_000.0;
/// How often the load is measured.
pub const MEASURE_EVERY: Duration = Duration::from_millis(500);
pub use cortex_session::pace::TICK;

/// The server-wide delivery load, shared by every connection's writer.
pub struct Load {
    frames: AtomicU64,
    pace: Arc<Pace>,
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
    /// No load yet; batching switches `pace` (which the fan-out threads follow too).
    pub fn new(pace: Arc<Pace>) -> Load {
        Load {
            frames: AtomicU64::new(0),
            pace,
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
        self.pace.batching()
    }

    /// Record a measured rate; returns the new mode when it changed.
    pub fn measured(&self, frames_per_sec: f64) -> Option<bool> {
        let was = self.batching();
        let now = next_mode(was, frames_per_sec);
        self.pace.set_batching(now);
        (now != was).then_some(now)
    }

    /// The next tick after now, on the grid every connection shares.
    pub fn next_tick(&self) -> Instant {
        Instant::from_std(self.pace.next_tick(std::time::Instant::now()))
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
        let load = Load::new(Arc::new(Pace::new()));
        assert_eq!(load.measured(80_000.0), Some(true));
        assert_eq!(load.measured(45_000.0), None);
        assert_eq!(load.measured(10_000.0), Some(false));
    }
}
