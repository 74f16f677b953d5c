//! Record sync to the lab's own bucket (`[sync]` in the configuration; docs/sync.md).
//!
//! A worker thread, with its own small runtime, uploads each stopped record unless the user
//! opted out: its sample files and `record.json` (the record object with its markers), then
//! the manifest (`cortex-sync`). Its progress is saved in `<data dir>/sync/<uuid>.json` at
//! every part, so a restart or a network failure resumes where it stopped. Nothing here
//! runs under the service lock, and nothing waits for the network but this thread.
//!
//! Opting out stops the upload in progress at its next part, takes back what it had sent, and
//! drops every queued record for good; records stopped while opted out are never queued, also
//! after opting in again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use cortex_record::RecordMeta;
use cortex_sync::{Layout, SyncTarget, UploadState};
use crossbeam_channel::{Sender, unbounded};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::record_book::RecordBook;
use crate::service::lock;

mod download;
mod upload;
mod worker;

use worker::Worker;

/// What `[sync]` says, with the credentials found.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// The bucket.
    pub target: SyncTarget,
    /// Whether deleteRecord also deletes the copy in the bucket.
    pub delete_remote: bool,
    /// Bytes per part of a multipart upload.
    pub part_size: u64,
}

/// A record's sync state, as `syncStatus` shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SyncState {
    /// Waiting its turn.
    Queued,
    /// Going up; bytes stored and in all.
    Uploading(u64, u64),
    /// The last try failed for a reason that may pass; tried again later.
    Retrying(String, u64, u64),
    /// Whole in the bucket.
    Uploaded,
    /// Failed for a reason a person must fix (credentials, the bucket's policy).
    Failed(String),
    /// Brought here from the bucket (requestToDownloadRecordData).
    Downloaded,
}

/// Tells an app's connections something (a warning frame), by application id.
pub(crate) type Notify = Arc<dyn Fn(&str, String) + Send + Sync>;

pub(crate) enum Job {
    Upload { uuid: String, app: String },
    OptOut,
    Download(String),
    DeleteRemote(String),
}

/// The sync worker's handle.
pub(crate) struct Syncer {
    jobs: Sender<Job>,
    opted_out: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
    states: Arc<Mutex<HashMap<String, SyncState>>>,
    /// Records in the bucket that are not here, by id (refreshed by the worker).
    remote: Arc<Mutex<HashMap<String, RecordMeta>>>,
    /// Remote records asked for and not here yet.
    downloading: Arc<Mutex<HashSet<String>>>,
    delete_remote: bool,
}

/// What is saved per record in `<data dir>/sync/<uuid>.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Saved {
    app: String,
    upload: UploadState,
    failed: Option<String>,
    /// It came from the bucket.
    #[serde(default)]
    downloaded: bool,
}

impl Syncer {
    /// Start the worker. `opted_out` is the user's setting now.
    pub(crate) fn start(
        settings: SyncSettings,
        data_dir: &Path,
        book: Arc<RecordBook>,
        opted_out: bool,
        notify: Notify,
    ) -> std::io::Result<Syncer> {
        let dir = data_dir.join("sync");
        crate::private_dir(&dir)?;
        if settings.target.insecure() {
            tracing::warn!(
                "sync endpoint {} is plain http: records and request signatures cross the network unencrypted",
                settings.target.endpoint.as_deref().unwrap_or("")
            );
        }
        let (jobs, rx) = unbounded();
        let syncer = Syncer {
            jobs,
            opted_out: Arc::new(AtomicBool::new(opted_out)),
            stopping: Arc::new(AtomicBool::new(false)),
            states: Arc::new(Mutex::new(HashMap::new())),
            remote: Arc::new(Mutex::new(HashMap::new())),
            downloading: Arc::new(Mutex::new(HashSet::new())),
            delete_remote: settings.delete_remote,
        };
        let worker = Worker {
            layout: Layout::new(&settings.target.prefix),
            settings,
            dir,
            book,
            opted_out: Arc::clone(&syncer.opted_out),
            stopping: Arc::clone(&syncer.stopping),
            states: Arc::clone(&syncer.states),
            notify,
            queue: VecDeque::new(),
            retry: HashMap::new(),
            remote: Arc::clone(&syncer.remote),
            downloading: Arc::clone(&syncer.downloading),
            last_listing: None,
        };
        std::thread::Builder::new()
            .name("epocd-sync".into())
            .spawn(move || worker.run(rx))?;
        Ok(syncer)
    }

