//! What can be used right now, what cannot and why; and hot-plug of dongles.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use epoc_protocol::{Model, Serial};

use crate::event::headset_id;
use crate::hid::{self, DongleInfo};
use crate::source::Connection;
use crate::{DriverError, ble};

/// A headset (or dongle) found, usable or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Cortex-style id (`EPOCPLUS-03001874`). For a dongle the model is a guess until the
    /// reports are decrypted (the universal receiver serves several models).
    pub headset_id: String,
    /// The key serial, when known.
    pub serial: Option<String>,
    /// The model, when the transport tells it.
    pub model: Option<Model>,
    /// How it is connected.
    pub connection: Connection,
    /// Device node, Bluetooth address, file or `virtual:N`.
    pub location: String,
    /// Why it cannot be used, with the fix; `None` when usable.
    pub problem: Option<String>,
}

/// The result of one discovery pass.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Discovered {
    /// Everything found.
    pub headsets: Vec<Found>,
    /// Why USB HID could not be searched, if it could not.
    pub hid_unavailable: Option<String>,
    /// Why Bluetooth could not be searched (or was not asked to be).
    pub bluetooth_unavailable: Option<String>,
}

fn found_dongle(d: &DongleInfo) -> Found {
    let model = d.model_hint();
    let id = match d.serial.as_deref().map(Serial::from_usb) {
        Some(Ok(s)) => headset_id(model.unwrap_or(Model::EpocPlus), &s),
        _ => format!("{}-????????", model.unwrap_or(Model::EpocPlus).cortex_prefix()),
    };
    Found {
        headset_id: id,
        serial: d.serial.clone(),
        model,
        connection: Connection::Dongle,
        location: d.path.clone(),
        problem: d.problem.clone(),
    }
}

/// Look for dongles, and for BLE headsets when `ble_scan` is given (scanning that long).
pub fn discover(ble_scan: Option<Duration>) -> Discovered {
    let mut out = Discovered::default();
    match hid::enumerate() {
        Ok(dongles) => out.headsets.extend(dongles.iter().map(found_dongle)),
        Err(e) => out.hid_unavailable = Some(e.to_string()),
    }
    match ble_scan {
        None => out.bluetooth_unavailable = Some("not scanned".into()),
        Some(d) => match ble::scan(d) {
            Ok(found) => out.headsets.extend(found.into_iter().map(|h| Found {
                headset_id: headset_id(h.model, &h.serial),
                serial: Some(h.serial.as_str().to_owned()),
                model: Some(h.model),
                connection: Connection::Bluetooth,
                location: h.address,
                problem: None,
            })),
            Err(DriverError::BluetoothUnavailable(reason)) => out.bluetooth_unavailable = Some(reason),
            Err(e) => out.bluetooth_unavailable = Some(e.to_string()),
        },
    }
    out
}

/// Open the headset named by `spec`, or the only usable dongle when `spec` is `None`.
///
/// `spec` may be `virtual:N` (or `virtual`), a virtual headset's Cortex id, a dongle's Cortex
/// id, USB serial or hidraw path, or a Bluetooth address or advertised name.
pub fn open(spec: Option<&str>) -> Result<Box<dyn crate::Source>, DriverError> {
    let Some(spec) = spec.map(str::trim) else {
        return Ok(Box::new(hid::HidSource::open(None)?));
    };
    if let Some(n) = virtual_number(spec) {
        return Ok(Box::new(crate::virtual_headset::VirtualHeadset::new(n, true)?));
    }
    let dongles = hid::enumerate().unwrap_or_default();
    if let Some(d) = dongles.iter().find(|d| {
        d.path == spec
            || d.serial.as_deref() == Some(spec)
            || found_dongle(d).headset_id.eq_ignore_ascii_case(spec)
    }) {
        if let Some(problem) = &d.problem {
            return Err(DriverError::CannotOpen(problem.clone()));
        }
        return Ok(Box::new(hid::HidSource::open(d.serial.as_deref())?));
    }
    if spec.contains(':') || spec.starts_with("EPOC") {
        return Ok(Box::new(ble::BleSource::connect(spec)?));
    }
    Err(DriverError::NotFound(format!(
        "no headset {spec:?}: run `epocd devices` to see what is available (or use virtual:1)"
    )))
}

/// `virtual`, `virtual:N`, or the Cortex id of virtual headset N.
fn virtual_number(spec: &str) -> Option<u32> {
    if spec.eq_ignore_ascii_case("virtual") {
        return Some(1);
    }
    if let Some(n) = spec.strip_prefix("virtual:") {
        return n.parse().ok().filter(|n| *n > 0);
    }
    (1..=64).find(|n| {
        Serial::from_usb(&crate::virtual_headset::virtual_serial(*n))
            .is_ok_and(|s| headset_id(Model::EpocPlus, &s).eq_ignore_ascii_case(spec))
    })
}

