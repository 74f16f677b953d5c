//! The headset state that builds up across reports: each electrode's latest contact quality
//! and the battery. The live `dev`/`eq` streams and exported records read it the same way.

use crate::channel::EEG_CHANNELS;
use crate::mode::Mode;
use crate::report::Report;

/// Latest contact quality per electrode (Cortex 0–4 scale, display order) and battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceState {
    /// Contact quality per electrode, 0 (none) … 4 (good).
    pub levels: [u8; EEG_CHANNELS],
    /// Battery percent once a battery reading was seen.
    pub battery_percent: Option<u8>,
}

/// Battery percent from a raw reading. 14-bit packets use emokit's table (`table`); the
/// 16-bit scale is undocumented, so CyKit's observed ranges are used (92–117 at 256 Hz,
/// 45–58 at 128 Hz), clamped.
pub fn battery_percent(mode: Mode, raw: u16, table: Option<u8>) -> u8 {
    if let Some(p) = table {
        return p;
    }
    let (lo, hi) = if mode.eeg_rate.hz() == 256 {
        (92.0, 117.0)
    } else {
        (45.0, 58.0)
    };
    ((f64::from(raw) - lo) / (hi - lo) * 100.0)
        .clamp(0.0, 100.0)
        .round() as u8
}

impl DeviceState {
    /// Take in what one report carries (a quality value, a battery reading, or nothing).
    /// 14-bit quality has no published scale: any non-zero value counts as good contact.
    pub fn update(&mut self, r: &Report) {
        if let Some(q) = r.quality() {
            self.levels[q.channel.display_index()] = q.level().unwrap_or(if q.raw > 0 { 4 } else { 0 });
        }
        if let Some(b) = r.battery() {
            self.battery_percent = Some(battery_percent(r.mode, b.raw, b.percent));
        }
    }

    /// Overall contact quality, 0–100 (the mean level as a percentage).
    pub fn overall(&self) -> u8 {
        let sum: u32 = self.levels.iter().map(|&l| u32::from(l)).sum();
        (sum * 100 / (4 * EEG_CHANNELS as u32)) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_battery_scale_is_clamped_to_percent() {
        assert_eq!(battery_percent(Mode::EPOC_PLUS_256, 92, None), 0);
        assert_eq!(battery_percent(Mode::EPOC_PLUS_256, 117, None), 100);
        assert_eq!(battery_percent(Mode::EPOC_PLUS_256, 200, None), 100);
        assert_eq!(battery_percent(Mode::EPOC_PLUS_128, 45, None), 0);
        assert_eq!(battery_percent(Mode::EPOC, 0, Some(37)), 37);
    }

    #[test]
    fn overall_is_the_mean_level_in_percent() {
        let mut s = DeviceState::default();
        assert_eq!(s.overall(), 0);
        s.levels = [4; EEG_CHANNELS];
        assert_eq!(s.overall(), 100);
        s.levels[0] = 0;
        assert_eq!(s.overall(), 92);
    }
}
