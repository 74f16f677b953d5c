//! One decoded, timestamped sample of an EPOC-family headset, and its two encodings: seven
//! 64-bit words for the per-headset ring (stamp + item fill one cache line), and the same
//! words as 56 little-endian bytes on disk ([`ENCODING_VERSION`] 1).
//!
//! The acquisition (`epoc-driver`) produces samples and the record store (`cortex-record`)
//! keeps them; both depend on this crate only, so storage never compiles a device driver.

use epoc_protocol::{EEG_CHANNELS, EegRate, Mode, Model, Report, ReportKind, Resolution};
use sample_ring::RingItem;

/// One decoded sample as consumers see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The decoded report (EEG, motion, or 14-bit battery+EEG).
    pub report: Report,
    /// Seconds since the Unix epoch, from the device counter anchored to the host clock.
    pub time: f64,
    /// Position of this sample in its stream (EEG or motion) since acquisition started,
    /// lost samples included, so consumers can place it exactly.
    pub index: u64,
    /// Samples of the same stream lost just before this one.
    pub lost: u16,
}

const PAYLOAD: usize = 36;

/// A mode in 4 bits: model (bits 0–1), 16-bit (bit 2), 256 Hz (bit 3). Shared by the ring
/// packing and the acquisition's published mode.
pub fn pack_mode(m: Mode) -> u8 {
    let model = match m.model {
        Model::Epoc => 0,
        Model::EpocPlus => 1,
        Model::EpocX => 2,
    };
    model | u8::from(m.resolution == Resolution::Bits16) << 2 | u8::from(m.eeg_rate == EegRate::Hz256) << 3
}

/// The inverse of [`pack_mode`] (higher bits ignored).
pub fn unpack_mode(b: u8) -> Mode {
    Mode {
        model: match b & 3 {
            0 => Model::Epoc,
            1 => Model::EpocPlus,
            _ => Model::EpocX,
        },
        resolution: if b & 4 != 0 {
            Resolution::Bits16
        } else {
            Resolution::Bits14
        },
        eeg_rate: if b & 8 != 0 {
            EegRate::Hz256
        } else {
            EegRate::Hz128
        },
    }
}

fn mode_kind_byte(r: &Report) -> u8 {
    let kind = match r.kind {
        ReportKind::Eeg => 0,
        ReportKind::Motion => 1,
        ReportKind::Battery => 2,
    } << 4;
    pack_mode(r.mode) | kind
}

fn from_mode_kind_byte(b: u8) -> (Mode, ReportKind) {
    let kind = match (b >> 4) & 3 {
        0 => ReportKind::Eeg,
        1 => ReportKind::Motion,
        _ => ReportKind::Battery,
    };
    (unpack_mode(b), kind)
}

impl RingItem for Sample {
    const WORDS: usize = 7;

    /// Layout: time, index, then 40 bytes: mode/kind, counter, lost (2), and a 36-byte payload
    /// holding EEG + aux + 14-bit gyro, or the nine motion words (never both: 16-bit EEG
    /// reports carry no motion and motion reports no EEG).
    fn to_words(&self, out: &mut [u64]) {
        let r = &self.report;
        let mut b = [0u8; 4 + PAYLOAD];
        b[0] = mode_kind_byte(r);
        b[1] = r.counter;
        b[2..4].copy_from_slice(&self.lost.to_le_bytes());
        let p = &mut b[4..];
        if r.kind == ReportKind::Motion {
            for (i, m) in r.motion.iter().enumerate() {
                p[2 * i..2 * i + 2].copy_from_slice(&m.to_le_bytes());
            }
        } else {
            for (i, v) in r.eeg.iter().enumerate() {
                p[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes());
            }
            p[28..30].copy_from_slice(&r.aux.to_le_bytes());
            p[30..32].copy_from_slice(&r.motion[0].to_le_bytes());
            p[32..34].copy_from_slice(&r.motion[1].to_le_bytes());
        }
        out[0] = self.time.to_bits();
        out[1] = self.index;
        for (w, chunk) in out[2..].iter_mut().zip(b.chunks_exact(8)) {
            let mut a = [0u8; 8];
            a.copy_from_slice(chunk);
            *w = u64::from_le_bytes(a);
        }
    }

