//! What the acquisition thread tells the rest of the daemon, over a crossbeam channel.

use epoc_protocol::{KeyLayout, Mode, Model, Serial};

/// A Cortex-style headset id: `<MODEL>-<8 hex digits>` (docs/cortex-api.md, "Headset object"). The digits are
/// the serial's last eight characters when they are hex (dongle serials, BLE names), otherwise
/// a hash of the serial, so the id is stable across restarts.
pub fn headset_id(model: Model, serial: &Serial) -> String {
    let text = serial.as_str();
    let tail = &text[text.len().saturating_sub(8)..];
    if tail.len() == 8 && tail.bytes().all(|b| b.is_ascii_hexdigit()) {
        return format!("{}-{}", model.cortex_prefix(), tail.to_ascii_uppercase());
    }
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let hash = text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{}-{hash:08X}", model.cortex_prefix())
}

/// Something that happened to a headset's link.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadsetEvent {
    /// The Cortex id (model prefix from detection, or the transport's hint before it).
    pub headset_id: String,
    /// The key serial, which does not change when the model is learned.
    pub serial: String,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of link events.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// Reports decrypt: the key layout and mode are known and samples flow into the ring.
    Connected {
        /// The detected mode.
        mode: Mode,
        /// The key layout that decrypts the reports.
        layout: KeyLayout,
    },
    /// Reports arrive but no key layout decrypts them (wrong serial, unknown headset).
    DetectionFailed {
        /// Why, in words for the user.
        reason: String,
    },
    /// The link dropped (read error, unplugged, or no report for the silence timeout).
    Disconnected {
        /// Why.
        reason: String,
    },
    /// The device came back after a disconnect; detection runs again.
    Reconnected,
    /// The thread ended: stop requested, replay finished, or the device is gone for good.
    Ended {
        /// Why, if not a requested stop.
        reason: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_cortex_shape() {
        let ud = Serial::from_usb("UD20160103001874").unwrap();
        assert_eq!(headset_id(Model::EpocPlus, &ud), "EPOCPLUS-03001874");
        let ble = Serial::from_ble_hex("3b9acca6").unwrap();
        assert_eq!(headset_id(Model::EpocX, &ble), "EPOCX-3B9ACCA6");
        let odd = Serial::from_usb("SN201211154288GM").unwrap();
        let id = headset_id(Model::Epoc, &odd);
        assert!(id.starts_with("EPOC-") && id.len() == 13, "{id}");
        assert_eq!(id, headset_id(Model::Epoc, &odd), "stable");
    }
}
