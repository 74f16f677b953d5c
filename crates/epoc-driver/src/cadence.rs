//! How often an acquisition thread looks at its source: after every report, or in bursts.
//!
//! A thread that blocks in `read` wakes once per report (384 times a second for an EPOC+ at
//! 256 Hz), and every wake-up is a context switch that costs far more than decoding the
//! report. Nothing needs that while nobody is watching, and a person watching a screen does
//! not need it either. So the acquisition sleeps on a grid and then takes every report that
//! is waiting (the kernel keeps 64 hidraw reports, 166 ms of EPOC+ traffic; BLE and synthetic
//! sources queue without bound). Each consumer that needs samples sooner says how late they
//! may be with a [`CadenceDemand`]; the acquisition follows the most demanding one. With no
//! demand at all, a cadence made by [`Cadence::idling`] looks a few times a second
//! ([`IDLE_INTERVAL`]); the default one ([`Cadence::new`]) reads report by report.
//!
//! The grid is shared by every headset of the process, so bursts of different headsets land
//! together and the threads downstream wake once for all of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How often an acquisition nobody is waiting for takes in its reports. Below the 166 ms the
/// hidraw buffer holds, with room for a late wake-up.
pub const IDLE_INTERVAL: Duration = Duration::from_millis(100);

/// The longest interval any demand can ask for (the hidraw buffer must not overflow).
pub const MAX_INTERVAL: Duration = IDLE_INTERVAL;

/// The demands on one acquisition thread. Clones share them.
#[derive(Debug, Clone, Default)]
pub struct Cadence(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    /// The interval in force, in nanoseconds; 0 = report by report.
    interval_nanos: AtomicU64,
    /// The interval with no demand.
    idle_nanos: u64,
    /// Every demand held now, by ticket.
    demands: Mutex<Vec<(u64, Duration)>>,
    next_ticket: AtomicU64,
    /// The acquisition thread, woken when the interval shortens.
    thread: OnceLock<std::thread::Thread>,
}

/// Held while a consumer needs samples within `max_delay` of their arrival; dropping it
/// withdraws the demand.
#[derive(Debug)]
pub struct CadenceDemand {
    cadence: Cadence,
    ticket: u64,
}

impl Drop for CadenceDemand {
    fn drop(&mut self) {
        self.cadence.withdraw(self.ticket);
    }
}

/// The origin of the burst grid, shared by every acquisition of this process.
fn grid_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl Cadence {
    /// Report by report unless a demand allows bursts (what a tool that prints or records
    /// every sample wants).
    pub fn new() -> Self {
        Cadence::default()
    }

    /// In bursts `idle` apart while nobody demands more (what a daemon wants: with nobody
    /// watching, a few wake-ups a second). At most [`MAX_INTERVAL`].
    pub fn idling(idle: Duration) -> Self {
        let idle_nanos = u64::try_from(idle.min(MAX_INTERVAL).as_nanos()).unwrap_or(0);
        Cadence(Arc::new(Shared {
            interval_nanos: AtomicU64::new(idle_nanos),
            idle_nanos,
            ..Shared::default()
        }))
    }

    /// Need samples at most `max_delay` after they arrive (zero: every report at once).
    /// Longer delays than [`MAX_INTERVAL`] are shortened to it.
    pub fn demand(&self, max_delay: Duration) -> CadenceDemand {
        let ticket = self.0.next_ticket.fetch_add(1, Ordering::Relaxed);
        let mut demands = self.lock();
        demands.push((ticket, max_delay.min(MAX_INTERVAL)));
        self.publish(&demands);
        drop(demands);
        CadenceDemand {
            cadence: self.clone(),
            ticket,
        }
    }

    fn withdraw(&self, ticket: u64) {
        let mut demands = self.lock();
        demands.retain(|(t, _)| *t != ticket);
        self.publish(&demands);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Duration)>> {
        // The list is valid after any panic (a push or a retain either happened or not).
        self.0.demands.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, demands: &[(u64, Duration)]) {
        let nanos = demands
            .iter()
            .map(|(_, d)| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .min()
            .unwrap_or(self.0.idle_nanos);
        let before = self.0.interval_nanos.swap(nanos, Ordering::Relaxed);
        if nanos < before
            && let Some(t) = self.0.thread.get()
        {
            // It may be asleep for the longer interval: look now.
            t.unpark();
        }
    }

    /// The acquisition thread to wake when a demand shortens the interval (set once).
    pub(crate) fn set_thread(&self, thread: std::thread::Thread) {
        let _ = self.0.thread.set(thread);
    }

    /// The interval in force: `None` = after every report, else the burst interval.
    pub fn interval(&self) -> Option<Duration> {
        match self.0.interval_nanos.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    /// The next point of the burst grid of `interval` after `now`.
    pub fn next_burst(now: Instant, interval: Duration) -> Instant {
        let origin = grid_origin();
        let step = interval.as_nanos().max(1);
        let since = now.saturating_duration_since(origin).as_nanos();
        let next = (since / step + 1) * step;
        origin + Duration::from_nanos(u64::try_from(next).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_demanding_consumer_sets_the_interval() {
        assert_eq!(Cadence::new().interval(), None, "by default: report by report");
        let c = Cadence::idling(IDLE_INTERVAL);
        assert_eq!(c.interval(), Some(IDLE_INTERVAL), "no demand: idle");
        let slow = c.demand(Duration::from_millis(20));
        assert_eq!(c.interval(), Some(Duration::from_millis(20)));
        let fast = c.demand(Duration::from_millis(4));
        assert_eq!(c.interval(), Some(Duration::from_millis(4)));
        let every = c.demand(Duration::ZERO);
        assert_eq!(c.interval(), None, "a zero demand: every report at once");
        drop(every);
        drop(fast);
        assert_eq!(c.interval(), Some(Duration::from_millis(20)));
        drop(slow);
        assert_eq!(c.interval(), Some(IDLE_INTERVAL));
        let _long = c.demand(Duration::from_secs(5));
        assert_eq!(c.interval(), Some(MAX_INTERVAL), "never past the hidraw buffer");
    }

    #[test]
    fn bursts_of_every_headset_fall_on_one_grid() {
        let step = Duration::from_millis(10);
        let origin = grid_origin();
        let at = |ms: u64| origin + Duration::from_millis(ms);
        // Two threads looking at different moments within one step meet at the same point.
        assert_eq!(Cadence::next_burst(at(1234), step), at(1240));
        assert_eq!(Cadence::next_burst(at(1237), step), at(1240));
        assert_eq!(
            Cadence::next_burst(at(1240), step),
            at(1250),
            "a point exactly now is past"
        );
        assert_eq!(Cadence::next_burst(at(1240), Duration::from_millis(4)), at(1244));
    }
}
