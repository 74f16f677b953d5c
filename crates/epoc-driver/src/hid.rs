//! The USB receiver dongle through hidapi's pure-Rust hidraw backend (no C library).
//!
//! Discovery explains every dongle it cannot use: no permission on the hidraw node (and the
//! udev rule that fixes it), no serial number, or an open failure, as distinct from "no
//! dongle found".

use std::ffi::CString;
use std::time::Duration;

use epoc_protocol::{Model, REPORT_LEN, Serial, report_from_read};
use hidapi::{DeviceInfo, HidApi, HidDevice};

use crate::DriverError;
use crate::source::{Connection, Identity, Source};

/// USB ids of the receivers (docs/epoc-protocol.md 1.1): the original EPOC dongle and the
/// universal receiver (EPOC+, EPOC X, research EPOC). `0x1234` is shared with other
/// products, so the manufacturer string is checked too.
pub const DONGLE_IDS: [(u16, u16); 2] = [(0x21a1, 0x0001), (0x1234, 0xed02)];
/// The udev rule that grants access to the dongle, where the epocd package installs it.
pub const UDEV_RULE: &str = "/usr/lib/udev/rules.d/70-epocd.rules";

/// What the fix for a permission problem is, in one sentence.
pub fn permission_fix() -> String {
    format!(
        "the udev rule {UDEV_RULE} gives the dongle to the logged-in user and the epocd group: install the epocd \
         package (or copy the rule there from the source tree's udev/ folder), then run \
         sudo udevadm control --reload && sudo udevadm trigger (or replug the dongle); a headless service user \
         needs the epocd group"
    )
}

/// A dongle as found on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DongleInfo {
    /// The hidraw node (e.g. `/dev/hidraw3`).
    pub path: String,
    /// The USB serial string: the key material.
    pub serial: Option<String>,
    /// USB vendor id.
    pub vendor_id: u16,
    /// USB product id.
    pub product_id: u16,
    /// USB product string.
    pub product: Option<String>,
    /// Why it cannot be used, if it cannot.
    pub problem: Option<String>,
}

impl DongleInfo {
    /// The original EPOC dongle only serves EPOC headsets; the universal receiver serves
    /// several models, learned by detection.
    pub fn model_hint(&self) -> Option<Model> {
        (self.vendor_id == 0x21a1).then_some(Model::Epoc)
    }
}

fn is_data_interface(d: &DeviceInfo) -> bool {
    let ids = (d.vendor_id(), d.product_id());
    if !DONGLE_IDS.contains(&ids) {
        return false;
    }
    if ids.0 == 0x1234 {
        // Another product may use 0x1234:ed02; accept it only if it says it is Emotiv's
        // (or says nothing, as some kernels report no strings to unprivileged users).
        if let Some(m) = d.manufacturer_string()
            && !m.to_ascii_lowercase().contains("emotiv")
        {
            return false;
        }
    }
    // Interface 1 carries the 32-byte reports; some backends only report the usage page.
    d.interface_number() == 1 || (d.usage_page() == 0xFFFF && d.usage() == 2)
}

/// Why a hidraw node cannot be opened read-write, checked directly so the message does not
/// depend on the hidapi backend's wording.
fn access_problem(path: &str) -> Option<String> {
    match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Some(format!("permission denied on {path}: {}", permission_fix()))
        }
        Err(e) => Some(format!("cannot open {path}: {e}")),
    }
}

/// Every Emotiv dongle on the bus, with the reason for each one that cannot be used.
pub fn enumerate() -> Result<Vec<DongleInfo>, DriverError> {
    let api = HidApi::new().map_err(|e| DriverError::CannotOpen(format!("cannot list HID devices: {e}")))?;
    Ok(dongles_in(&api))
}

fn dongles_in(api: &HidApi) -> Vec<DongleInfo> {
    let mut out: Vec<DongleInfo> = Vec::new();
    for d in api.device_list().filter(|d| is_data_interface(d)) {
        let path = d.path().to_string_lossy().into_owned();
        if out.iter().any(|o| o.path == path) {
            continue;
        }
        let serial = d
            .serial_number()
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty());
        let problem = access_problem(&path).or_else(|| match &serial {
            None => Some("the dongle reports no USB serial number, so its key cannot be derived".to_owned()),
            Some(s) => Serial::from_usb(s).err().map(|e| e.to_string()),
        });
        out.push(DongleInfo {
            path,
            serial,
            vendor_id: d.vendor_id(),
            product_id: d.product_id(),
            product: d.product_string().map(str::to_owned),
            problem,
        });
    }
    out
}

/// A dongle as a [`Source`].
pub struct HidSource {
    identity: Identity,
    device: Option<HidDevice>,
    buf: [u8; 64],
}

