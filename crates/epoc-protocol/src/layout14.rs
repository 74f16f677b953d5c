//! The 14-bit layout (EPOC, EPOC+ in EPOC mode): 14-bit big-endian bit fields
//! (docs/epoc-protocol.md 3.1).

use crate::ProtocolError;
use crate::channel::{EEG_CHANNELS, packet_index};
use crate::cipher::REPORT_LEN;
use crate::mode::Mode;
use crate::report::{Report, ReportKind};

/// Start bit of each display-order channel in the 256-bit stream (bit 0 = MSB of byte 0).
/// Fields are 14 bits from bit 8: seven channels, SQ_WAVE, UNUSED, seven channels.
const EEG_START: [usize; EEG_CHANNELS] = eeg_start_bits();
/// Start bit of the contact-quality field SQ_WAVE.
const SQ_WAVE_START: usize = 8 + 14 * 7;
const MASK14: u32 = 0x3FFF;

const fn eeg_start_bits() -> [usize; EEG_CHANNELS] {
    let mut out = [0; EEG_CHANNELS];
    let mut d = 0;
    while d < EEG_CHANNELS {
        let p = packet_index(d);
        let field = if p < 7 { p } else { p + 2 };
        out[d] = 8 + 14 * field;
        d += 1;
    }
    out
}

#[inline(always)]
fn get14(d: &[u8; REPORT_LEN], start: usize) -> u16 {
    let i = start / 8;
    let w = u32::from(d[i]) << 16 | u32::from(d[i + 1]) << 8 | u32::from(d[i + 2]);
    ((w >> (10 - start % 8)) & MASK14) as u16
}

#[inline(always)]
fn put14(d: &mut [u8; REPORT_LEN], start: usize, value: u16) {
    let i = start / 8;
    let shift = 10 - start % 8;
    let mut w = u32::from(d[i]) << 16 | u32::from(d[i + 1]) << 8 | u32::from(d[i + 2]);
    w = (w & !(MASK14 << shift)) | (u32::from(value) & MASK14) << shift;
    d[i] = (w >> 16) as u8;
    d[i + 1] = (w >> 8) as u8;
    d[i + 2] = w as u8;
}

/// Decode a decrypted 14-bit report. Every byte pattern is a valid 14-bit report.
pub(crate) fn decode(d: &[u8; REPORT_LEN], mode: Mode) -> Report {
    let kind = if d[0] >= 0x80 {
        ReportKind::Battery
    } else {
        ReportKind::Eeg
    };
    let gyro_x = u16::from(d[29]) << 4 | u16::from(d[31] >> 4);
    let gyro_y = u16::from(d[30]) << 4 | u16::from(d[31] & 0x0F);
    let mut motion = [0i16; 9];
    motion[0] = gyro_x as i16;
    motion[1] = gyro_y as i16;
    Report {
        mode,
        kind,
        counter: d[0],
        eeg: EEG_START.map(|start| get14(d, start)),
        aux: get14(d, SQ_WAVE_START),
        motion,
    }
}

/// Encode a report into a 14-bit plaintext. The UNUSED field is written as zero.
pub(crate) fn encode(r: &Report) -> Result<[u8; REPORT_LEN], ProtocolError> {
    let battery = r.counter >= 0x80;
    match r.kind {
        ReportKind::Motion => return Err(ProtocolError::Encode("14-bit layouts have no motion packets")),
        ReportKind::Battery if !battery => {
            return Err(ProtocolError::Encode(
                "a 14-bit battery packet needs a counter byte >= 128",
            ));
        }
        ReportKind::Eeg if battery => {
            return Err(ProtocolError::Encode(
                "a 14-bit EEG packet needs a counter below 128",
            ));
        }
        _ => {}
    }
    if r.eeg.iter().any(|&v| u32::from(v) > MASK14) || u32::from(r.aux) > MASK14 {
        return Err(ProtocolError::Encode("14-bit values must be below 16384"));
    }
    if r.motion[..2].iter().any(|&g| !(0..4096).contains(&g)) || r.motion[2..].iter().any(|&m| m != 0) {
        return Err(ProtocolError::Encode(
            "14-bit packets carry only a 12-bit gyro X and Y",
        ));
    }
    let mut d = [0u8; REPORT_LEN];
    d[0] = r.counter;
    for (start, value) in EEG_START.iter().zip(r.eeg) {
        put14(&mut d, *start, value);
    }
    put14(&mut d, SQ_WAVE_START, r.aux);
    let (gx, gy) = (r.motion[0] as u16, r.motion[1] as u16);
    d[29] = (gx >> 4) as u8;
    d[30] = (gy >> 4) as u8;
    d[31] = ((gx & 0x0F) << 4 | (gy & 0x0F)) as u8;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_starts_match_the_reference_table() {
        // docs/epoc-protocol.md 3.1.2: AF3 at 36, F7 at 50, F3 at 8, O2 at 134, F4 at 218.
        assert_eq!(EEG_START[0], 36);
        assert_eq!(EEG_START[1], 50);
        assert_eq!(EEG_START[2], 8);
        assert_eq!(EEG_START[7], 134);
        assert_eq!(EEG_START[11], 218);
        assert_eq!(SQ_WAVE_START, 106);
    }
}
