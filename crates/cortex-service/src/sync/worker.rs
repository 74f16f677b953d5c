//! The sync worker thread: its loop, its queue and the saved state of each record.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cortex_record::RecordMeta;
use cortex_sync::{AmazonS3, Layout};
use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::{Job, Notify, Saved, SavedStatus, SyncSettings, SyncState};
use crate::record_book::RecordBook;
use crate::service::lock;

pub(super) struct Worker {
    pub(super) settings: SyncSettings,
    pub(super) layout: Layout,
    pub(super) dir: PathBuf,
    pub(super) book: Arc<RecordBook>,
    pub(super) opted_out: Arc<AtomicBool>,
    pub(super) stopping: Arc<AtomicBool>,
    pub(super) states: Arc<Mutex<HashMap<String, SyncState>>>,
    pub(super) notify: Notify,
    pub(super) queue: VecDeque<String>,
    /// When a record may be tried again, and how many tries failed.
    pub(super) retry: HashMap<String, (Instant, u32)>,
    pub(super) remote: Arc<Mutex<HashMap<String, RecordMeta>>>,
    pub(super) downloading: Arc<Mutex<HashSet<String>>>,
    /// When the bucket was last listed.
    pub(super) last_listing: Option<Instant>,
}

/// How often the bucket is listed for records that are not here.
const LISTING_EVERY: Duration = Duration::from_secs(60);

/// The longest wait between two tries of a record.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(300);

impl Worker {
    pub(super) fn run(mut self, rx: Receiver<Job>) {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!("record sync cannot start its runtime: {e}");
                return;
            }
        };
        let store = match self.settings.target.store() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("record sync is off: {e}");
                return;
            }
        };
        self.load_saved();
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            let wait = self.next_wait();
            match rx.recv_timeout(wait) {
                Ok(job) => self.take(job, &runtime, &store),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            while let Ok(job) = rx.try_recv() {
                self.take(job, &runtime, &store);
            }
            if let Some(uuid) = self.next_ready() {
                self.upload(&uuid, &runtime, &store);
            }
            if self.last_listing.is_none_or(|t| t.elapsed() >= LISTING_EVERY) {
                self.list_remote(&runtime, &store);
                self.take_up_retries();
            }
        }
    }

    fn take(&mut self, job: Job, runtime: &tokio::runtime::Runtime, store: &AmazonS3) {
        match job {
            Job::Upload { uuid, app } => {
                let saved = Saved {
                    app,
                    ..Saved::default()
                };
                if self.save(&uuid, &saved).is_ok() && !self.queue.contains(&uuid) {
                    self.queue.push_back(uuid);
                }
            }
            Job::OptOut => {
                for uuid in std::mem::take(&mut self.queue) {
                    self.discard(&uuid, runtime, store);
                }
            }
            Job::Download(uuid) => self.download(&uuid, runtime, store),
            Job::DeleteRemote(uuid) => {
                self.forget(&uuid);
                if let Err(e) = runtime.block_on(cortex_sync::delete_record(store, &self.layout, &uuid)) {
                    tracing::error!("record {uuid}: deleted here, but its copy in the bucket stays: {e}");
                } else {
                    tracing::info!("record {uuid}: deleted from the bucket too");
                }
            }
        }
    }

    /// Queue what an earlier run left unfinished; remember what it finished.
    fn load_saved(&mut self) {
        let ids = match super::saved_ids(&self.dir) {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!(
                    "cannot read {}: unfinished uploads wait for the next start: {e}",
                    self.dir.display()
                );
                return;
            }
        };
        let opted_out = self.opted_out.load(Ordering::SeqCst);
        for uuid in ids {
            let Some(saved) = self.read(&uuid) else { continue };
            let status = saved.status();
            if status == SavedStatus::Downloaded {
                lock(&self.states).insert(uuid, SyncState::Downloaded);
            } else if status == SavedStatus::Uploaded {
                lock(&self.states).insert(uuid, SyncState::Uploaded);
            } else if opted_out {
                // Opted out while it waited: it never leaves (what it sent is taken back
                // once the bucket can be reached).
                self.queue.push_back(uuid);
            } else {
                // A failure a person had to fix is tried again at start (the fix needed one).
                lock(&self.states).insert(uuid.clone(), SyncState::Queued);
                self.queue.push_back(uuid);
            }
        }
    }

    /// Queue the uploads `epocd sync --retry` cleared of their failure.
    fn take_up_retries(&mut self) {
        if self.opted_out.load(Ordering::SeqCst) {
            return;
        }
        let Ok(entries) = super::entries_in(&self.dir) else {
            return;
        };
        for e in entries {
            let failed_here = matches!(lock(&self.states).get(&e.uuid), Some(SyncState::Failed(_)));
            if e.status == SavedStatus::Uploading.as_str() && failed_here && !self.queue.contains(&e.uuid) {
                tracing::info!("record {}: upload retried", e.uuid);
                lock(&self.states).insert(e.uuid.clone(), SyncState::Queued);
                self.retry.remove(&e.uuid);
                self.queue.push_back(e.uuid);
            }
        }
    }

    fn next_wait(&self) -> Duration {
        let now = Instant::now();
        let ready = self
            .queue
            .iter()
            .map(|u| self.retry.get(u).map_or(now, |(at, _)| *at))
            .min();
        match ready {
            Some(at) => at.saturating_duration_since(now).min(Duration::from_secs(1)),
            None => Duration::from_secs(1),
        }
    }

    fn next_ready(&mut self) -> Option<String> {
        let now = Instant::now();
        let i = self
            .queue
            .iter()
            .position(|u| self.retry.get(u).is_none_or(|(at, _)| *at <= now))?;
        self.queue.remove(i)
    }

    pub(super) fn path(&self, uuid: &str) -> PathBuf {
        self.dir.join(format!("{uuid}.json"))
    }

    pub(super) fn read(&self, uuid: &str) -> Option<Saved> {
        let text = std::fs::read(self.path(uuid)).ok()?;
        match serde_json::from_slice(&text) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("sync state of record {uuid} is unreadable ({e}): it starts again");
                Some(Saved::default())
            }
        }
    }

    /// Save atomically (temporary file, fsync, rename).
    pub(super) fn save(&self, uuid: &str, saved: &Saved) -> std::io::Result<()> {
        let path = self.path(uuid);
        let tmp = self.dir.join(format!(".{uuid}.json.tmp"));
        let bytes = serde_json::to_vec(saved).map_err(std::io::Error::other)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)
    }
}
