//! Real-time pacing for synthetic sources: report `i` is due at `start + offset(i)`.

use std::time::{Duration, Instant};

/// Releases items on schedule without drifting (due times come from the start, not from
/// the previous item).
#[derive(Debug, Clone)]
pub struct Pacer {
    start: Instant,
}

impl Pacer {
    /// A schedule starting now.
    pub fn new() -> Self {
        Pacer {
            start: Instant::now(),
        }
    }

    /// Wait (at most `timeout`) until `offset` after the start. True when it is due.
    pub fn wait_until(&self, offset: Duration, timeout: Duration) -> bool {
        let due = self.start + offset;
        let now = Instant::now();
        if due <= now {
            return true;
        }
        let wait = due - now;
        if wait > timeout {
            std::thread::sleep(timeout);
            return false;
        }
        std::thread::sleep(wait);
        true
    }

    /// Move the schedule's origin later by `by` (a replay that loops).
    pub fn shift(&mut self, by: Duration) {
        self.start += by;
    }
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}
