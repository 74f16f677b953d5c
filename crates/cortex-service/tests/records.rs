//! Records in-process (no socket): createRecord, stopRecord, updateRecord, deleteRecord,
//! queryRecords, getRecordInfos, configOptOut, with their shapes and error codes.

mod common;

use std::time::Duration;

use common::{Client, Lab, code, envelope};
use serde_json::json;

#[test]
fn a_record_needs_an_activated_session() {
    let lab = Lab::new();
    let sid = lab.session("open");
    let r = lab.rpc("createRecord", json!({"session": sid, "title": "x"}));
    assert_eq!(code(&r), -32012, "{r}");
    lab.rpc("updateSession", json!({"session": sid, "status": "active"}));
    let r = lab.rpc("createRecord", json!({"session": sid, "title": "x"}));
    assert!(r["result"]["record"]["uuid"].is_string(), "{r}");
}

#[test]
fn create_record_answers_the_record_and_one_record_at_a_time() {
    let lab = Lab::new();
    lab.rpc("createSubject", json!({"subjectName": "ann"}));
    let sid = lab.session("active");
    let r = lab.rpc(
        "createRecord",
        json!({"session": sid, "title": "Eyes, closed", "subjectName": "ann",
               "tags": ["rest", "pilot"], "description": "first"}),
    );
    let rec = r["result"]["record"].clone();
    let rid = rec["uuid"].as_str().expect("uuid").to_owned();
    assert_eq!(r["result"]["sessionId"], json!(sid));
    assert_eq!(rec["title"], "Eyes, closed");
    assert_eq!(rec["tags"], json!(["rest", "pilot"]));
    assert_eq!(rec["endDatetime"], "");
    assert!(rec["startDatetime"].as_str().unwrap().contains('T'));
    for key in [
        "applicationId",
        "licenseId",
        "ownerId",
        "experimentId",
        "licenseScope",
        "description",
    ] {
        assert!(rec.get(key).is_some(), "record object lacks {key}: {rec}");
    }
    let r = lab.rpc("querySessions", json!({}));
    assert_eq!(r["result"][0]["recording"], true);
    assert_eq!(r["result"][0]["recordIds"], json!([rid]));
    let r = lab.rpc("createRecord", json!({"session": sid, "title": "again"}));
    assert_eq!(code(&r), -32017, "{r}");
    for bad in [
        json!({"session": sid}),
        json!({"session": sid, "title": ""}),
        json!({"session": "nope", "title": "t"}),
        json!({"session": sid, "title": "t", "subjectName": "nobody"}),
    ] {
        let r = lab.rpc("createRecord", bad.clone());
        assert!([-32602, -32007, -32017].contains(&code(&r)), "{bad}: {r}");
    }
}

#[test]
fn a_failed_create_record_leaves_nothing_and_the_session_can_record() {
    let lab = Lab::new();
    let sid = lab.session("active");
    let r = lab.rpc(
        "createRecord",
        json!({"session": sid, "title": "t", "subjectName": "nobody"}),
    );
    assert_eq!(code(&r), -32602, "{r}");
    let r = lab.rpc("queryRecords", json!({"query": {}, "orderBy": []}));
    assert_eq!(r["result"]["count"], 0, "no phantom record: {r}");
    let r = lab.rpc("createRecord", json!({"session": sid, "title": "t"}));
    assert!(
        r["result"]["record"]["uuid"].is_string(),
        "the reservation was released: {r}"
    );
}

