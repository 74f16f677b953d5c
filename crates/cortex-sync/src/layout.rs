//! Where a record's objects live in the bucket, and the manifest that vouches for them.

use object_store::path::Path;
use serde::{Deserialize, Serialize};

/// The manifest format this version writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// A record's manifest: every file with its size and SHA-256. Written after all the files,
/// so its presence means the record is whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The record id.
    pub uuid: String,
    /// Its files.
    pub files: Vec<FileEntry>,
}

/// One file of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its name (`eeg.blk`, `record.json`, …).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

impl Manifest {
    /// Total bytes of its files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The objects of records under one prefix of a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    prefix: String,
}

impl Layout {
    /// Records under `prefix` (`""` for the bucket's root; slashes at the ends ignored).
    pub fn new(prefix: &str) -> Layout {
        Layout {
            prefix: prefix.trim_matches('/').to_owned(),
        }
    }

    /// The folder holding every record.
    pub fn records(&self) -> Path {
        if self.prefix.is_empty() {
            Path::from("records")
        } else {
            Path::from(format!("{}/records", self.prefix))
        }
    }

    /// A record's folder.
    pub fn record(&self, uuid: &str) -> Path {
        self.records().join(uuid)
    }

    /// A record's manifest.
    pub fn manifest(&self, uuid: &str) -> Path {
        self.record(uuid).join("manifest.json")
    }

    /// One of a record's files.
    pub fn file(&self, uuid: &str, name: &str) -> Path {
        self.record(uuid).join("files").join(name)
    }
}

/// A record id as epocd makes them (a UUID: hex digits and dashes), so that an id from the
/// bucket can name a local folder safely.
pub fn valid_record_id(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// A file name a manifest may carry: plain, no path, no leading dot.
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_names() {
        let id = "0b9c43a2-5f6e-4a43-9d2c-1f6f3f7d9a10";
        assert_eq!(
            Layout::new("/lab/epocd/").manifest(id).as_ref(),
            format!("lab/epocd/records/{id}/manifest.json")
        );
        assert_eq!(
            Layout::new("").file(id, "eeg.blk").as_ref(),
            format!("records/{id}/files/eeg.blk")
        );
        assert!(valid_record_id(id));
        assert!(!valid_record_id("../../etc/passwd-000000000000000000000"));
        for good in ["eeg.blk", "record.json", "mot.blk"] {
            assert!(valid_file_name(good), "{good}");
        }
        for bad in ["", "../x", ".hidden", "a/b", "x y"] {
            assert!(!valid_file_name(bad), "{bad}");
        }
    }
}
