//! Uploading a record: resumable, idempotent, manifest last.
//!
//! The caller keeps an [`UploadState`] and saves it every time `checkpoint` is called: after
//! the files are hashed, after a multipart upload is opened, after every part, after every
//! file. Called again with the saved state (after a restart, a network failure, the server
//! going away), [`upload`] goes on from the last part the server confirmed; parts are written
//! to the same numbered slots and objects to the same names, so nothing is duplicated. If the
//! server forgot an open multipart upload, that file starts over.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use object_store::multipart::{MultipartStore, PartId};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::SyncError;
use crate::layout::{FileEntry, Layout, MANIFEST_FORMAT, Manifest, valid_file_name};

/// The smallest part S3 accepts (but for the last part of an upload).
pub const MIN_PART_SIZE: u64 = 5 << 20;

/// A file of a record: its name in the bucket and where it is here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// The name it gets in the bucket.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
}

/// How far a record's upload got. Saved by the caller at every checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    /// The record.
    pub uuid: String,
    /// Each file, hashed, and how far it got.
    pub files: Vec<FileState>,
    /// The manifest is written: the record is whole in the bucket.
    pub complete: bool,
}

/// One file's upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// Its name in the bucket.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the local file, lower-case hex.
    pub sha256: String,
    /// The multipart upload in progress, for a large file.
    pub multipart: Option<MultipartState>,
    /// Stored in the bucket.
    pub done: bool,
}

/// An open multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultipartState {
    /// The server's id of the upload.
    pub upload_id: String,
    /// Bytes per part.
    pub part_size: u64,
    /// The parts the server confirmed, in order (their ETags).
    pub parts: Vec<String>,
}

/// How much of a record is in the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Bytes stored.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

impl UploadState {
    /// How much of the record is in the bucket, as far as this state knows.
    pub fn progress(&self) -> Progress {
        let total = self.files.iter().map(|f| f.size).sum();
        let done = self
            .files
            .iter()
            .map(|f| match (&f.multipart, f.done) {
                (_, true) => f.size,
                (Some(m), false) => (m.parts.len() as u64 * m.part_size).min(f.size),
                (None, false) => 0,
            })
            .sum();
        Progress { done, total }
    }

    fn manifest(&self) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            uuid: self.uuid.clone(),
            files: self
                .files
                .iter()
                .map(|f| FileEntry {
                    name: f.name.clone(),
                    size: f.size,
                    sha256: f.sha256.clone(),
                })
                .collect(),
        }
    }
}

