//! Records for epocd: the durable store (metadata in SQLite, samples in append-only
//! checksummed block files), the record writer thread, recovery after a crash, and export to
//! CSV, EDF, EDF+ and BDF+. No sockets and no JSON-RPC: `cortex-service` drives it.

pub mod archive;
pub mod blocks;
pub mod edf;
mod error;
pub mod export;
mod meta;
pub mod recovery;
pub mod space;
pub mod store;
pub mod time;
pub mod writer;

pub use edf::{Annotation, EdfError, EdfFormat, EdfWriter, Header, Signal};
pub use error::RecordError;
pub use export::{
    CsvVersion, DetectionWalker, EdfInput, EdfSummary, ExportFormat, ExportRequest, Progress, RecordData,
    SampleSource, StreamTypes, TimedMarker, export_record, write_edf,
};
pub use store::{Marker, RecordMeta, RecordState, Store, Subject};
