//! Records and markers (cortex-api.md 3.5, 3.6): the record writer per session, the
//! metadata store, auto-close, failure watch, queries and export.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use cortex_record::export::{marker_json, record_json};
use cortex_record::recovery::recover_open_records;
use cortex_record::space::{DiskLevel, free_bytes};
use cortex_record::writer::{RecordWriter, WriterFailure};
use cortex_record::{
    CsvVersion, EdfFormat, ExportFormat, ExportRequest, Marker, RecordError, RecordMeta, RecordState, Store,
    StreamTypes, export_record,
};
use serde_json::{Map, Value, json};

use super::order::order_keys;
use super::{ClientId, Cortex, OPEN_LICENSE_ID, SessionStatus, State, lock};
use crate::time::unix_now;
use crate::{SessionError, warning};

/// The store and where the sample files live.
pub(super) struct RecordBook {
    pub(super) store: Store,
    root: PathBuf,
    /// Space held back so that closing a record still works when the disk is full.
    reserve: PathBuf,
}

/// Bytes held in the reserve file: room for the metadata updates that close records.
const RESERVE_BYTES: usize = 1 << 20;

/// Write the reserve file if it is missing (best effort: a full disk just skips it).
fn ensure_reserve(path: &Path) {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == RESERVE_BYTES as u64) {
        return;
    }
    if std::fs::write(path, vec![0u8; RESERVE_BYTES]).is_err() {
        let _ = std::fs::remove_file(path);
    }
}

impl RecordBook {
    /// Open `<data>/epocd.sqlite` and close records a crash left open.
    pub(super) fn open(data_dir: &Path) -> Result<RecordBook, SessionError> {
        let store = Store::open(&data_dir.join("epocd.sqlite")).map_err(internal)?;
        let root = data_dir.join("records");
        std::fs::create_dir_all(&root)
            .map_err(|e| SessionError::Internal(format!("cannot create {}: {e}", root.display())))?;
        for r in recover_open_records(&store, &root).map_err(internal)? {
            tracing::warn!(
                "record {} was left open by an unexpected stop; closed at its last durable sample ({} EEG samples kept)",
                r.uuid,
                r.eeg_samples
            );
        }
        let reserve = data_dir.join(".epocd-reserve");
        ensure_reserve(&reserve);
        Ok(RecordBook { store, root, reserve })
    }

    fn dir(&self, uuid: &str) -> PathBuf {
        self.root.join(uuid)
    }
}

/// A record being written.
pub(super) struct ActiveRecord {
    uuid: String,
    writer: RecordWriter,
    /// The worst disk level the app was last warned about (reset when space comes back).
    disk_warned: DiskLevel,
}

fn internal(e: RecordError) -> SessionError {
    SessionError::Internal(e.to_string())
}

fn book(st: &State) -> Result<&RecordBook, SessionError> {
    st.book.as_ref().ok_or_else(|| {
        SessionError::Internal("records need a data directory: start epocd serve with --data-dir".into())
    })
}

/// What createRecord was given.
#[derive(Debug, Clone, Default)]
pub struct NewRecord {
    /// Title (required, ≤ 200 characters).
    pub title: String,
    /// Description.
    pub description: String,
    /// A subject made with createSubject.
    pub subject_name: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// The app's experiment number.
    pub experiment_id: i64,
}

/// What injectMarker / updateMarker were given.
#[derive(Debug, Clone)]
pub struct MarkerParams {
    /// Milliseconds since the epoch, headset clock.
    pub time: f64,
    /// A string or a non-negative integer.
    pub value: Value,
    /// The label.
    pub label: String,
    /// Where it came from.
    pub port: String,
    /// Extra fields.
    pub extras: Value,
}

