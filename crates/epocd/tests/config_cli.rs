//! The configuration file through the real binary: what it sets reaches a running server,
//! flags override it, and a mistake in it stops epocd with a message naming the key and the
//! file.

mod common;

use std::process::Command;

use common::daemon::*;
use serde_json::json;

async fn headset_count(url: &str) -> usize {
    let mut ws = connect(url).await;
    let r = call(&mut ws, json!(1), "queryHeadsets", Some(json!({}))).await;
    r["result"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_is_applied_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("epocd.toml");
    std::fs::write(
        &config,
        "virtual_headsets = 2\ntls = false\nble_scan_seconds = 0.0\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let d = Daemon::start_with(&dir.path().join("a"), &["--config", config]);
    assert!(d.url.starts_with("ws://"), "tls = false serves ws://: {}", d.url);
    assert_eq!(headset_count(&d.url).await, 2, "virtual_headsets = 2");
    drop(d);

    let d = Daemon::start_with(&dir.path().join("b"), &["--config", config, "--virtual", "1"]);
    assert_eq!(headset_count(&d.url).await, 1, "--virtual overrides the config");
}

#[test]
fn a_mistake_in_the_config_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("virtual_headset = 2\n", "virtual_headset"),
        ("listen = \"127.0.0.1\"\n", "listen"),
        ("log_level = \"chatty\"\n", "log_level"),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        for cmd in [&["serve"][..], &["records"][..]] {
            let out = Command::new(env!("CARGO_BIN_EXE_epocd"))
                .args(cmd)
                .arg("--config")
                .arg(&path)
                .args(["--data-dir", dir.path().to_str().unwrap()])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd:?} {text:?}: {err}");
            assert!(
                err.contains(key) && err.contains(path.to_str().unwrap()),
                "{cmd:?} {text:?}: {err}"
            );
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_epocd"))
        .args(["serve", "--config"])
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("missing.toml"), "{err}");
}
