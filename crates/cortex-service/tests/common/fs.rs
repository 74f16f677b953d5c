//! Making files immutable for fault tests (`chattr +i`), undone when the guard drops. One
//! helper for every test that needs it (the epocd tests include this file).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Undoes `chattr +i` when dropped, so the temporary folder can be removed.
pub struct Immutable {
    path: PathBuf,
    recursive: bool,
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let mut undo = std::process::Command::new("chattr");
        if self.recursive {
            undo.arg("-R");
        }
        let _ = undo.arg("-i").arg(&self.path).status();
    }
}

/// Make `path` (and, `recursive`, everything under it) immutable. `None`, with a note, where
/// the machine cannot (it needs root and a file system with inode flags: ext4, xfs, btrfs);
/// under CI that is a failure, not a skip.
pub fn immutable(path: &Path, recursive: bool) -> Option<Immutable> {
    let mut chattr = std::process::Command::new("chattr");
    if recursive {
        chattr.arg("-R");
    }
    let guard = Immutable {
        path: path.to_path_buf(),
        recursive,
    };
    if chattr.arg("+i").arg(path).status().is_ok_and(|s| s.success()) {
        return Some(guard);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "chattr +i failed under CI"
    );
    eprintln!("note: chattr +i is not available here; skipping");
    None
}
