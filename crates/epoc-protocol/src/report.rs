//! A decoded report and the values derived from it.

use crate::channel::{Channel, EEG_CHANNELS};
use crate::mode::{Mode, Resolution};
use crate::quality;

/// What a report carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// One EEG sample (14-bit EEG packets also carry a 2-axis gyro sample).
    Eeg,
    /// One motion sample (16-bit modes).
    Motion,
    /// The 14-bit packet whose counter byte is the battery level; it still carries EEG.
    Battery,
}

impl ReportKind {
    /// Lower-case name, as in `epocd decode` output.
    pub const fn name(self) -> &'static str {
        match self {
            ReportKind::Eeg => "eeg",
            ReportKind::Motion => "motion",
            ReportKind::Battery => "battery",
        }
    }
}

/// One decoded 32-byte report. Plain data (`Copy`, fixed size, no heap), so it can sit in a
/// ring buffer as is; quality and battery are derived on demand from `counter` and `aux`,
/// because their meaning depends on the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The stream the report belongs to.
    pub mode: Mode,
    /// EEG, motion, or (14-bit) battery.
    pub kind: ReportKind,
    /// Byte 0 as sent: the sample counter, or in a 14-bit battery packet the battery level.
    pub counter: u8,
    /// Raw ADC counts of the 14 EEG channels in display order (AF3 … AF4); zero in motion
    /// reports. 14-bit values are 0..16383, 16-bit values 0..65535.
    pub eeg: [u16; EEG_CHANNELS],
    /// The multiplexed word: 16-bit EEG bytes 16–17 (contact quality or battery, selected by
    /// the counter), or the 14-bit SQ_WAVE field (stream bits 106..119).
    pub aux: u16,
    /// Motion: EPOC+ gyro X/Y/Z, acc X/Y/Z, mag X/Y/Z (signed counts); EPOC X the nine
    /// big-endian words of bytes 2..19 (meaning unknown); 14-bit EEG packets the 12-bit gyro
    /// X and Y in the first two slots. Unused slots are zero.
    pub motion: [i16; 9],
}

/// Contact quality of one electrode, as multiplexed into EEG reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactQuality {
    /// The electrode this value belongs to (selected by the counter).
    pub channel: Channel,
    /// The raw value.
    pub raw: u16,
    /// The layout it came from (the scales differ).
    pub resolution: Resolution,
}

impl ContactQuality {
    /// Cortex's 0–4 scale (0 no contact … 4 good). 16-bit values follow CyKit's empirical
    /// thresholds; 14-bit values have no published scale, so this is `None` for them.
    pub fn level(&self) -> Option<u8> {
        match self.resolution {
            Resolution::Bits16 => Some(quality::level16(self.raw)),
            Resolution::Bits14 => None,
        }
    }
}

/// Battery state as reported by the headset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Battery {
    /// The raw value.
    pub raw: u16,
    /// Percent, where a mapping is known (14-bit: emokit's table; 16-bit: unknown scale).
    pub percent: Option<u8>,
}

impl Report {
    /// Position of the report in its counter cycle. Equal to `counter`, except for 14-bit
    /// battery packets, which sit at 128 (the cycle is 0..=127, battery: 129 packets).
    pub const fn sequence(&self) -> u16 {
        match self.kind {
            ReportKind::Battery => 128,
            _ => self.counter as u16,
        }
    }

    /// Whether the report carries an EEG sample.
    pub const fn has_eeg(&self) -> bool {
        !matches!(self.kind, ReportKind::Motion)
    }

    /// EEG in µV (Emotiv units, DC offset kept), display order.
    pub fn eeg_microvolts(&self) -> [f64; EEG_CHANNELS] {
        let scale = self.mode.resolution.microvolts_per_count();
        self.eeg.map(|v| f64::from(v) * scale)
    }

    /// The contact quality this report carries, if its counter selects an electrode.
    pub fn quality(&self) -> Option<ContactQuality> {
        if !self.has_eeg() {
            return None;
        }
        quality::channel_for(self.mode, self.sequence()).map(|channel| ContactQuality {
            channel,
            raw: self.aux,
            resolution: self.mode.resolution,
        })
    }

    /// The battery state this report carries, if any.
    pub fn battery(&self) -> Option<Battery> {
        match (self.mode.resolution, self.kind) {
            (Resolution::Bits14, ReportKind::Battery) => Some(Battery {
                raw: u16::from(self.counter),
                percent: Some(quality::battery_percent14(self.counter)),
            }),
            (Resolution::Bits16, ReportKind::Eeg)
                if quality::is_battery_slot16(self.mode.eeg_rate, self.counter) =>
            {
                Some(Battery {
                    raw: self.aux,
                    percent: None,
                })
            }
            _ => None,
        }
    }

    /// The 12-bit gyro X and Y of a 14-bit EEG packet (raw, no zero point removed).
    pub fn gyro14(&self) -> Option<[u16; 2]> {
        match self.mode.resolution {
            Resolution::Bits14 => Some([self.motion[0] as u16, self.motion[1] as u16]),
            Resolution::Bits16 => None,
        }
    }
}
