//! AES-128-ECB on 32-byte reports, with EPOC X's XOR step.

use aes::Aes128;
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

use crate::key::KeyLayout;
use crate::serial::Serial;

/// Length of one report on the wire.
pub const REPORT_LEN: usize = 32;

/// A headset's cipher: the expanded AES key plus whether the XOR 0x55 step applies.
/// Built once per headset; `decrypt`/`encrypt` do not allocate.
#[derive(Clone)]
pub struct Cipher {
    aes: Aes128,
    xor_55: bool,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("xor_55", &self.xor_55)
            .finish_non_exhaustive()
    }
}

impl Cipher {
    /// A cipher from a raw 16-byte key.
    pub fn new(key: [u8; 16], xor_55: bool) -> Self {
        Cipher {
            aes: Aes128::new(&Array::from(key)),
            xor_55,
        }
    }

    /// The cipher for a key layout and a serial.
    pub fn for_layout(layout: KeyLayout, serial: &Serial) -> Self {
        Self::new(layout.derive(serial), layout.xor_55())
    }

    /// Decrypt a report in place: (XOR 0x55,) then both 16-byte halves with AES-ECB.
    #[inline]
    pub fn decrypt(&self, report: &mut [u8; REPORT_LEN]) {
        if self.xor_55 {
            for b in report.iter_mut() {
                *b ^= 0x55;
            }
        }
        let (blocks, _) = Array::slice_as_chunks_mut(report.as_mut_slice());
        self.aes.decrypt_blocks(blocks);
    }

    /// Decrypt many reports in place. Same result as [`Cipher::decrypt`] on each, but AES-NI
    /// pipelines eight blocks at a time, so bulk work (replay, `epocd decode`) runs ~2x faster.
    #[inline]
    pub fn decrypt_many(&self, reports: &mut [[u8; REPORT_LEN]]) {
        let flat = reports.as_flattened_mut();
        if self.xor_55 {
            for b in flat.iter_mut() {
                *b ^= 0x55;
            }
        }
        let (blocks, _) = Array::slice_as_chunks_mut(flat);
        self.aes.decrypt_blocks(blocks);
    }

    /// Encrypt a report in place, the exact inverse of [`Cipher::decrypt`]: what the virtual
    /// headset and the round-trip tests need to produce real-looking ciphertext.
    #[inline]
    pub fn encrypt(&self, report: &mut [u8; REPORT_LEN]) {
        let (blocks, _) = Array::slice_as_chunks_mut(report.as_mut_slice());
        self.aes.encrypt_blocks(blocks);
        if self.xor_55 {
            for b in report.iter_mut() {
                *b ^= 0x55;
            }
        }
    }
}

/// Turn what a HID read returned into one report. hidapi returns exactly 32 bytes on Linux;
/// some stacks prepend a zero report id (33 bytes), which is dropped here.
pub fn report_from_read(buf: &[u8]) -> Result<[u8; REPORT_LEN], crate::ProtocolError> {
    let body = match buf.len() {
        REPORT_LEN => buf,
        33 if buf[0] == 0 => &buf[1..],
        n => return Err(crate::ProtocolError::ReportLength(n)),
    };
    let mut out = [0u8; REPORT_LEN];
    out.copy_from_slice(body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn hemokit_aes_unit_vector() {
        // docs/epoc-protocol.md 6: "0123456789abcdef" twice decrypts to 1a70…6551 twice.
        let serial = Serial::from_usb("SN201211154288GM").unwrap();
        let c = Cipher::for_layout(KeyLayout::EpocT, &serial);
        let mut r = [0u8; 32];
        r[..16].copy_from_slice(b"0123456789abcdef");
        r[16..].copy_from_slice(b"0123456789abcdef");
        c.decrypt(&mut r);
        let half = unhex("1a70b045699b25b7ed91b9a63af76551");
        assert_eq!(&r[..16], half.as_slice());
        assert_eq!(&r[16..], half.as_slice());
    }

    #[test]
    fn decrypt_many_equals_decrypt_each() {
        let c = Cipher::new(*b"0123456789abcdef", true);
        let mut many: Vec<[u8; 32]> = (0..19u8).map(|i| [i.wrapping_mul(37); 32]).collect();
        let each: Vec<[u8; 32]> = many
            .iter()
            .map(|r| {
                let mut r = *r;
                c.decrypt(&mut r);
                r
            })
            .collect();
        c.decrypt_many(&mut many);
        assert_eq!(many, each);
    }

    #[test]
    fn report_from_read_lengths() {
        assert!(report_from_read(&[1u8; 32]).is_ok());
        let mut with_id = vec![0u8];
        with_id.extend_from_slice(&[7u8; 32]);
        assert_eq!(report_from_read(&with_id).unwrap(), [7u8; 32]);
        assert!(report_from_read(&[1u8; 33]).is_err());
        assert!(report_from_read(&[1u8; 31]).is_err());
        assert!(report_from_read(&[]).is_err());
    }
}
