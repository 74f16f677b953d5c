//! Lost-sample accounting from counter gaps (docs/epoc-protocol.md 3.5).

/// Reports at the start of a stream whose counter gaps are not counted: a dongle hands out a
/// few stale reports when opened (hemokit's dump starts 123, 123, 0; an emokit capture starts
/// with motion 63 then 60), and those jumps are not lost samples (docs/epoc-protocol.md 3.5).
pub const SETTLE_REPORTS: u32 = 4;

/// Follows one counter stream (EEG, or motion) and counts the samples missing between
/// consecutive reports, with wrap-around. A repeated counter counts as no loss, and neither
/// do gaps within the first [`SETTLE_REPORTS`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceTracker {
    modulus: u16,
    grow: bool,
    last: Option<u16>,
    seen: u32,
    lost_total: u64,
}

impl SequenceTracker {
    /// A tracker for a counter that wraps at a known modulus (129 for 14-bit EEG: 0..=127
    /// plus the battery packet; 128 or 256 for 16-bit EEG).
    pub const fn fixed(modulus: u16) -> Self {
        SequenceTracker {
            modulus,
            grow: false,
            last: None,
            seen: 0,
            lost_total: 0,
        }
    }

    /// A tracker whose modulus is learned: the smallest power of two (at least `floor`)
    /// above every counter seen. Motion counters wrap at the motion rate (32, 64 or 128),
    /// which the stream does not announce.
    pub const fn learned(floor: u16) -> Self {
        SequenceTracker {
            modulus: floor,
            grow: true,
            last: None,
            seen: 0,
            lost_total: 0,
        }
    }

    /// The modulus currently assumed.
    pub const fn modulus(&self) -> u16 {
        self.modulus
    }

    /// Change the modulus, e.g. when a 16-bit stream turns out to run at 256 Hz.
    pub fn set_modulus(&mut self, modulus: u16) {
        self.modulus = modulus.max(1);
    }

    /// Record the next counter; returns how many samples were lost just before it.
    pub fn observe(&mut self, seq: u16) -> u16 {
        if self.grow && seq >= self.modulus {
            self.modulus = (seq + 1).next_power_of_two();
        }
        let m = self.modulus.max(1);
        self.seen = self.seen.saturating_add(1);
        let lost = match self.last {
            Some(prev) if prev != seq && self.seen > SETTLE_REPORTS => {
                let step = (u32::from(seq) + u32::from(m) - u32::from(prev) % u32::from(m)) % u32::from(m);
                // step is 1..m-1 here; 1 means nothing was lost.
                (step.max(1) - 1) as u16
            }
            _ => 0,
        };
        self.last = Some(seq);
        self.lost_total += u64::from(lost);
        lost
    }

    /// Samples lost since the tracker was created.
    pub const fn lost_total(&self) -> u64 {
        self.lost_total
    }

    /// Forget the last counter (after a reconnect the gap is not a loss the stream can know).
    pub fn restart(&mut self) {
        self.last = None;
        self.seen = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_wraps() {
        let mut t = SequenceTracker::fixed(129);
        for c in [119, 120, 121, 122] {
            t.observe(c);
        }
        assert_eq!(t.observe(125), 2, "first gap after settling counts");
        assert_eq!(t.observe(126), 0);
        assert_eq!(t.observe(128), 1); // 127 lost
        assert_eq!(t.observe(0), 0); // battery (128) -> 0
        assert_eq!(t.observe(0), 0); // repeat: stale, not a loss
        assert_eq!(t.observe(3), 2);
        assert_eq!(t.lost_total(), 5);
        let mut t = SequenceTracker::fixed(129);
        for c in 124..=127 {
            t.observe(c);
        }
        assert_eq!(t.observe(0), 1, "a missing battery packet is one lost sample");
    }

    #[test]
    fn stale_start_is_not_loss() {
        let mut t = SequenceTracker::fixed(129);
        for c in [123, 123, 0, 1, 2, 3] {
            assert_eq!(t.observe(c), 0);
        }
        assert_eq!(t.observe(5), 1);
        t.restart();
        assert_eq!(t.observe(90), 0, "a reconnect is not loss");
    }

    #[test]
    fn learned_modulus_grows() {
        let mut t = SequenceTracker::learned(32);
        for c in 27..=30 {
            t.observe(c);
        }
        assert_eq!(t.observe(0), 1); // 31 lost, wraps at 32
        t.observe(74);
        assert_eq!(t.modulus(), 128);
        t.observe(127);
        assert_eq!(t.observe(1), 1);
    }
}
