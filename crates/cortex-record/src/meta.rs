//! What the record store keeps: a record's metadata, its markers, and subjects.

use epoc_protocol::Mode;
use serde_json::Value;

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// Samples are being written.
    Recording,
    /// Closed normally (stopRecord, session closed, shutdown, or stopped by a failure with a
    /// note saying why).
    Stopped,
    /// Closed at the next start after the daemon died while recording.
    Recovered,
}

impl RecordState {
    /// The name stored in the database and shown by `epocd records`.
    pub fn name(self) -> &'static str {
        match self {
            RecordState::Recording => "recording",
            RecordState::Stopped => "stopped",
            RecordState::Recovered => "recovered",
        }
    }

    pub(crate) fn parse(s: &str) -> RecordState {
        match s {
            "recording" => RecordState::Recording,
            "recovered" => RecordState::Recovered,
            _ => RecordState::Stopped,
        }
    }
}

/// A record's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordMeta {
    /// The record id (a UUID).
    pub uuid: String,
    /// Title (≤ 200 characters).
    pub title: String,
    /// Free text.
    pub description: String,
    /// Tags, in the order given.
    pub tags: Vec<String>,
    /// The app that made it (its clientId).
    pub application_id: String,
    /// The app's version, if it said.
    pub application_version: String,
    /// The licence it was made under.
    pub license_id: String,
    /// The user who made it.
    pub owner_id: String,
    /// The app's experiment number.
    pub experiment_id: i64,
    /// The subject (from createSubject), or empty.
    pub subject_name: String,
    /// The session it was made in.
    pub session_id: String,
    /// The Cortex headset id.
    pub headset_id: String,
    /// The headset serial (as printed on the dongle).
    pub serial: String,
    /// The headset's mode while recording.
    pub mode: Mode,
    /// Start, epoch seconds.
    pub start: f64,
    /// End, epoch seconds (`None` while recording).
    pub end: Option<f64>,
    /// Where it is in its life.
    pub state: RecordState,
    /// Why it stopped, when not by the app (full disk, crash recovery); else empty.
    pub note: String,
}

/// A marker: an instant, or an interval once updateMarker gave it an end.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// The marker id (a UUID).
    pub uuid: String,
    /// The record it belongs to.
    pub record_id: String,
    /// Its position in the record (1, 2, …), for `MarkerIndex` columns.
    pub seq: i64,
    /// Whether updateMarker turned it into an interval.
    pub interval: bool,
    /// A string or a non-negative integer.
    pub value: Value,
    /// The label.
    pub label: String,
    /// Where it came from (`Software` unless the app said).
    pub port: String,
    /// Start, milliseconds since the epoch on the headset clock.
    pub start_ms: f64,
    /// End (equal to the start for an instant).
    pub end_ms: f64,
    /// The app's extra fields.
    pub extras: Value,
}

/// A subject (a person recorded), by unique name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subject {
    /// The unique name (≤ 30 characters).
    pub name: String,
    /// `YYYY-MM-DD` or empty.
    pub date_of_birth: String,
    /// `M`, `F`, `U` or empty.
    pub sex: String,
    /// ISO 3166 alpha-2 or empty.
    pub country_code: String,
    /// State or region.
    pub state: String,
    /// City.
    pub city: String,
    /// `[{name, value}]` from getDemographicAttributes.
    pub attributes: Value,
}
