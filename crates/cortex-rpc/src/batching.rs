//! Adaptive write batching. Each frame is normally written as soon as it exists (sub-ms
//! latency). Under heavy fan-out (many clients × headsets) one `write` per frame costs more
//! CPU than the rest of the daemon together, so above a load threshold every connection
//! writes what it has queued once per tick, all connections on the same tick: one wake-up of
//! the runtime serves them all, and each `write` carries about twenty frames. The mode lives
//! in the session layer's [`Pace`], which the fan-out threads follow too (they drain just
//! before each tick instead of waking per report). The threshold has hysteresis so the mode
//! does not flap, and replies to requests are never held back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use cortex_stream::Pace;
use cortex_stream::pace::tick_for;
use tokio::time::Instant;

/// Frames per second (all connections) above which writes are batched.
pub const BATCH_ABOVE: f64 = 50_000.0;
/// Frames per second below which batching stops again.
pub const BATCH_BELOW: f64 = 35_000.0;
/// How often the load is measured.
pub const MEASURE_EVERY: Duration = Duration::from_millis(500);

/// The server-wide delivery load, shared by every connection's writer.
pub struct Load {
    frames: AtomicU64,
    connections: AtomicUsize,
    pace: Arc<Pace>,
    /// Told when a connection opens (the measuring task sleeps while there is none).
    opened: tokio::sync::Notify,
}

/// Counts a connection while it is open.
pub struct ConnectionGuard(Arc<Load>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
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
            connections: AtomicUsize::new(0),
            pace,
            opened: tokio::sync::Notify::new(),
        }
    }

    /// A connection opened; it counts until the guard is dropped.
    pub fn connected(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.opened.notify_one();
        ConnectionGuard(Arc::clone(self))
    }

    /// Whether any connection is open.
    pub fn has_connections(&self) -> bool {
        self.connections.load(Ordering::Relaxed) > 0
    }

    /// Resolves once a connection is open (at once if one is).
    pub async fn until_connected(&self) {
        loop {
            let opened = self.opened.notified();
            if self.connections.load(Ordering::Relaxed) > 0 {
                return;
            }
            opened.await;
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

    /// Record a measured rate; returns the new mode when it changed. The tick follows the
    /// number of open connections.
    pub fn measured(&self, frames_per_sec: f64) -> Option<bool> {
        let was = self.batching();
        let now = next_mode(was, frames_per_sec);
        self.pace
            .set_tick(tick_for(self.connections.load(Ordering::Relaxed)));
        self.pace.set_batching(now);
        (now != was).then_some(now)
    }

    /// The current batching tick.
    pub fn tick(&self) -> Duration {
        self.pace.tick()
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
        let load = Arc::new(Load::new(Arc::new(Pace::new())));
        let guards: Vec<ConnectionGuard> = (0..64).map(|_| load.connected()).collect();
        assert_eq!(load.measured(80_000.0), Some(true));
        assert_eq!(
            load.tick(),
            Duration::from_millis(32),
            "64 connections: a 32 ms tick"
        );
        drop(guards);
        assert_eq!(load.measured(45_000.0), None);
        assert_eq!(load.measured(10_000.0), Some(false));
        assert_eq!(load.tick(), cortex_stream::pace::MIN_TICK, "no connections left");
    }
}
