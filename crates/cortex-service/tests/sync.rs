//! Record sync in-process against a real S3 server (s3s-fs on loopback): a stopped record
//! goes to the bucket with its status and warning; an opt-out keeps records here for good;
//! wrong credentials fail clearly and leave the record intact; a failed upload is listed,
//! cleared by a retry and sent at the next start.

mod common;
#[path = "../../cortex-sync/tests/common/s3.rs"]
mod s3;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Client;
use cortex_service::{Cortex, HeadsetSpec, ServiceConfig, SyncSettings};
use serde_json::{Value, json};

struct Synced {
    dir: tempfile::TempDir,
    cortex: Arc<Cortex>,
    client: Client,
    token: String,
    session: String,
}

impl Drop for Synced {
    fn drop(&mut self) {
        self.cortex.shutdown();
    }
}

fn synced(server: &s3::S3Server, secret: &str) -> Synced {
    synced_as(server, secret, "com.test.sync")
}

fn synced_as(server: &s3::S3Server, secret: &str, app: &str) -> Synced {
    synced_with(server, secret, app, false)
}

fn synced_with(server: &s3::S3Server, secret: &str, app: &str, delete_remote: bool) -> Synced {
    synced_in(tempfile::tempdir().unwrap(), server, secret, app, delete_remote)
}

