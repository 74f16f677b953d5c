//! Headsets as Cortex sees them: where each comes from, its status, and its headset object.

use std::path::PathBuf;

use epoc_driver::replay::{ReplayOptions, ReplaySource};
use epoc_driver::virtual_headset::VirtualHeadset;
use epoc_driver::virtual_script::VirtualScript;
use epoc_driver::{Acquisition, Connection, DriverError, LinkState, Source, ble, hid};
use epoc_protocol::{DISPLAY_ORDER, EegRate, Mode, Model, Resolution};
use serde_json::{Value, json};

use cortex_api::streams::motion_sensors;
use cortex_stream::Fanout;

/// Where a headset's reports come from; enough to (re)open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadsetSpec {
    /// Virtual headset number N.
    Virtual(u32),
    /// Virtual headset number `n` acting out a script (docs/detections.md).
    Scripted {
        /// Its number.
        n: u32,
        /// What it acts out.
        script: Script,
    },
    /// A capture played in a loop at the headset's rate.
    Replay {
        /// The capture file.
        path: PathBuf,
        /// The serial of the dongle that recorded it.
        serial: String,
    },
    /// A USB dongle, by serial.
    Dongle {
        /// The USB serial.
        serial: String,
    },
    /// A BLE headset, by address.
    Ble {
        /// The Bluetooth address.
        address: String,
    },
    /// A source opened by a function of the embedder's (tests: a device that is slow to
    /// open, or fails).
    Custom(Opener),
}

/// How a [`HeadsetSpec::Custom`] headset is opened (again on every `controlDevice connect`).
#[derive(Clone)]
pub struct Opener(pub std::sync::Arc<dyn Fn() -> Result<Box<dyn Source>, DriverError> + Send + Sync>);

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opener")
    }
}

impl PartialEq for Opener {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Opener {}

/// A virtual headset's script, shared by every headset that acts it out.
#[derive(Debug, Clone)]
pub struct Script(pub std::sync::Arc<VirtualScript>);

impl PartialEq for Script {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Script {}

impl HeadsetSpec {
    /// Open the source.
    pub fn open(&self) -> Result<Box<dyn Source>, DriverError> {
        Ok(match self {
            HeadsetSpec::Virtual(n) => Box::new(VirtualHeadset::new(*n, true)?),
            HeadsetSpec::Scripted { n, script } => Box::new(VirtualHeadset::scripted(*n, true, &script.0)?),
            HeadsetSpec::Replay { path, serial } => Box::new(ReplaySource::open(
                path,
                serial,
                ReplayOptions {
                    real_time: true,
                    looping: true,
                },
            )?),
            HeadsetSpec::Dongle { serial } => Box::new(hid::HidSource::open(Some(serial))?),
            HeadsetSpec::Ble { address } => Box::new(ble::BleSource::connect(address)?),
            HeadsetSpec::Custom(open) => (open.0)()?,
        })
    }
}

/// The motion rate to show before a headset's reports say (EPOC+ and EPOC X default).
const DEFAULT_MEMS_RATE: u16 = 64;

/// Cortex headset status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadsetStatus {
    /// Known but not streaming.
    Discovered,
    /// Opening, detecting, or reconnecting.
    Connecting,
    /// Samples are flowing.
    Connected,
}

impl HeadsetStatus {
    /// The Cortex string.
    pub const fn name(self) -> &'static str {
        match self {
            HeadsetStatus::Discovered => "discovered",
            HeadsetStatus::Connecting => "connecting",
            HeadsetStatus::Connected => "connected",
        }
    }
}

/// A running acquisition, its fan-out and its LSL outlets (dropped together, in this order).
pub struct Link {
    /// Frames to subscribers.
    pub fanout: Fanout,
    /// The acquisition thread.
    pub acquisition: Acquisition,
    /// The headset's LSL outlets, when LSL is on.
    pub lsl: Option<epoc_lsl::HeadsetOutlets>,
    /// The outlets' demand for samples within the stream interval (held while they exist).
    pub lsl_demand: Option<epoc_driver::CadenceDemand>,
}

