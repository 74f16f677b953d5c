//! Cortex semantics for epocd, independent of any transport: headsets as Cortex sees them,
//! apps, access and tokens, sessions, subscriptions with the derived streams, and warnings.
//! `cortex-rpc` parses JSON-RPC and calls [`Cortex`]; data frames reach clients through the
//! [`Outbox`] each connection registers.

pub mod access;
mod error;
pub mod fanout;
pub mod headset;
pub mod pace;
mod service;
pub mod streams;
pub mod time;
pub mod warning;

pub use error::SessionError;
pub use fanout::Outbox;
pub use headset::{HeadsetSpec, HeadsetStatus};
pub use pace::Pace;
pub use service::{
    ClientId, Cortex, ExportParams, MarkerParams, NewRecord, OPEN_LICENSE_ID, RecordQuery, ServiceConfig,
    SubjectParams,
};