/// What queryRecords was given.
#[derive(Debug, Clone)]
pub struct RecordQuery {
    /// Filters (`{}`: this app's records).
    pub query: Map<String, Value>,
    /// `[{field: "ASC"|"DESC"}]`.
    pub order_by: Vec<Value>,
    /// At most this many (0: no limit).
    pub limit: usize,
    /// Skip this many.
    pub offset: usize,
    /// Add each record's markers.
    pub include_markers: bool,
    /// Add each record's sync status.
    pub include_sync_status: bool,
}

/// What exportRecord was given.
#[derive(Debug, Clone)]
pub struct ExportParams {
    /// The records.
    pub record_ids: Vec<String>,
    /// An existing, writable, absolute folder.
    pub folder: String,
    /// `EEG`, `MOTION`, `BP`, `PM`.
    pub stream_types: Vec<String>,
    /// `EDF`, `EDFPLUS`, `BDFPLUS` or `CSV`.
    pub format: String,
    /// `V1` or `V2` for CSV.
    pub version: Option<String>,
}

const OPT_OUT_KEY: &str = "optOut";

/// Stop a record: the writer flushes and fsyncs, the store gets its end, and the app hears
/// warning 30 (ready for export). Returns the final record object.
pub(super) fn stop_record(
    st: &mut State,
    active: ActiveRecord,
    client: ClientId,
    note: &str,
) -> Option<Value> {
    let outcome = active.writer.stop();
    let (note, failure) = match &outcome {
        Ok(()) => (note.to_owned(), None),
        Err(f) => (failure_note(f), Some(f.clone())),
    };
    let book = st.book.as_ref()?;
    if matches!(failure, Some(WriterFailure::Storage(_))) {
        // The disk is probably full: free the reserve so the record can still be closed.
        let _ = std::fs::remove_file(&book.reserve);
    }
    let end = unix_now();
    if let Err(e) = book
        .store
        .finish_record(&active.uuid, end, RecordState::Stopped, &note)
    {
        tracing::error!("cannot close record {}: {e}", active.uuid);
    }
    match &failure {
        None => tracing::info!("record {} stopped", active.uuid),
        Some(_) => tracing::error!("record {} {note}", active.uuid),
    }
    let record = book.store.record(&active.uuid).ok().flatten();
    if let Some(outbox) = st.clients.get(&client) {
        if let Some(f) = failure {
            let code = match f {
                WriterFailure::Storage(_) => warning::DISK_CRITICAL,
                WriterFailure::FellBehind(_) => warning::RECORD_WRITER_BEHIND,
            };
            outbox.push(warning::frame(
                code,
                json!({"recordId": active.uuid, "behavior": note}),
            ));
        }
        outbox.push(warning::frame(
            warning::RECORD_READY,
            json!({"recordId": active.uuid, "behavior": "The record is ready to export."}),
        ));
    }
    record.as_ref().map(record_json)
}

fn failure_note(f: &WriterFailure) -> String {
    match f {
        WriterFailure::Storage(e) => format!(
            "stopped because storage failed ({e}); everything written before stays readable and exportable: free some disk space"
        ),
        WriterFailure::FellBehind(n) => format!(
            "stopped because the record writer fell behind and {n} samples were lost; everything written before stays readable"
        ),
    }
}

/// Warn recording apps when free space where records go falls under Cortex's low (19) or
/// critical (20) level, once per level, before a full disk has to stop their records.
fn warn_disk_space(st: &mut State) {
    if !st.sessions.iter().any(|s| s.recording.is_some()) {
        return;
    }
    let Some(root) = st.book.as_ref().map(|b| b.root.clone()) else {
        return;
    };
    let Ok(free) = free_bytes(&root) else { return };
    let level = DiskLevel::of(free);
    let State {
        sessions, clients, ..
    } = st;
    for s in sessions.iter_mut() {
        let Some(active) = s.recording.as_mut() else {
            continue;
        };
        if level > active.disk_warned {
            tracing::warn!(
                "disk space {level:?} under {}: {} MB free while recording {}",
                root.display(),
                free / 1_000_000,
                active.uuid
            );
            let code = match level {
                DiskLevel::Critical => warning::DISK_CRITICAL,
                _ => warning::DISK_LOW,
            };
            if let Some(outbox) = clients.get(&s.client) {
                outbox.push(warning::frame(
                    code,
                    json!({
                        "recordId": active.uuid,
                        "behavior": format!(
                            "disk space {}: {} MB free under {}; the record stops when the disk is full (what was written stays exportable)",
                            if level == DiskLevel::Critical { "critical" } else { "low" },
                            free / 1_000_000,
                            root.display()
                        ),
                    }),
                ));
            }
        }
        active.disk_warned = level;
    }
}