/// A daemon on the data dir `dir` (a restart, when an earlier one used it).
fn synced_in(
    dir: tempfile::TempDir,
    server: &s3::S3Server,
    secret: &str,
    app: &str,
    delete_remote: bool,
) -> Synced {
    let cortex = Cortex::start(ServiceConfig {
        data_dir: Some(dir.path().to_path_buf()),
        sync: Some(SyncSettings {
            target: server.target(secret),
            delete_remote,
            part_size: 5 << 20,
        }),
        ..ServiceConfig::default()
    })
    .unwrap();
    let headset = cortex.add_headset(HeadsetSpec::Virtual(1)).unwrap();
    let client = Client::connect(&cortex);
    let token = client.authorize(app);
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.call("queryHeadsets", json!({"id": headset}))[0]["status"] != json!("connected") {
        assert!(Instant::now() < deadline, "the virtual headset never connected");
        std::thread::sleep(Duration::from_millis(20));
    }
    let session = client.call(
        "createSession",
        json!({"cortexToken": token, "headset": headset, "status": "active"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Synced {
        dir,
        cortex,
        client,
        token,
        session,
    }
}

impl Synced {
    /// Stop the daemon; its data dir stays.
    fn stop(mut self) -> tempfile::TempDir {
        self.cortex.shutdown();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Record for `secs` and stop; the record id.
    fn record(&self, title: &str, secs: f64) -> String {
        let r = self.client.call(
            "createRecord",
            json!({"cortexToken": self.token, "session": self.session, "title": title}),
        );
        let id = r["record"]["uuid"].as_str().unwrap().to_owned();
        std::thread::sleep(Duration::from_secs_f64(secs));
        self.client.call(
            "stopRecord",
            json!({"cortexToken": self.token, "session": self.session}),
        );
        id
    }

    fn sync_status(&self, id: &str) -> Value {
        let r = self.client.call(
            "queryRecords",
            json!({"cortexToken": self.token, "query": {"uuid": id}, "orderBy": [], "includeSyncStatusInfo": true}),
        );
        r["records"][0]["syncStatus"].clone()
    }

    /// Wait (bounded) until the record's status is not `uploading`.
    fn settled(&self, id: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let s = self.sync_status(id);
            if s["status"] != json!("uploading") || Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Export `id` into a new folder: its files, by name, with their bytes.
    fn export(&self, id: &str, format: &str, version: Option<&str>) -> Vec<(String, Vec<u8>)> {
        let out = tempfile::tempdir().unwrap();
        let mut params = json!({"cortexToken": self.token, "recordIds": [id], "folder": out.path(),
            "streamTypes": ["EEG", "MOTION"], "format": format});
        if let Some(v) = version {
            params["version"] = json!(v);
        }
        let r = self.client.call("exportRecord", params);
        assert_eq!(r["success"].as_array().map(Vec::len), Some(1), "{r}");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    }

    fn opt_out(&self, on: bool) {
        self.client.call(
            "configOptOut",
            json!({"cortexToken": self.token, "status": "set", "newOptOut": on}),
        );
    }
}

fn in_bucket(server: &s3::S3Server, id: &str) -> Vec<String> {
    server.objects().into_iter().filter(|o| o.contains(id)).collect()
}

#[test]
fn a_stopped_record_goes_to_the_bucket_and_an_opt_out_keeps_records_here() {
    let Some(server) = s3::server() else { return };
    let lab = synced(&server, s3::SECRET);
    let first = lab.record("first", 1.5);
    let status = lab.settled(&first, Duration::from_secs(30));
    assert_eq!(status["status"], json!("uploaded"), "{status}");
    let warning = lab.client.inbox.wait_warning(151, Duration::from_secs(5));
    assert_eq!(
        warning
            .as_ref()
            .map(|w| w["warning"]["message"]["recordId"].clone()),
        Some(json!(first)),
        "warning 151 names the record"
    );
    let objects = in_bucket(&server, &first);
    for name in ["files/eeg.blk", "files/record.json", "manifest.json"] {
        assert!(objects.iter().any(|o| o.ends_with(name)), "{name} in {objects:?}");
    }

    // Opted out: a record stopped now never leaves, also after opting in again.
    lab.opt_out(true);
    let private = lab.record("private", 1.0);
    std::thread::sleep(Duration::from_secs(2));
    let status = lab.sync_status(&private);
    assert_eq!(status["status"], json!("neverUploaded"), "{status}");
    assert_eq!(status["optOut"], json!(true));
    lab.opt_out(false);
    let later = lab.record("later", 1.0);
    assert_eq!(
        lab.settled(&later, Duration::from_secs(30))["status"],
        json!("uploaded")
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lab.sync_status(&private)["status"], json!("neverUploaded"));
    assert!(in_bucket(&server, &private).is_empty(), "{:?}", server.objects());
}

#[test]
fn wrong_credentials_fail_clearly_and_the_record_stays_whole_here() {
    let Some(server) = s3::server() else { return };
    let lab = synced(&server, "not-the-secret");
    let id = lab.record("denied", 1.0);
    let status = lab.settled(&id, Duration::from_secs(30));
    assert_eq!(status["status"], json!("failed"), "{status}");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains("check the access key"), "{message}");
    assert!(
        !message.contains("not-the-secret"),
        "the secret is never shown: {message}"
    );
    let warning = lab.client.inbox.wait_warning(152, Duration::from_secs(5));
    assert!(warning.is_some(), "warning 152");
    assert!(server.objects().is_empty());
    // The record is intact: it still exports.
    let out = tempfile::tempdir().unwrap();
    let r = lab.client.call(
        "exportRecord",
        json!({"cortexToken": lab.token, "recordIds": [id], "folder": out.path(), "streamTypes": ["EEG"], "format": "CSV", "version": "V2"}),
    );
    assert_eq!(r["success"].as_array().map(Vec::len), Some(1), "{r}");
}

#[test]
fn a_failed_upload_is_listed_cleared_by_retry_and_sent_at_the_next_start() {
    let Some(server) = s3::server() else { return };
    let lab = synced(&server, "not-the-secret");
    let id = lab.record("first try", 1.0);
    let status = lab.settled(&id, Duration::from_secs(30));
    assert_eq!(status["status"], json!("failed"), "{status}");
    let dir = lab.stop();

    // What `epocd sync` lists, and what `epocd sync --retry` does.
    let listed = cortex_service::sync_entries(dir.path()).unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|e| (e.uuid.as_str(), e.status))
            .collect::<Vec<_>>(),
        vec![(id.as_str(), "failed")]
    );
    let why = listed[0].failed.as_deref().unwrap_or_default();
    assert!(why.contains("check the access key"), "{why}");
    assert_eq!(cortex_service::retry_failed(dir.path()).unwrap(), 1);
    let listed = cortex_service::sync_entries(dir.path()).unwrap();
    assert_eq!(listed[0].status, "uploading", "{listed:?}");
    assert_eq!(listed[0].failed, None);
    assert_eq!(
        cortex_service::retry_failed(dir.path()).unwrap(),
        0,
        "nothing failed any more"
    );

    // The key fixed, the next start sends it.
    let lab = synced_in(dir, &server, s3::SECRET, "com.test.sync", false);
    let status = lab.settled(&id, Duration::from_secs(30));
    assert_eq!(status["status"], json!("uploaded"), "{status}");
    let objects = in_bucket(&server, &id);
    assert!(
        objects.iter().any(|o| o.ends_with("manifest.json")),
        "{objects:?}"
    );
    assert_eq!(
        cortex_service::sync_entries(lab.dir.path()).unwrap()[0].status,
        "uploaded"
    );
}

#[test]
fn another_machine_downloads_the_record_and_exports_it_byte_for_byte() {
    let Some(server) = s3::server() else { return };
    let a = synced_as(&server, s3::SECRET, "com.test.lab");
    let marker_time = common::now_ms();
    let r = a.client.call(
        "createRecord",
        json!({"cortexToken": a.token, "session": a.session, "title": "carried", "tags": ["x"]}),
    );
    let id = r["record"]["uuid"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(700));
    a.client.call(
        "injectMarker",
        json!({"cortexToken": a.token, "session": a.session, "time": marker_time + 700.0, "value": 5, "label": "stim"}),
    );
    std::thread::sleep(Duration::from_millis(800));
    a.client.call(
        "stopRecord",
        json!({"cortexToken": a.token, "session": a.session}),
    );
    assert_eq!(
        a.settled(&id, Duration::from_secs(30))["status"],
        json!("uploaded")
    );

    // Another machine: an empty data dir, the same bucket and app.
    let b = synced_as(&server, s3::SECRET, "com.test.lab");
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let s = b.sync_status(&id);
        if s["status"] == json!("notDownloaded") || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(listed["status"], json!("notDownloaded"), "{listed}");
    let other_app = Client::connect(&b.cortex);
    let other_token = other_app.authorize("com.someone.else");
    let r = other_app.call(
        "requestToDownloadRecordData",
        json!({"cortexToken": other_token, "recordIds": [id]}),
    );
    assert_eq!(
        r["success"],
        json!([]),
        "another app's record is not offered: {r}"
    );
    let r = b.client.call(
        "requestToDownloadRecordData",
        json!({"cortexToken": b.token, "recordIds": [id, "nope"]}),
    );
    assert_eq!(r["success"], json!([{"recordId": id}]), "{r}");
    assert_eq!(r["failure"][0]["recordId"], json!("nope"), "{r}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while b.sync_status(&id)["status"] != json!("downloaded") {
        assert!(Instant::now() < deadline, "{}", b.sync_status(&id));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        b.client.inbox.wait_warning(153, Duration::from_secs(5)).is_some(),
        "warning 153"
    );
    for (format, version) in [("CSV", Some("V2")), ("EDFPLUS", None)] {
        let here = a.export(&id, format, version);
        let there = b.export(&id, format, version);
        assert!(!here.is_empty());
        assert_eq!(
            here.iter().map(|f| &f.0).collect::<Vec<_>>(),
            there.iter().map(|f| &f.0).collect::<Vec<_>>(),
            "{format}: the same files"
        );
        for ((name, x), (_, y)) in here.iter().zip(&there) {
            assert!(x == y, "{format}: {name} differs between the machines");
        }
    }
}

#[test]
fn delete_record_keeps_the_bucket_copy_unless_delete_remote_is_set() {
    let Some(server) = s3::server() else { return };
    for delete_remote in [false, true] {
        let lab = synced_with(&server, s3::SECRET, "com.test.sync", delete_remote);
        let id = lab.record("short", 1.0);
        assert_eq!(
            lab.settled(&id, Duration::from_secs(30))["status"],
            json!("uploaded")
        );
        let uploaded = in_bucket(&server, &id);
        assert!(
            uploaded.iter().any(|o| o.ends_with("manifest.json")),
            "{uploaded:?}"
        );
        let r = lab
            .client
            .call("deleteRecord", json!({"cortexToken": lab.token, "records": [id]}));
        assert_eq!(r["success"], json!([{"recordId": id}]), "{r}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = in_bucket(&server, &id);
            if delete_remote && left.is_empty() {
                break;
            }
            if !delete_remote {
                std::thread::sleep(Duration::from_secs(1));
                assert_eq!(in_bucket(&server, &id), uploaded, "the bucket keeps its copy");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "delete_remote: still in the bucket: {left:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