    /// A record stopped: queue it, unless the user opted out.
    pub(crate) fn record_stopped(&self, uuid: &str, app: &str) {
        if self.opted_out.load(Ordering::SeqCst) {
            tracing::info!("record {uuid} not uploaded: the user opted out");
            return;
        }
        lock(&self.states).insert(uuid.to_owned(), SyncState::Queued);
        let _ = self.jobs.send(Job::Upload {
            uuid: uuid.to_owned(),
            app: app.to_owned(),
        });
    }

    /// The records in the bucket that are not here (as last listed: at start, every minute
    /// and after each upload).
    pub(crate) fn remote_records(&self) -> Vec<RecordMeta> {
        lock(&self.remote).values().cloned().collect()
    }

    /// Whether a remote record is being brought here.
    pub(crate) fn is_downloading(&self, uuid: &str) -> bool {
        lock(&self.downloading).contains(uuid)
    }

    /// Bring record `uuid` here from the bucket (in the background).
    pub(crate) fn request_download(&self, uuid: &str) -> Result<(), String> {
        if !lock(&self.remote).contains_key(uuid) {
            return Err(
                "not in the lab's bucket as last listed (the list is refreshed every minute), or already here".into(),
            );
        }
        if lock(&self.downloading).insert(uuid.to_owned()) {
            let _ = self.jobs.send(Job::Download(uuid.to_owned()));
        }
        Ok(())
    }

    /// A record was deleted here: forget its sync state, and delete its copy in the bucket
    /// when `delete_remote` is set (else the copy stays, and the record can be downloaded
    /// again).
    pub(crate) fn record_deleted(&self, uuid: &str) {
        lock(&self.states).remove(uuid);
        if self.delete_remote {
            let _ = self.jobs.send(Job::DeleteRemote(uuid.to_owned()));
        }
    }

    /// The user's opt-out changed.
    pub(crate) fn set_opt_out(&self, on: bool) {
        self.opted_out.store(on, Ordering::SeqCst);
        if on {
            let _ = self.jobs.send(Job::OptOut);
        }
    }

    /// A record's sync state, if it was ever queued.
    pub(crate) fn state(&self, uuid: &str) -> Option<SyncState> {
        lock(&self.states).get(uuid).cloned()
    }

    /// Stop at the next part (the saved progress lets the next start resume).
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }
}

/// The `syncStatus` of a record.
pub(crate) fn status_json(sync_on: bool, opt_out: bool, state: Option<SyncState>) -> Value {
    let progress = |done: u64, total: u64| {
        if total == 0 {
            1.0
        } else {
            (done as f64 / total as f64 * 1000.0).round() / 1000.0
        }
    };
    let (status, message, extra) = match (sync_on, state) {
        (false, _) => (
            "neverUploaded",
            "epocd keeps records on this machine only: no [sync] bucket is configured".to_owned(),
            None,
        ),
        (true, None) => (
            "neverUploaded",
            "not uploaded: stopped while the user opted out, or before sync was configured".to_owned(),
            None,
        ),
        (true, Some(SyncState::Queued)) => ("uploading", "waiting to upload".to_owned(), Some(0.0)),
        (true, Some(SyncState::Uploading(d, t))) => {
            ("uploading", "uploading".to_owned(), Some(progress(d, t)))
        }
        (true, Some(SyncState::Retrying(why, d, t))) => (
            "uploading",
            format!("waiting to retry: {why}"),
            Some(progress(d, t)),
        ),
        (true, Some(SyncState::Uploaded)) => ("uploaded", "in the lab's bucket".to_owned(), None),
        (true, Some(SyncState::Failed(why))) => ("failed", why, None),
        (true, Some(SyncState::Downloaded)) => (
            "downloaded",
            "brought here from the lab's bucket".to_owned(),
            None,
        ),
    };
    let mut v = json!({"status": status, "optOut": opt_out, "message": message});
    if let Some(p) = extra {
        v["progress"] = json!(p);
    }
    v
}

