//! Against a real S3 server: `s3s-fs` (crates.io; `cargo install s3s-fs --features binary`,
//! which the test command does), on loopback, storing into a temporary folder. No mock of the
//! client library: object_store speaks S3 over HTTP to it, as to MinIO or AWS.

mod common;

use std::path::Path;

use common::s3::{BUCKET, SECRET, server};
use cortex_sync::{
    Layout, LocalFile, SyncError, UploadState, delete_record, discard, download, list_records, upload,
};

const UUID: &str = "6f1c2a7e-0d1b-4c55-9a3e-2b7f5d8e9a01";

/// A record folder with a large sample file (pseudo-random bytes) and a small metadata file.
fn record_files(dir: &Path, eeg_bytes: usize) -> Vec<LocalFile> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..eeg_bytes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(dir.join("eeg.blk"), data).unwrap();
    std::fs::write(dir.join("record.json"), br#"{"title":"t"}"#).unwrap();
    vec![
        LocalFile {
            name: "eeg.blk".into(),
            path: dir.join("eeg.blk"),
        },
        LocalFile {
            name: "record.json".into(),
            path: dir.join("record.json"),
        },
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

const PART: u64 = cortex_sync::MIN_PART_SIZE;

#[test]
fn a_record_goes_up_in_parts_and_comes_back_identical() {
    let Some(server) = server() else { return };
    let rt = runtime();
    let store = server.target(SECRET).store().unwrap();
    let layout = Layout::new("site-a");
    let here = tempfile::tempdir().unwrap();
    let files = record_files(here.path(), 3 * PART as usize + 1234);
    let mut state = UploadState::default();
    let mut checkpoints = 0;
    let manifest = rt
        .block_on(upload(&store, &layout, UUID, &files, PART, &mut state, |_, _| {
            checkpoints += 1;
            Ok(())
        }))
        .unwrap();
    assert!(state.complete);
    assert!(
        checkpoints >= 4 + 2,
        "a checkpoint per part and file: {checkpoints}"
    );
    assert_eq!(manifest.files.len(), 2);
    assert_eq!(
        server.objects(),
        [
            format!("site-a/records/{UUID}/files/eeg.blk"),
            format!("site-a/records/{UUID}/files/record.json"),
            format!("site-a/records/{UUID}/manifest.json"),
        ]
    );
    assert_eq!(rt.block_on(list_records(&store, &layout)).unwrap(), [UUID]);

    // Idempotent: the same upload again changes nothing.
    let before = server.objects();
    rt.block_on(upload(&store, &layout, UUID, &files, PART, &mut state, |_, _| {
        Ok(())
    }))
    .unwrap();
    assert_eq!(server.objects(), before);

    let there = tempfile::tempdir().unwrap();
    let into = there.path().join("records").join(UUID);
    rt.block_on(download(&store, &layout, UUID, &into)).unwrap();
    for f in &files {
        assert_eq!(
            std::fs::read(into.join(&f.name)).unwrap(),
            std::fs::read(&f.path).unwrap(),
            "{}",
            f.name
        );
    }

    rt.block_on(delete_record(&store, &layout, UUID)).unwrap();
    assert!(rt.block_on(list_records(&store, &layout)).unwrap().is_empty());
    assert!(server.objects().is_empty(), "{:?}", server.objects());
}

#[test]
fn the_server_stopped_mid_upload_then_the_upload_resumes_without_sending_parts_again() {
    let Some(mut server) = server() else { return };
    let rt = runtime();
    let store = server.target(SECRET).store().unwrap();
    let layout = Layout::new("site-a");
    let here = tempfile::tempdir().unwrap();
    let files = record_files(here.path(), 5 * PART as usize);
    let mut state = UploadState::default();
    // Stop the server once three parts are stored: the next part fails.
    let mut saved = None;
    let err = rt
        .block_on(upload(&store, &layout, UUID, &files, PART, &mut state, |s, _| {
            let parts = s.files[0].multipart.as_ref().map_or(0, |m| m.parts.len());
            if parts == 3 && saved.is_none() {
                saved = Some(s.clone());
                server.stop();
            }
            Ok(())
        }))
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(!state.complete);
    assert_eq!(state.files[0].multipart.as_ref().unwrap().parts.len(), 3);
    // The daemon restarts from what it saved (as after a crash), the server comes back.
    let mut state = saved.unwrap();
    server.restart();
    let mut sent_parts = Vec::new();
    rt.block_on(upload(&store, &layout, UUID, &files, PART, &mut state, |s, _| {
        if let Some(m) = &s.files[0].multipart {
            sent_parts.push(m.parts.len());
        }
        Ok(())
    }))
    .unwrap();
    assert_eq!(
        sent_parts.first(),
        Some(&4),
        "the upload went on at part 4: {sent_parts:?}"
    );
    assert_eq!(
        server.objects(),
        [
            format!("site-a/records/{UUID}/files/eeg.blk"),
            format!("site-a/records/{UUID}/files/record.json"),
            format!("site-a/records/{UUID}/manifest.json"),
        ],
        "no stray or duplicate object"
    );
    let there = tempfile::tempdir().unwrap();
    let into = there.path().join(UUID);
    rt.block_on(download(&store, &layout, UUID, &into)).unwrap();
    assert_eq!(
        std::fs::read(into.join("eeg.blk")).unwrap(),
        std::fs::read(&files[0].path).unwrap()
    );
}

#[test]
fn wrong_credentials_are_a_clear_error_that_is_not_retried() {
    let Some(server) = server() else { return };
    let rt = runtime();
    let store = server.target("not-the-secret").store().unwrap();
    let here = tempfile::tempdir().unwrap();
    let files = record_files(here.path(), 1000);
    let mut state = UploadState::default();
    let err = rt
        .block_on(upload(
            &store,
            &Layout::new("site-a"),
            UUID,
            &files,
            PART,
            &mut state,
            |_, _| Ok(()),
        ))
        .unwrap_err();
    assert!(matches!(err, SyncError::Denied(_)), "{err:?}");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("check the access key"), "{err}");
    assert!(
        !err.to_string().contains("not-the-secret"),
        "the secret is never shown: {err}"
    );
    assert!(server.objects().is_empty());
    assert!(here.path().join("eeg.blk").exists(), "the record is intact here");
}

#[test]
fn an_object_altered_in_the_bucket_is_refused_by_its_checksum() {
    let Some(server) = server() else { return };
    let rt = runtime();
    let store = server.target(SECRET).store().unwrap();
    let layout = Layout::new("site-a");
    let here = tempfile::tempdir().unwrap();
    let files = record_files(here.path(), 3000);
    let mut state = UploadState::default();
    rt.block_on(upload(&store, &layout, UUID, &files, PART, &mut state, |_, _| {
        Ok(())
    }))
    .unwrap();
    // Flip one byte of the stored object, behind the server's back.
    let stored = server
        .root
        .path()
        .join(BUCKET)
        .join(format!("site-a/records/{UUID}/files/eeg.blk"));
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&stored, bytes).unwrap();
    let there = tempfile::tempdir().unwrap();
    let into = there.path().join(UUID);
    let err = rt.block_on(download(&store, &layout, UUID, &into)).unwrap_err();
    assert!(
        matches!(&err, SyncError::Checksum { file, .. } if file == "eeg.blk"),
        "{err:?}"
    );
    assert!(!into.exists());
    assert_eq!(
        std::fs::read_dir(there.path()).unwrap().count(),
        0,
        "nothing is left behind"
    );
}

#[test]
fn a_discarded_upload_leaves_nothing_in_the_bucket() {
    let Some(server) = server() else { return };
    let rt = runtime();
    let store = server.target(SECRET).store().unwrap();
    let layout = Layout::new("site-a");
    let here = tempfile::tempdir().unwrap();
    let files = record_files(here.path(), 3 * PART as usize);
    let mut state = UploadState::default();
    // The user opts out after two parts: the checkpoint refuses to go on.
    let err = rt
        .block_on(upload(
            &store,
            &layout,
            UUID,
            &files,
            PART,
            &mut state,
            |s, _| match s.files[0].multipart.as_ref().map_or(0, |m| m.parts.len()) {
                2 => Err(SyncError::Config("opted out".into())),
                _ => Ok(()),
            },
        ))
        .unwrap_err();
    assert!(err.to_string().contains("opted out"));
    rt.block_on(discard(&store, &layout, &state)).unwrap();
    let left: Vec<String> = server
        .objects()
        .into_iter()
        .filter(|o| o.contains(UUID))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
