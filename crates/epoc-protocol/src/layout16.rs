//! The 16-bit layout (EPOC+ and EPOC X native mode): a type byte, then little-endian words
//! (docs/epoc-protocol.md 3.2).

use crate::ProtocolError;
use crate::channel::{EEG_CHANNELS, packet_index};
use crate::cipher::REPORT_LEN;
use crate::mode::Mode;
use crate::report::{Report, ReportKind};

/// Byte 1 of an EEG packet.
pub const TYPE_EEG: u8 = 0x10;
/// Byte 1 of a motion packet.
pub const TYPE_MOTION: u8 = 0x20;

/// Byte offset of each display-order channel: words from byte 2 in packet order, with the
/// aux word (bytes 16–17) between O1 and O2.
const EEG_OFFSET: [usize; EEG_CHANNELS] = eeg_offsets();
const AUX_OFFSET: usize = 16;

const fn eeg_offsets() -> [usize; EEG_CHANNELS] {
    let mut out = [0; EEG_CHANNELS];
    let mut d = 0;
    while d < EEG_CHANNELS {
        let p = packet_index(d);
        let word = if p < 7 { p } else { p + 1 };
        out[d] = 2 + 2 * word;
        d += 1;
    }
    out
}

#[inline(always)]
fn le(d: &[u8; REPORT_LEN], at: usize) -> u16 {
    u16::from_le_bytes([d[at], d[at + 1]])
}

/// Decode a decrypted 16-bit report; a type byte other than EEG or motion is an error.
pub(crate) fn decode(d: &[u8; REPORT_LEN], mode: Mode) -> Result<Report, ProtocolError> {
    match d[1] {
        TYPE_EEG => Ok(Report {
            mode,
            kind: ReportKind::Eeg,
            counter: d[0],
            eeg: EEG_OFFSET.map(|at| le(d, at)),
            aux: le(d, AUX_OFFSET),
            motion: [0; 9],
        }),
        TYPE_MOTION => {
            let mut motion = [0i16; 9];
            for (i, m) in motion.iter_mut().enumerate() {
                let pair = [d[2 + 2 * i], d[3 + 2 * i]];
                *m = if mode.motion_big_endian() {
                    i16::from_be_bytes(pair)
                } else {
                    i16::from_le_bytes(pair)
                };
            }
            Ok(Report {
                mode,
                kind: ReportKind::Motion,
                counter: d[0],
                eeg: [0; EEG_CHANNELS],
                aux: 0,
                motion,
            })
        }
        other => Err(ProtocolError::UnknownPacketType(other)),
    }
}

/// Encode a report into a 16-bit plaintext; bytes 20..31 of motion packets are zero.
pub(crate) fn encode(r: &Report) -> Result<[u8; REPORT_LEN], ProtocolError> {
    let mut d = [0u8; REPORT_LEN];
    d[0] = r.counter;
    match r.kind {
        ReportKind::Eeg => {
            if r.motion != [0; 9] {
                return Err(ProtocolError::Encode("16-bit EEG packets carry no motion"));
            }
            d[1] = TYPE_EEG;
            for (at, v) in EEG_OFFSET.iter().zip(r.eeg) {
                d[*at..*at + 2].copy_from_slice(&v.to_le_bytes());
            }
            d[AUX_OFFSET..AUX_OFFSET + 2].copy_from_slice(&r.aux.to_le_bytes());
        }
        ReportKind::Motion => {
            if r.eeg != [0; EEG_CHANNELS] || r.aux != 0 {
                return Err(ProtocolError::Encode("16-bit motion packets carry no EEG"));
            }
            d[1] = TYPE_MOTION;
            for (i, m) in r.motion.iter().enumerate() {
                let bytes = if r.mode.motion_big_endian() {
                    m.to_be_bytes()
                } else {
                    m.to_le_bytes()
                };
                d[2 + 2 * i..4 + 2 * i].copy_from_slice(&bytes);
            }
        }
        ReportKind::Battery => {
            return Err(ProtocolError::Encode(
                "16-bit modes carry the battery inside EEG packets, not as a packet kind",
            ));
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_the_reference_table() {
        // docs/epoc-protocol.md 3.2.2: F3 2-3, AF3 6-7, O1 14-15, O2 18-19, F4 30-31.
        assert_eq!(EEG_OFFSET[2], 2);
        assert_eq!(EEG_OFFSET[0], 6);
        assert_eq!(EEG_OFFSET[6], 14);
        assert_eq!(EEG_OFFSET[7], 18);
        assert_eq!(EEG_OFFSET[11], 30);
    }
}
