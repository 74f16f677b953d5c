//! The delivery pace shared by the server's connection writers and the fan-out threads.
//!
//! Frames normally leave as soon as a sample exists. Under heavy fan-out the server switches
//! to batches: every connection writes once per tick, all on one grid, and the fan-out
//! threads stop waking per report and drain their rings shortly before each tick instead.
//! One wake-up per tick then serves every sample of that tick.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often batched connections write: the extra latency a frame can see under heavy load.
pub const TICK: Duration = Duration::from_millis(16);

/// How long before a writers' tick the fan-out threads drain their rings, so that the frames
/// are queued when the writers look (margin for the thread to be scheduled).
pub const FANOUT_LEAD: Duration = Duration::from_millis(3);

/// Whether frames are batched, and the grid batches follow.
#[derive(Debug)]
pub struct Pace {
    batching: AtomicBool,
    origin: Instant,
}

impl Pace {
    /// Frame by frame, with a grid starting now.
    pub fn new() -> Pace {
        Pace {
            batching: AtomicBool::new(false),
            origin: Instant::now(),
        }
    }

    /// Whether frames are batched now.
    pub fn batching(&self) -> bool {
        self.batching.load(Ordering::Relaxed)
    }

    /// Switch batching on or off (the server decides from its measured load).
    pub fn set_batching(&self, on: bool) {
        self.batching.store(on, Ordering::Relaxed);
    }

    /// The writers' next tick after `now`.
    pub fn next_tick(&self, now: Instant) -> Instant {
        let tick = TICK.as_nanos().max(1);
        let since = now.saturating_duration_since(self.origin).as_nanos();
        let next = (since / tick + 1) * tick;
        self.origin + Duration::from_nanos(u64::try_from(next).unwrap_or(u64::MAX))
    }

    /// When a fan-out thread should next drain its ring: [`FANOUT_LEAD`] before a tick.
    pub fn next_drain(&self, now: Instant) -> Instant {
        let tick = self.next_tick(now + FANOUT_LEAD);
        tick.checked_sub(FANOUT_LEAD).unwrap_or(tick)
    }
}

impl Default for Pace {
    fn default() -> Self {
        Pace::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_one_grid() {
        let pace = Pace::new();
        let a = pace.next_tick(pace.origin + Duration::from_millis(1));
        let b = pace.next_tick(pace.origin + Duration::from_millis(11));
        let c = pace.next_tick(pace.origin + TICK);
        assert_eq!(a, pace.origin + TICK);
        assert_eq!(
            a, b,
            "connections waking at different times write on the same tick"
        );
        assert_eq!(
            c,
            pace.origin + 2 * TICK,
            "a tick exactly now waits for the next one"
        );
    }

    #[test]
    fn fan_out_drains_just_before_each_tick() {
        let pace = Pace::new();
        let lead = TICK - FANOUT_LEAD;
        assert_eq!(pace.next_drain(pace.origin), pace.origin + lead);
        assert_eq!(
            pace.next_drain(pace.origin + lead - Duration::from_millis(1)),
            pace.origin + lead
        );
        assert_eq!(
            pace.next_drain(pace.origin + lead),
            pace.origin + lead + TICK,
            "a drain exactly now waits for the next one"
        );
        assert!(pace.next_drain(pace.origin + lead) < pace.next_tick(pace.origin + lead + TICK));
    }
}
