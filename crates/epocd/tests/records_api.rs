//! Records through a running daemon, over raw WebSocket JSON: the record, marker, subject and
//! export methods (shapes and error codes), records closing by themselves (session closed,
//! connection dropped, SIGTERM), and a replayed capture recorded and exported equal to
//! `epocd decode` of the same capture.

mod common;

use std::time::{Duration, Instant};

use common::daemon::*;
use common::records::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_markers_subjects_and_export_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let headset = headset(&mut ws).await;
    let mut stash = Vec::new();

    // A record needs an activated session.
    let r = call(
        &mut ws,
        json!(1),
        "createSession",
        Some(json!({"cortexToken": token, "headset": headset, "status": "open"})),
    )
    .await;
    let sid = r["result"]["id"].as_str().unwrap().to_owned();
    let r = call(
        &mut ws,
        json!(2),
        "createRecord",
        Some(json!({"cortexToken": token, "session": sid, "title": "x"})),
    )
    .await;
    assert_eq!(code(&r), -32012, "{r}");
    call(
        &mut ws,
        json!(3),
        "updateSession",
        Some(json!({"cortexToken": token, "session": sid, "status": "active"})),
    )
    .await;

    // Subjects.
    let r = call(
        &mut ws,
        json!(4),
        "getDemographicAttributes",
        Some(json!({"cortexToken": token})),
    )
    .await;
    let attr = &r["result"][0];
    assert!(attr["name"].is_string() && attr["value"].is_array(), "{r}");
    let r = call(
        &mut ws,
        json!(5),
        "createSubject",
        Some(
            json!({"cortexToken": token, "subjectName": "ann", "sex": "F", "dateOfBirth": "1990-02-03",
                    "countryCode": "FR", "attributes": [{"name": attr["name"], "value": attr["value"][0]}]}),
        ),
    )
    .await;
    assert_eq!(r["result"]["subjectName"], "ann", "{r}");
    assert_eq!(r["result"]["experimentsCount"], 0);
    assert_eq!(r["result"]["countryCode"], "FR", "{r}");
    assert_eq!(r["result"]["countryName"], "France", "{r}");
    for (params, what) in [
        (json!({"subjectName": "ann"}), "duplicate"),
        (
            json!({"subjectName": "bob", "dateOfBirth": "03/02/1990"}),
            "bad date",
        ),
        (json!({"subjectName": "bob", "sex": "X"}), "bad sex"),
        (
            json!({"subjectName": "bob", "countryCode": "XZ"}),
            "unassigned country code",
        ),
        (
            json!({"subjectName": "bob", "countryCode": "fr"}),
            "lower-case country code",
        ),
        (json!({"subjectName": "a".repeat(31)}), "long name"),
        (
            json!({"subjectName": "bob", "attributes": [{"name": "Nope", "value": "x"}]}),
            "bad attribute",
        ),
    ] {
        let mut p = params.clone();
        p["cortexToken"] = json!(token);
        let r = call(&mut ws, json!(6), "createSubject", Some(p)).await;
        assert_eq!(code(&r), -32602, "{what}: {r}");
    }
    let r = call(
        &mut ws,
        json!(7),
        "updateSubject",
        Some(json!({"cortexToken": token, "subjectName": "ann", "city": "Lyon"})),
    )
    .await;
    assert_eq!(r["result"]["city"], "Lyon");
    assert_eq!(r["result"]["sex"], "F", "update keeps what it was not given");

    // createRecord: shape, session fields, one record at a time.
    let r = call(
        &mut ws,
        json!(8),
        "createRecord",
        Some(
            json!({"cortexToken": token, "session": sid, "title": "Eyes, closed", "subjectName": "ann",
                    "tags": ["rest", "pilot"], "description": "first"}),
        ),
    )
    .await;
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
    let r = call(
        &mut ws,
        json!(9),
        "querySessions",
        Some(json!({"cortexToken": token})),
    )
    .await;
    assert_eq!(r["result"][0]["recording"], true);
    assert_eq!(r["result"][0]["recordIds"], json!([rid]));
    expect_code(
        &mut ws,
        "createRecord",
        Some(json!({"cortexToken": token, "session": sid, "title": "again"})),
        -32017,
    )
    .await;
    for bad in [
        json!({"session": sid}),
        json!({"session": sid, "title": ""}),
        json!({"session": "nope", "title": "t"}),
    ] {
        let mut p = bad.clone();
        p["cortexToken"] = json!(token);
        let r = call(&mut ws, json!(11), "createRecord", Some(p)).await;
        assert!([-32602, -32007].contains(&code(&r)), "{bad}: {r}");
    }

    // Markers: an instance, one turned into an interval, bad ones refused.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let t1 = now_ms();
    let r = call(
        &mut ws,
        json!(12),
        "injectMarker",
        Some(
            json!({"cortexToken": token, "session": sid, "time": t1, "value": 42, "label": "blink",
                    "extras": {"trial": 1}}),
        ),
    )
    .await;
    let m1 = r["result"]["marker"].clone();
    assert_eq!(m1["type"], "instance", "{r}");
    assert_eq!(m1["value"], 42);
    assert_eq!(m1["port"], "Software");
    assert_eq!(m1["startDatetime"], m1["endDatetime"]);
    assert_eq!(r["result"]["recordId"], json!(rid));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t2 = now_ms();
    let r = call(
        &mut ws,
        json!(13),
        "injectMarker",
        Some(json!({"cortexToken": token, "session": sid, "time": t2, "value": "go", "label": "stim", "port": "psychopy"})),
    )
    .await;
    let m2 = r["result"]["marker"]["uuid"]
        .as_str()
        .expect("marker id")
        .to_owned();
    let r = call(
        &mut ws,
        json!(14),
        "updateMarker",
        Some(json!({"cortexToken": token, "session": sid, "markerId": m2, "time": t2 + 400.0})),
    )
    .await;
    assert_eq!(r["result"]["marker"]["type"], "interval", "{r}");
    assert_ne!(
        r["result"]["marker"]["startDatetime"],
        r["result"]["marker"]["endDatetime"]
    );
    for (method, params) in [
        (
            "injectMarker",
            json!({"session": sid, "time": t2, "value": -1, "label": "neg"}),
        ),
        (
            "injectMarker",
            json!({"session": sid, "time": "now", "value": 1, "label": "x"}),
        ),
        (
            "updateMarker",
            json!({"session": sid, "markerId": m2, "time": t2 - 1000.0}),
        ),
        (
            "updateMarker",
            json!({"session": sid, "markerId": "nope", "time": t2}),
        ),
    ] {
        let mut p = params.clone();
        p["cortexToken"] = json!(token);
        let r = call(&mut ws, json!(15), method, Some(p)).await;
        assert!([-32602, -32122].contains(&code(&r)), "{method} {params}: {r}");
    }
    tokio::time::sleep(Duration::from_millis(800)).await;

    // stopRecord, then warning 30 with the record id.
    let r = raw(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 16, "method": "stopRecord", "params": {"cortexToken": token, "session": sid}})
            .to_string(),
        &mut stash,
    )
    .await;
    assert_eq!(r["result"]["record"]["uuid"], json!(rid), "{r}");
    assert_ne!(r["result"]["record"]["endDatetime"], "");
    let w = warning(&mut ws, 30, &mut stash).await;
    assert_eq!(w["warning"]["message"]["recordId"], json!(rid));
    assert!(w.get("id").is_none());
    expect_code(
        &mut ws,
        "stopRecord",
        Some(json!({"cortexToken": token, "session": sid})),
        -32011,
    )
    .await;
    expect_code(
        &mut ws,
        "injectMarker",
        Some(json!({"cortexToken": token, "session": sid, "time": now_ms(), "value": 1, "label": "late"})),
        -32011,
    )
    .await;

    // updateRecord answers the record object itself.
    let r = call(
        &mut ws,
        json!(19),
        "updateRecord",
        Some(
            json!({"cortexToken": token, "record": rid, "description": "eyes closed, 2 s", "tags": ["rest"]}),
        ),
    )
    .await;
    assert_eq!(r["result"]["uuid"], json!(rid), "{r}");
    assert_eq!(r["result"]["tags"], json!(["rest"]));
    assert_eq!(r["result"]["title"], "Eyes, closed");
    expect_code(
        &mut ws,
        "updateRecord",
        Some(json!({"cortexToken": token, "record": "nope"})),
        -32122,
    )
    .await;

    // Opt-out is stored and shows in each record's sync status.
    let r = call(
        &mut ws,
        json!(21),
        "configOptOut",
        Some(json!({"cortexToken": token, "status": "set", "newOptOut": true})),
    )
    .await;
    assert_eq!(r["result"]["optOut"], true, "{r}");
    let r = call(
        &mut ws,
        json!(22),
        "configOptOut",
        Some(json!({"cortexToken": token, "status": "get"})),
    )
    .await;
    assert_eq!(r["result"]["optOut"], true);
    expect_code(
        &mut ws,
        "configOptOut",
        Some(json!({"cortexToken": token, "status": "maybe"})),
        -32013,
    )
    .await;

    // queryRecords and getRecordInfos.
    let r = call(
        &mut ws,
        json!(24),
        "queryRecords",
        Some(
            json!({"cortexToken": token, "query": {}, "orderBy": [{"startDatetime": "DESC"}],
                    "limit": 10, "offset": 0, "includeMarkers": true, "includeSyncStatusInfo": true}),
        ),
    )
    .await;
    assert_eq!(r["result"]["count"], 1, "{r}");
    assert_eq!(r["result"]["limit"], 10);
    let q = &r["result"]["records"][0];
    assert_eq!(q["uuid"], json!(rid));
    assert_eq!(q["markers"].as_array().map(Vec::len), Some(2));
    assert_eq!(q["syncStatus"]["optOut"], true);
    assert!(q["syncStatus"]["status"].is_string());
    for (query, n) in [
        (json!({"tags": ["rest"]}), 1),
        (json!({"tags": ["pilot"]}), 0),
        (json!({"title": "eyes"}), 1),
        (json!({"applicationId": "com.other.app"}), 0),
    ] {
        let r = call(
            &mut ws,
            json!(25),
            "queryRecords",
            Some(json!({"cortexToken": token, "query": query, "orderBy": []})),
        )
        .await;
        assert_eq!(r["result"]["count"], n, "{query}: {r}");
    }
    expect_code(
        &mut ws,
        "queryRecords",
        Some(json!({"cortexToken": token, "query": {"color": "red"}, "orderBy": []})),
        -32602,
    )
    .await;
    let r = call(
        &mut ws,
        json!(27),
        "queryRecords",
        Some(json!({"cortexToken": token, "query": {}})),
    )
    .await;
    assert_eq!(code(&r), -32602, "orderBy is required");
    let r = call(
        &mut ws,
        json!(28),
        "getRecordInfos",
        Some(json!({"cortexToken": token, "recordIds": [rid]})),
    )
    .await;
    assert_eq!(r["result"][0]["markers"][1]["type"], "interval", "{r}");
    let r = call(
        &mut ws,
        json!(29),
        "querySubjects",
        Some(json!({"cortexToken": token, "query": {}, "orderBy": [{"subjectName": "ASC"}]})),
    )
    .await;
    assert_eq!(r["result"]["subjects"][0]["experimentsCount"], 1, "{r}");

    // exportRecord: CSV V2 with every stream type the official example asks for.
    let folder = out.path().to_str().unwrap().to_owned();
    let export = |format: &str, version: Option<&str>, streams: Value, folder: &str| {
        let mut p = json!({"cortexToken": token, "recordIds": [rid], "folder": folder,
                           "streamTypes": streams, "format": format});
        if let Some(v) = version {
            p["version"] = json!(v);
        }
        p
    };
    let r = call(
        &mut ws,
        json!(30),
        "exportRecord",
        Some(export(
            "CSV",
            Some("V2"),
            json!(["EEG", "MOTION", "PM", "BP"]),
            &folder,
        )),
    )
    .await;
    assert_eq!(r["result"]["success"][0]["recordId"], json!(rid), "{r}");
    assert_eq!(r["result"]["failure"], json!([]));
    let files: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let csv_name = files
        .iter()
        .find(|f| f.ends_with(".md.bp.csv"))
        .unwrap_or_else(|| panic!("{files:?}"));
    assert!(csv_name.starts_with("Eyes__closed_EPOCPLUS_"), "{csv_name}");
    assert!(
        files.iter().any(|f| f.ends_with("_intervalMarker.csv")),
        "{files:?}"
    );
    assert!(files.iter().any(|f| f.ends_with(".json")), "{files:?}");
    assert!(!files.iter().any(|f| f.contains(".partial")), "{files:?}");
    let csv = read_csv(&out.path().join(csv_name));
    assert_eq!(csv.header("title"), "Eyes  closed");
    assert_eq!(csv.header("headset type"), "EPOCPLUS");
    assert_eq!(
        csv.header("channels").parse::<usize>().unwrap(),
        csv.columns.len()
    );
    assert_eq!(csv.header("samples").parse::<usize>().unwrap(), csv.rows.len());
    for c in [
        "Timestamp",
        "EEG.Counter",
        "EEG.AF3",
        "EEG.AF4",
        "MarkerIndex",
        "MarkerType",
        "MarkerValueInt",
        "CQ.Overall",
        "MOT.CounterMems",
        "POW.AF3.Alpha",
        "POW.AF4.Gamma",
    ] {
        csv.col(c);
    }
    // About 3 s at 256 Hz, every row complete, markers on the rows nearest their time.
    assert!((512..=1500).contains(&csv.rows.len()), "{} rows", csv.rows.len());
    assert!(csv.rows.iter().all(|r| r.len() == csv.columns.len()));
    let (ts, mi, mt, mv) = (
        csv.col("Timestamp"),
        csv.col("MarkerIndex"),
        csv.col("MarkerType"),
        csv.col("MarkerValueInt"),
    );
    let marked: Vec<&Vec<String>> = csv.rows.iter().filter(|r| !r[mi].is_empty()).collect();
    assert_eq!(marked.len(), 3, "instance + interval start + interval end");
    let first = marked[0];
    assert_eq!(
        (first[mi].as_str(), first[mt].as_str(), first[mv].as_str()),
        ("1", "1", "42")
    );
    let at: f64 = first[ts].parse().unwrap();
    assert!(
        (at * 1000.0 - t1).abs() <= 1000.0 / 256.0,
        "marker row at {at}, marker at {}",
        t1 / 1000.0
    );
    let motion_rows = csv
        .rows
        .iter()
        .filter(|r| !r[csv.col("MOT.CounterMems")].is_empty())
        .count();
    assert!(
        motion_rows * 4 >= csv.rows.len() * 9 / 10 && motion_rows * 4 <= csv.rows.len() * 11 / 10,
        "{motion_rows} motion rows"
    );
    let intervals = std::fs::read_to_string(
        out.path()
            .join(files.iter().find(|f| f.ends_with("_intervalMarker.csv")).unwrap()),
    )
    .unwrap();
    let mut lines = intervals.lines();
    assert_eq!(
        lines.next(),
        Some("latency,duration,type,marker_value,key,timestamp,marker_id")
    );
    let second: Vec<&str> = lines.nth(1).expect("second marker").split(',').collect();
    assert_eq!(second[2], "stim");
    let duration: f64 = second[1].parse().unwrap();
    assert!(
        (duration - 0.4).abs() <= 2.0 / 256.0,
        "interval duration {duration}"
    );

    // Never overwrite; bad requests are Cortex errors and leave nothing behind.
    let before = std::fs::read_dir(out.path()).unwrap().count();
    let r = call(
        &mut ws,
        json!(31),
        "exportRecord",
        Some(export(
            "CSV",
            Some("V2"),
            json!(["EEG", "MOTION", "PM", "BP"]),
            &folder,
        )),
    )
    .await;
    assert_eq!(r["result"]["failure"][0]["recordId"], json!(rid), "{r}");
    assert!(
        r["result"]["failure"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    for (params, what) in [
        (export("EDF", None, json!(["EEG", "BP"]), &folder), "EDF with BP"),
        (
            export("CSV", None, json!(["EEG"]), &folder),
            "CSV without version",
        ),
        (export("XLS", None, json!(["EEG"]), &folder), "unknown format"),
        (
            export("EDF", None, json!(["EEG"]), "relative/dir"),
            "relative folder",
        ),
        (
            export("EDF", None, json!(["EEG"]), "/nonexistent/epocd"),
            "missing folder",
        ),
        (
            export("EDF", None, json!(["EEG", "FOO"]), &folder),
            "unknown stream type",
        ),
    ] {
        let r = call(&mut ws, json!(32), "exportRecord", Some(params)).await;
        assert_eq!(code(&r), -32602, "{what}: {r}");
    }
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), before);

    // EDF family: the files appear (their content is checked with pyedflib and MNE by the
    // conformance script).
    for (format, ext) in [("EDF", ".edf"), ("EDFPLUS", ".edf"), ("BDFPLUS", ".bdf")] {
        let sub = out.path().join(format);
        std::fs::create_dir(&sub).unwrap();
        let r = call(
            &mut ws,
            json!(33),
            "exportRecord",
            Some(export(
                format,
                None,
                json!(["EEG", "MOTION"]),
                sub.to_str().unwrap(),
            )),
        )
        .await;
        assert_eq!(r["result"]["success"][0]["recordId"], json!(rid), "{format}: {r}");
        let names: Vec<String> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n.ends_with(ext)), "{format}: {names:?}");
    }

    // deleteRecord: per-record success and failure; the files go too.
    let r = call(
        &mut ws,
        json!(34),
        "deleteRecord",
        Some(json!({"cortexToken": token, "records": [rid, "nope"]})),
    )
    .await;
    assert_eq!(r["result"]["success"][0]["recordId"], json!(rid), "{r}");
    assert_eq!(r["result"]["failure"][0]["recordId"], "nope");
    assert!(r["result"]["failure"][0]["code"].is_i64());
    assert!(!dir.path().join("records").join(&rid).exists());
    let r = call(
        &mut ws,
        json!(35),
        "queryRecords",
        Some(json!({"cortexToken": token, "query": {}, "orderBy": []})),
    )
    .await;
    assert_eq!(r["result"]["count"], 0);
    let r = call(
        &mut ws,
        json!(36),
        "deleteSubjects",
        Some(json!({"cortexToken": token, "subjects": ["ann", "zed"]})),
    )
    .await;
    assert_eq!(r["result"]["success"][0]["subjectName"], "ann", "{r}");
    assert_eq!(r["result"]["failure"][0]["subjectName"], "zed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_close_when_the_session_closes_the_connection_drops_or_the_daemon_stops() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;

    // 1. updateSession close.
    let sid = active_session(&mut ws, &token).await;
    let by_close = create_record(&mut ws, &token, &sid, "closed with its session").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = call(
        &mut ws,
        json!(1),
        "updateSession",
        Some(json!({"cortexToken": token, "session": sid, "status": "close"})),
    )
    .await;
    assert_eq!(r["result"]["recording"], false, "{r}");
    let rec = record_info(&mut ws, &token, by_close["uuid"].as_str().unwrap()).await;
    assert_ne!(rec["endDatetime"], "", "{rec}");

    // 2. The connection drops.
    let sid = active_session(&mut ws, &token).await;
    let by_drop = create_record(&mut ws, &token, &sid, "closed with its connection").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    drop(ws);
    let mut ws = connect(&d.url).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let rec = record_info(&mut ws, &token, by_drop["uuid"].as_str().unwrap()).await;
        if rec["endDatetime"] != "" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "record still open after its connection dropped: {rec}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 3. SIGTERM: the daemon exits cleanly and the record is closed normally (not recovered).
    let sid = active_session(&mut ws, &token).await;
    let by_term = create_record(&mut ws, &token, &sid, "closed at shutdown").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    d.signal("TERM");
    let status = d.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "epocd exited with {status}");
    drop(d);
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    for rec in [&by_close, &by_drop, &by_term] {
        let rid = rec["uuid"].as_str().unwrap();
        let info = record_info(&mut ws, &token, rid).await;
        assert_ne!(info["endDatetime"], "", "{info}");
        assert_eq!(info["state"], "stopped", "{info}");
        let sub = out.path().join(rid);
        std::fs::create_dir(&sub).unwrap();
        let r = call(
            &mut ws,
            json!(2),
            "exportRecord",
            Some(
                json!({"cortexToken": token, "recordIds": [rid], "folder": sub, "streamTypes": ["EEG"],
                        "format": "CSV", "version": "V2"}),
            ),
        )
        .await;
        assert_eq!(r["result"]["success"][0]["recordId"], json!(rid), "{r}");
        let csv = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(".md.csv"))
            .expect("the CSV");
        let rows = read_csv(&csv).rows.len();
        assert!(rows >= 128, "{rid}: only {rows} samples in ~0.7 s of 256 Hz");
    }
}

