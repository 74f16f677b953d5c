//! Uploading a stopped record, and taking an upload back when the user opts out.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cortex_api::{codes, warning};
use cortex_sync::{AmazonS3, LocalFile, SyncError, UploadState};
use serde_json::json;

use super::worker::{MAX_BACKOFF, Worker};
use super::{Saved, SyncState};
use crate::service::lock;

impl Worker {
    /// The files of a record to upload: its sample files and `record.json`.
    pub(super) fn files(&self, uuid: &str) -> Result<Vec<LocalFile>, String> {
        let store = self.book.store().map_err(|e| e.to_string())?;
        let record = store
            .record(uuid)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the record is no longer in the store".to_owned())?;
        let markers = store.markers(uuid).map_err(|e| e.to_string())?;
        let subject = match record.subject_name.as_str() {
            "" => None,
            name => store.subject(name).map_err(|e| e.to_string())?,
        };
        drop(store);
        // The exact archive (for another machine's store), and the Cortex record object (for
        // people looking in the bucket).
        let mut object = cortex_record::archive::to_json(&record, &markers, subject.as_ref());
        object["cortex"] = crate::records::record_object_with_markers(&record, &markers);
        let meta = self.dir.join(format!("{uuid}.record.json"));
        std::fs::write(&meta, serde_json::to_vec_pretty(&object).unwrap_or_default())
            .map_err(|e| format!("{}: {e}", meta.display()))?;
        let dir = self.book.dir(uuid);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| cortex_sync::valid_file_name(n))
            .collect();
        names.sort();
        let mut files: Vec<LocalFile> = names
            .into_iter()
            .map(|n| LocalFile {
                path: dir.join(&n),
                name: n,
            })
            .collect();
        files.push(LocalFile {
            name: "record.json".into(),
            path: meta,
        });
        Ok(files)
    }

    pub(super) fn upload(&mut self, uuid: &str, runtime: &tokio::runtime::Runtime, store: &AmazonS3) {
        if self.opted_out.load(Ordering::SeqCst) {
            self.discard(uuid, runtime, store);
            return;
        }
        let mut saved = self.read(uuid).unwrap_or_default();
        let files = match self.files(uuid) {
            Ok(f) => f,
            Err(why) => {
                tracing::warn!("record {uuid} not uploaded: {why}");
                self.forget(uuid);
                return;
            }
        };
        let started = Instant::now();
        let mut upload = std::mem::take(&mut saved.upload);
        let result = {
            let (states, opted_out, stopping) = (&self.states, &self.opted_out, &self.stopping);
            let mut checkpoint = |state: &UploadState, p: cortex_sync::Progress| {
                let snapshot = Saved {
                    app: saved.app.clone(),
                    upload: state.clone(),
                    failed: None,
                    downloaded: false,
                };
                self.save(uuid, &snapshot).map_err(|e| SyncError::Io {
                    path: self.path(uuid).display().to_string(),
                    source: e,
                })?;
                lock(states).insert(uuid.to_owned(), SyncState::Uploading(p.done, p.total));
                if opted_out.load(Ordering::SeqCst) {
                    return Err(SyncError::Config("the user opted out".into()));
                }
                if stopping.load(Ordering::SeqCst) {
                    return Err(SyncError::Unreachable("epocd is stopping".into()));
                }
                Ok(())
            };
            runtime.block_on(cortex_sync::upload(
                store,
                &self.layout,
                uuid,
                &files,
                self.settings.part_size,
                &mut upload,
                &mut checkpoint,
            ))
        };
        saved.upload = upload;
        match result {
            Ok(manifest) => {
                let secs = started.elapsed().as_secs_f64();
                tracing::info!(
                    "record {uuid} uploaded: {} bytes in {secs:.1} s",
                    manifest.bytes()
                );
                let _ = self.save(uuid, &saved);
                self.retry.remove(uuid);
                lock(&self.states).insert(uuid.to_owned(), SyncState::Uploaded);
                self.last_listing = None;
                (self.notify)(
                    &saved.app,
                    warning::frame(
                        codes::warning::RECORD_UPLOADED,
                        json!({"recordId": uuid, "behavior": "The record is in the lab's bucket."}),
                    ),
                );
            }
            Err(_) if self.opted_out.load(Ordering::SeqCst) => self.discard(uuid, runtime, store),
            Err(_) if self.stopping.load(Ordering::SeqCst) => {}
            Err(e) if e.is_transient() => {
                let tries = self.retry.get(uuid).map_or(0, |(_, n)| *n) + 1;
                let wait = Duration::from_secs(1u64 << tries.min(9)).min(MAX_BACKOFF);
                if tries == 1 {
                    tracing::warn!("record {uuid}: upload interrupted ({e}); retrying");
                }
                let p = saved.upload.progress();
                lock(&self.states).insert(
                    uuid.to_owned(),
                    SyncState::Retrying(e.to_string(), p.done, p.total),
                );
                self.retry.insert(uuid.to_owned(), (Instant::now() + wait, tries));
                self.queue.push_back(uuid.to_owned());
            }
            Err(e) => {
                let why = e.to_string();
                tracing::error!("record {uuid}: upload failed: {why}");
                saved.failed = Some(why.clone());
                let _ = self.save(uuid, &saved);
                lock(&self.states).insert(uuid.to_owned(), SyncState::Failed(why.clone()));
                (self.notify)(
                    &saved.app,
                    warning::frame(
                        codes::warning::RECORD_UPLOAD_FAILED,
                        json!({"recordId": uuid, "behavior": why}),
                    ),
                );
            }
        }
    }

    /// The user opted out: take back what was sent of `uuid` and forget it for good.
    pub(super) fn discard(&mut self, uuid: &str, runtime: &tokio::runtime::Runtime, store: &AmazonS3) {
        let saved = self.read(uuid).unwrap_or_default();
        let sent = saved.upload.files.iter().any(|f| f.done || f.multipart.is_some());
        if sent && let Err(e) = runtime.block_on(cortex_sync::discard(store, &self.layout, &saved.upload)) {
            // Keep it queued: the next try (once the bucket answers) takes it back.
            tracing::warn!("record {uuid}: cannot yet take back its partial upload ({e})");
            self.retry
                .insert(uuid.to_owned(), (Instant::now() + Duration::from_secs(30), 1));
            self.queue.push_back(uuid.to_owned());
            return;
        }
        tracing::info!("record {uuid} will not be uploaded: the user opted out");
        self.forget(uuid);
    }

    pub(super) fn forget(&mut self, uuid: &str) {
        let _ = std::fs::remove_file(self.path(uuid));
        let _ = std::fs::remove_file(self.dir.join(format!("{uuid}.record.json")));
        self.retry.remove(uuid);
        lock(&self.states).remove(uuid);
    }
}