#[test]
fn stop_record_answers_the_record_then_warning_30_and_markers_need_a_record() {
    let lab = Lab::new();
    let (sid, rid) = lab.recording("stopped soon");
    std::thread::sleep(Duration::from_millis(300));
    let r = lab.rpc("stopRecord", json!({"session": sid}));
    assert_eq!(r["result"]["record"]["uuid"], json!(rid), "{r}");
    assert_ne!(r["result"]["record"]["endDatetime"], "");
    let w = lab
        .client
        .inbox
        .wait_warning(30, Duration::from_secs(5))
        .expect("warning 30");
    assert_eq!(w["warning"]["message"]["recordId"], json!(rid));
    assert!(w.get("id").is_none());
    let r = lab.rpc("stopRecord", json!({"session": sid}));
    assert_eq!(code(&r), -32011, "{r}");
    let r = lab.rpc(
        "injectMarker",
        json!({"session": sid, "time": common::now_ms(), "value": 1, "label": "late"}),
    );
    assert_eq!(code(&r), -32011, "{r}");
    let r = lab.rpc("querySessions", json!({}));
    assert_eq!(r["result"][0]["recording"], false, "{r}");
}

#[test]
fn update_record_answers_the_record_object_itself() {
    let lab = Lab::new();
    let (sid, rid) = lab.recording("Eyes, closed");
    lab.rpc("stopRecord", json!({"session": sid}));
    let r = lab.rpc(
        "updateRecord",
        json!({"record": rid, "description": "eyes closed, 2 s", "tags": ["rest"]}),
    );
    assert_eq!(r["result"]["uuid"], json!(rid), "{r}");
    assert_eq!(r["result"]["tags"], json!(["rest"]));
    assert_eq!(r["result"]["title"], "Eyes, closed");
    assert_eq!(r["result"]["description"], "eyes closed, 2 s");
    let r = lab.rpc("updateRecord", json!({"record": "nope"}));
    assert_eq!(code(&r), -32122, "{r}");
    let r = lab.rpc("updateRecord", json!({"record": rid, "title": ""}));
    assert_eq!(code(&r), -32602, "{r}");
}

#[test]
fn opt_out_is_stored_and_shown_in_each_records_sync_status() {
    let lab = Lab::new();
    let (sid, _) = lab.recording("synced?");
    lab.rpc("stopRecord", json!({"session": sid}));
    let r = lab.rpc("configOptOut", json!({"status": "set", "newOptOut": true}));
    assert_eq!(r["result"]["optOut"], true, "{r}");
    let r = lab.rpc("configOptOut", json!({"status": "get"}));
    assert_eq!(r["result"]["optOut"], true);
    let r = lab.rpc("configOptOut", json!({"status": "maybe"}));
    assert_eq!(code(&r), -32013, "{r}");
    let r = lab.rpc("configOptOut", json!({"status": "set"}));
    assert_eq!(code(&r), -32602, "set needs newOptOut: {r}");
    let r = lab.rpc(
        "queryRecords",
        json!({"query": {}, "orderBy": [], "includeSyncStatusInfo": true}),
    );
    let q = &r["result"]["records"][0];
    assert_eq!(q["syncStatus"]["optOut"], true);
    assert!(q["syncStatus"]["status"].is_string());
}