/// A dongle appeared or went away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotplugEvent {
    /// Newly present (or newly changed, e.g. its permissions were fixed).
    Added(DongleInfo),
    /// No longer present.
    Removed(DongleInfo),
}

/// Polls the bus and reports dongles plugged in or out. Polling every `interval` (500 ms by
/// default) notices a change well within 2 s and needs neither udev monitoring nor netlink
/// privileges.
pub struct HotplugWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HotplugWatcher {
    /// Watch the real bus.
    pub fn spawn(interval: Duration, events: Sender<HotplugEvent>) -> Result<Self, DriverError> {
        Self::spawn_with(interval, || hid::enumerate().unwrap_or_default(), events)
    }

    /// Watch what `enumerate` returns (tests simulate plugging this way).
    pub fn spawn_with(
        interval: Duration,
        mut enumerate: impl FnMut() -> Vec<DongleInfo> + Send + 'static,
        events: Sender<HotplugEvent>,
    ) -> Result<Self, DriverError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("hotplug".into())
            .spawn(move || {
                let mut known: Vec<DongleInfo> = Vec::new();
                while !flag.load(Ordering::Acquire) {
                    let now = enumerate();
                    for gone in known.iter().filter(|k| !now.contains(k)) {
                        if events.send(HotplugEvent::Removed(gone.clone())).is_err() {
                            return;
                        }
                    }
                    for new in now.iter().filter(|n| !known.contains(n)) {
                        if events.send(HotplugEvent::Added(new.clone())).is_err() {
                            return;
                        }
                    }
                    known = now;
                    let until = Instant::now() + interval;
                    while Instant::now() < until && !flag.load(Ordering::Acquire) {
                        std::thread::sleep(Duration::from_millis(10).min(interval));
                    }
                }
            })?;
        Ok(HotplugWatcher {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for HotplugWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn dongle(path: &str) -> DongleInfo {
        DongleInfo {
            path: path.into(),
            serial: Some("UD20160103001874".into()),
            vendor_id: 0x1234,
            product_id: 0xed02,
            product: Some("EEG Signals".into()),
            problem: None,
        }
    }

    #[test]
    fn plug_and_unplug_are_noticed_within_two_seconds() {
        let bus = Arc::new(Mutex::new(Vec::<DongleInfo>::new()));
        let view = Arc::clone(&bus);
        let (tx, rx) = crossbeam_channel::unbounded();
        let _w = HotplugWatcher::spawn_with(
            Duration::from_millis(500),
            move || view.lock().map(|v| v.clone()).unwrap_or_default(),
            tx,
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        bus.lock().unwrap().push(dongle("/dev/hidraw7"));
        let t = Instant::now();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(2)).unwrap(),
            HotplugEvent::Added(dongle("/dev/hidraw7"))
        );
        assert!(t.elapsed() < Duration::from_secs(2));
        bus.lock().unwrap().clear();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(2)).unwrap(),
            HotplugEvent::Removed(dongle("/dev/hidraw7"))
        );
    }

    #[test]
    fn dongles_get_cortex_ids_and_keep_their_problem() {
        let mut d = dongle("/dev/hidraw1");
        d.problem = Some("permission denied on /dev/hidraw1".into());
        let f = found_dongle(&d);
        assert_eq!(f.headset_id, "EPOCPLUS-03001874");
        assert_eq!(f.connection, Connection::Dongle);
        assert!(f.problem.unwrap().contains("permission denied"));
    }

    #[test]
    fn virtual_specs() {
        assert_eq!(virtual_number("virtual"), Some(1));
        assert_eq!(virtual_number("virtual:3"), Some(3));
        assert_eq!(virtual_number("virtual:0"), None);
        assert_eq!(virtual_number("EPOCPLUS-00000002"), Some(2));
        assert_eq!(virtual_number("EPOCPLUS-03001874"), None);
        assert!(matches!(
            open(Some("nothing-like-this")),
            Err(DriverError::NotFound(_))
        ));
    }

    #[test]
    fn discovery_without_hardware_reports_bluetooth_reason() {
        let d = discover(Some(Duration::from_millis(100)));
        if d.headsets.iter().all(|h| h.connection != Connection::Bluetooth) {
            assert!(d.bluetooth_unavailable.is_some() || d.headsets.is_empty());
        }
    }
}
