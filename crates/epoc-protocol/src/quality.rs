//! Counter-multiplexed side channels: which electrode a quality value belongs to, where the
//! battery sits, and the empirical scales (docs/epoc-protocol.md 3.1.1, 3.1.3, 3.2.3).

use crate::channel::{Channel, PACKET_ORDER};
use crate::mode::{EegRate, Mode, Resolution};

/// The four electrodes that repeat in the tail of each quality cycle.
const TAIL_CYCLE: [Channel; 4] = [Channel::F8, Channel::AF4, Channel::FC6, Channel::F4];

/// The electrode whose contact quality a report at position `seq` carries.
pub(crate) fn channel_for(mode: Mode, seq: u16) -> Option<Channel> {
    let slot = |i: u16| Some(PACKET_ORDER[usize::from(i)]);
    let tail = |i: u16| Some(TAIL_CYCLE[usize::from(i % 4)]);
    match (mode.resolution, mode.eeg_rate) {
        (Resolution::Bits16, EegRate::Hz256) => match seq {
            0..=13 => slot(seq),
            14..=31 => tail(seq - 14),
            128..=141 => slot(seq - 128),
            142..=254 => tail(seq - 142),
            _ => None,
        },
        // CyKit's epoc_128_highRes: the tail cycle runs on to 126; 127 carries the battery.
        (Resolution::Bits16, EegRate::Hz128) => match seq {
            0..=13 => slot(seq),
            14 | 15 => tail(seq - 14),
            64..=77 => slot(seq - 64),
            78..=126 => tail(seq - 78),
            _ => None,
        },
        // hemokit / emokit: 0..15 and 64..80 only (the 14-bit layout is always 128 Hz).
        (Resolution::Bits14, _) => match seq {
            0..=13 => slot(seq),
            14 | 15 => tail(seq - 14),
            64..=77 => slot(seq - 64),
            78..=80 => tail(seq - 78),
            _ => None,
        },
    }
}

/// Whether a 16-bit EEG report at this counter carries the battery instead of quality.
pub(crate) fn is_battery_slot16(rate: EegRate, counter: u8) -> bool {
    match rate {
        EegRate::Hz128 => counter == 127,
        EegRate::Hz256 => counter == 255,
    }
}

/// emokit's empirical battery table for the 14-bit counter byte.
pub(crate) fn battery_percent14(raw: u8) -> u8 {
    match raw {
        248..=255 => 100,
        247 => 99,
        246 => 97,
        245 => 93,
        244 => 89,
        243 => 85,
        242 => 82,
        241 => 77,
        240 => 72,
        239 => 66,
        238 => 62,
        237 => 55,
        236 => 46,
        235 => 32,
        234 => 20,
        233 => 12,
        232 => 6,
        231 => 4,
        230 => 3,
        229 => 2,
        226..=228 => 1,
        _ => 0,
    }
}

/// CyKit's 16-bit heuristic on Cortex's 0–4 scale: the high byte is coarse, the low fine.
pub(crate) fn level16(raw: u16) -> u8 {
    let [lo, hi] = raw.to_le_bytes();
    match (hi, lo) {
        (2.., _) | (1, 129..) => 4,
        (1, _) | (0, 159..) => 3,
        (0, 50..) => 2,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_tables_follow_the_reference() {
        let m = Mode::EPOC_X_128;
        assert_eq!(channel_for(m, 0), Some(Channel::F3));
        assert_eq!(channel_for(m, 13), Some(Channel::F4));
        assert_eq!(channel_for(m, 14), Some(Channel::F8));
        assert_eq!(channel_for(m, 16), None);
        assert_eq!(channel_for(m, 80), Some(Channel::FC6));
        assert_eq!(channel_for(m, 126), Some(Channel::F8));
        assert_eq!(channel_for(m, 127), None);
        assert_eq!(channel_for(Mode::EPOC, 80), Some(Channel::FC6));
        assert_eq!(channel_for(Mode::EPOC, 81), None);
        let m = Mode::EPOC_PLUS_256;
        assert_eq!(channel_for(m, 17), Some(Channel::F4));
        assert_eq!(channel_for(m, 32), None);
        assert_eq!(channel_for(m, 130), Some(Channel::AF3));
        assert_eq!(channel_for(m, 254), Some(Channel::F8));
        assert_eq!(channel_for(m, 255), None);
        assert!(is_battery_slot16(EegRate::Hz256, 255));
        assert!(!is_battery_slot16(EegRate::Hz256, 127));
    }

    #[test]
    fn battery_and_level_scales() {
        assert_eq!(battery_percent14(239), 66);
        assert_eq!(battery_percent14(236), 46);
        assert_eq!(battery_percent14(200), 0);
        assert_eq!(level16(0x0200), 4);
        assert_eq!(level16(0x0181), 4);
        assert_eq!(level16(0x0180), 3);
        assert_eq!(level16(0x00A0), 3);
        assert_eq!(level16(0x0040), 2);
        assert_eq!(level16(12), 0);
    }
}