#[test]
fn query_records_filters_orders_and_pages_and_get_record_infos_has_markers() {
    let lab = Lab::new();
    let (sid, rid) = lab.recording("Eyes, closed");
    let t = common::now_ms();
    lab.rpc(
        "injectMarker",
        json!({"session": sid, "time": t, "value": 1, "label": "a"}),
    );
    let r = lab.rpc(
        "injectMarker",
        json!({"session": sid, "time": t + 10.0, "value": 2, "label": "b"}),
    );
    let m2 = r["result"]["marker"]["uuid"].as_str().unwrap().to_owned();
    lab.rpc(
        "updateMarker",
        json!({"session": sid, "markerId": m2, "time": t + 400.0}),
    );
    lab.rpc("stopRecord", json!({"session": sid}));
    lab.rpc("updateRecord", json!({"record": rid, "tags": ["rest"]}));
    lab.rpc("updateSession", json!({"session": sid, "status": "close"}));
    let (sid2, rid2) = lab.recording("second");
    lab.rpc("stopRecord", json!({"session": sid2}));

    let r = lab.rpc(
        "queryRecords",
        json!({"query": {}, "orderBy": [{"startDatetime": "DESC"}], "limit": 10, "offset": 0,
               "includeMarkers": true}),
    );
    assert_eq!(r["result"]["count"], 2, "{r}");
    assert_eq!(r["result"]["limit"], 10);
    assert_eq!(r["result"]["records"][0]["uuid"], json!(rid2), "newest first");
    let q = &r["result"]["records"][1];
    assert_eq!(q["uuid"], json!(rid));
    assert_eq!(q["markers"].as_array().map(Vec::len), Some(2));
    let r = lab.rpc(
        "queryRecords",
        json!({"query": {}, "orderBy": [{"startDatetime": "ASC"}], "limit": 1, "offset": 1}),
    );
    assert_eq!(r["result"]["count"], 2);
    assert_eq!(r["result"]["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["result"]["records"][0]["uuid"], json!(rid2));
    for (query, n) in [
        (json!({"tags": ["rest"]}), 1),
        (json!({"tags": ["pilot"]}), 0),
        (json!({"title": "eyes"}), 1),
        (json!({"keyword": "SECOND"}), 1),
        (json!({"applicationId": "com.other.app"}), 0),
    ] {
        let r = lab.rpc("queryRecords", json!({"query": query, "orderBy": []}));
        assert_eq!(r["result"]["count"], n, "{query}: {r}");
    }
    let r = lab.rpc("queryRecords", json!({"query": {"color": "red"}, "orderBy": []}));
    assert_eq!(code(&r), -32602, "{r}");
    let r = lab.rpc("queryRecords", json!({"query": {}}));
    assert_eq!(code(&r), -32602, "orderBy is required");
    let r = lab.rpc("getRecordInfos", json!({"recordIds": [rid]}));
    assert_eq!(r["result"][0]["markers"][1]["type"], "interval", "{r}");
    let r = lab.rpc("getRecordInfos", json!({"recordIds": ["nope"]}));
    assert_eq!(code(&r), -32122, "{r}");
}

#[test]
fn another_apps_records_are_invisible_to_it() {
    let lab = Lab::new();
    let (sid, rid) = lab.recording("mine");
    lab.rpc("stopRecord", json!({"session": sid}));
    let other = common::Client::connect(&lab.cortex);
    let token = other.authorize("com.other.app");
    let r = common::envelope(other.try_call(
        "queryRecords",
        json!({"cortexToken": token, "query": {}, "orderBy": []}),
    ));
    assert_eq!(r["result"]["count"], 0, "{r}");
    for method in ["getRecordInfos", "deleteRecord"] {
        let key = if method == "deleteRecord" {
            "records"
        } else {
            "recordIds"
        };
        let r = common::envelope(other.try_call(method, json!({"cortexToken": token, key: [rid]})));
        let failed =
            r["error"]["code"] == json!(-32122) || r["result"]["failure"][0]["code"] == json!(-32122);
        assert!(failed, "{method}: {r}");
    }
}

#[test]
fn delete_record_reports_each_record_and_removes_its_files() {
    let lab = Lab::new();
    let (sid, rid) = lab.recording("to delete");
    let r = lab.rpc("deleteRecord", json!({"records": [rid]}));
    assert_eq!(
        r["result"]["failure"][0]["code"],
        json!(-32017),
        "in progress: {r}"
    );
    std::thread::sleep(Duration::from_millis(300));
    lab.rpc("stopRecord", json!({"session": sid}));
    assert!(lab.dir.path().join("records").join(&rid).exists());
    let r = lab.rpc("deleteRecord", json!({"records": [rid, "nope"]}));
    assert_eq!(r["result"]["success"][0]["recordId"], json!(rid), "{r}");
    assert_eq!(r["result"]["failure"][0]["recordId"], "nope");
    assert_eq!(r["result"]["failure"][0]["code"], json!(-32122));
    assert!(!lab.dir.path().join("records").join(&rid).exists());
    let r = lab.rpc("queryRecords", json!({"query": {}, "orderBy": []}));
    assert_eq!(r["result"]["count"], 0);
}

#[test]
fn an_empty_record_fails_to_export_the_same_way_in_every_format() {
    let lab = Lab::new();
    let (sid, rid) = lab.recording("empty");
    lab.rpc("stopRecord", json!({"session": sid}));
    // What a record stopped before the headset sent anything holds: files with no block.
    for name in ["eeg.blk", "mot.blk"] {
        std::fs::write(lab.dir.path().join("records").join(&rid).join(name), b"EPOCDBK1").unwrap();
    }
    let mut messages = Vec::new();
    for (format, version) in [
        ("CSV", Some("V1")),
        ("CSV", Some("V2")),
        ("EDF", None),
        ("EDFPLUS", None),
        ("BDFPLUS", None),
    ] {
        let out = tempfile::tempdir().unwrap();
        let mut p = json!({"recordIds": [rid], "folder": out.path(), "streamTypes": ["EEG", "MOTION"], "format": format});
        if let Some(v) = version {
            p["version"] = json!(v);
        }
        let r = lab.rpc("exportRecord", p);
        let failure = &r["result"]["failure"][0];
        assert_eq!(failure["recordId"], json!(rid), "{format}: {r}");
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "{format}: no file"
        );
        messages.push(failure["message"].as_str().unwrap().to_owned());
    }
    assert!(
        messages
            .iter()
            .all(|m| m == &messages[0] && m.contains("no samples")),
        "{messages:?}"
    );
}

#[test]
fn a_record_whose_files_cannot_be_made_leaves_no_phantom() {
    let lab = Lab::new();
    let sid = lab.session("active");
    let records = lab.dir.path().join("records");
    std::fs::remove_dir_all(&records).unwrap();
    std::fs::write(&records, b"not a folder").unwrap(); // even root cannot create a dir inside
    let r = lab.rpc("createRecord", json!({"session": sid, "title": "cannot be"}));
    assert_eq!(code(&r), -32603, "{r}");
    let r = lab.rpc("queryRecords", json!({"query": {}, "orderBy": []}));
    assert_eq!(r["result"]["count"], 0, "no phantom record: {r}");
    std::fs::remove_file(&records).unwrap();
    std::fs::create_dir(&records).unwrap();
    let r = lab.rpc("createRecord", json!({"session": sid, "title": "now it can"}));
    assert!(
        r["result"]["record"]["uuid"].is_string(),
        "the session was released: {r}"
    );
}

#[test]
fn a_reply_too_large_to_build_asks_for_pages_instead() {
    let lab = Lab::new();
    let (sid, rid) = lab.recording("many markers");
    let t = common::now_ms();
    let extras = json!({"blob": "x".repeat(15 * 1024)});
    for k in 0..1150 {
        let r = lab.rpc(
            "injectMarker",
            json!({"session": sid, "time": t + f64::from(k), "value": k, "label": "m", "extras": extras}),
        );
        assert!(r["result"]["marker"].is_object(), "{r}");
    }
    lab.rpc("stopRecord", json!({"session": sid}));
    let r = lab.rpc("getRecordInfos", json!({"recordIds": [rid]}));
    assert_eq!(code(&r), -32602, "about 17 MiB of markers in one reply");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit and offset"),
        "{r}"
    );
    let r = lab.rpc(
        "queryRecords",
        json!({"query": {}, "orderBy": [], "includeMarkers": true}),
    );
    assert_eq!(code(&r), -32602, "{r}");
    let r = lab.rpc("queryRecords", json!({"query": {}, "orderBy": []}));
    assert_eq!(
        r["result"]["count"], 1,
        "without the markers the reply is small: {r}"
    );
}

