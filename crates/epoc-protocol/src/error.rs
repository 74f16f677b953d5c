//! The one error type of this crate.

use thiserror::Error;

/// Everything that can be wrong with bytes handed to this crate. Every function that takes
/// outside input returns one of these instead of panicking.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// A report must be exactly 32 bytes (33 with a leading zero report id is also accepted).
    #[error("a report is 32 bytes, got {0}")]
    ReportLength(usize),
    /// In 16-bit modes byte 1 says EEG (0x10) or motion (0x20); anything else means a wrong key
    /// or a corrupted report.
    #[error("unknown 16-bit packet type 0x{0:02x} (wrong key, or a corrupted report)")]
    UnknownPacketType(u8),
    /// The key needs the last four characters of the serial.
    #[error("serial {0:?} is too short: the key needs at least its last 4 characters")]
    SerialTooShort(String),
    /// Serials are ASCII on the USB string descriptor.
    #[error("serial {0:?} is not ASCII")]
    SerialNotAscii(String),
    /// A Bluetooth name the key cannot be derived from.
    #[error("Bluetooth name {0:?} is not an EPOC name like \"EPOC+ (3B9ACCA6)\"")]
    BleName(String),
    /// A BLE EEG notification that is not one of the two 20-byte halves.
    #[error("BLE notification of {len} bytes with half marker {half}: expected 20 bytes, half 1 or 2")]
    BleNotification {
        /// The notification length.
        len: usize,
        /// Byte 1 of the notification.
        half: u8,
    },
    /// Trial decryption found no key layout whose output looks like a headset stream.
    #[error(
        "no key layout decrypts these reports — check the serial (best candidate {best} matched {percent}% of reports)"
    )]
    NoKeyMatches {
        /// The best-scoring layout name.
        best: &'static str,
        /// Its score in percent.
        percent: u8,
    },
    /// Detection needs a minimum number of reports to tell a right key from chance.
    #[error("need at least {needed} reports to detect the key layout, got {got}")]
    NotEnoughReports {
        /// The minimum.
        needed: usize,
        /// What was given.
        got: usize,
    },
    /// A capture file that cannot be read as reports.
    #[error("not a capture: {0}")]
    Capture(String),
    /// An encode request whose fields do not fit the layout.
    #[error("cannot encode: {0}")]
    Encode(&'static str),
}
