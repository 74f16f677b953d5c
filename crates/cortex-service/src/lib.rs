//! The Cortex service of epocd: what every Cortex method means, without any socket.
//!
//! Each chapter of the API has its file, holding its methods' handlers, their typed params
//! and their result objects: [`access`] (Cortex info and authentication), [`headsets`],
//! [`sessions`] (sessions and data subscription), [`records`], [`markers`], [`subjects`],
//! [`detections`] (profiles, training, detections). [`methods::METHODS`] maps every method
//! name to its handler, and [`Cortex::call`] runs one. The transport (`cortex-rpc`) only
//! parses envelopes and sends what comes back; data frames are the data plane's
//! (`cortex-stream`), reached through each headset's fan-out.

pub mod access;
pub mod detections;
mod error;
mod events;
pub mod grants;
pub mod headset;
pub mod headsets;
pub mod markers;
pub mod methods;
mod order;
pub mod params;
mod record_book;
pub mod records;
mod service;
pub mod sessions;
pub mod subjects;
mod sync;
pub mod time;

pub use cortex_sync::{Credentials, SyncError, SyncTarget, find_credentials, parse_bucket_url};
pub use error::ServiceError;
pub use headset::{HeadsetSpec, HeadsetStatus, Opener, Script};
pub use methods::{Call, METHODS, Reply};
pub use service::{ClientId, Cortex, DEFAULT_STREAM_INTERVAL, OPEN_LICENSE_ID, ServiceConfig, private_dir};
pub use sync::{SyncEntry, SyncSettings, retry_failed, sync_entries};