/// Every few hundred milliseconds: stop records whose writer stopped by itself (a full disk)
/// and tell their apps; every second, check free disk space for them.
pub(super) fn watch_loop(cortex: Weak<Cortex>) {
    for tick in 0u64.. {
        std::thread::sleep(Duration::from_millis(200));
        let Some(c) = cortex.upgrade() else { return };
        let mut st = lock(&c.state);
        if tick % 5 == 0 {
            warn_disk_space(&mut st);
        }
        let failed: Vec<(usize, ClientId)> = st
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.recording.as_ref().is_some_and(|r| r.writer.has_stopped()))
            .map(|(i, s)| (i, s.client))
            .collect();
        for (i, client) in failed {
            if let Some(active) = st.sessions.get_mut(i).and_then(|s| s.recording.take()) {
                stop_record(&mut st, active, client, "");
            }
        }
    }
}

/// The id of the record in progress in a session.
fn recording_id(s: &super::Session) -> Result<String, SessionError> {
    s.recording
        .as_ref()
        .map(|r| r.uuid.clone())
        .ok_or_else(|| SessionError::NoRecordInProgress(s.id.clone()))
}

/// A marker's `extras`, when given, must be a JSON object.
fn check_extras(extras: Option<&Value>) -> Result<(), SessionError> {
    if extras.is_some_and(|e| !e.is_object()) {
        return Err(SessionError::InvalidParams("extras must be an object".into()));
    }
    Ok(())
}

fn marker_value(v: &Value) -> Result<Value, SessionError> {
    match v {
        Value::String(_) => Ok(v.clone()),
        Value::Number(n) if n.as_u64().is_some() => Ok(v.clone()),
        _ => Err(SessionError::InvalidParams(
            "parameter value must be a string or an integer >= 0".into(),
        )),
    }
}

fn with_markers(book: &RecordBook, r: &RecordMeta) -> Result<Value, SessionError> {
    let mut v = record_json(r);
    let markers = book.store.markers(&r.uuid).map_err(internal)?;
    v["markers"] = Value::from(markers.iter().map(marker_json).collect::<Vec<_>>());
    Ok(v)
}

fn own_record(book: &RecordBook, app: &str, id: &str) -> Result<RecordMeta, SessionError> {
    match book.store.record(id).map_err(internal)? {
        Some(r) if r.application_id == app => Ok(r),
        _ => Err(SessionError::RecordNotFound(format!(
            "record {id} not found for this application: queryRecords lists yours"
        ))),
    }
}

