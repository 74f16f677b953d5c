//! Records (docs/cortex-api.md, "Records"): createRecord, stopRecord, updateRecord,
//! deleteRecord, configOptOut, requestToDownloadRecordData here; queryRecords and
//! getRecordInfos in `query.rs`; exportRecord in `export.rs`. The record object is built
//! here ([`record_object`]).
//!
//! createRecord reserves the session (no second record can start), creates the row and the
//! sample files and starts the writer with no lock held, then commits; stopRecord takes the
//! writer out under the lock and stops it (join, fsync, SQLite) after.

mod export;
mod query;

use std::sync::Arc;

use cortex_api::codes;
use cortex_record::space::DiskLevel;
use cortex_record::writer::RecordWriter;
use cortex_record::{RecordMeta, RecordState};
use serde_json::{Value, json};

pub use export::export_record;
pub use query::{get_record_infos, query_records};

use crate::methods::{Call, Reply};
use crate::params::Params;
use crate::record_book::{ActiveRecord, PendingStop, RecordBook, internal, record_ready};
use crate::service::{Recording, SessionStatus, lock};
use crate::time::{iso_from_unix, unix_now};
use crate::{Cortex, OPEN_LICENSE_ID, ServiceError};

/// The settings key of the opt-out flag.
pub(crate) const OPT_OUT_KEY: &str = "optOut";

/// The scopes a record object lists (kept as records have always listed them: exports
/// written by earlier versions carry the same list).
const RECORD_LICENSE_SCOPE: [&str; 6] = ["eeg", "pm", "bp", "mot", "dev", "eq"];

/// The record object (docs/cortex-api.md, "Record object"), without markers.
pub fn record_object(r: &RecordMeta) -> Value {
    json!({
        "uuid": r.uuid,
        "title": r.title,
        "description": r.description,
        "tags": r.tags,
        "applicationId": r.application_id,
        "applicationVersion": r.application_version,
        "licenseId": r.license_id,
        "licenseScope": RECORD_LICENSE_SCOPE,
        "ownerId": r.owner_id,
        "experimentId": r.experiment_id,
        "startDatetime": iso_from_unix(r.start),
        "endDatetime": r.end.map(iso_from_unix).unwrap_or_default(),
        "subject": r.subject_name,
        "headsetId": r.headset_id,
        "state": r.state.name(),
        "note": r.note,
    })
}

/// The record object with its `markers`, as getRecordInfos returns it and export files
/// carry it.
pub fn record_object_with_markers(r: &RecordMeta, markers: &[cortex_record::Marker]) -> Value {
    let mut v = record_object(r);
    v["markers"] = Value::from(
        markers
            .iter()
            .map(crate::markers::marker_object)
            .collect::<Vec<_>>(),
    );
    v
}

/// A record this app may use.
pub(crate) fn own_record(book: &RecordBook, app: &str, id: &str) -> Result<RecordMeta, ServiceError> {
    match book.store()?.record(id).map_err(internal)? {
        Some(r) if r.application_id == app => Ok(r),
        _ => Err(ServiceError::RecordNotFound(format!(
            "record {id} not found for this application: queryRecords lists yours"
        ))),
    }
}

fn check_title(title: &str) -> Result<(), ServiceError> {
    if title.trim().is_empty() || title.chars().count() > 200 {
        return Err(ServiceError::InvalidParams(
            "title must be 1 to 200 characters".into(),
        ));
    }
    Ok(())
}

/// What createRecord was given.
struct NewRecord {
    title: String,
    description: String,
    subject_name: Option<String>,
    tags: Vec<String>,
    experiment_id: i64,
}

impl NewRecord {
    fn read(p: &Params<'_>) -> Result<NewRecord, ServiceError> {
        let title = p.str("title")?;
        check_title(title)?;
        Ok(NewRecord {
            title: title.trim().to_owned(),
            description: p.opt_str("description")?.unwrap_or_default().to_owned(),
            subject_name: p.opt_str("subjectName")?.map(str::to_owned),
            tags: p.opt_strings("tags")?.unwrap_or_default(),
            experiment_id: p.opt_int("experimentId")?.unwrap_or(0),
        })
    }
}