#[test]
fn a_data_dir_deleted_under_the_daemon_stops_records_and_says_so() {
    let lab = Lab::new();
    let (sid, rid) = lab.recording("doomed");
    std::fs::remove_dir_all(lab.dir.path()).unwrap();
    let w = lab
        .client
        .inbox
        .wait_warning(20, Duration::from_secs(5))
        .expect("the app hears its record stopped");
    assert_eq!(w["warning"]["message"]["recordId"], json!(rid));
    assert!(
        w["warning"]["message"]["behavior"]
            .as_str()
            .unwrap()
            .contains("removed"),
        "{w}"
    );
    assert!(
        lab.client
            .inbox
            .wait_warning(30, Duration::from_secs(5))
            .is_some()
    );
    let r = lab.rpc("querySessions", json!({}));
    assert_eq!(r["result"][0]["recording"], false, "{r}");
    for (method, params) in [
        ("createRecord", json!({"session": sid, "title": "lost"})),
        (
            "injectMarker",
            json!({"session": sid, "time": common::now_ms(), "value": 1, "label": "x"}),
        ),
        ("createSubject", json!({"subjectName": "ann"})),
        ("queryRecords", json!({"query": {}, "orderBy": []})),
    ] {
        let r = lab.rpc(method, params);
        let message = r["error"]["message"].as_str().unwrap_or_default();
        assert!(
            [-32603, -32011].contains(&code(&r)) && (message.contains("removed") || method == "injectMarker"),
            "{method}: {r}"
        );
    }
}

