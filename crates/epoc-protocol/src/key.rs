//! The key layouts: how a 16-byte AES key is built from a serial (docs/epoc-protocol.md 2.2).

use crate::mode::{Model, Resolution};
use crate::serial::Serial;

/// One way of building the key. Projects disagree on names ("consumer", "research"), so these
/// are named after the reference's tables instead; [`crate::detect`] tries them in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyLayout {
    /// EPOC X: XOR 0x55 on the ciphertext, then this key. Verified.
    X,
    /// EPOC+ in 16-bit mode. Verified.
    Plus16,
    /// EPOC+ in 14-bit "EPOC mode" (and EPOC Flex). Sourced.
    Plus14,
    /// Original EPOC, the "T" layout. Verified.
    EpocT,
    /// Original EPOC, the "H" layout. Sourced.
    EpocH,
    /// EPOC+ 16-bit "premium". Sourced.
    Plus16Premium,
    /// The layout of emokit's protocol document; contradicted on hardware, tried last.
    EpocDoc,
}

impl KeyLayout {
    /// The order of trial decryption (docs/epoc-protocol.md 2.5): verified layouts first.
    pub const ALL: [KeyLayout; 7] = [
        KeyLayout::X,
        KeyLayout::Plus16,
        KeyLayout::Plus14,
        KeyLayout::EpocT,
        KeyLayout::EpocH,
        KeyLayout::Plus16Premium,
        KeyLayout::EpocDoc,
    ];

    /// The layouts an original EPOC may use.
    pub const EPOC: [KeyLayout; 3] = [KeyLayout::EpocT, KeyLayout::EpocH, KeyLayout::EpocDoc];
    /// The layouts an EPOC+ may use (16-bit and 14-bit modes).
    pub const EPOC_PLUS: [KeyLayout; 3] = [KeyLayout::Plus16, KeyLayout::Plus14, KeyLayout::Plus16Premium];
    /// The layouts an EPOC X may use.
    pub const EPOC_X: [KeyLayout; 1] = [KeyLayout::X];

    /// A short stable name for messages and logs.
    pub const fn name(self) -> &'static str {
        match self {
            KeyLayout::X => "epocx",
            KeyLayout::Plus16 => "epocplus-16bit",
            KeyLayout::Plus14 => "epocplus-14bit",
            KeyLayout::EpocT => "epoc-t",
            KeyLayout::EpocH => "epoc-h",
            KeyLayout::Plus16Premium => "epocplus-16bit-premium",
            KeyLayout::EpocDoc => "epoc-doc",
        }
    }

    /// The headset model this layout belongs to.
    pub const fn model(self) -> Model {
        match self {
            KeyLayout::X => Model::EpocX,
            KeyLayout::Plus16 | KeyLayout::Plus14 | KeyLayout::Plus16Premium => Model::EpocPlus,
            KeyLayout::EpocT | KeyLayout::EpocH | KeyLayout::EpocDoc => Model::Epoc,
        }
    }

    /// Whether the decrypted reports use the 14-bit or the 16-bit packet layout.
    pub const fn resolution(self) -> Resolution {
        match self {
            KeyLayout::X | KeyLayout::Plus16 | KeyLayout::Plus16Premium => Resolution::Bits16,
            _ => Resolution::Bits14,
        }
    }

    /// EPOC X XORs every ciphertext byte with 0x55 before AES.
    pub const fn xor_55(self) -> bool {
        matches!(self, KeyLayout::X)
    }

    /// The 16-byte AES key for this layout and serial.
    pub fn derive(self, serial: &Serial) -> [u8; 16] {
        let [s1, s2, s3, s4] = serial.key_bytes();
        match self {
            KeyLayout::EpocT => [
                s1, 0x00, s2, b'T', s3, 0x10, s4, b'B', s1, 0x00, s2, b'H', s3, 0x00, s4, b'P',
            ],
            KeyLayout::EpocH => [
                s1, 0x00, s2, b'H', s1, 0x00, s2, b'T', s3, 0x10, s4, b'B', s3, 0x00, s4, b'P',
            ],
            KeyLayout::EpocDoc => [
                s1, 0x00, s2, b'H', s3, 0x00, s4, b'T', s1, 0x10, s2, b'B', s3, 0x00, s4, b'P',
            ],
            KeyLayout::Plus14 => [
                s1, 0x00, s2, 0x15, s3, 0x00, s4, 0x0C, s3, 0x00, s2, b'D', s1, 0x00, s2, b'X',
            ],
            KeyLayout::Plus16 => [s1, s2, s2, s3, s3, s3, s2, s4, s1, s4, s2, s2, s4, s4, s2, s1],
            KeyLayout::Plus16Premium => [s2, s1, s2, s1, s3, s4, s3, s4, s4, s3, s4, s3, s1, s2, s1, s2],
            KeyLayout::X => [s1, s2, s4, s4, s2, s1, s2, s4, s1, s4, s3, s2, s1, s2, s2, s3],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(k: [u8; 16]) -> String {
        k.iter().map(|b| format!("{b:02x}")).collect()
    }

    // Every expected key below is a vector of docs/epoc-protocol.md 2.2 and 6.
    #[test]
    fn documented_key_vectors() {
        let sn = Serial::from_usb("SN201211154288GM").unwrap();
        assert_eq!(
            hex(KeyLayout::EpocT.derive(&sn)),
            "4d004754381038424d00474838003850"
        );
        let ud = Serial::from_usb("UD20160103001874").unwrap();
        assert_eq!(
            hex(KeyLayout::Plus16.derive(&ud)),
            "34373738383837313431373731313734"
        );
        assert_eq!(
            hex(KeyLayout::Plus14.derive(&ud)),
            "340037153800310c3800374434003758"
        );
        assert_eq!(
            hex(KeyLayout::Plus16Premium.derive(&ud)),
            "37343734383138313138313834373437"
        );
        let x = Serial::from_usb("UD20221202006756").unwrap();
        assert_eq!(hex(KeyLayout::X.derive(&x)), "36353636353635363636373536353537");
        let ble = Serial::from_ble_hex("3B9ACCA6").unwrap();
        assert_eq!(
            hex(KeyLayout::Plus16.derive(&ble)),
            "3b9a9acccccc9aa63ba69a9aa6a69a3b"
        );
        let x_ble = Serial::from_ble_hex("E50202E9").unwrap();
        assert_eq!(
            hex(KeyLayout::X.derive(&x_ble)),
            "e502e9e902e502e9e5e90202e5020202"
        );
    }

    #[test]
    fn daeken_and_emokit_c_keys() {
        // Only the last four characters matter; the prefix is arbitrary.
        let k = KeyLayout::EpocT.derive(&Serial::from_usb("SN00000000007851").unwrap());
        assert_eq!(hex(k), "31003554381037423100354838003750");
        let k = KeyLayout::EpocT.derive(&Serial::from_usb("SN00000000007891").unwrap());
        assert_eq!(hex(k), "31003954381037423100394838003750");
    }
}
