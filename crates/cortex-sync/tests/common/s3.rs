//! A real S3 server for tests: `s3s-fs` (crates.io; `cargo install s3s-fs --features binary`,
//! which the test command does) on 127.0.0.1, storing into a temporary folder. Shared by the
//! tests of cortex-sync and cortex-service (`#[path]`).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cortex_sync::{Credentials, SyncTarget};

pub const KEY: &str = "epocdtestkey";
pub const SECRET: &str = "epocd-test-secret-0123456789";
pub const BUCKET: &str = "eeg-lab";

/// A running s3s-fs on 127.0.0.1, its data in a temporary folder; stopped on drop.
pub struct S3Server {
    child: Option<Child>,
    pub port: u16,
    pub root: tempfile::TempDir,
}

/// The s3s-fs binary: $S3S_FS, else on PATH, else ~/.cargo/bin. None when it is not installed.
pub fn s3s_fs() -> Option<PathBuf> {
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
pub fn server() -> Option<S3Server> {
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
    pub fn start(&mut self, bin: &Path) {
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

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.start(&s3s_fs().expect("s3s-fs"));
    }

    pub fn target(&self, secret: &str) -> SyncTarget {
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
    pub fn objects(&self) -> Vec<String> {
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