fn matches_query(r: &RecordMeta, app: &str, q: &Map<String, Value>) -> Result<bool, SessionError> {
    let bad = |k: &str, what: &str| SessionError::InvalidParams(format!("query.{k} must be {what}"));
    let mut app_filter = false;
    for (k, v) in q {
        let ok = match k.as_str() {
            "applicationId" => {
                app_filter = true;
                r.application_id == v.as_str().ok_or_else(|| bad(k, "a string"))?
            }
            "licenseId" => r.license_id == v.as_str().ok_or_else(|| bad(k, "a string"))?,
            "uuid" => r.uuid == v.as_str().ok_or_else(|| bad(k, "a string"))?,
            "subjectName" => r.subject_name == v.as_str().ok_or_else(|| bad(k, "a string"))?,
            "title" => {
                let t = v.as_str().ok_or_else(|| bad(k, "a string"))?.to_lowercase();
                r.title.to_lowercase().contains(&t)
            }
            "keyword" => {
                let t = v.as_str().ok_or_else(|| bad(k, "a string"))?.to_lowercase();
                r.title.to_lowercase().contains(&t)
                    || r.description.to_lowercase().contains(&t)
                    || r.tags.iter().any(|x| x.to_lowercase().contains(&t))
            }
            "tags" => {
                let want = v.as_array().ok_or_else(|| bad(k, "an array of strings"))?;
                want.iter()
                    .all(|w| w.as_str().is_some_and(|w| r.tags.iter().any(|t| t == w)))
            }
            "startDatetime" => {
                let range = v.as_object().ok_or_else(|| bad(k, "an object {from, to}"))?;
                let bound = |name: &str| -> Result<Option<f64>, SessionError> {
                    match range.get(name) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => cortex_record::time::unix_from_iso(s)
                            .map(Some)
                            .ok_or_else(|| bad(k, "an object whose from/to are ISO 8601 datetimes")),
                        Some(_) => Err(bad(k, "an object whose from/to are ISO 8601 datetimes")),
                    }
                };
                bound("from")?.is_none_or(|f| r.start >= f) && bound("to")?.is_none_or(|t| r.start <= t)
            }
            other => {
                return Err(SessionError::InvalidParams(format!(
                    "unknown query key {other:?}: use applicationId, licenseId, uuid, subjectName, title, keyword, tags or startDatetime"
                )));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(app_filter || r.application_id == app)
}

fn order(records: &mut [RecordMeta], order_by: &[Value]) -> Result<(), SessionError> {
    let keys = order_keys(
        order_by,
        &["startDatetime", "endDatetime", "title", "description", "uuid"],
    )?;
    records.sort_by(|a, b| {
        for (field, desc) in &keys {
            let ord = match field.as_str() {
                "startDatetime" => a.start.total_cmp(&b.start),
                "endDatetime" => a.end.unwrap_or(f64::MAX).total_cmp(&b.end.unwrap_or(f64::MAX)),
                "title" => a.title.cmp(&b.title),
                "description" => a.description.cmp(&b.description),
                _ => a.uuid.cmp(&b.uuid),
            };
            let ord = if *desc { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(())
}

impl Cortex {
    /// `createRecord`: start writing the session's headset to a new record.
    pub fn create_record(&self, token: &str, session: &str, new: NewRecord) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let title = new.title.trim();
        if title.is_empty() || new.title.chars().count() > 200 {
            return Err(SessionError::InvalidParams(
                "title must be 1 to 200 characters".into(),
            ));
        }
        let mut st = lock(&self.state);
        let s = Self::own_session(&mut st, &app, session)?;
        if s.status != SessionStatus::Activated {
            return Err(SessionError::SessionNotActivated(session.into()));
        }
        if let Some(r) = &s.recording {
            return Err(SessionError::RecordInProgress(r.uuid.clone()));
        }
        let headset_id = s.headset_id.clone();
        let book = book(&st)?;
        if let Some(name) = &new.subject_name
            && book.store.subject(name).map_err(internal)?.is_none()
        {
            return Err(SessionError::InvalidParams(format!(
                "subject {name:?} does not exist: create it with createSubject"
            )));
        }
        let h = st
            .headsets
            .iter()
            .find(|h| h.id == headset_id)
            .ok_or_else(|| SessionError::HeadsetNotConnected(headset_id.clone()))?;
        let link = h
            .link
            .as_ref()
            .ok_or_else(|| SessionError::HeadsetNotConnected(headset_id.clone()))?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let meta = RecordMeta {
            uuid: uuid.clone(),
            title: title.to_owned(),
            description: new.description,
            tags: new.tags,
            application_id: app.clone(),
            application_version: String::new(),
            license_id: OPEN_LICENSE_ID.into(),
            owner_id: self.user.clone(),
            experiment_id: new.experiment_id,
            subject_name: new.subject_name.unwrap_or_default(),
            session_id: session.to_owned(),
            headset_id: headset_id.clone(),
            serial: link.acquisition.identity().serial.as_str().to_owned(),
            mode: h.effective_mode(),
            start: unix_now(),
            end: None,
            state: RecordState::Recording,
            note: String::new(),
        };
        ensure_reserve(&book.reserve);
        // The row first: if the writer then fails, recovery closes an empty record cleanly.
        book.store.insert_record(&meta).map_err(internal)?;
        let writer = match RecordWriter::start(link.acquisition.ring().reader(), &book.dir(&uuid)) {
            Ok(w) => w,
            Err(e) => {
                let _ = book
                    .store
                    .finish_record(&uuid, meta.start, RecordState::Stopped, &e.to_string());
                return Err(SessionError::Internal(format!("cannot start the record: {e}")));
            }
        };
        let record = record_json(&meta);
        let s = Self::own_session(&mut st, &app, session)?;
        tracing::info!("record {uuid} started (session {session}, app {app})");
        s.record_ids.push(uuid.clone());
        s.recording = Some(ActiveRecord {
            uuid,
            writer,
            disk_warned: DiskLevel::Fine,
        });
        Ok(json!({"record": record, "sessionId": session}))
    }

    /// `stopRecord`.
    pub fn stop_record(&self, token: &str, session: &str) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let mut st = lock(&self.state);
        let s = Self::own_session(&mut st, &app, session)?;
        let client = s.client;
        let active = s
            .recording
            .take()
            .ok_or_else(|| SessionError::NoRecordInProgress(session.into()))?;
        let record = stop_record(&mut st, active, client, "")
            .ok_or_else(|| SessionError::Internal("the record vanished from the store".into()))?;
        Ok(json!({"record": record, "sessionId": session}))
    }

    /// `updateRecord`: the record object itself.
    pub fn update_record(
        &self,
        token: &str,
        record: &str,
        title: Option<&str>,
        description: Option<&str>,
        tags: Option<&[String]>,
    ) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        if let Some(t) = title
            && (t.trim().is_empty() || t.chars().count() > 200)
        {
            return Err(SessionError::InvalidParams(
                "title must be 1 to 200 characters".into(),
            ));
        }
        let st = lock(&self.state);
        let book = book(&st)?;
        own_record(book, &app, record)?;
        book.store
            .update_record(record, title, description, tags)
            .map_err(internal)?;
        Ok(record_json(&own_record(book, &app, record)?))
    }

    /// `deleteRecord`: per-record success and failure.
    pub fn delete_records(&self, token: &str, records: &[String]) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let st = lock(&self.state);
        let book = book(&st)?;
        let mut success = Vec::new();
        let mut failure = Vec::new();
        for id in records {
            let recording = st
                .sessions
                .iter()
                .any(|s| s.recording.as_ref().is_some_and(|r| &r.uuid == id));
            let outcome = match own_record(book, &app, id) {
                Err(e) => Err((-32122, e.to_string())),
                Ok(_) if recording => Err((-32017, "the record is in progress: stop it first".to_owned())),
                Ok(_) => book
                    .store
                    .delete_record(id)
                    .map_err(|e| (-32603, e.to_string()))
                    .map(|_| {
                        let _ = std::fs::remove_dir_all(book.dir(id));
                    }),
            };
            match outcome {
                Ok(()) => success.push(json!({"recordId": id})),
                Err((code, message)) => {
                    failure.push(json!({"recordId": id, "code": code, "message": message}))
                }
            }
        }
        Ok(json!({"success": success, "failure": failure}))
    }

    fn sync_status(st: &State) -> Value {
        let opt_out = st
            .book
            .as_ref()
            .and_then(|b| b.store.setting(OPT_OUT_KEY).ok().flatten())
            .is_some_and(|v| v == "true");
        json!({"status": "neverUploaded", "optOut": opt_out,
               "message": "epocd keeps records on this machine only; nothing is uploaded"})
    }

    /// `queryRecords`.
    pub fn query_records(&self, token: &str, q: &RecordQuery) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let st = lock(&self.state);
        let book = book(&st)?;
        let mut found = Vec::new();
        for r in book.store.records().map_err(internal)? {
            if matches_query(&r, &app, &q.query)? {
                found.push(r);
            }
        }
        order(&mut found, &q.order_by)?;
        let count = found.len();
        let sync = Self::sync_status(&st);
        let page: Vec<Value> = found
            .iter()
            .skip(q.offset)
            .take(if q.limit == 0 { usize::MAX } else { q.limit })
            .map(|r| {
                let mut v = if q.include_markers {
                    with_markers(book, r)?
                } else {
                    record_json(r)
                };
                if q.include_sync_status {
                    v["syncStatus"] = sync.clone();
                }
                Ok(v)
            })
            .collect::<Result<_, SessionError>>()?;
        Ok(json!({"count": count, "limit": q.limit, "offset": q.offset, "records": page}))
    }

    /// `getRecordInfos`: record objects with their markers.
    pub fn record_infos(&self, token: &str, ids: &[String]) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let st = lock(&self.state);
        let book = book(&st)?;
        let mut out = Vec::new();
        for id in ids {
            out.push(with_markers(book, &own_record(book, &app, id)?)?);
        }
        Ok(Value::Array(out))
    }

    /// `configOptOut`.
    pub fn config_opt_out(
        &self,
        token: &str,
        status: &str,
        new: Option<bool>,
    ) -> Result<Value, SessionError> {
        self.app_of(token)?;
        let st = lock(&self.state);
        let book = book(&st)?;
        match status {
            "get" => {}
            "set" => {
                let v = new.ok_or_else(|| {
                    SessionError::InvalidParams("status \"set\" needs the boolean parameter newOptOut".into())
                })?;
                book.store
                    .set_setting(OPT_OUT_KEY, if v { "true" } else { "false" })
                    .map_err(internal)?;
            }
            other => {
                return Err(SessionError::InvalidStatus(format!(
                    "{other} (status must be get or set)"
                )));
            }
        }
        let opt_out = book
            .store
            .setting(OPT_OUT_KEY)
            .map_err(internal)?
            .is_some_and(|v| v == "true");
        Ok(json!({
            "optOut": opt_out,
            "message": if opt_out {
                "Opt-out is on: records from this machine are never uploaded."
            } else {
                "Opt-out is off. epocd has no cloud: records stay on this machine either way."
            },
        }))
    }

    /// `injectMarker`: an instance marker in the session's record.
    pub fn inject_marker(&self, token: &str, session: &str, p: MarkerParams) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let value = marker_value(&p.value)?;
        if !p.time.is_finite() || p.time < 0.0 {
            return Err(SessionError::InvalidParams(
                "time must be milliseconds since the epoch".into(),
            ));
        }
        check_extras(Some(&p.extras))?;
        let mut st = lock(&self.state);
        let s = Self::own_session(&mut st, &app, session)?;
        let record_id = recording_id(s)?;
        let headset_id = s.headset_id.clone();
        let mut m = Marker {
            uuid: uuid::Uuid::new_v4().to_string(),
            record_id: record_id.clone(),
            seq: 0,
            interval: false,
            value,
            label: p.label,
            port: p.port,
            start_ms: p.time,
            end_ms: p.time,
            extras: p.extras,
        };
        m.seq = book(&st)?.store.insert_marker(&m).map_err(internal)?;
        let marker = marker_json(&m);
        if let Some(link) = st
            .headsets
            .iter()
            .find(|h| h.id == headset_id)
            .and_then(|h| h.link.as_ref())
        {
            let mut entry = marker.clone();
            entry["applicationId"] = Value::from(app);
            entry["recordId"] = Value::from(record_id.clone());
            entry["markerId"] = Value::from(m.uuid.clone());
            entry["time"] = Value::from(m.start_ms / 1000.0);
            link.fanout.add_marker(entry.to_string());
        }
        Ok(json!({"marker": marker, "recordId": record_id, "sessionId": session}))
    }

    /// `updateMarker`: give an instance marker an end (it becomes an interval).
    pub fn update_marker(
        &self,
        token: &str,
        session: &str,
        marker: &str,
        time: f64,
        extras: Option<&Value>,
    ) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        check_extras(extras)?;
        let mut st = lock(&self.state);
        let s = Self::own_session(&mut st, &app, session)?;
        let record_id = recording_id(s)?;
        let book = book(&st)?;
        let m = book
            .store
            .marker(marker)
            .map_err(internal)?
            .filter(|m| m.record_id == record_id)
            .ok_or_else(|| {
                SessionError::RecordNotFound(format!(
                    "marker {marker} is not in the record in progress ({record_id})"
                ))
            })?;
        if !time.is_finite() || time < m.start_ms {
            return Err(SessionError::InvalidParams(format!(
                "time {time} is before the marker's start ({}): the end must not precede the start",
                m.start_ms
            )));
        }
        book.store.end_marker(marker, time, extras).map_err(internal)?;
        let m = book
            .store
            .marker(marker)
            .map_err(internal)?
            .ok_or_else(|| SessionError::RecordNotFound(format!("marker {marker} vanished")))?;
        Ok(json!({"marker": marker_json(&m), "recordId": record_id, "sessionId": session}))
    }

    /// `exportRecord`: per-record success and failure. Request-level mistakes (folder,
    /// format, stream types) are an error, and nothing is written.
    pub fn export_records(self: &Arc<Self>, token: &str, p: &ExportParams) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let format = match (p.format.as_str(), p.version.as_deref()) {
            ("CSV", Some("V1")) => ExportFormat::Csv(CsvVersion::V1),
            ("CSV", Some("V2")) => ExportFormat::Csv(CsvVersion::V2),
            ("CSV", v) => {
                return Err(SessionError::InvalidParams(format!(
                    "CSV export needs version \"V1\" or \"V2\" (got {v:?})"
                )));
            }
            ("EDF", _) => ExportFormat::Edf(EdfFormat::Edf),
            ("EDFPLUS", _) => ExportFormat::Edf(EdfFormat::EdfPlus),
            ("BDFPLUS", _) => ExportFormat::Edf(EdfFormat::BdfPlus),
            (other, _) => {
                return Err(SessionError::InvalidParams(format!(
                    "format {other:?}: use EDF, EDFPLUS, BDFPLUS or CSV"
                )));
            }
        };
        let streams =
            StreamTypes::parse(&p.stream_types).map_err(|e| SessionError::InvalidParams(e.to_string()))?;
        let req = ExportRequest {
            format,
            streams,
            folder: PathBuf::from(&p.folder),
        };
        req.validate()
            .map_err(|e| SessionError::InvalidParams(e.to_string()))?;
        if p.record_ids.is_empty() {
            return Err(SessionError::InvalidParams("recordIds is empty".into()));
        }
        let mut success = Vec::new();
        let mut failure = Vec::new();
        for id in &p.record_ids {
            // Look up under the lock; export without it (it may take a while).
            let job = {
                let st = lock(&self.state);
                let book = book(&st)?;
                own_record(book, &app, id).and_then(|r| {
                    let markers = book.store.markers(id).map_err(internal)?;
                    Ok((r, markers, book.dir(id)))
                })
            };
            let outcome = job
                .map_err(|e| (-32122, e.to_string()))
                .and_then(|(r, markers, dir)| {
                    export_record(&r, &markers, &dir, &req, &mut |_| {}).map_err(|e| (-32602, e.to_string()))
                });
            match outcome {
                Ok(_) => success.push(json!({"recordId": id})),
                Err((code, message)) => {
                    failure.push(json!({"recordId": id, "code": code, "message": message}))
                }
            }
        }
        Ok(json!({"success": success, "failure": failure}))
    }
}
