//! The key material: the last four bytes of a dongle serial or of a BLE name.

use crate::ProtocolError;

/// Where a headset's key comes from. Only four bytes matter to the cipher (`s1` = last
/// character … `s4`); the text is kept for display and for Cortex headset ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Serial {
    text: String,
    tail: [u8; 4],
}

impl Serial {
    /// A USB dongle serial (the `iSerialNumber` string, e.g. `UD20160103001874`): its last
    /// four ASCII characters are the key bytes.
    pub fn from_usb(text: &str) -> Result<Self, ProtocolError> {
        let text = text.trim();
        if !text.is_ascii() {
            return Err(ProtocolError::SerialNotAscii(text.to_owned()));
        }
        let b = text.as_bytes();
        if b.len() < 4 {
            return Err(ProtocolError::SerialTooShort(text.to_owned()));
        }
        let n = b.len();
        Ok(Serial {
            text: text.to_owned(),
            tail: [b[n - 1], b[n - 2], b[n - 3], b[n - 4]],
        })
    }

    /// The pseudo-serial of a BLE headset: the four bytes of the 8 hex digits in its name,
    /// reversed (`3B9ACCA6` gives s1 = 0x3B … s4 = 0xA6; docs/epoc-protocol.md 2.6).
    pub fn from_ble_hex(hex8: &str) -> Result<Self, ProtocolError> {
        let bad = || ProtocolError::BleName(hex8.to_owned());
        if hex8.len() != 8 || !hex8.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 4];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex8[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Serial {
            text: hex8.to_ascii_uppercase(),
            tail: bytes,
        })
    }

    /// The serial as the user sees it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `[s1, s2, s3, s4]`: the bytes the key layouts are built from.
    pub fn key_bytes(&self) -> [u8; 4] {
        self.tail
    }
}

impl std::fmt::Display for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb_serial_takes_last_four_characters_last_first() {
        let s = Serial::from_usb("UD20160103001874").unwrap();
        assert_eq!(s.key_bytes(), [b'4', b'7', b'8', b'1']);
    }

    #[test]
    fn bad_serials_are_errors() {
        assert!(matches!(
            Serial::from_usb("ab"),
            Err(ProtocolError::SerialTooShort(_))
        ));
        assert!(matches!(
            Serial::from_usb("UD2016é1874"),
            Err(ProtocolError::SerialNotAscii(_))
        ));
        assert!(Serial::from_ble_hex("3B9ACCA").is_err());
        assert!(Serial::from_ble_hex("3B9ACCAZ").is_err());
        assert!(Serial::from_ble_hex("3B9AéCA").is_err());
    }
}
