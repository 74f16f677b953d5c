//! Records to and from the lab's own S3-compatible bucket (MinIO, Ceph, Garage, AWS S3, …).
//!
//! A record in the bucket is a folder of objects under `<prefix>/records/<uuid>/`: its files
//! (sample files, metadata JSON) and, written last, `manifest.json`, which names every file
//! with its size and SHA-256. A record counts as present only once its manifest is there, so
//! an interrupted upload is never mistaken for a whole record, and a download checks every
//! byte against the manifest before anything lands in the local store.
//!
//! The S3 protocol is spoken by `object_store` (made for S3-compatible stores); this crate
//! adds what a recording daemon needs on top: resumable multipart uploads whose progress the
//! caller persists ([`UploadState`]), checksums, and errors that say what to fix.

mod download;
mod layout;
mod remote;
mod target;
mod upload;

pub use download::{download, fetch_file, fetch_manifest};
pub use layout::{FileEntry, Layout, MANIFEST_FORMAT, Manifest, valid_file_name, valid_record_id};
pub use object_store::aws::AmazonS3;
pub use remote::{delete_record, list_records};
pub use target::{Credentials, SyncTarget, find_credentials, parse_bucket_url};
pub use upload::{
    FileState, LocalFile, MIN_PART_SIZE, MultipartState, Progress, UploadState, discard, upload,
};

/// What can go wrong between epocd and the bucket.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The `[sync]` configuration is wrong.
    #[error("sync configuration: {0}")]
    Config(String),
    /// No credentials were found, or they are malformed.
    #[error("no usable credentials for the bucket: {0}")]
    Credentials(String),
    /// The server refused the credentials or the request.
    #[error(
        "the bucket refused epocd ({0}): check the access key, the secret and the bucket's policy in the sync \
         configuration's credentials"
    )]
    Denied(String),
    /// The server cannot be reached or failed (worth retrying later).
    #[error("the bucket cannot be reached ({0}); epocd retries later")]
    Unreachable(String),
    /// An object is not in the bucket.
    #[error("{0} is not in the bucket")]
    NotFound(String),
    /// A downloaded file does not match its manifest.
    #[error(
        "{file} of record {uuid} does not match the checksum in its manifest: the copy in the bucket was altered \
         or damaged, and nothing of it was kept here"
    )]
    Checksum {
        /// The record.
        uuid: String,
        /// The file.
        file: String,
    },
    /// A manifest cannot be read.
    #[error("the manifest of record {uuid} in the bucket is unreadable: {reason}")]
    BadManifest {
        /// The record.
        uuid: String,
        /// Why.
        reason: String,
    },
    /// A local file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server refused a request for a reason retrying will not change.
    #[error("the bucket refused a request: {0}")]
    Store(String),
}

impl SyncError {
    /// Whether trying again later may succeed (a network or server failure), as opposed to
    /// something a person must fix (credentials, configuration, damaged data).
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Unreachable(_))
    }

    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> SyncError + '_ {
        move |source| SyncError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

impl From<object_store::Error> for SyncError {
    fn from(e: object_store::Error) -> Self {
        use object_store::Error as E;
        match e {
            E::NotFound { path, .. } => SyncError::NotFound(path),
            E::PermissionDenied { path, source } | E::Unauthenticated { path, source } => {
                SyncError::Denied(format!("{path}: {source}"))
            }
            other => {
                let text = other.to_string();
                // S3 says "access denied" in the XML body of a 403; object_store passes it on
                // as a generic error.
                let denied = [
                    "403",
                    "AccessDenied",
                    "InvalidAccessKeyId",
                    "SignatureDoesNotMatch",
                    "Forbidden",
                ];
                // Other 4xx answers (but timeouts and throttling) will not change on a retry.
                let client_error = text
                    .split("status code: ")
                    .nth(1)
                    .is_some_and(|s| s.starts_with('4') && !s.starts_with("408") && !s.starts_with("429"));
                if denied.iter().any(|d| text.contains(d)) {
                    SyncError::Denied(text)
                } else if client_error {
                    SyncError::Store(text)
                } else {
                    SyncError::Unreachable(text)
                }
            }
        }
    }
}
