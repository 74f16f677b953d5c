//! Automatic key-layout detection by trial decryption (docs/epoc-protocol.md 2.5), so users never
//! need to know which layout their headset and mode use.

use crate::ProtocolError;
use crate::cipher::{Cipher, REPORT_LEN};
use crate::key::KeyLayout;
use crate::layout16::{TYPE_EEG, TYPE_MOTION};
use crate::mode::{EegRate, Mode, Resolution};
use crate::serial::Serial;

/// Fewer reports than this cannot tell a right key from luck.
pub const MIN_REPORTS: usize = 8;
/// Reports to detect on when the whole stream is at hand (files): enough to see a 256 Hz
/// counter pass 127 in any capture longer than half a second.
pub const OFFLINE_WINDOW: usize = 1024;
/// Share of reports that must look right for a layout to be accepted. Real streams score
/// ~100 % (a few stale reports at start), wrong keys ~1 %.
pub const ACCEPT_PERCENT: u8 = 75;

/// The layout that decrypts a stream, and the mode it implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    /// The winning key layout.
    pub layout: KeyLayout,
    /// Model, resolution and EEG rate seen in the reports.
    pub mode: Mode,
    /// Share of the reports that passed the layout's checks.
    pub matched_percent: u8,
}

/// Try each candidate layout on `reports` (ciphertext, in arrival order) and return the
/// first that passes; the rate is 256 Hz if any 16-bit EEG counter exceeds 127.
pub fn detect(
    serial: &Serial,
    reports: &[[u8; REPORT_LEN]],
    candidates: &[KeyLayout],
) -> Result<Detection, ProtocolError> {
    if reports.len() < MIN_REPORTS {
        return Err(ProtocolError::NotEnoughReports {
            needed: MIN_REPORTS,
            got: reports.len(),
        });
    }
    let mut best: Option<(KeyLayout, u8)> = None;
    for &layout in candidates {
        let cipher = Cipher::for_layout(layout, serial);
        let (percent, fast) = score(&cipher, layout.resolution(), reports);
        if percent >= ACCEPT_PERCENT {
            let eeg_rate = if fast { EegRate::Hz256 } else { EegRate::Hz128 };
            let mode = Mode {
                model: layout.model(),
                resolution: layout.resolution(),
                eeg_rate,
            };
            return Ok(Detection {
                layout,
                mode,
                matched_percent: percent,
            });
        }
        if best.is_none_or(|(_, p)| percent > p) {
            best = Some((layout, percent));
        }
    }
    let (best, percent) = best.map_or(("none", 0), |(l, p)| (l.name(), p));
    Err(ProtocolError::NoKeyMatches { best, percent })
}

/// Percent of reports consistent with the layout, and whether a 16-bit EEG counter > 127 was
/// seen (256 Hz).
fn score(cipher: &Cipher, resolution: Resolution, reports: &[[u8; REPORT_LEN]]) -> (u8, bool) {
    let mut type_ok = 0usize;
    let mut pairs = 0usize;
    let mut pairs_ok = 0usize;
    let mut prev: Option<u16> = None;
    let mut fast = false;
    for ciphertext in reports {
        let mut d = *ciphertext;
        cipher.decrypt(&mut d);
        let seq = match resolution {
            Resolution::Bits14 => {
                type_ok += 1;
                if d[0] >= 0x80 { 128 } else { u16::from(d[0]) }
            }
            Resolution::Bits16 => match d[1] {
                TYPE_EEG => {
                    type_ok += 1;
                    fast |= d[0] > 127;
                    u16::from(d[0])
                }
                TYPE_MOTION => {
                    type_ok += 1;
                    continue;
                }
                _ => continue,
            },
        };
        if let Some(p) = prev {
            pairs += 1;
            let modulus = match resolution {
                Resolution::Bits14 => 129,
                Resolution::Bits16 => 256,
            };
            if seq == (p + 1) % modulus || (p == 127 && seq == 0) {
                pairs_ok += 1;
            }
        }
        prev = Some(seq);
    }
    if pairs == 0 {
        return (0, fast);
    }
    let types = type_ok * 100 / reports.len();
    let counters = pairs_ok * 100 / pairs;
    (types.min(counters) as u8, fast)
}
