//! What the bucket holds that is not here, and bringing a record here: the files checked
//! against the manifest (`cortex_sync::download`), then the metadata, markers and subject from
//! its `record.json` put in the store, so queryRecords and exportRecord work on it as on a
//! record made here.

use cortex_api::{codes, warning};
use cortex_record::archive;
use cortex_sync::AmazonS3;
use serde_json::json;

use super::worker::Worker;
use super::{Saved, SyncState};
use crate::service::lock;

impl Worker {
    /// List the bucket and remember the records that are not here, with their metadata.
    pub(super) fn list_remote(&mut self, runtime: &tokio::runtime::Runtime, store: &AmazonS3) {
        self.last_listing = Some(std::time::Instant::now());
        let ids = match runtime.block_on(cortex_sync::list_records(store, &self.layout)) {
            Ok(ids) => ids,
            Err(e) => {
                tracing::debug!("cannot list the bucket: {e}");
                return;
            }
        };
        let here = |id: &str| {
            self.book
                .store()
                .ok()
                .and_then(|s| s.record(id).ok())
                .flatten()
                .is_some()
        };
        let known: Vec<String> = lock(&self.remote).keys().cloned().collect();
        let mut fresh = Vec::new();
        for id in &ids {
            if here(id) || known.contains(id) {
                continue;
            }
            match runtime.block_on(cortex_sync::fetch_file(store, &self.layout, id, "record.json")) {
                Ok(bytes) => match serde_json::from_slice(&bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|v| archive::from_json(&v).map_err(|e| e.to_string()))
                {
                    Ok(a) => fresh.push(a.record),
                    Err(e) => tracing::warn!("record {id} in the bucket has an unreadable record.json: {e}"),
                },
                Err(e) => tracing::debug!("record {id}: {e}"),
            }
        }
        let mut remote = lock(&self.remote);
        remote.retain(|id, _| ids.contains(id) && !here(id));
        for r in fresh {
            remote.insert(r.uuid.clone(), r);
        }
    }

    /// Bring record `uuid` here.
    pub(super) fn download(&mut self, uuid: &str, runtime: &tokio::runtime::Runtime, store: &AmazonS3) {
        let app = lock(&self.remote)
            .get(uuid)
            .map(|r| r.application_id.clone())
            .unwrap_or_default();
        let result = self.fetch_and_import(uuid, runtime, store);
        lock(&self.downloading).remove(uuid);
        match result {
            Ok(()) => {
                tracing::info!("record {uuid} downloaded from the bucket");
                lock(&self.remote).remove(uuid);
                lock(&self.states).insert(uuid.to_owned(), SyncState::Downloaded);
                (self.notify)(
                    &app,
                    warning::frame(
                        codes::warning::RECORD_DOWNLOADED,
                        json!({"recordId": uuid, "behavior": "The record was brought here from the lab's bucket."}),
                    ),
                );
            }
            Err(why) => {
                tracing::error!("record {uuid}: download failed: {why}");
                (self.notify)(
                    &app,
                    warning::frame(
                        codes::warning::RECORD_DOWNLOAD_FAILED,
                        json!({"recordId": uuid, "behavior": why}),
                    ),
                );
            }
        }
    }

    fn fetch_and_import(
        &mut self,
        uuid: &str,
        runtime: &tokio::runtime::Runtime,
        store: &AmazonS3,
    ) -> Result<(), String> {
        let book = &self.book;
        if book
            .store()
            .map_err(|e| e.to_string())?
            .record(uuid)
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Ok(());
        }
        let dir = book.dir(uuid);
        if dir.exists() {
            // Left by a download cut short before its metadata was stored.
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        runtime
            .block_on(cortex_sync::download(store, &self.layout, uuid, &dir))
            .map_err(|e| e.to_string())?;
        let imported = (|| {
            let meta_path = dir.join("record.json");
            let text = std::fs::read(&meta_path).map_err(|e| format!("{}: {e}", meta_path.display()))?;
            let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
            let a = archive::from_json(&value).map_err(|e| e.to_string())?;
            if a.record.uuid != uuid {
                return Err(format!("its record.json describes record {}", a.record.uuid));
            }
            std::fs::remove_file(&meta_path).map_err(|e| format!("{}: {e}", meta_path.display()))?;
            let store = book.store().map_err(|e| e.to_string())?;
            if let Some(s) = &a.subject {
                store.put_subject(s, false).map_err(|e| e.to_string())?;
            }
            store.insert_record(&a.record).map_err(|e| e.to_string())?;
            for m in &a.markers {
                store.insert_marker(m).map_err(|e| e.to_string())?;
            }
            Ok(a.record.application_id)
        })();
        match imported {
            Ok(app) => {
                let saved = Saved {
                    app,
                    downloaded: true,
                    ..Saved::default()
                };
                let _ = self.save(uuid, &saved);
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }
}
