//! The record store as the service uses it: the SQLite metadata (behind its own lock, never
//! the service state's), where sample files live, the records being written, how a record
//! is stopped, and the watch that stops records whose writer failed and warns about disk
//! space.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use cortex_api::{codes, warning};
use cortex_record::recovery::recover_open_records;
use cortex_record::space::{DiskLevel, free_bytes};
use cortex_record::writer::{RecordWriter, WriterFailure};
use cortex_record::{RecordError, RecordState, Store};
use cortex_stream::Outbox;
use serde_json::{Value, json};

use crate::ServiceError;
use crate::service::{Cortex, Recording, lock};
use crate::time::unix_now;

/// The store and where the sample files live.
pub(crate) struct RecordBook {
    store: Mutex<Store>,
    /// The database file, and its device and inode when opened: if the file at that path is
    /// gone or another, the store in use is unlinked and nothing written to it would last.
    db: PathBuf,
    db_identity: (u64, u64),
    /// Why the store can no longer be used (data dir removed, read-only, immutable), once
    /// found: every store method refuses from then on, with this reason.
    lost: Mutex<Option<String>>,
    root: PathBuf,
    /// Space held back so that closing a record still works when the disk is full.
    reserve: PathBuf,
    /// The record sync worker, when `[sync]` is configured: every stopped record goes to it.
    syncer: std::sync::OnceLock<crate::sync::Syncer>,
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

pub(crate) fn internal(e: RecordError) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// A record being written.
pub(crate) struct ActiveRecord {
    pub(crate) uuid: String,
    pub(crate) writer: RecordWriter,
    /// The worst disk level the app was last warned about (reset when space comes back).
    pub(crate) disk_warned: DiskLevel,
}

/// A record to stop once the service lock is released.
pub(crate) struct PendingStop {
    pub(crate) active: ActiveRecord,
    /// Where warnings 20/150 and 30 go (`None`: the connection is gone).
    pub(crate) outbox: Option<Arc<dyn Outbox>>,
    pub(crate) note: String,
}

impl RecordBook {
    /// Open `<data>/epocd.sqlite` and close records a crash left open.
    pub(crate) fn open(data_dir: &Path) -> Result<RecordBook, ServiceError> {
        let db = data_dir.join("epocd.sqlite");
        let store = Store::open(&db).map_err(internal)?;
        let db_identity = identity(&db)
            .map_err(|e| ServiceError::Internal(format!("cannot read {}: {e}", db.display())))?;
        // Subjects' details live here: the owner's only (the data dir is private too).
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| ServiceError::Internal(format!("cannot make {} private: {e}", db.display())))?;
        }
        let root = data_dir.join("records");
        crate::service::private_dir(&root)
            .map_err(|e| ServiceError::Internal(format!("cannot create {}: {e}", root.display())))?;
        for r in recover_open_records(&store, &root).map_err(internal)? {
            tracing::warn!(
                "record {} was left open by an unexpected stop; closed at its last durable sample ({} EEG samples kept)",
                r.uuid,
                r.eeg_samples
            );
        }
        let reserve = data_dir.join(".epocd-reserve");
        ensure_reserve(&reserve);
        Ok(RecordBook {
            store: Mutex::new(store),
            db,
            db_identity,
            lost: Mutex::new(None),
            root,
            reserve,
            syncer: std::sync::OnceLock::new(),
        })
    }

    /// Why the store can no longer be used, if it cannot.
    pub(crate) fn lost(&self) -> Option<String> {
        lock(&self.lost).clone()
    }

    /// Look at the data dir: removed, read-only or immutable? Records it (and logs it once)
    /// and returns the reason when newly found.
    pub(crate) fn check_health(&self) -> Option<String> {
        if self.lost().is_some() {
            return None;
        }
        let data_dir = self.root.parent().unwrap_or(&self.root);
        let why = if identity(&self.db).is_ok_and(|id| id == self.db_identity) {
            let wal = self.db.with_extension("sqlite-wal");
            let shm = self.db.with_extension("sqlite-shm");
            cortex_record::space::unwritable(data_dir, &[&self.db, &wal, &shm])?
        } else {
            format!("the data dir {} was removed while epocd ran", data_dir.display())
        };
        let why = format!(
            "{why}: records, markers and subjects can no longer be stored; fix it and restart epocd \
             (records in progress were stopped; their samples up to then are kept)"
        );
        tracing::error!("{why}");
        *lock(&self.lost) = Some(why.clone());
        Some(why)
    }

    /// The metadata store (SQLite), held only for the statements of one method step: refused
    /// once the data dir is gone, read-only or immutable (SQLite would write through its
    /// shared-memory mapping and the process would die of SIGBUS).
    pub(crate) fn store(&self) -> Result<MutexGuard<'_, Store>, ServiceError> {
        if let Some(why) = self.lost().or_else(|| self.check_health()) {
            return Err(ServiceError::Internal(why));
        }
        Ok(lock(&self.store))
    }

    /// A record's folder of sample files.
    /// The record sync worker, if any.
    pub(crate) fn syncer(&self) -> Option<&crate::sync::Syncer> {
        self.syncer.get()
    }

    /// Hand every stopped record to `syncer` from now on.
    pub(crate) fn set_syncer(&self, syncer: crate::sync::Syncer) {
        let _ = self.syncer.set(syncer);
    }

    pub(crate) fn dir(&self, uuid: &str) -> PathBuf {
        self.root.join(uuid)
    }

    /// Make sure the reserve is there before a record starts.
    pub(crate) fn ensure_reserve(&self) {
        ensure_reserve(&self.reserve);
    }

    /// Stop a record: the writer flushes, fsyncs and ends; the store gets its end; the app
    /// hears warning 20 or 150 if the writer had failed, then 30 (ready for export) when
    /// `send_30` (stopRecord sends 30 itself, after its reply). Returns the final record
    /// object. Call it with no service lock held.
    pub(crate) fn stop_with(&self, stop: PendingStop, send_30: bool) -> Option<Value> {
        let PendingStop { active, outbox, note } = stop;
        let outcome = active.writer.stop();
        let (note, failure) = match &outcome {
            Ok(()) => (note, None),
            Err(f) => (failure_note(f), Some(f.clone())),
        };
        if matches!(failure, Some(WriterFailure::Storage(_))) {
            // The disk is probably full: free the reserve so the record can still be closed.
            let _ = std::fs::remove_file(&self.reserve);
        }
        let record = match self.store() {
            Ok(store) => {
                if let Err(e) = store.finish_record(&active.uuid, unix_now(), RecordState::Stopped, &note) {
                    tracing::error!("cannot close record {}: {e}", active.uuid);
                }
                store.record(&active.uuid).ok().flatten()
            }
            Err(e) => {
                tracing::error!(
                    "record {} stays open in the store ({e}); the next start closes it at its last sample",
                    active.uuid
                );
                None
            }
        };
        match &failure {
            None => tracing::info!("record {} stopped", active.uuid),
            Some(_) => tracing::error!("record {} {note}", active.uuid),
        }
        if let (Some(syncer), Some(r)) = (self.syncer(), &record) {
            syncer.record_stopped(&r.uuid, &r.application_id);
        }
        if let Some(outbox) = outbox {
            if let Some(f) = failure {
                let code = match f {
                    WriterFailure::Storage(_) => codes::warning::DISK_CRITICAL,
                    WriterFailure::FellBehind(_) => codes::warning::RECORD_WRITER_BEHIND,
                };
                outbox.push_warning(warning::frame(
                    code,
                    json!({"recordId": active.uuid, "behavior": note}),
                ));
            }
            if send_30 {
                outbox.push_warning(record_ready(&active.uuid));
            }
        }
        record.as_ref().map(crate::records::record_object)
    }

    /// [`RecordBook::stop_with`], warning 30 included.
    pub(crate) fn stop(&self, stop: PendingStop) -> Option<Value> {
        self.stop_with(stop, true)
    }
}

