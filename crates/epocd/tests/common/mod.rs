//! Shared helpers of the epocd CLI tests: the repository root, the shared captures, and
//! running the built binary.
#![allow(dead_code)]

pub mod daemon;
pub mod planted;
pub mod records;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/captures` beside the repository (or `$EPOCD_SHARED_CAPTURES`); `None` with a
/// note on a developer machine without it, a failure under CI.
pub fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("EPOCD_SHARED_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/captures"));
    if dir.join("emokit").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "shared captures missing under CI"
    );
    eprintln!("note: shared captures not found, skipping");
    None
}

/// Run the built `epocd` with `args`.
pub fn epocd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_epocd"))
        .args(args)
        .output()
        .expect("run epocd")
}
