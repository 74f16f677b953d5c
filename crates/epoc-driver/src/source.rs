//! The transport abstraction: anything that yields encrypted 32-byte reports.

use std::time::Duration;

use epoc_protocol::{EegRate, Model, REPORT_LEN, Serial};

use crate::DriverError;

/// How a headset reaches this machine (Cortex `connectedBy`, plus our synthetic kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Connection {
    /// The USB receiver dongle (hidraw).
    Dongle,
    /// Bluetooth LE.
    Bluetooth,
    /// A synthetic headset made by epocd (clearly not real data).
    Virtual,
    /// A capture file played back.
    Replay,
}

impl Connection {
    /// The Cortex `connectedBy` string (`dongle`, `bluetooth`); `virtual` and `replay` for ours.
    pub const fn cortex_name(self) -> &'static str {
        match self {
            Connection::Dongle => "dongle",
            Connection::Bluetooth => "bluetooth",
            Connection::Virtual => "virtual",
            Connection::Replay => "replay",
        }
    }
}

/// Who a source is: enough to derive the key and a stable Cortex id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The key material (dongle serial, BLE name digits, virtual/replay serial).
    pub serial: Serial,
    /// The model if the transport tells it (BLE names do; dongles do not).
    pub model_hint: Option<Model>,
    /// The EEG rate if the source knows it. A 256 Hz stream that starts at counter 0 cannot
    /// be told from 128 Hz until its counter passes 127; replay and virtual sources know.
    pub rate_hint: Option<EegRate>,
    /// How it is connected.
    pub connection: Connection,
    /// Where it is: hidraw path, BLE address, file path, or `virtual:N`.
    pub location: String,
    /// Whether reports arrive in real time (hardware, paced replay, virtual). Timestamps of an
    /// unpaced source (replay as fast as possible) come from the counter alone.
    pub real_time: bool,
}

/// A transport. Implementations: `hid` (dongle), `ble`, `replay`, `virtual`, and test sources.
/// `read` is called in a tight loop on the acquisition thread, so it must not allocate per
/// report and must return within `timeout`.
pub trait Source: Send {
    /// Who this is.
    fn identity(&self) -> &Identity;

    /// The next encrypted report, `Ok(None)` if none arrived within `timeout`, or an error
    /// when the device is gone (the acquisition thread then calls [`Source::reconnect`]).
    fn read(&mut self, timeout: Duration) -> Result<Option<[u8; REPORT_LEN]>, DriverError>;

    /// Try once to get the device back after a disconnect (re-open the dongle with the same
    /// serial, reconnect BLE). `Err(Ended)` means it will never come back.
    fn reconnect(&mut self) -> Result<(), DriverError> {
        Err(DriverError::Ended)
    }
}