    fn from_words(words: &[u64]) -> Self {
        let mut b = [0u8; 4 + PAYLOAD];
        for (chunk, w) in b.chunks_exact_mut(8).zip(&words[2..]) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        let (mode, kind) = from_mode_kind_byte(b[0]);
        let p = &b[4..];
        let word = |i: usize| [p[2 * i], p[2 * i + 1]];
        let mut eeg = [0u16; EEG_CHANNELS];
        let mut motion = [0i16; 9];
        let mut aux = 0;
        if kind == ReportKind::Motion {
            for (i, m) in motion.iter_mut().enumerate() {
                *m = i16::from_le_bytes(word(i));
            }
        } else {
            for (i, v) in eeg.iter_mut().enumerate() {
                *v = u16::from_le_bytes(word(i));
            }
            aux = u16::from_le_bytes(word(14));
            motion[0] = i16::from_le_bytes(word(15));
            motion[1] = i16::from_le_bytes(word(16));
        }
        Sample {
            report: Report {
                mode,
                kind,
                counter: b[1],
                eeg,
                aux,
                motion,
            },
            time: f64::from_bits(words[0]),
            index: words[1],
            lost: u16::from_le_bytes([b[2], b[3]]),
        }
    }
}

/// Version of the on-disk sample encoding written by [`to_disk`]. Files carry it (the digit of
/// the block file magic, `EPOCDBK1`), and readers refuse versions they do not know instead
/// of misreading them. Version 1: the ring's seven words, each little-endian.
pub const ENCODING_VERSION: u8 = 1;

/// Bytes of one encoded sample.
pub const ENCODED_LEN: usize = <Sample as RingItem>::WORDS * 8;

/// Append the on-disk encoding of `s` (version [`ENCODING_VERSION`]) to `out`.
pub fn to_disk(s: &Sample, out: &mut Vec<u8>) {
    let mut words = [0u64; <Sample as RingItem>::WORDS];
    s.to_words(&mut words);
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// Decode one sample of encoding version 1 from exactly [`ENCODED_LEN`] bytes.
pub fn from_disk(bytes: &[u8; ENCODED_LEN]) -> Sample {
    let mut words = [0u64; <Sample as RingItem>::WORDS];
    for (w, b) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        *w = u64::from_le_bytes(a);
    }
    Sample::from_words(&words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use epoc_protocol::{Cipher, KeyLayout, Serial, decode, encode};
    use proptest::prelude::*;

    const MODES: [Mode; 4] = [
        Mode::EPOC,
        Mode::EPOC_PLUS_14,
        Mode::EPOC_PLUS_256,
        Mode::EPOC_X_128,
    ];

    proptest! {
        /// Whatever the decoder can produce survives the trip through the ring's words.
        #[test]
        fn packing_round_trips_every_decodable_report(
            bytes in prop::array::uniform32(any::<u8>()),
            mode in prop::sample::select(MODES.to_vec()),
            time in any::<f64>().prop_filter("not NaN", |t| !t.is_nan()),
            index in any::<u64>(),
            lost in any::<u16>(),
        ) {
            let mut plain = bytes;
            if mode.resolution == Resolution::Bits16 {
                plain[1] = if bytes[1] & 1 == 0 { 0x10 } else { 0x20 };
            }
            let report = decode(&plain, mode).unwrap();
            let sample = Sample { report, time, index, lost };
            let mut words = [0u64; 7];
            sample.to_words(&mut words);
            prop_assert_eq!(Sample::from_words(&words), sample);
        }
    }

    #[test]
    fn packing_keeps_a_real_epocplus_report() {
        let serial = Serial::from_usb("UD20160103001874").unwrap();
        let c = Cipher::for_layout(KeyLayout::Plus16, &serial);
        let r = decode(
            &encode(
                &decode(
                    &[
                        0x90, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                        21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                    ],
                    Mode::EPOC_PLUS_256,
                )
                .unwrap(),
            )
            .unwrap(),
            Mode::EPOC_PLUS_256,
        )
        .unwrap();
        let mut ct = encode(&r).unwrap();
        c.encrypt(&mut ct);
        let s = Sample {
            report: r,
            time: 1.5,
            index: 9,
            lost: 2,
        };
        let mut w = [0u64; 7];
        s.to_words(&mut w);
        assert_eq!(Sample::from_words(&w), s);
        let mut bytes = Vec::new();
        to_disk(&s, &mut bytes);
        let bytes: [u8; ENCODED_LEN] = bytes.try_into().expect("one sample is ENCODED_LEN bytes");
        assert_eq!(from_disk(&bytes), s);
        // Version 1 is the words in order, little-endian: time first.
        assert_eq!(bytes[..8], 1.5f64.to_bits().to_le_bytes());
        assert_eq!(bytes[8..16], 9u64.to_le_bytes());
    }
}