/// `createRecord`: start writing the session's headset to a new record.
pub fn create_record(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let session = call.params.str("session")?;
    let new = NewRecord::read(&call.params)?;
    let book = Arc::clone(c.book()?);
    // 1. Check and reserve the session, under the lock.
    let (headset_id, ring, serial, mode) = {
        let mut st = lock(&c.state);
        let s = st.own_session(&app, session)?;
        if s.status != SessionStatus::Activated {
            return Err(ServiceError::SessionNotActivated(session.into()));
        }
        match &s.recording {
            Recording::Active(r) => return Err(ServiceError::RecordInProgress(r.uuid.clone())),
            Recording::Starting => return Err(ServiceError::RecordInProgress("(being created)".into())),
            Recording::Idle => {}
        }
        let headset_id = s.headset_id.clone();
        let h = st
            .headset(&headset_id)
            .ok_or_else(|| ServiceError::HeadsetNotConnected(headset_id.clone()))?;
        let link = h
            .link
            .as_ref()
            .ok_or_else(|| ServiceError::HeadsetNotConnected(headset_id.clone()))?;
        let found = (
            headset_id.clone(),
            link.acquisition.ring(),
            link.acquisition.identity().serial.as_str().to_owned(),
            h.effective_mode(),
        );
        st.own_session(&app, session)?.recording = Recording::Starting;
        found
    };
    // 2. The row, the files and the writer, with no lock held.
    let uuid = uuid::Uuid::new_v4().to_string();
    let meta = RecordMeta {
        uuid: uuid.clone(),
        title: new.title,
        description: new.description,
        tags: new.tags,
        application_id: app.clone(),
        application_version: String::new(),
        license_id: OPEN_LICENSE_ID.into(),
        owner_id: c.user.clone(),
        experiment_id: new.experiment_id,
        subject_name: new.subject_name.unwrap_or_default(),
        session_id: session.to_owned(),
        headset_id,
        serial,
        mode,
        start: unix_now(),
        end: None,
        state: RecordState::Recording,
        note: String::new(),
    };
    let started = start_files(&book, &meta, ring.reader());
    // 3. Commit, or undo the reservation.
    let mut st = lock(&c.state);
    let s = st
        .own_session(&app, session)
        .ok()
        .filter(|s| matches!(s.recording, Recording::Starting));
    match (started, s) {
        (Ok(writer), Some(s)) => {
            tracing::info!("record {uuid} started (session {session}, app {app})");
            s.record_ids.push(uuid.clone());
            s.recording = Recording::Active(ActiveRecord {
                uuid,
                writer,
                disk_warned: DiskLevel::Fine,
            });
            Ok(json!({"record": record_object(&meta), "sessionId": session}).into())
        }
        (Ok(writer), None) => {
            // The session closed meanwhile: the record ends at once.
            drop(st);
            book.stop(PendingStop {
                active: ActiveRecord {
                    uuid,
                    writer,
                    disk_warned: DiskLevel::Fine,
                },
                outbox: None,
                note: "the session closed while the record was being created".into(),
            });
            Err(ServiceError::SessionNotFound(session.into()))
        }
        (Err(e), s) => {
            if let Some(s) = s {
                s.recording = Recording::Idle;
            }
            Err(e)
        }
    }
}

/// The I/O of createRecord: check the subject, insert the row, start the writer. A failure
/// leaves nothing behind (no row, no folder).
fn start_files(
    book: &RecordBook,
    meta: &RecordMeta,
    reader: sample_ring::Reader<epoc_sample::Sample>,
) -> Result<RecordWriter, ServiceError> {
    {
        let store = book.store()?;
        if !meta.subject_name.is_empty() && store.subject(&meta.subject_name).map_err(internal)?.is_none() {
            return Err(ServiceError::InvalidParams(format!(
                "subject {:?} does not exist: create it with createSubject",
                meta.subject_name
            )));
        }
        book.ensure_reserve();
        // The row first: if the daemon dies before the writer runs, recovery closes an
        // empty record cleanly.
        store.insert_record(meta).map_err(internal)?;
    }
    let dir = book.dir(&meta.uuid);
    RecordWriter::start(reader, &dir).map_err(|e| {
        if let Ok(store) = book.store() {
            let _ = store.delete_record(&meta.uuid);
        }
        let _ = std::fs::remove_dir_all(&dir);
        ServiceError::Internal(format!("cannot start the record: {e}"))
    })
}

/// `stopRecord`: the record object; warning 30 follows the reply.
pub fn stop_record(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let session = call.params.str("session")?;
    let book = Arc::clone(c.book()?);
    let stop = {
        let mut st = lock(&c.state);
        let outbox = st.outbox(call.client);
        let s = st.own_session(&app, session)?;
        match std::mem::replace(&mut s.recording, Recording::Idle) {
            Recording::Active(active) => PendingStop {
                active,
                outbox,
                note: String::new(),
            },
            other => {
                s.recording = other;
                return Err(ServiceError::NoRecordInProgress(session.into()));
            }
        }
    };
    let uuid = stop.active.uuid.clone();
    let record = book
        .stop_with(stop, false)
        .ok_or_else(|| ServiceError::Internal("the record vanished from the store".into()))?;
    Ok(Reply {
        result: json!({"record": record, "sessionId": session}),
        after: vec![record_ready(&uuid)],
        then: None,
    })
}