/// A file's device and inode.
fn identity(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)?;
    Ok((m.dev(), m.ino()))
}

/// Warning 30: the record is closed and may be exported.
pub(crate) fn record_ready(uuid: &str) -> String {
    warning::frame(
        codes::warning::RECORD_READY,
        json!({"recordId": uuid, "behavior": "The record is ready to export."}),
    )
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
fn warn_disk_space(c: &Cortex, root: &Path, free: u64) {
    let level = DiskLevel::of(free);
    let mut st = lock(&c.state);
    let st = &mut *st;
    for s in &mut st.sessions {
        let Recording::Active(active) = &mut s.recording else {
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
                DiskLevel::Critical => codes::warning::DISK_CRITICAL,
                _ => codes::warning::DISK_LOW,
            };
            if let Some(client) = st.clients.get(&s.client) {
                client.outbox.push_warning(warning::frame(
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

/// Stop every record in progress, telling each app why (warning 20: its storage is gone).
fn stop_every_record(c: &Cortex, book: &RecordBook, why: &str) {
    let stops: Vec<(PendingStop, String)> = {
        let mut st = lock(&c.state);
        let st = &mut *st;
        let mut stops = Vec::new();
        for s in &mut st.sessions {
            if let Recording::Active(active) = std::mem::replace(&mut s.recording, Recording::Idle) {
                let uuid = active.uuid.clone();
                let outbox = st.clients.get(&s.client).map(|c| Arc::clone(&c.outbox));
                stops.push((
                    PendingStop {
                        active,
                        outbox,
                        note: why.to_owned(),
                    },
                    uuid,
                ));
            }
        }
        stops
    };
    for (stop, uuid) in stops {
        if let Some(outbox) = &stop.outbox {
            outbox.push_warning(warning::frame(
                codes::warning::DISK_CRITICAL,
                json!({"recordId": uuid, "behavior": why}),
            ));
        }
        book.stop(stop);
    }
}

/// While anything records, every 200 ms: stop records whose writer stopped by itself (a
/// full disk) and tell their apps; every second, check free disk space for them. With
/// nothing recording it looks every 2 s (an idle daemon wakes as little as it can; the
/// methods that use the store check it themselves).
/// The checks (statvfs) and the stops run without the service lock.
pub(crate) fn watch_loop(cortex: Weak<Cortex>) {
    let mut recording = false;
    for tick in 0u64.. {
        let period = if recording { 200 } else { 2000 };
        std::thread::sleep(Duration::from_millis(period));
        let Some(c) = cortex.upgrade() else { return };
        let Some(book) = c.book.clone() else { return };
        if !recording || tick % 5 == 0 {
            book.check_health();
        }
        if let Some(why) = book.lost() {
            // Whoever noticed first (this loop, or a method using the store), no record may
            // go on writing where nothing lasts.
            stop_every_record(&c, &book, &why);
        }
        recording = lock(&c.state)
            .sessions
            .iter()
            .any(|s| s.active_record().is_some());
        if !recording {
            continue;
        }
        if tick % 5 == 0
            && let Ok(free) = free_bytes(&book.root)
        {
            warn_disk_space(&c, &book.root, free);
        }
        let stops: Vec<PendingStop> = {
            let mut st = lock(&c.state);
            let failed: Vec<usize> = st
                .sessions
                .iter()
                .enumerate()
                .filter(|(_, s)| s.active_record().is_some_and(|r| r.writer.has_stopped()))
                .map(|(i, _)| i)
                .collect();
            let mut stops = Vec::new();
            for i in failed {
                let client = st.sessions[i].client;
                if let Recording::Active(active) =
                    std::mem::replace(&mut st.sessions[i].recording, Recording::Idle)
                {
                    stops.push(PendingStop {
                        active,
                        outbox: st.outbox(client),
                        note: String::new(),
                    });
                }
            }
            stops
        };
        for stop in stops {
            book.stop(stop);
        }
    }
}