/// The `syncStatus` of a record that is in the bucket and not here.
pub(crate) fn remote_status_json(opt_out: bool, downloading: bool) -> Value {
    if downloading {
        json!({"status": "downloading", "optOut": opt_out, "message": "being brought here from the lab's bucket"})
    } else {
        json!({"status": "notDownloaded", "optOut": opt_out,
               "message": "in the lab's bucket; requestToDownloadRecordData brings it here"})
    }
}

/// One record in `<data dir>/sync/`, as `epocd sync` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncEntry {
    /// The record.
    pub uuid: String,
    /// `uploaded`, `downloaded`, `uploading` (waiting or in progress) or `failed`.
    pub status: &'static str,
    /// Bytes in the bucket and in all (uploads).
    pub progress: (u64, u64),
    /// Why it failed.
    pub failed: Option<String>,
}

/// Where a record stands, from its saved sync state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SavedStatus {
    /// It came from the bucket.
    Downloaded,
    /// All of it is in the bucket.
    Uploaded,
    /// Its upload stopped on an error a person has to fix.
    Failed,
    /// Its upload waits or runs.
    Uploading,
}

impl SavedStatus {
    /// The word `epocd sync` prints.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SavedStatus::Downloaded => "downloaded",
            SavedStatus::Uploaded => "uploaded",
            SavedStatus::Failed => "failed",
            SavedStatus::Uploading => "uploading",
        }
    }
}

impl Saved {
    pub(crate) fn status(&self) -> SavedStatus {
        if self.downloaded {
            SavedStatus::Downloaded
        } else if self.upload.complete {
            SavedStatus::Uploaded
        } else if self.failed.is_some() {
            SavedStatus::Failed
        } else {
            SavedStatus::Uploading
        }
    }
}

/// The records that have a saved sync state in `sync_dir`, by id (sorted; other files and
/// names that are not record ids are left alone). A missing folder holds none.
pub(crate) fn saved_ids(sync_dir: &Path) -> std::io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(sync_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut ids = Vec::new();
    for e in entries {
        let name = e?.file_name().to_string_lossy().into_owned();
        if let Some(uuid) = name
            .strip_suffix(".json")
            .filter(|u| cortex_sync::valid_record_id(u))
        {
            ids.push(uuid.to_owned());
        }
    }
    ids.sort();
    Ok(ids)
}

/// What the sync folder of `data_dir` holds: each record's upload or download, by id.
pub fn sync_entries(data_dir: &Path) -> std::io::Result<Vec<SyncEntry>> {
    entries_in(&data_dir.join("sync"))
}

/// [`sync_entries`] of the sync folder itself. An unreadable state file is not listed.
pub(crate) fn entries_in(sync_dir: &Path) -> std::io::Result<Vec<SyncEntry>> {
    let mut out = Vec::new();
    for uuid in saved_ids(sync_dir)? {
        let Ok(saved) = std::fs::read(sync_dir.join(format!("{uuid}.json")))
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Saved>(&b).map_err(|e| e.to_string()))
        else {
            continue;
        };
        let p = saved.upload.progress();
        out.push(SyncEntry {
            uuid,
            status: saved.status().as_str(),
            progress: (p.done, p.total),
            failed: saved.failed,
        });
    }
    Ok(out)
}

/// Mark every failed upload of `data_dir` to be tried again: a running epocd takes them up
/// within a minute, a stopped one at its start. Returns how many.
pub fn retry_failed(data_dir: &Path) -> std::io::Result<usize> {
    let dir = data_dir.join("sync");
    let mut n = 0;
    for entry in sync_entries(data_dir)?
        .into_iter()
        .filter(|e| e.status == SavedStatus::Failed.as_str())
    {
        let path = dir.join(format!("{}.json", entry.uuid));
        let mut saved: Saved =
            serde_json::from_slice(&std::fs::read(&path)?).map_err(std::io::Error::other)?;
        saved.failed = None;
        let tmp = dir.join(format!(".{}.json.tmp", entry.uuid));
        std::fs::write(&tmp, serde_json::to_vec(&saved).map_err(std::io::Error::other)?)?;
        std::fs::rename(&tmp, &path)?;
        n += 1;
    }
    Ok(n)
}
