//! A stopped record planted in a data dir and queued for upload, as an epocd that died
//! before uploading it leaves it (shared by the sync test and the sync bench, `#[path]`).
#![allow(dead_code)]

use std::path::Path;

use cortex_record::{RecordMeta, RecordState, Store};
use epoc_protocol::Mode;

/// Plant record `uuid` of app `com.test.sync` with pseudo-random sample files of these
/// sizes; returns their bytes.
pub fn queued_record(data: &Path, uuid: &str, files: &[(&str, usize)]) -> Vec<Vec<u8>> {
    let dir = data.join("records").join(uuid);
    std::fs::create_dir_all(&dir).expect("the record's folder");
    let store = Store::open(&data.join("epocd.sqlite")).expect("the store");
    store
        .insert_record(&RecordMeta {
            uuid: uuid.into(),
            title: "long".into(),
            description: String::new(),
            tags: Vec::new(),
            application_id: "com.test.sync".into(),
            application_version: String::new(),
            license_id: String::new(),
            owner_id: String::new(),
            experiment_id: 0,
            subject_name: String::new(),
            session_id: "s".into(),
            headset_id: "EPOCPLUS-00000001".into(),
            serial: "VD20260000000001".into(),
            mode: Mode::EPOC_PLUS_256,
            start: 1_764_650_000.0,
            end: Some(1_764_653_600.0),
            state: RecordState::Stopped,
            note: String::new(),
        })
        .expect("insert the record");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::new();
    for (name, size) in files {
        let bytes: Vec<u8> = (0..*size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        std::fs::write(dir.join(name), &bytes).expect("a sample file");
        out.push(bytes);
    }
    std::fs::create_dir_all(data.join("sync")).expect("the sync folder");
    std::fs::write(
        data.join("sync").join(format!("{uuid}.json")),
        br#"{"app":"com.test.sync","upload":{"uuid":"","files":[],"complete":false},"failed":null}"#,
    )
    .expect("the queue entry");
    out
}

/// A config file naming the bucket of the s3s-fs at `port` (prefix `lab`), with a
/// credentials file beside it.
pub fn sync_config(dir: &Path, port: u16, key: &str, secret: &str, bucket: &str) -> std::path::PathBuf {
    let creds = dir.join("s3-credentials");
    std::fs::write(
        &creds,
        format!("[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"),
    )
    .expect("the credentials file");
    let path = dir.join("epocd.toml");
    std::fs::write(
        &path,
        format!(
            "[sync]\nurl = \"s3://{bucket}/lab\"\nendpoint = \"http://127.0.0.1:{port}\"\ncredentials_file = \"{}\"\n\
             part_size_mib = 5\n",
            creds.display()
        ),
    )
    .expect("the config file");
    path
}

/// The saved sync state of `uuid` (null until there is one).
pub fn saved(data: &Path, uuid: &str) -> serde_json::Value {
    std::fs::read(data.join("sync").join(format!("{uuid}.json")))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}
