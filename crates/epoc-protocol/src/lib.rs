//! The EMOTIV EPOC-family wire protocol, pure: key derivation, AES-128-ECB decrypt and
//! encrypt, report decode and encode, channel order, scaling, loss counting, key-layout
//! detection and BLE reassembly.
//!
//! No I/O, no threads, no allocation per report: drivers, the virtual headset, tests and the
//! fuzzer all share this one implementation. The byte-level facts it relies on are in
//! `docs/epoc-protocol.md`; section numbers in comments point into it.
//!
//! ```
//! use epoc_protocol::{Cipher, KeyLayout, Mode, Serial, decode};
//! let serial = Serial::from_usb("UD20160103001874")?;
//! let cipher = Cipher::for_layout(KeyLayout::Plus16, &serial);
//! let mut report = [0u8; 32];
//! // … fill `report` from the dongle …
//! # report = [0xaa,0x86,0x1c,0x3c,0x4a,0xbc,0x36,0x23,0x5b,0xfb,0x3e,0x67,0x19,0xa8,0xa4,0xa7,
//! #           0xe1,0x12,0xc8,0xb7,0xc0,0x1f,0xb9,0x45,0x70,0xaf,0xe4,0x30,0x1a,0x98,0x0d,0x66];
//! cipher.decrypt(&mut report);
//! let r = decode(&report, Mode::EPOC_PLUS_256)?;
//! assert_eq!(r.counter, 144);
//! assert!((r.eeg_microvolts()[0] - 4121.282).abs() < 1e-3); // AF3
//! # Ok::<(), epoc_protocol::ProtocolError>(())
//! ```

pub mod ble;
mod capture;
mod channel;
mod cipher;
mod decoder;
mod detect;
mod device_state;
mod error;
mod key;
mod layout14;
mod layout16;
mod mode;
mod quality;
mod report;
mod sequence;
mod serial;

pub use capture::{Capture, CaptureFormat, parse_capture, serial_in_file_name};
pub use channel::{
    Channel, DISPLAY_ORDER, EEG_CHANNELS, EPOCX_MOTION_NAMES, GYRO14_NAMES, MOTION_NAMES, PACKET_ORDER,
};
pub use cipher::{Cipher, REPORT_LEN, report_from_read};
pub use decoder::{Decoded, Decoder};
pub use detect::{ACCEPT_PERCENT, Detection, MIN_REPORTS, OFFLINE_WINDOW, detect};
pub use device_state::{DeviceState, battery_percent};
pub use error::ProtocolError;
pub use key::KeyLayout;
pub use layout16::{TYPE_EEG, TYPE_MOTION};
pub use mode::{EegRate, Mode, Model, Resolution};
pub use report::{Battery, ContactQuality, Report, ReportKind};
pub use sequence::{SETTLE_REPORTS, SequenceTracker};
pub use serial::Serial;

/// Decode one decrypted report. 14-bit layouts accept any bytes; 16-bit layouts reject a
/// type byte other than EEG or motion (the sign of a wrong key).
#[inline]
pub fn decode(plaintext: &[u8; REPORT_LEN], mode: Mode) -> Result<Report, ProtocolError> {
    match mode.resolution {
        Resolution::Bits14 => Ok(layout14::decode(plaintext, mode)),
        Resolution::Bits16 => layout16::decode(plaintext, mode),
    }
}

/// Encode a report into its plaintext, the inverse of [`decode`]: what the virtual headset
/// sends through [`Cipher::encrypt`]. Values that do not fit the layout are an error.
pub fn encode(report: &Report) -> Result<[u8; REPORT_LEN], ProtocolError> {
    match report.mode.resolution {
        Resolution::Bits14 => layout14::encode(report),
        Resolution::Bits16 => layout16::encode(report),
    }
}
