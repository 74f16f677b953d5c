//! Against a real S3 server: `s3s-fs` (crates.io; `cargo install s3s-fs --features binary`,
//! which the test command does), on loopback, storing into a temporary folder. No mock of the
//! client library: object_store speaks S3 over HTTP to it, as to MinIO or AWS.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cortex_sync::{
    Credentials, Layout, LocalFile, SyncError, SyncTarget, UploadState, delete_record, discard, download,
    list_records, upload,
};

const KEY: &str = "epocdtestkey";
const SECRET: &str = "epocd-test-secret-0123456789";
const BUCKET: &str = "eeg-lab";

/// A running s3s-fs on 127.0.0.1, its data in a temporary folder; stopped on drop.
struct S3Server {
    child: Option<Child>,
    port: u16,
    root: tempfile::TempDir,
}

/// The s3s-fs binary: $S3S_FS, else on PATH, else ~/.cargo/bin. None when it is not installed.
fn s3s_fs() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("S3S_FS") {
        return Some(PathBuf::from(p));
    }
    let mut places: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("s3s-fs")).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        places.push(Path::new(&home).join(".cargo/bin/s3s-fs"));
    }
    places.into_iter().find(|p| p.is_file())
}

/// The server, or None (with a note) when s3s-fs is not installed outside CI; under CI a
/// missing server fails the test.
fn server() -> Option<S3Server> {
    let Some(bin) = s3s_fs() else {
        assert!(
            std::env::var("CI").is_err(),
            "s3s-fs is not installed: cargo install s3s-fs --features binary --locked"
        );
        eprintln!("note: s3s-fs is not installed (cargo install s3s-fs --features binary): S3 tests not run");
        return None;
    };
    let root = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(root.path().join(BUCKET)).expect("the bucket's folder");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut s = S3Server {
        child: None,
        port,
        root,
    };
    s.start(&bin);
    Some(s)
}

impl S3Server {
    fn start(&mut self, bin: &Path) {
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", KEY, "--secret-key", SECRET])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not listen within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.start(&s3s_fs().expect("s3s-fs"));
    }

    fn target(&self, secret: &str) -> SyncTarget {
        SyncTarget {
            bucket: BUCKET.into(),
            prefix: "site-a".into(),
            endpoint: Some(format!("http://127.0.0.1:{}", self.port)),
            region: "us-east-1".into(),
            credentials: Credentials::new(KEY, secret, "the test"),
            ca_file: None,
            request_timeout: Duration::from_secs(5),
        }
    }

    /// Every object the server holds, as paths under its root (its own listing, not the
    /// client's).
    fn objects(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.path().join(BUCKET)];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).expect("read the bucket") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(self.root.path().join(BUCKET)) {
                    out.push(rel.display().to_string());
                }
            }
        }
        out.sort();
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

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
