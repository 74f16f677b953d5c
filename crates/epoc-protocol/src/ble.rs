//! Bluetooth LE framing: names, UUIDs, and reassembly of the two halves of an EEG packet
//! (docs/epoc-protocol.md 4). Unverified against hardware: no public BLE capture exists.

use crate::ProtocolError;
use crate::cipher::REPORT_LEN;
use crate::mode::Model;
use crate::serial::Serial;

/// The Emotiv data service.
pub const SERVICE_UUID: u128 = 0x81072f40_9f3d_11e3_a9dc_0002a5d5c51b;
/// EEG notifications (two 20-byte halves per report).
pub const EEG_CHARACTERISTIC_UUID: u128 = 0x81072f41_9f3d_11e3_a9dc_0002a5d5c51b;
/// Motion notifications.
pub const MOTION_CHARACTERISTIC_UUID: u128 = 0x81072f42_9f3d_11e3_a9dc_0002a5d5c51b;

/// What an advertised name tells: the model and the key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BleName {
    /// EPOC+ or EPOC X.
    pub model: Model,
    /// The pseudo-serial built from the 8 hex digits.
    pub serial: Serial,
}

/// Parse `EPOC+ (3B9ACCA6)` or `EPOCX (E50202E9)`: a model prefix and a bracketed 8-digit
/// hex token at the end.
pub fn parse_name(name: &str) -> Result<BleName, ProtocolError> {
    let bad = || ProtocolError::BleName(name.to_owned());
    let trimmed = name.trim();
    let model = if trimmed.starts_with("EPOC+") {
        Model::EpocPlus
    } else if trimmed.starts_with("EPOCX") || trimmed.starts_with("EPOC X") {
        Model::EpocX
    } else {
        return Err(bad());
    };
    let open = trimmed.rfind('(').ok_or_else(bad)?;
    let hex = trimmed[open + 1..].strip_suffix(')').ok_or_else(bad)?;
    let serial = Serial::from_ble_hex(hex).map_err(|_| bad())?;
    Ok(BleName { model, serial })
}

/// Pairs EEG notification halves into 32-byte ciphertext reports. A half whose partner never
/// comes is dropped and counted, never mixed with another sample's half.
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    pending: Option<(u8, [u8; 16])>,
    dropped_halves: u64,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one notification; returns a whole report when its second half arrives.
    pub fn push(&mut self, notification: &[u8]) -> Result<Option<[u8; REPORT_LEN]>, ProtocolError> {
        let half = notification.get(1).copied().unwrap_or(0);
        if !(18..=20).contains(&notification.len()) || !(1..=2).contains(&half) {
            return Err(ProtocolError::BleNotification {
                len: notification.len(),
                half,
            });
        }
        let counter = notification[0];
        let mut block = [0u8; 16];
        block.copy_from_slice(&notification[2..18]);
        if half == 1 {
            if self.pending.replace((counter, block)).is_some() {
                self.dropped_halves += 1;
            }
            return Ok(None);
        }
        match self.pending.take() {
            Some((c, first)) if c == counter => {
                let mut report = [0u8; REPORT_LEN];
                report[..16].copy_from_slice(&first);
                report[16..].copy_from_slice(&block);
                Ok(Some(report))
            }
            Some(_) => {
                self.dropped_halves += 2;
                Ok(None)
            }
            None => {
                self.dropped_halves += 1;
                Ok(None)
            }
        }
    }

    /// Halves dropped because their partner was missing.
    pub fn dropped_halves(&self) -> u64 {
        self.dropped_halves
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(counter: u8, half: u8, fill: u8) -> [u8; 20] {
        let mut n = [fill; 20];
        n[0] = counter;
        n[1] = half;
        n
    }

    #[test]
    fn names() {
        let n = parse_name("EPOC+ (3B9ACCA6)").unwrap();
        assert_eq!(n.model, Model::EpocPlus);
        assert_eq!(n.serial.key_bytes(), [0x3B, 0x9A, 0xCC, 0xA6]);
        let n = parse_name("EPOCX (E50202E9)").unwrap();
        assert_eq!(n.model, Model::EpocX);
        for bad in [
            "",
            "Insight (A1D20287)",
            "EPOC+",
            "EPOC+ (3B9ACCA)",
            "EPOC+ (3B9ACCAG)",
            "EPOC+ (é)",
        ] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn halves_pair_by_counter() {
        let mut r = Reassembler::new();
        assert_eq!(r.push(&note(5, 1, 0xAA)).unwrap(), None);
        let whole = r.push(&note(5, 2, 0xBB)).unwrap().unwrap();
        assert_eq!(&whole[..16], &[0xAA; 16]);
        assert_eq!(&whole[16..], &[0xBB; 16]);
        // A lost second half: the stale first half is dropped, not paired with counter 7.
        r.push(&note(6, 1, 1)).unwrap();
        r.push(&note(7, 1, 2)).unwrap();
        assert_eq!(r.dropped_halves(), 1);
        assert!(r.push(&note(7, 2, 3)).unwrap().is_some());
        // Mismatched counter: both dropped.
        r.push(&note(8, 1, 1)).unwrap();
        assert_eq!(r.push(&note(9, 2, 1)).unwrap(), None);
        assert_eq!(r.dropped_halves(), 3);
        assert!(r.push(&[1, 3, 0]).is_err());
        assert!(r.push(&[]).is_err());
        assert!(r.push(&note(1, 0, 0)).is_err());
    }
}