/// `updateRecord`: the record object itself.
pub fn update_record(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let record = call.params.str("record")?;
    let title = call.params.opt_str("title")?;
    let description = call.params.opt_str("description")?;
    let tags = call.params.opt_strings("tags")?;
    if let Some(t) = title {
        check_title(t)?;
    }
    let book = c.book()?;
    own_record(book, &app, record)?;
    book.store()?
        .update_record(record, title, description, tags.as_deref())
        .map_err(internal)?;
    Ok(record_object(&own_record(book, &app, record)?).into())
}

/// `deleteRecord`: per-record success and failure. The sample files go first; a record
/// whose files cannot be removed keeps its row and is reported as a failure.
pub fn delete_record(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let records = call.params.strings("records")?;
    let book = c.book()?;
    let recording: Vec<String> = lock(&c.state)
        .sessions
        .iter()
        .filter_map(|s| s.active_record().map(|r| r.uuid.clone()))
        .collect();
    let mut success = Vec::new();
    let mut failure = Vec::new();
    for id in &records {
        let outcome = match own_record(book, &app, id) {
            Err(e) => Err((codes::error::RECORD_NOT_FOUND, e.to_string())),
            Ok(_) if recording.contains(id) => Err((
                codes::error::RECORD_ALREADY_STARTED,
                "the record is in progress: stop it first".to_owned(),
            )),
            Ok(_) => remove_record(book, id)
                .map(|()| {
                    if let Some(s) = book.syncer() {
                        s.record_deleted(id);
                    }
                })
                .map_err(|m| (codes::error::INTERNAL_ERROR, m)),
        };
        match outcome {
            Ok(()) => success.push(json!({"recordId": id})),
            Err((code, message)) => failure.push(json!({"recordId": id, "code": code, "message": message})),
        }
    }
    Ok(json!({"success": success, "failure": failure}).into())
}

fn remove_record(book: &RecordBook, id: &str) -> Result<(), String> {
    let dir = book.dir(id);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(format!(
                "the record's files in {} cannot be removed ({e}); the record is kept",
                dir.display()
            ));
        }
    }
    book.store()
        .map_err(|e| e.to_string())?
        .delete_record(id)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The opt-out flag, as stored.
pub(crate) fn opted_out(book: &RecordBook) -> Result<bool, ServiceError> {
    Ok(book
        .store()?
        .setting(OPT_OUT_KEY)
        .map_err(internal)?
        .is_some_and(|v| v == "true"))
}

/// `configOptOut`.
pub fn config_opt_out(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    c.app_of(call.params.token()?)?;
    let status = call.params.str("status")?;
    let new = call.params.opt_bool("newOptOut")?;
    let book = c.book()?;
    match status {
        "get" => {}
        "set" => {
            let v = new.ok_or_else(|| {
                ServiceError::InvalidParams("status \"set\" needs the boolean parameter newOptOut".into())
            })?;
            book.store()?
                .set_setting(OPT_OUT_KEY, if v { "true" } else { "false" })
                .map_err(internal)?;
            if let Some(s) = book.syncer() {
                s.set_opt_out(v);
            }
        }
        other => {
            return Err(ServiceError::InvalidStatus(format!(
                "{other} (status must be get or set)"
            )));
        }
    }
    let opt_out = opted_out(book)?;
    Ok(json!({
        "optOut": opt_out,
        "message": if opt_out {
            "Opt-out is on: records from this machine are never uploaded."
        } else {
            "Opt-out is off. epocd has no cloud: records stay on this machine either way."
        },
    })
    .into())
}

/// `requestToDownloadRecordData`: there is nowhere to download from yet.
pub fn request_to_download_record_data(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let book = c.book()?;
    let Some(syncer) = book.syncer() else {
        return Err(ServiceError::NotSupported(format!(
            "{} is not supported by epocd without a [sync] bucket: records stay on this machine and there is \
             nothing to download (docs/sync.md)",
            call.method
        )));
    };
    let ids = call.params.strings("recordIds")?;
    let remote: Vec<RecordMeta> = syncer.remote_records();
    let mut success = Vec::new();
    let mut failure = Vec::new();
    for id in &ids {
        let here = book.store()?.record(id).map_err(internal)?;
        let outcome = match (here, remote.iter().find(|r| &r.uuid == id)) {
            (Some(r), _) if r.application_id == app => {
                Err("the record is already on this machine".to_owned())
            }
            (None, Some(r)) if r.application_id == app => syncer.request_download(id),
            _ => Err("record not found for this application: queryRecords lists yours".to_owned()),
        };
        match outcome {
            Ok(()) => success.push(json!({"recordId": id})),
            Err(message) => failure.push(json!({"recordId": id, "message": message})),
        }
    }
    Ok(json!({"success": success, "failure": failure}).into())
}
