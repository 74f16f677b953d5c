//! The delivery pace shared by the server's connection writers and the fan-out threads.
//!
//! Frames normally leave as soon as a sample exists. Under heavy fan-out the server switches
//! to batches: every connection writes once per tick, all on one grid, and the fan-out
//! threads stop waking per report and drain their rings shortly before each tick instead.
//! One wake-up per tick then serves every sample of that tick. The tick grows with the
//! number of connections, so the writes per second, not the latency, stay bounded.
//!
//! Below that load the stream interval sets the pace: the acquisition threads read their
//! headsets in bursts this far apart while someone is subscribed (see
//! `epoc_driver::Cadence`), and each burst reaches the apps with one wake-up per thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shortest batching tick: the extra latency a frame can see once batching starts.
pub const MIN_TICK: Duration = Duration::from_millis(16);
/// The longest batching tick, however many connections there are.
pub const MAX_TICK: Duration = Duration::from_millis(48);
/// Tick length per connection: each connection costs one `write` per tick, so the tick grows
/// with the connections and the writes per second stay near 2000 (their kernel cost is most
/// of the daemon's CPU under heavy fan-out).
pub const TICK_PER_CONNECTION: Duration = Duration::from_micros(500);

/// How long before a writers' tick the fan-out threads drain their rings, so that the frames
/// are queued when the writers look (margin for the thread to be scheduled).
pub const FANOUT_LEAD: Duration = Duration::from_millis(3);

/// The batching tick for `connections` open connections.
pub fn tick_for(connections: usize) -> Duration {
    let scaled = TICK_PER_CONNECTION.saturating_mul(u32::try_from(connections).unwrap_or(u32::MAX));
    scaled.clamp(MIN_TICK, MAX_TICK)
}

/// Whether frames are batched, and the grid batches follow.
#[derive(Debug)]
pub struct Pace {
    /// How late a sample may reach a subscriber; zero: as soon as it arrives.
    stream_interval: Duration,
    batching: AtomicBool,
    tick_nanos: AtomicU64,
    origin: Instant,
}

impl Pace {
    /// Frame by frame, with a grid starting now.
    pub fn new() -> Pace {
        Pace::with_stream_interval(Duration::ZERO)
    }

    /// Frame by frame, samples read in bursts `stream_interval` apart while anyone is
    /// subscribed (zero: each as it arrives).
    pub fn with_stream_interval(stream_interval: Duration) -> Pace {
        Pace {
            stream_interval,
            batching: AtomicBool::new(false),
            tick_nanos: AtomicU64::new(MIN_TICK.as_nanos() as u64),
            origin: Instant::now(),
        }
    }

    /// How late a sample may reach a subscriber (zero: as soon as it arrives).
    pub fn stream_interval(&self) -> Duration {
        self.stream_interval
    }

    /// Whether frames are batched now.
    pub fn batching(&self) -> bool {
        self.batching.load(Ordering::Relaxed)
    }

    /// Switch batching on or off (the server decides from its measured load).
    pub fn set_batching(&self, on: bool) {
        self.batching.store(on, Ordering::Relaxed);
    }

    /// The current batching tick.
    pub fn tick(&self) -> Duration {
        Duration::from_nanos(self.tick_nanos.load(Ordering::Relaxed))
    }

    /// Set the batching tick (kept within [`MIN_TICK`, `MAX_TICK`]).
    pub fn set_tick(&self, tick: Duration) {
        let tick = tick.clamp(MIN_TICK, MAX_TICK);
        self.tick_nanos.store(
            u64::try_from(tick.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The writers' next tick after `now`.
    pub fn next_tick(&self, now: Instant) -> Instant {
        let tick = self.tick().as_nanos().max(1);
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

    const TICK: Duration = MIN_TICK;

    #[test]
    fn the_tick_grows_with_the_connections_within_bounds() {
        assert_eq!(tick_for(0), MIN_TICK);
        assert_eq!(tick_for(32), MIN_TICK);
        assert_eq!(tick_for(64), Duration::from_millis(32));
        assert_eq!(tick_for(10_000), MAX_TICK);
        let pace = Pace::new();
        pace.set_tick(Duration::from_secs(1));
        assert_eq!(pace.tick(), MAX_TICK);
        pace.set_tick(Duration::from_millis(20));
        let t = pace.next_tick(pace.origin + Duration::from_millis(1));
        assert_eq!(t, pace.origin + Duration::from_millis(20));
    }

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
