//! What a stream of reports is: which headset, which packet layout, which rate.

/// Headset family. The dongle's USB ids do not tell them apart; the key layout does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// Original EPOC (2009–2014), 14-bit, 128 Hz, two-axis gyro.
    Epoc,
    /// EPOC+, 16-bit (128/256 Hz, 9-axis motion) or 14-bit "EPOC mode".
    EpocPlus,
    /// EPOC X, 16-bit, ciphertext XORed with 0x55.
    EpocX,
}

impl Model {
    /// The Cortex headset-id prefix (`EPOCPLUS-…`, docs/cortex-api.md, "Headset object").
    pub const fn cortex_prefix(self) -> &'static str {
        match self {
            Model::Epoc => "EPOC",
            Model::EpocPlus => "EPOCPLUS",
            Model::EpocX => "EPOCX",
        }
    }

    /// Lower-case name used on the command line.
    pub const fn cli_name(self) -> &'static str {
        match self {
            Model::Epoc => "epoc",
            Model::EpocPlus => "epocplus",
            Model::EpocX => "epocx",
        }
    }
}

/// Packet layout: 14-bit big-endian bit fields, or 16-bit little-endian words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// EPOC, and EPOC+ in EPOC mode.
    Bits14,
    /// EPOC+ and EPOC X in their native mode.
    Bits16,
}

impl Resolution {
    /// µV per ADC count, in Emotiv's units (DC offset kept, ~4200 µV at mid-scale).
    pub const fn microvolts_per_count(self) -> f64 {
        match self {
            Resolution::Bits14 => 0.51,
            Resolution::Bits16 => 0.128205128205129,
        }
    }

    /// Bits per sample, as Cortex reports it in `settings.eegRes`.
    pub const fn bits(self) -> u8 {
        match self {
            Resolution::Bits14 => 14,
            Resolution::Bits16 => 16,
        }
    }
}

/// EEG sample rate. 14-bit modes are always 128 Hz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EegRate {
    /// 128 samples per second.
    Hz128,
    /// 256 samples per second (16-bit modes only).
    Hz256,
}

impl EegRate {
    /// Samples per second.
    pub const fn hz(self) -> u16 {
        match self {
            EegRate::Hz128 => 128,
            EegRate::Hz256 => 256,
        }
    }
}

/// Everything needed to decode (and encode) a report of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mode {
    /// Which headset.
    pub model: Model,
    /// Which packet layout.
    pub resolution: Resolution,
    /// Which EEG rate (selects the contact-quality table of 16-bit modes).
    pub eeg_rate: EegRate,
}

impl Mode {
    /// Names of the motion values this mode's reports carry (nine sensors on 16-bit layouts,
    /// the two gyro axes on 14-bit): one list for every output that labels them.
    pub const fn motion_names(self) -> &'static [&'static str] {
        match (self.resolution, self.model) {
            (Resolution::Bits14, _) => &crate::channel::GYRO14_NAMES,
            (Resolution::Bits16, Model::EpocX) => &crate::channel::EPOCX_MOTION_NAMES,
            (Resolution::Bits16, _) => &crate::channel::MOTION_NAMES,
        }
    }

    /// Original EPOC.
    pub const EPOC: Mode = Mode {
        model: Model::Epoc,
        resolution: Resolution::Bits14,
        eeg_rate: EegRate::Hz128,
    };
    /// EPOC+ in 16-bit mode at 256 Hz (the emokit captures).
    pub const EPOC_PLUS_256: Mode = Mode {
        model: Model::EpocPlus,
        resolution: Resolution::Bits16,
        eeg_rate: EegRate::Hz256,
    };
    /// EPOC+ in 16-bit mode at 128 Hz.
    pub const EPOC_PLUS_128: Mode = Mode {
        model: Model::EpocPlus,
        resolution: Resolution::Bits16,
        eeg_rate: EegRate::Hz128,
    };
    /// EPOC+ in 14-bit EPOC mode.
    pub const EPOC_PLUS_14: Mode = Mode {
        model: Model::EpocPlus,
        resolution: Resolution::Bits14,
        eeg_rate: EegRate::Hz128,
    };
    /// EPOC X at 128 Hz (the documented capture).
    pub const EPOC_X_128: Mode = Mode {
        model: Model::EpocX,
        resolution: Resolution::Bits16,
        eeg_rate: EegRate::Hz128,
    };

    /// Motion packets exist in 16-bit modes; 14-bit EEG packets carry a 2-axis gyro instead.
    pub const fn has_motion_packets(self) -> bool {
        matches!(self.resolution, Resolution::Bits16)
    }

    /// EPOC X motion words are big-endian with an unknown meaning (docs/epoc-protocol.md 3.2.5);
    /// EPOC+ motion is little-endian gyro / acc / mag.
    pub const fn motion_big_endian(self) -> bool {
        matches!(self.model, Model::EpocX)
    }
}
