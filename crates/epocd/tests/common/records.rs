//! Record helpers shared by the record tests: sessions and records over the API, the
//! exported CSV read back, record objects.

use std::path::{Path, PathBuf};

#[path = "../../../cortex-service/tests/common/csv.rs"]
mod csv;
#[allow(unused_imports)] // not every test binary reads CSV
pub use csv::{Csv, read_csv};

use serde_json::{Value, json};

use super::daemon::{Ws, call, headset};

pub async fn active_session(ws: &mut Ws, token: &str) -> String {
    let headset = headset(ws).await;
    let r = call(
        ws,
        json!(10),
        "createSession",
        Some(json!({"cortexToken": token, "headset": headset, "status": "active"})),
    )
    .await;
    r["result"]["id"].as_str().expect("session id").to_owned()
}

pub async fn create_record(ws: &mut Ws, token: &str, session: &str, title: &str) -> Value {
    let r = call(
        ws,
        json!(20),
        "createRecord",
        Some(json!({"cortexToken": token, "session": session, "title": title})),
    )
    .await;
    assert!(r["result"]["record"]["uuid"].is_string(), "{r}");
    r["result"]["record"].clone()
}

pub fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The record object of `rid` (getRecordInfos).
pub async fn record_info(ws: &mut Ws, token: &str, rid: &str) -> Value {
    let r = call(
        ws,
        json!(40),
        "getRecordInfos",
        Some(json!({"cortexToken": token, "recordIds": [rid]})),
    )
    .await;
    r["result"][0].clone()
}

/// An activated session on the first headset, recorded for `length` and stopped; the record id.
pub async fn record_for(ws: &mut Ws, token: &str, title: &str, length: std::time::Duration) -> String {
    let session = active_session(ws, token).await;
    let record = create_record(ws, token, &session, title).await;
    tokio::time::sleep(length).await;
    let r = call(
        ws,
        json!(21),
        "stopRecord",
        Some(json!({"cortexToken": token, "session": session})),
    )
    .await;
    assert!(r["result"]["record"]["endDatetime"].is_string(), "{r}");
    record["uuid"].as_str().expect("record id").to_owned()
}

/// An activated session on the first headset with a record started in it; the record id.
pub async fn start_recording(ws: &mut Ws, token: &str, title: &str) -> String {
    let sid = active_session(ws, token).await;
    let record = create_record(ws, token, &sid, title).await;
    record["uuid"].as_str().expect("record id").to_owned()
}

/// Export `rid` as CSV V2 with the EEG into `folder` (created); the wide CSV's path.
pub async fn export_csv(ws: &mut Ws, token: &str, rid: &str, folder: &Path) -> PathBuf {
    std::fs::create_dir_all(folder).expect("export folder");
    let r = call(
        ws,
        json!(3),
        "exportRecord",
        Some(
            json!({"cortexToken": token, "recordIds": [rid], "folder": folder, "streamTypes": ["EEG"],
                    "format": "CSV", "version": "V2"}),
        ),
    )
    .await;
    assert_eq!(r["result"]["success"][0]["recordId"], json!(rid), "{r}");
    std::fs::read_dir(folder)
        .expect("export folder")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().ends_with(".md.csv"))
        .expect("the CSV")
}
