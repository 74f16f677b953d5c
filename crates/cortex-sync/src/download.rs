//! Downloading a record: every file checked against its manifest before anything is kept.

use std::io::Write;
use std::path::Path;

use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use crate::SyncError;
use crate::layout::{Layout, MANIFEST_FORMAT, Manifest, valid_file_name, valid_record_id};
use crate::upload::hex;

/// Read and check record `uuid`'s manifest.
pub async fn fetch_manifest<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    uuid: &str,
) -> Result<Manifest, SyncError> {
    if !valid_record_id(uuid) {
        return Err(SyncError::NotFound(format!("record {uuid:?}")));
    }
    let bytes = match store.get(&layout.manifest(uuid)).await {
        Ok(r) => r.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(SyncError::NotFound(format!("record {uuid}")));
        }
        Err(e) => return Err(e.into()),
    };
    let bad = |reason: String| SyncError::BadManifest {
        uuid: uuid.to_owned(),
        reason,
    };
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(bad(format!(
            "format {} (this epocd reads format {MANIFEST_FORMAT}: update epocd)",
            manifest.format
        )));
    }
    if manifest.uuid != uuid {
        return Err(bad(format!("it names record {}", manifest.uuid)));
    }
    if let Some(f) = manifest.files.iter().find(|f| !valid_file_name(&f.name)) {
        return Err(bad(format!("it names a file {:?}", f.name)));
    }
    Ok(manifest)
}

/// Download record `uuid` into the folder `into` (which must not exist yet): its files are
/// written into a temporary folder beside it, each checked against the manifest's size and
/// SHA-256, fsynced, and only then is the folder renamed into place. On any mismatch nothing
/// is left behind.
pub async fn download<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    uuid: &str,
    into: &Path,
) -> Result<Manifest, SyncError> {
    let manifest = fetch_manifest(store, layout, uuid).await?;
    if into.exists() {
        return Err(SyncError::Io {
            path: into.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
        });
    }
    let parent = into.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(SyncError::io(parent))?;
    let temp = parent.join(format!(".download-{uuid}"));
    if temp.exists() {
        std::fs::remove_dir_all(&temp).map_err(SyncError::io(&temp))?;
    }
    std::fs::create_dir(&temp).map_err(SyncError::io(&temp))?;
    let result = fetch_files(store, layout, &manifest, &temp).await;
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(e);
    }
    std::fs::rename(&temp, into).map_err(SyncError::io(into))?;
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
    Ok(manifest)
}

async fn fetch_files<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    manifest: &Manifest,
    temp: &Path,
) -> Result<(), SyncError> {
    for entry in &manifest.files {
        let path = temp.join(&entry.name);
        let mut file = std::fs::File::create(&path).map_err(SyncError::io(&path))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut stream = match store.get(&layout.file(&manifest.uuid, &entry.name)).await {
            Ok(r) => r.into_stream(),
            Err(object_store::Error::NotFound { .. }) => {
                return Err(SyncError::BadManifest {
                    uuid: manifest.uuid.clone(),
                    reason: format!("{} is missing from the bucket", entry.name),
                });
            }
            Err(e) => return Err(e.into()),
        };
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            if size > entry.size {
                break;
            }
            hasher.update(&chunk);
            file.write_all(&chunk).map_err(SyncError::io(&path))?;
        }
        if size != entry.size || hex(&hasher.finalize()) != entry.sha256 {
            return Err(SyncError::Checksum {
                uuid: manifest.uuid.clone(),
                file: entry.name.clone(),
            });
        }
        file.sync_all().map_err(SyncError::io(&path))?;
    }
    Ok(())
}

/// One file of record `uuid` as stored, unchecked (for its small `record.json`, to list what
/// the bucket holds; [`download`] checks every file).
pub async fn fetch_file<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    uuid: &str,
    name: &str,
) -> Result<bytes::Bytes, SyncError> {
    if !valid_record_id(uuid) || !valid_file_name(name) {
        return Err(SyncError::NotFound(format!("{uuid}/{name}")));
    }
    Ok(store.get(&layout.file(uuid, name)).await?.bytes().await?)
}
