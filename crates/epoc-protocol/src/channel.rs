//! Channel names and the two orders they come in.
//!
//! Packets carry the 14 EEG channels in *packet order*; users, Emotiv software and the Cortex
//! API use *display order*. Every public array of EEG values in this crate is in display order,
//! so callers never see packet order.

/// One of the 14 EEG electrodes of an EPOC-family headset, numbered in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Channel {
    /// Antero-frontal left.
    AF3 = 0,
    /// Frontal left.
    F7,
    /// Frontal left.
    F3,
    /// Fronto-central left.
    FC5,
    /// Temporal left.
    T7,
    /// Parietal left.
    P7,
    /// Occipital left.
    O1,
    /// Occipital right.
    O2,
    /// Parietal right.
    P8,
    /// Temporal right.
    T8,
    /// Fronto-central right.
    FC6,
    /// Frontal right.
    F4,
    /// Frontal right.
    F8,
    /// Antero-frontal right.
    AF4,
}

/// Number of EEG channels.
pub const EEG_CHANNELS: usize = 14;

/// All channels in display order (AF3 … AF4), the order of Cortex `eeg` columns.
pub const DISPLAY_ORDER: [Channel; EEG_CHANNELS] = [
    Channel::AF3,
    Channel::F7,
    Channel::F3,
    Channel::FC5,
    Channel::T7,
    Channel::P7,
    Channel::O1,
    Channel::O2,
    Channel::P8,
    Channel::T8,
    Channel::FC6,
    Channel::F4,
    Channel::F8,
    Channel::AF4,
];

/// The channels in the order the headset packs them (both 14- and 16-bit layouts).
pub const PACKET_ORDER: [Channel; EEG_CHANNELS] = [
    Channel::F3,
    Channel::FC5,
    Channel::AF3,
    Channel::F7,
    Channel::T7,
    Channel::P7,
    Channel::O1,
    Channel::O2,
    Channel::P8,
    Channel::T8,
    Channel::F8,
    Channel::AF4,
    Channel::FC6,
    Channel::F4,
];

/// Where the `display`-th channel of [`DISPLAY_ORDER`] stands in [`PACKET_ORDER`]: what the
/// const layout tables of both packet layouts are built from.
pub(crate) const fn packet_index(display: usize) -> usize {
    let mut p = 0;
    while PACKET_ORDER[p] as u8 != DISPLAY_ORDER[display] as u8 {
        p += 1;
    }
    p
}

/// Names of the nine motion values of an EPOC+ motion packet, in packet order.
pub const MOTION_NAMES: [&str; 9] = [
    "GYROX", "GYROY", "GYROZ", "ACCX", "ACCY", "ACCZ", "MAGX", "MAGY", "MAGZ",
];

/// Names for the nine EPOC X motion words, whose meaning is not known yet
/// (docs/epoc-protocol.md 3.2.5): numbered by position rather than given a guessed meaning.
pub const EPOCX_MOTION_NAMES: [&str; 9] = ["W0", "W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"];

/// Names of the two 12-bit gyro values that 14-bit EEG packets carry.
pub const GYRO14_NAMES: [&str; 2] = ["GYROX", "GYROY"];

impl Channel {
    /// The 10-20 name, as Cortex and EDF files spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Channel::AF3 => "AF3",
            Channel::F7 => "F7",
            Channel::F3 => "F3",
            Channel::FC5 => "FC5",
            Channel::T7 => "T7",
            Channel::P7 => "P7",
            Channel::O1 => "O1",
            Channel::O2 => "O2",
            Channel::P8 => "P8",
            Channel::T8 => "T8",
            Channel::FC6 => "FC6",
            Channel::F4 => "F4",
            Channel::F8 => "F8",
            Channel::AF4 => "AF4",
        }
    }

    /// Position of this channel in display-order arrays.
    pub const fn display_index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_order_is_the_documented_swap_of_display_order() {
        // docs/epoc-protocol.md 3.3: display = packet slots 2,3,0,1,4,5,6,7,8,9,12,13,10,11.
        let slots = [2, 3, 0, 1, 4, 5, 6, 7, 8, 9, 12, 13, 10, 11];
        for (display, slot) in slots.iter().enumerate() {
            assert_eq!(DISPLAY_ORDER[display], PACKET_ORDER[*slot]);
        }
    }

    #[test]
    fn display_index_matches_display_order() {
        for (i, c) in DISPLAY_ORDER.iter().enumerate() {
            assert_eq!(c.display_index(), i);
        }
    }
}
