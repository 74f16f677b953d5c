//! Headset sources and the acquisition thread.
//!
//! A [`Source`] yields encrypted 32-byte reports: the USB dongle ([`hid`]), Bluetooth LE
//! ([`ble`]), a capture file ([`replay`]), a synthetic EPOC+ ([`virtual_headset`]) or a
//! channel fed by tests ([`channel_source`]). An [`Acquisition`] runs one dedicated OS thread
//! per headset that detects the key layout, decrypts, decodes and timestamps every report into
//! a lock-free [`sample_ring`] ring, and reports link changes as [`HeadsetEvent`]s.
//! [`discovery`] lists what can be used, and why what cannot be used cannot.

pub mod acquisition;
pub mod ble;
pub mod cadence;
pub mod channel_source;
mod clock;
pub mod discovery;
mod error;
pub mod event;
pub mod hid;
mod pacing;
mod rates;
pub mod replay;
pub mod source;
mod virtual_actor;
pub mod virtual_headset;
pub mod virtual_script;
mod wakeup;

pub use acquisition::{Acquisition, AcquisitionConfig, AcquisitionStats, DETECT_WINDOW, LinkState};
pub use cadence::{Cadence, CadenceDemand};
pub use clock::StreamClock;
pub use epoc_sample::Sample;
pub use error::DriverError;
pub use event::{EventKind, HeadsetEvent, headset_id};
pub use source::{Connection, Identity, Source};
pub use wakeup::Wakeup;