impl HidSource {
    /// Open the dongle with this serial, or the only usable one when `serial` is `None`.
    pub fn open(serial: Option<&str>) -> Result<Self, DriverError> {
        let dongles = enumerate()?;
        if dongles.is_empty() {
            return Err(DriverError::NotFound(
                "no EMOTIV dongle found (USB 21a1:0001 or 1234:ed02): is it plugged in?".into(),
            ));
        }
        let wanted: Vec<&DongleInfo> = dongles
            .iter()
            .filter(|d| serial.is_none_or(|s| d.serial.as_deref() == Some(s)))
            .collect();
        let info = match (wanted.as_slice(), serial) {
            ([], Some(s)) => return Err(DriverError::NotFound(format!("no dongle with serial {s}"))),
            ([one], _) => *one,
            (_, _) => {
                return Err(DriverError::NotFound(
                    "several dongles are plugged in: choose one with --device".into(),
                ));
            }
        };
        if let Some(problem) = &info.problem {
            return Err(DriverError::CannotOpen(problem.clone()));
        }
        Self::open_info(info)
    }

    fn open_info(info: &DongleInfo) -> Result<Self, DriverError> {
        let serial_text = info.serial.as_deref().unwrap_or_default();
        let serial = Serial::from_usb(serial_text)?;
        let device = open_path(&info.path)?;
        Ok(HidSource {
            identity: Identity {
                serial,
                model_hint: info.model_hint(),
                rate_hint: None,
                connection: Connection::Dongle,
                location: info.path.clone(),
                real_time: true,
            },
            device: Some(device),
            buf: [0; 64],
        })
    }
}

fn open_path(path: &str) -> Result<HidDevice, DriverError> {
    let api = HidApi::new().map_err(|e| DriverError::CannotOpen(format!("cannot start hidapi: {e}")))?;
    let c_path =
        CString::new(path).map_err(|_| DriverError::CannotOpen(format!("bad device path {path:?}")))?;
    api.open_path(&c_path).map_err(|e| match access_problem(path) {
        Some(p) => DriverError::CannotOpen(p),
        None => DriverError::CannotOpen(format!("cannot open {path}: {e}")),
    })
}

impl Source for HidSource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn read(&mut self, timeout: Duration) -> Result<Option<[u8; REPORT_LEN]>, DriverError> {
        let Some(device) = &self.device else {
            return Err(DriverError::Disconnected("dongle closed".into()));
        };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        match device.read_timeout(&mut self.buf, ms) {
            Ok(0) => Ok(None),
            // A report of another length (interface 0's 3-byte reports) is not EEG data.
            Ok(n) => Ok(report_from_read(&self.buf[..n]).ok()),
            Err(e) => {
                self.device = None;
                Err(DriverError::Disconnected(format!(
                    "dongle read failed ({e}): unplugged?"
                )))
            }
        }
    }

    /// Find the dongle with the same serial again (it may come back on another hidraw node).
    fn reconnect(&mut self) -> Result<(), DriverError> {
        let serial = self.identity.serial.as_str().to_owned();
        let info = enumerate()?
            .into_iter()
            .find(|d| d.serial.as_deref() == Some(serial.as_str()))
            .ok_or_else(|| DriverError::Disconnected(format!("dongle {serial} is not plugged in")))?;
        if let Some(problem) = info.problem {
            return Err(DriverError::CannotOpen(problem));
        }
        self.device = Some(open_path(&info.path)?);
        self.identity.location = info.path;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumeration_without_dongles_is_empty_not_an_error() {
        // No hidraw devices exist in CI; the call must still succeed.
        let found = enumerate().expect("hidapi starts without devices");
        assert!(
            found
                .iter()
                .all(|d| DONGLE_IDS.contains(&(d.vendor_id, d.product_id)))
        );
    }

    #[test]
    fn permission_problems_name_the_fix() {
        let msg = access_problem("/nonexistent/hidraw9").unwrap();
        assert!(msg.contains("/nonexistent/hidraw9"), "{msg}");
        assert!(permission_fix().contains(UDEV_RULE));
    }

    #[test]
    fn opening_without_a_dongle_says_so() {
        match HidSource::open(None) {
            Err(DriverError::NotFound(msg)) => assert!(msg.contains("no EMOTIV dongle found"), "{msg}"),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => {} // a dongle is really plugged in on this machine
        }
    }

    #[test]
    #[ignore = "needs a real EMOTIV dongle with a headset switched on"]
    fn reads_reports_from_a_real_dongle() {
        let mut src = HidSource::open(None).expect("open dongle");
        let mut n = 0;
        for _ in 0..200 {
            if src.read(Duration::from_millis(100)).expect("read").is_some() {
                n += 1;
            }
        }
        assert!(n > 100, "only {n} reports in 20 s");
    }
}