/// One headset known to the daemon.
pub struct Headset {
    /// Cortex id, e.g. `EPOCPLUS-00000001`.
    pub id: String,
    /// How to open it.
    pub spec: HeadsetSpec,
    /// How it is connected.
    pub connection: Connection,
    /// Model (from the transport, a replay's detection, or the last detection).
    pub model: Model,
    /// Mode from the last detection.
    pub mode: Option<Mode>,
    /// `updateHeadsetCustomInfo` data.
    pub custom_name: String,
    /// EPOC X headband position.
    pub headband_position: Option<String>,
    /// The running acquisition, when connected or connecting.
    pub link: Option<Link>,
    /// `controlDevice connect` is opening it (outside the service lock).
    pub opening: bool,
    /// The profile loaded on it, and by which app.
    pub profile: Option<LoadedProfile>,
}

/// A profile loaded on a headset (setupProfile load, loadGuestProfile).
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    /// Its contents (training and settings change here until `save`).
    pub profile: cortex_profile::Profile,
    /// The app that loaded it.
    pub app_id: String,
    /// An empty guest profile: it has no file and cannot be saved.
    pub guest: bool,
}

impl Headset {
    /// Status derived from the acquisition's link state.
    pub fn status(&self) -> HeadsetStatus {
        match &self.link {
            None if self.opening => HeadsetStatus::Connecting,
            None => HeadsetStatus::Discovered,
            Some(l) if l.acquisition.state() == LinkState::Connected => HeadsetStatus::Connected,
            Some(_) => HeadsetStatus::Connecting,
        }
    }

    /// The mode to describe: detected, else the model's usual one.
    pub fn effective_mode(&self) -> Mode {
        let live = self.link.as_ref().and_then(|l| l.acquisition.mode());
        live.or(self.mode).unwrap_or(match self.model {
            Model::Epoc => Mode::EPOC,
            Model::EpocPlus => Mode::EPOC_PLUS_256,
            Model::EpocX => Mode::EPOC_X_128,
        })
    }

    /// The Cortex headset object (docs/cortex-api.md, "Headset object"), with every field clients iterate.
    pub fn to_json(&self) -> Value {
        let mode = self.effective_mode();
        // What the fan-out observes once a second, else what detection counted in its first
        // 64 reports (so the rate is right from the moment the headset is connected).
        let mems_rate = match (mode.resolution, self.link.as_ref()) {
            (Resolution::Bits14, _) => 128,
            (_, Some(l)) => match l
                .fanout
                .live()
                .motion_rate
                .load(std::sync::atomic::Ordering::Relaxed)
            {
                0 => l.acquisition.motion_rate().unwrap_or(DEFAULT_MEMS_RATE),
                r => r,
            },
            (_, None) => DEFAULT_MEMS_RATE,
        };
        let battery = self
            .link
            .as_ref()
            .map(|l| {
                l.fanout
                    .live()
                    .battery_percent
                    .load(std::sync::atomic::Ordering::Relaxed)
            })
            .filter(|p| *p <= 100);
        let virtual_kind = matches!(self.connection, Connection::Virtual | Connection::Replay);
        json!({
            "id": self.id,
            "status": self.status().name(),
            "connectedBy": self.connection.cortex_name(),
            "dongle": "0",
            "firmware": "0",
            "motionSensors": motion_sensors(mode),
            "sensors": DISPLAY_ORDER.iter().map(|c| c.name()).collect::<Vec<_>>(),
            "settings": {
                "mode": self.model.cortex_prefix(),
                "eegRate": mode.eeg_rate.hz(),
                "eegRes": mode.resolution.bits(),
                "memsRate": mems_rate,
                "memsRes": if mode.resolution == Resolution::Bits14 { 12 } else { 16 },
            },
            "mode": self.model.cortex_prefix(),
            "customName": self.custom_name,
            "headbandPosition": self.headband_position,
            "isVirtual": virtual_kind,
            "batteryPercent": battery,
        })
    }

    /// Whether `pattern` (an exact id, or a prefix wildcard like `EPOCPLUS-*`) names it.
    pub fn matches(&self, pattern: &str) -> bool {
        match pattern.strip_suffix('*') {
            Some(prefix) => self.id.starts_with(prefix),
            None => self.id == pattern,
        }
    }
}

/// Rate to assume for a model before detection (for `effective_mode`).
pub fn default_rate(model: Model) -> EegRate {
    match model {
        Model::EpocPlus => EegRate::Hz256,
        _ => EegRate::Hz128,
    }
}
