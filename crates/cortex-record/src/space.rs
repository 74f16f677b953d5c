//! Free space where records are written: apps are warned before a disk fills (warnings 19
//! and 20 of docs/cortex-api.md, "Warnings"), not only after a record had to stop.

use std::path::Path;

use crate::RecordError;

/// Below this many free bytes, the disk is low (Cortex warning 19: < 1 GB).
pub const LOW_BYTES: u64 = 1_000_000_000;
/// Below this many free bytes, the disk is critical (Cortex warning 20: < 300 MB).
pub const CRITICAL_BYTES: u64 = 300_000_000;

/// How full the disk under a path is, in Cortex's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DiskLevel {
    /// At least [`LOW_BYTES`] free.
    Fine,
    /// Under [`LOW_BYTES`] free.
    Low,
    /// Under [`CRITICAL_BYTES`] free.
    Critical,
}

impl DiskLevel {
    /// The level for a number of free bytes.
    pub fn of(free: u64) -> DiskLevel {
        if free < CRITICAL_BYTES {
            DiskLevel::Critical
        } else if free < LOW_BYTES {
            DiskLevel::Low
        } else {
            DiskLevel::Fine
        }
    }
}

/// Why files under `dir` (the folder and those of `files` that exist) can no longer be
/// written, if they cannot: a read-only file system, or an immutable or append-only flag
/// (`chattr +i`). SQLite maps its shared-memory file: a write to that mapping after such a
/// change kills the process with SIGBUS, so the store asks this before every use.
pub fn unwritable(dir: &Path, files: &[&Path]) -> Option<String> {
    if let Ok(st) = rustix::fs::statvfs(dir)
        && st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY)
    {
        return Some(format!("the file system of {} became read-only", dir.display()));
    }
    for path in std::iter::once(dir).chain(files.iter().copied()) {
        let Ok(file) = std::fs::File::open(path) else {
            continue;
        };
        // File systems without inode flags (tmpfs) answer an error: nothing is set there.
        if let Ok(flags) = rustix::fs::ioctl_getflags(&file)
            && flags.intersects(rustix::fs::IFlags::IMMUTABLE | rustix::fs::IFlags::APPEND)
        {
            return Some(format!(
                "{} became immutable or append-only (chattr)",
                path.display()
            ));
        }
    }
    None
}

/// Bytes an unprivileged writer can still use on the file system holding `path`.
pub fn free_bytes(path: &Path) -> Result<u64, RecordError> {
    let st = rustix::fs::statvfs(path).map_err(|e| RecordError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_cortex_thresholds() {
        assert_eq!(DiskLevel::of(5_000_000_000), DiskLevel::Fine);
        assert_eq!(DiskLevel::of(999_999_999), DiskLevel::Low);
        assert_eq!(DiskLevel::of(299_999_999), DiskLevel::Critical);
    }

    #[test]
    fn free_space_is_read_and_a_missing_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
        assert!(free_bytes(&dir.path().join("missing")).is_err());
    }
}