/// The same capture played by the daemon and decoded by `epocd decode`: the exported EEG is
/// a gap-free, duplicate-free run of the decoded samples (the replay loops, so the run may
/// wrap around the end of the file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_capture_recorded_and_exported_equals_decode() {
    let Some(shared) = common::shared() else { return };
    let capture = shared.join("emokit/emotiv_encrypted_data_UD20160103001874_2017-04-05.17-42-23.292665.csv");
    let decoded = common::epocd(&["decode", capture.to_str().unwrap(), "--format", "csv"]);
    assert!(
        decoded.status.success(),
        "{}",
        String::from_utf8_lossy(&decoded.stderr)
    );
    let text = String::from_utf8(decoded.stdout).unwrap();
    let mut lines = text.lines();
    let cols: Vec<&str> = lines.next().unwrap().split(',').collect();
    let af3 = cols.iter().position(|c| *c == "AF3").expect("AF3 column");
    let reference: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.get(af3).is_some_and(|v| !v.is_empty()))
        .map(|f| f[af3..af3 + 14].iter().map(|v| v.parse().unwrap()).collect())
        .collect();
    assert!(reference.len() > 1000);

    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(
        dir.path(),
        &[
            "--no-tls",
            "--replay",
            capture.to_str().unwrap(),
            "--serial",
            "UD20160103001874",
        ],
    );
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let sid = active_session(&mut ws, &token).await;
    let rec = create_record(&mut ws, &token, &sid, "replay").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = call(
        &mut ws,
        json!(1),
        "stopRecord",
        Some(json!({"cortexToken": token, "session": sid})),
    )
    .await;
    assert!(r["result"]["record"]["endDatetime"].is_string(), "{r}");
    let r = call(
        &mut ws,
        json!(2),
        "exportRecord",
        Some(
            json!({"cortexToken": token, "recordIds": [rec["uuid"]], "folder": out.path(),
                    "streamTypes": ["EEG"], "format": "CSV", "version": "V2"}),
        ),
    )
    .await;
    assert_eq!(r["result"]["success"].as_array().map(Vec::len), Some(1), "{r}");
    let path = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".md.csv"))
        .expect("the CSV");
    let csv = read_csv(&path);
    let first = csv.col("EEG.AF3");
    let exported: Vec<Vec<f64>> = csv
        .rows
        .iter()
        .map(|r| r[first..first + 14].iter().map(|v| v.parse().unwrap()).collect())
        .collect();
    assert!(exported.len() > 256, "{} samples in 3 s", exported.len());
    let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 0.0015);
    let n = reference.len();
    // Where the run starts in the file: the offset whose next samples all match.
    let start = (0..n)
        .find(|&o| (0..16.min(exported.len())).all(|i| same(&exported[i], &reference[(o + i) % n])))
        .expect("the first exported samples appear in the decoded capture");
    for (i, row) in exported.iter().enumerate() {
        assert!(
            same(row, &reference[(start + i) % n]),
            "exported sample {i} differs from decoded sample {}: {row:?} vs {:?} (a sample missing or duplicated)",
            (start + i) % n,
            reference[(start + i) % n]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_and_exports_records_while_the_daemon_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let sid = active_session(&mut ws, &token).await;
    let rec = create_record(&mut ws, &token, &sid, "cli check").await;
    let rid = rec["uuid"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    call(
        &mut ws,
        json!(1),
        "stopRecord",
        Some(json!({"cortexToken": token, "session": sid})),
    )
    .await;

    let data = dir.path().to_str().unwrap();
    let listed = common::epocd(&["records", "--data-dir", data, "--json"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let rows: Vec<Value> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["uuid"], json!(rid));
    let table = common::epocd(&["records", "--data-dir", data]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("cli check"));

    let target = out.path().to_str().unwrap();
    let prefix = &rid[..8];
    let exported = common::epocd(&[
        "export",
        prefix,
        "--format",
        "edfplus",
        "--out",
        target,
        "--data-dir",
        data,
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let printed = String::from_utf8(exported.stdout).unwrap();
    let edf = printed
        .lines()
        .find(|l| l.ends_with(".edf"))
        .expect("the EDF+ path is printed");
    let bytes = std::fs::read(edf).unwrap();
    assert_eq!(&bytes[192..197], b"EDF+C", "an EDF+ continuous header");

    // Again into the same folder: refused, nothing replaced.
    let again = common::epocd(&[
        "export",
        prefix,
        "--format",
        "edfplus",
        "--out",
        target,
        "--data-dir",
        data,
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read(edf).unwrap(), bytes);
    let unknown = common::epocd(&[
        "export",
        "zzzz",
        "--format",
        "csv",
        "--out",
        target,
        "--data-dir",
        data,
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("epocd records"));
}
