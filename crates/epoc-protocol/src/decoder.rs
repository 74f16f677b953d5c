//! The stateful per-headset decoder: decrypt, decode, count losses, learn the EEG rate.

use crate::cipher::{Cipher, REPORT_LEN};
use crate::detect::Detection;
use crate::mode::{EegRate, Mode, Resolution};
use crate::report::{Report, ReportKind};
use crate::sequence::SequenceTracker;
use crate::serial::Serial;
use crate::{ProtocolError, decode};

/// A decoded report and the samples of its stream lost just before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// The report.
    pub report: Report,
    /// Samples of the same stream (EEG or motion) missing between the previous report and
    /// this one, from the counter gap.
    pub lost: u16,
}

/// Decodes one headset's ciphertext reports. One per headset; owns no heap after creation.
#[derive(Debug, Clone)]
pub struct Decoder {
    cipher: Cipher,
    mode: Mode,
    eeg: SequenceTracker,
    motion: SequenceTracker,
    rejected_streak: u32,
}

impl Decoder {
    /// A decoder for a known cipher and mode.
    pub fn new(cipher: Cipher, mode: Mode) -> Self {
        let eeg = match mode.resolution {
            Resolution::Bits14 => SequenceTracker::fixed(129),
            Resolution::Bits16 => SequenceTracker::fixed(mode.eeg_rate.hz()),
        };
        Decoder {
            cipher,
            mode,
            eeg,
            motion: SequenceTracker::learned(32),
            rejected_streak: 0,
        }
    }

    /// The decoder that [`crate::detect()`] chose for this serial.
    pub fn from_detection(serial: &Serial, detection: &Detection) -> Self {
        Self::new(Cipher::for_layout(detection.layout, serial), detection.mode)
    }

    /// The mode as currently known (the EEG rate may be learned from the stream).
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Decrypt and decode one ciphertext report.
    #[inline]
    pub fn decode(&mut self, ciphertext: &[u8; REPORT_LEN]) -> Result<Decoded, ProtocolError> {
        let mut plain = *ciphertext;
        self.cipher.decrypt(&mut plain);
        self.decode_plain(&plain)
    }

    #[inline]
    fn decode_plain(&mut self, plain: &[u8; REPORT_LEN]) -> Result<Decoded, ProtocolError> {
        let mut report = match decode(plain, self.mode) {
            Ok(r) => r,
            Err(e) => {
                self.rejected_streak = self.rejected_streak.saturating_add(1);
                return Err(e);
            }
        };
        self.rejected_streak = 0;
        if report.kind == ReportKind::Eeg
            && self.mode.resolution == Resolution::Bits16
            && report.counter > 127
            && self.mode.eeg_rate == EegRate::Hz128
        {
            self.mode.eeg_rate = EegRate::Hz256;
            self.eeg.set_modulus(256);
            report.mode = self.mode;
        }
        let lost = match report.kind {
            ReportKind::Motion => self.motion.observe(report.sequence()),
            _ => self.eeg.observe(report.sequence()),
        };
        Ok(Decoded { report, lost })
    }

    /// Decrypt `reports` in place in one batch, then decode each in order into `sink`.
    /// Equivalent to calling [`Decoder::decode`] on each, for bulk work such as replay as fast
    /// as possible, where batching lets the cipher pipeline blocks.
    pub fn decode_many(
        &mut self,
        reports: &mut [[u8; REPORT_LEN]],
        mut sink: impl FnMut(Result<Decoded, ProtocolError>),
    ) {
        self.cipher.decrypt_many(reports);
        for plain in reports.iter() {
            sink(self.decode_plain(plain));
        }
    }

    /// Consecutive reports that failed to decode. A long streak means the headset changed
    /// mode (and key): the caller should run detection again.
    pub fn rejected_streak(&self) -> u32 {
        self.rejected_streak
    }

    /// EEG and motion samples lost so far.
    pub fn lost_total(&self) -> u64 {
        self.eeg.lost_total() + self.motion.lost_total()
    }

    /// Forget counter history after a reconnect, so the outage is not counted as loss twice.
    pub fn restart(&mut self) {
        self.eeg.restart();
        self.motion.restart();
        self.rejected_streak = 0;
    }
}
