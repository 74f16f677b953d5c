//! A headset played back from a capture file (raw dump or emokit CSV, like `epocd decode`),
//! at the headset's real rate or as fast as possible, optionally looping. The reports go
//! through the same detection, decryption and decoding as a dongle's.

use std::path::Path;
use std::time::Duration;

use epoc_protocol::{KeyLayout, REPORT_LEN, Serial, TYPE_EEG, detect, parse_capture};

use crate::DriverError;
use crate::pacing::Pacer;
use crate::source::{Connection, Identity, Source};

/// How to play a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Release reports at the headset's own rate (else as fast as the reader takes them).
    pub real_time: bool,
    /// Start again at the end instead of ending.
    pub looping: bool,
}

/// A capture file as a [`Source`].
pub struct ReplaySource {
    identity: Identity,
    reports: Vec<[u8; REPORT_LEN]>,
    /// When each report is due, relative to the start of one pass.
    due: Vec<Duration>,
    pass_length: Duration,
    pos: usize,
    options: ReplayOptions,
    pacer: Pacer,
}

impl ReplaySource {
    /// Open and check a capture: it must decrypt with `serial` (the error says so if not).
    pub fn open(path: &Path, serial: &str, options: ReplayOptions) -> Result<Self, DriverError> {
        let bytes = std::fs::read(path)
            .map_err(|e| DriverError::Capture(format!("cannot read {}: {e}", path.display())))?;
        let capture =
            parse_capture(&bytes).map_err(|e| DriverError::Capture(format!("{} is {e}", path.display())))?;
        let serial = Serial::from_usb(serial)?;
        let window = &capture.reports[..capture.reports.len().min(epoc_protocol::OFFLINE_WINDOW)];
        let detection = detect(&serial, window, &KeyLayout::ALL)
            .map_err(|e| DriverError::Capture(format!("{}: {e}", path.display())))?;
        // Pace by EEG reports: motion reports ride between them, as on the wire.
        let period = Duration::from_secs_f64(1.0 / f64::from(detection.mode.eeg_rate.hz()));
        let cipher = epoc_protocol::Cipher::for_layout(detection.layout, &serial);
        let mut eeg_seen = 0u32;
        let due = capture
            .reports
            .iter()
            .map(|ct| {
                let at = period * eeg_seen;
                let mut p = *ct;
                cipher.decrypt(&mut p);
                let is_eeg =
                    detection.mode.resolution == epoc_protocol::Resolution::Bits14 || p[1] == TYPE_EEG;
                eeg_seen += u32::from(is_eeg);
                at
            })
            .collect();
        Ok(ReplaySource {
            identity: Identity {
                serial,
                model_hint: Some(detection.mode.model),
                rate_hint: Some(detection.mode.eeg_rate),
                connection: Connection::Replay,
                location: path.display().to_string(),
                real_time: options.real_time,
            },
            reports: capture.reports,
            due,
            pass_length: period * eeg_seen,
            pos: 0,
            options,
            pacer: Pacer::new(),
        })
    }

    /// Number of reports in one pass.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    /// Whether the capture holds no report (never true for an opened capture).
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }
}

impl Source for ReplaySource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn read(&mut self, timeout: Duration) -> Result<Option<[u8; REPORT_LEN]>, DriverError> {
        if self.pos == self.reports.len() {
            if !self.options.looping {
                return Err(DriverError::Ended);
            }
            self.pos = 0;
            self.pacer.shift(self.pass_length);
        }
        if self.options.real_time && !self.pacer.wait_until(self.due[self.pos], timeout) {
            return Ok(None);
        }
        let r = self.reports[self.pos];
        self.pos += 1;
        Ok(Some(r))
    }
}