#[test]
fn a_record_whose_files_cannot_be_removed_is_kept_and_the_failure_said() {
    let lab = Lab::new();
    let (sid, rid) = lab.recording("stubborn");
    std::thread::sleep(Duration::from_millis(300));
    lab.rpc("stopRecord", json!({"session": sid}));
    let folder = lab.dir.path().join("records").join(&rid);
    let Some(undo) = common::fs::immutable(&folder, false) else {
        return;
    };
    let r = lab.rpc("deleteRecord", json!({"records": [rid]}));
    drop(undo);
    assert_eq!(r["result"]["success"], json!([]), "{r}");
    assert_eq!(r["result"]["failure"][0]["code"], json!(-32603), "{r}");
    assert!(
        r["result"]["failure"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be removed"),
        "{r}"
    );
    let r = lab.rpc("getRecordInfos", json!({"recordIds": [rid]}));
    assert_eq!(r["result"][0]["uuid"], json!(rid), "the record is kept: {r}");
    let r = lab.rpc("deleteRecord", json!({"records": [rid]}));
    assert_eq!(
        r["result"]["success"][0]["recordId"],
        json!(rid),
        "once removable, it goes: {r}"
    );
}

#[test]
fn headset_activity_tells_records_in_progress_to_any_app_but_not_whose() {
    let lab = Lab::new();
    let other = Client::connect(&lab.cortex);
    let other_token = other.authorize("com.test.page");
    let ask = |token: &str| {
        other.try_call(
            "epocd.headsetActivity",
            json!({"cortexToken": token, "headset": lab.headset}),
        )
    };
    let idle = ask(&other_token).unwrap();
    assert_eq!(idle["records"], json!([]), "{idle}");
    assert_eq!(idle["lsl"], json!({"enabled": false, "outlets": []}), "{idle}");
    let (sid, rid) = lab.recording("private title");
    std::thread::sleep(Duration::from_millis(600));
    let busy = ask(&other_token).unwrap();
    let records = busy["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{busy}");
    assert!(records[0]["samples"].as_u64().unwrap() > 50, "{busy}");
    assert!(records[0]["seconds"].as_f64().unwrap() > 0.2, "{busy}");
    let text = busy.to_string();
    assert!(!text.contains(&rid) && !text.contains("private title") && !text.contains("com.test.app"));
    lab.rpc("stopRecord", json!({"session": sid}));
    assert_eq!(ask(&other_token).unwrap()["records"], json!([]));
    // A token is needed, and the headset must exist.
    assert_eq!(envelope(ask("not-a-token"))["error"]["code"], json!(-32014));
    let missing = other.try_call(
        "epocd.headsetActivity",
        json!({"cortexToken": other_token, "headset": "EPOCPLUS-FFFFFFFF"}),
    );
    assert_eq!(envelope(missing)["error"]["code"], json!(-32004));
}
