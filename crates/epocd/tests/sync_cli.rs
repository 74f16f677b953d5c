//! Record sync through the epocd binary against a real S3 server (s3s-fs on loopback):
//! killed mid-upload, epocd resumes the upload after its restart; `epocd sync` and
//! `epocd records --remote` tell what happened.

mod common;
#[path = "../../cortex-sync/tests/common/s3.rs"]
mod s3;

use std::process::Command;
use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::planted::{queued_record, saved, sync_config};

const UUID: &str = "3d2a9f4e-1b7c-4e58-a0c6-9b1e2f3a4d5c";

fn epocd(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_epocd"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn killed_mid_upload_epocd_resumes_after_its_restart() {
    let Some(server) = s3::server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bytes = queued_record(&data, UUID, &[("eeg.blk", 24 << 20)]).remove(0);
    let config = sync_config(dir.path(), server.port, s3::KEY, s3::SECRET, s3::BUCKET);
    let config = config.to_str().unwrap();
    let data_s = data.to_str().unwrap();

    // First run: killed (SIGKILL) once a part is stored.
    let mut first = Daemon::start_with(&data, &["--config", config, "--no-tls"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let parts = |v: &serde_json::Value| {
        v["upload"]["files"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"] == "eeg.blk"))
            .and_then(|f| f["multipart"]["parts"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    while parts(&saved(&data, UUID)) == 0 {
        assert!(
            Instant::now() < deadline,
            "no part stored in 30 s: {}",
            saved(&data, UUID)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    first.signal("KILL");
    first.wait_exit(Duration::from_secs(5));
    let at_kill = saved(&data, UUID);
    assert_eq!(at_kill["upload"]["complete"], false, "{at_kill}");
    let stored = parts(&at_kill);
    assert!((1..5).contains(&stored), "killed mid-upload: {stored} parts");
    let (out, _) = epocd(&["sync", "--data-dir", data_s, "--config", config]);
    assert!(out.contains(UUID) && out.contains("uploading"), "{out}");

    // Second run: the upload goes on from the next part and completes.
    let log = dir.path().join("second.log");
    let _second = Daemon::start_logging(&data, &["--config", config, "--no-tls"], &log);
    let deadline = Instant::now() + Duration::from_secs(60);
    while saved(&data, UUID)["upload"]["complete"] != true {
        assert!(
            Instant::now() < deadline,
            "not uploaded in 60 s: {}",
            saved(&data, UUID)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!("at part {} of 5", stored + 1)),
        "the upload resumed where it stopped: {text}"
    );
    let objects: Vec<String> = server.objects();
    assert_eq!(
        objects,
        [
            format!("lab/records/{UUID}/files/eeg.blk"),
            format!("lab/records/{UUID}/files/record.json"),
            format!("lab/records/{UUID}/manifest.json"),
        ],
        "no duplicate or stray object"
    );
    let in_bucket = std::fs::read(server.root.path().join(s3::BUCKET).join(&objects[0])).unwrap();
    assert!(in_bucket == bytes, "the stored object equals the record's file");

    let (out, _) = epocd(&["sync", "--data-dir", data_s, "--config", config]);
    assert!(out.contains(UUID) && out.contains("uploaded"), "{out}");
    let (out, _) = epocd(&["records", "--remote", "--data-dir", data_s, "--config", config]);
    assert!(
        out.contains(UUID) && out.contains("yes") && out.contains("long"),
        "{out}"
    );
}
