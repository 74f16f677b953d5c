//! Where the test captures live, and small parsers for the expected tables.
#![allow(dead_code)]

use std::path::PathBuf;

/// `tests/data/` at the repository root (small captures committed with the code).
pub fn repo_data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(rel)
}

/// `../shared/captures/` beside the repository (or `$EPOCD_SHARED_CAPTURES`). `None` (with a
/// note) when absent on a developer machine; a panic under CI, where it must exist.
pub fn shared_captures() -> Option<PathBuf> {
    let dir = std::env::var_os("EPOCD_SHARED_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures"));
    if dir.join("emokit").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "shared captures not found at {} (set EPOCD_SHARED_CAPTURES)",
            dir.display()
        );
    }
    eprintln!(
        "note: {} not found; skipping the tests that need the large captures",
        dir.display()
    );
    None
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

pub fn unhex32(s: &str) -> [u8; 32] {
    unhex(s).try_into().expect("32 bytes")
}

/// Rows of a `derived/*.expected.csv` table as maps from column name to text.
pub fn expected_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_owned)
        .collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

/// Lines of emokit's decrypted text dumps that hold exactly 32 byte values.
pub fn decimal_packets(text: &str) -> Vec<[u8; 32]> {
    text.lines()
        .filter_map(|l| {
            let v: Vec<u8> = l
                .split_whitespace()
                .map(|t| t.parse().ok())
                .collect::<Option<_>>()?;
            v.try_into().ok()
        })
        .collect()
}
