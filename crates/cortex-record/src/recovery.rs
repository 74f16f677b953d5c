//! Closing records that were open when epocd died (kill -9, power loss, panic).
//!
//! A record still marked `recording` at start-up cannot be written any more: it is closed at
//! its last durable sample (the last complete block of its files) and marked `recovered`,
//! and the torn tail of each block file is cut so the files are clean again.

use std::path::Path;

use crate::RecordError;
use crate::blocks::BlockWriter;
use crate::export::RecordData;
use crate::store::{RecordState, Store};
use crate::writer::{EEG_FILE, MOTION_FILE};

/// What recovery did to one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    /// The record id.
    pub uuid: String,
    /// Where it now ends (epoch seconds).
    pub end: f64,
    /// EEG samples kept.
    pub eeg_samples: usize,
}

/// Why recovered records are marked so.
pub const RECOVERED_NOTE: &str =
    "closed at its last durable sample when epocd started again after stopping unexpectedly";

/// Close every record left open. `records_root` holds one folder per record.
pub fn recover_open_records(store: &Store, records_root: &Path) -> Result<Vec<Recovered>, RecordError> {
    let mut done = Vec::new();
    for r in store
        .records()?
        .into_iter()
        .filter(|r| r.state == RecordState::Recording)
    {
        let dir = records_root.join(&r.uuid);
        for name in [EEG_FILE, MOTION_FILE] {
            let path = dir.join(name);
            if path.exists() {
                // Opening for append cuts a torn tail; the writer is dropped at once.
                BlockWriter::open(&path, epoc_sample::ENCODING_VERSION)?;
            }
        }
        let data = if dir.exists() {
            RecordData::load(&dir)?
        } else {
            RecordData {
                eeg: Vec::new(),
                motion: Vec::new(),
            }
        };
        let end = data.last_time().unwrap_or(r.start).max(r.start);
        store.finish_record(&r.uuid, end, RecordState::Recovered, RECOVERED_NOTE)?;
        done.push(Recovered {
            uuid: r.uuid,
            end,
            eeg_samples: data.eeg.len(),
        });
    }
    Ok(done)
}