/// SHA-256 and size of a file, read in 1 MiB pieces.
fn hash_file(path: &Path) -> Result<(u64, String), SyncError> {
    let mut file = std::fs::File::open(path).map_err(SyncError::io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(SyncError::io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex(&hasher.finalize())))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` bytes of a file from `offset`.
fn read_range(path: &Path, offset: u64, len: u64) -> Result<Vec<u8>, SyncError> {
    let mut file = std::fs::File::open(path).map_err(SyncError::io(path))?;
    file.seek(SeekFrom::Start(offset)).map_err(SyncError::io(path))?;
    let mut buf = Vec::with_capacity(len as usize);
    file.take(len)
        .read_to_end(&mut buf)
        .map_err(SyncError::io(path))?;
    Ok(buf)
}

/// Upload record `uuid`'s `files` and then its manifest, going on from `state`. Files larger
/// than `part_size` go up in parts of that size (at least [`MIN_PART_SIZE`]).
/// `checkpoint` is called with the state to save and the progress; an error from it stops the
/// upload (the caller uses that to honour an opt-out at once). Returns the manifest written.
pub async fn upload<S>(
    store: &S,
    layout: &Layout,
    uuid: &str,
    files: &[LocalFile],
    part_size: u64,
    state: &mut UploadState,
    mut checkpoint: impl FnMut(&UploadState, Progress) -> Result<(), SyncError>,
) -> Result<Manifest, SyncError>
where
    S: ObjectStore + MultipartStore,
{
    let part_size = part_size.max(MIN_PART_SIZE);
    let same_files = state.uuid == uuid
        && state.files.len() == files.len()
        && state.files.iter().zip(files).all(|(s, f)| s.name == f.name);
    if !same_files {
        let mut hashed = Vec::with_capacity(files.len());
        for f in files {
            if !valid_file_name(&f.name) {
                return Err(SyncError::Config(format!(
                    "{:?} cannot be a file name in the bucket",
                    f.name
                )));
            }
            let (size, sha256) = hash_file(&f.path)?;
            hashed.push(FileState {
                name: f.name.clone(),
                size,
                sha256,
                multipart: None,
                done: false,
            });
        }
        *state = UploadState {
            uuid: uuid.to_owned(),
            files: hashed,
            complete: false,
        };
        checkpoint(state, state.progress())?;
    }
    for (i, local) in files.iter().enumerate() {
        if state.files[i].done {
            continue;
        }
        let location = layout.file(uuid, &local.name);
        if state.files[i].size <= part_size {
            let bytes = read_range(&local.path, 0, state.files[i].size)?;
            store.put(&location, PutPayload::from(bytes)).await?;
        } else {
            upload_in_parts(
                store,
                &location,
                &local.path,
                part_size,
                state,
                i,
                &mut checkpoint,
            )
            .await?;
        }
        state.files[i].done = true;
        state.files[i].multipart = None;
        checkpoint(state, state.progress())?;
    }
    let manifest = state.manifest();
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| SyncError::Store(e.to_string()))?;
    store.put(&layout.manifest(uuid), PutPayload::from(json)).await?;
    state.complete = true;
    checkpoint(state, state.progress())?;
    Ok(manifest)
}

/// One large file as a multipart upload, resuming the one in `state` if there is one.
async fn upload_in_parts<S>(
    store: &S,
    location: &object_store::path::Path,
    path: &Path,
    part_size: u64,
    state: &mut UploadState,
    i: usize,
    checkpoint: &mut impl FnMut(&UploadState, Progress) -> Result<(), SyncError>,
) -> Result<(), SyncError>
where
    S: ObjectStore + MultipartStore,
{
    // A second try only when the server no longer knows the upload we resume.
    for attempt in 0..2 {
        if state.files[i].multipart.is_none() {
            let upload_id = store.create_multipart(location).await?;
            state.files[i].multipart = Some(MultipartState {
                upload_id,
                part_size,
                parts: Vec::new(),
            });
            checkpoint(state, state.progress())?;
        }
        if let Some(m) = state.files[i].multipart.as_ref().filter(|m| !m.parts.is_empty()) {
            tracing::info!(
                "resuming the upload of {location} at part {} of {}",
                m.parts.len() + 1,
                state.files[i].size.div_ceil(m.part_size)
            );
        }
        match send_parts(store, location, path, state, i, checkpoint).await {
            Err(SyncError::NotFound(_)) if attempt == 0 => {
                tracing::info!("the bucket forgot the upload of {location}: starting that file again");
                state.files[i].multipart = None;
            }
            other => return other,
        }
    }
    Ok(())
}

async fn send_parts<S>(
    store: &S,
    location: &object_store::path::Path,
    path: &Path,
    state: &mut UploadState,
    i: usize,
    checkpoint: &mut impl FnMut(&UploadState, Progress) -> Result<(), SyncError>,
) -> Result<(), SyncError>
where
    S: ObjectStore + MultipartStore,
{
    let size = state.files[i].size;
    let Some(m) = state.files[i].multipart.clone() else {
        return Ok(());
    };
    let count = size.div_ceil(m.part_size);
    for part in m.parts.len() as u64..count {
        let offset = part * m.part_size;
        let bytes = read_range(path, offset, m.part_size.min(size - offset))?;
        let id = store
            .put_part(location, &m.upload_id, part as usize, PutPayload::from(bytes))
            .await?;
        if let Some(open) = state.files[i].multipart.as_mut() {
            open.parts.push(id.content_id);
        }
        checkpoint(state, state.progress())?;
    }
    let parts = state.files[i]
        .multipart
        .as_ref()
        .map(|m| {
            m.parts
                .iter()
                .map(|c| PartId {
                    content_id: c.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    store.complete_multipart(location, &m.upload_id, parts).await?;
    Ok(())
}

/// Take back what an upload left in the bucket (the user opted out while it ran): abort its
/// open multipart uploads, then delete the record's objects.
pub async fn discard<S>(store: &S, layout: &Layout, state: &UploadState) -> Result<(), SyncError>
where
    S: ObjectStore + MultipartStore,
{
    for f in &state.files {
        if let Some(m) = &f.multipart {
            match store
                .abort_multipart(&layout.file(&state.uuid, &f.name), &m.upload_id)
                .await
            {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    crate::remote::delete_record(store, layout, &state.uuid).await
}
