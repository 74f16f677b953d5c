//! Records through a running daemon, over raw WebSocket JSON: what only the wire shows of a
//! record (live markers, warning 30 after the stop reply), records closing by themselves
//! (session closed, connection dropped, SIGTERM), a replayed capture recorded and exported
//! equal to `epocd decode` of the same capture, and the CLI beside a running daemon. The
//! methods' semantics are tested in-process in `crates/cortex-service/tests`.

mod common;

use std::time::{Duration, Instant};

use common::daemon::*;
use common::records::*;
use serde_json::{Value, json};

/// What only the wire shows of a record: the marker in the live eeg `MARKERS` column, the
/// stopRecord reply followed by warning 30 (a push, no id), and the export's files. Each
/// method's semantics are tested in-process (`crates/cortex-service/tests`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_the_wire_markers_live_then_warning_30_after_the_stop_reply() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let sid = active_session(&mut ws, &token).await;
    let r = call(
        &mut ws,
        json!(1),
        "subscribe",
        Some(json!({"cortexToken": token, "session": sid, "streams": ["eeg"]})),
    )
    .await;
    assert_eq!(r["result"]["success"][0]["streamName"], "eeg", "{r}");
    let rec = create_record(&mut ws, &token, &sid, "Eyes, closed").await;
    let rid = rec["uuid"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t1 = now_ms();
    let r = call(
        &mut ws,
        json!(2),
        "injectMarker",
        Some(json!({"cortexToken": token, "session": sid, "time": t1, "value": 42, "label": "blink"})),
    )
    .await;
    let marker_id = r["result"]["marker"]["uuid"].as_str().expect("marker").to_owned();
    // The next eeg samples carry it in MARKERS (the last column).
    let deadline = Instant::now() + Duration::from_secs(5);
    let live = loop {
        let f = next_json(&mut ws).await;
        if let Some(m) = f["eeg"]
            .as_array()
            .and_then(|v| v.last())
            .and_then(Value::as_array)
            && let Some(m) = m.first()
        {
            break m.clone();
        }
        assert!(Instant::now() < deadline, "no eeg sample carried the marker");
    };
    assert_eq!(live["markerId"], json!(marker_id), "{live}");
    assert_eq!(live["recordId"], json!(rid), "{live}");
    assert_eq!(live["value"], json!(42));
    call(
        &mut ws,
        json!(3),
        "unsubscribe",
        Some(json!({"cortexToken": token, "session": sid, "streams": ["eeg"]})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // stopRecord's reply, then warning 30 naming the record.
    let mut stash = Vec::new();
    let r = raw(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 16, "method": "stopRecord", "params": {"cortexToken": token, "session": sid}})
            .to_string(),
        &mut stash,
    )
    .await;
    assert_eq!(r["result"]["record"]["uuid"], json!(rid), "{r}");
    assert!(
        !stash.iter().any(|f| f["warning"]["code"] == json!(30)),
        "warning 30 follows the stopRecord reply: {stash:?}"
    );
    let w = warning(&mut ws, 30, &mut stash).await;
    assert_eq!(w["warning"]["message"]["recordId"], json!(rid));
    assert!(w.get("id").is_none());

    let csv = export_csv(&mut ws, &token, &rid, out.path()).await;
    let csv = read_csv(&csv);
    assert_eq!(csv.header("title"), "Eyes  closed");
    let mi = csv.col("MarkerIndex");
    assert_eq!(csv.rows.iter().filter(|r| !r[mi].is_empty()).count(), 1);
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
    let d = Daemon::replay(dir.path(), &capture, "UD20160103001874");
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
    let rid = record_for(&mut ws, &token, "cli check", Duration::from_millis(1500)).await;

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

/// A reply precedes what it causes: no eeg sample carries an injected marker before the
/// injectMarker reply has reached the app (the next sample may come 4 ms later, so the old
/// order lost this race a few times in a hundred).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sample_carries_a_marker_before_its_inject_marker_reply() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let sid = active_session(&mut ws, &token).await;
    call(
        &mut ws,
        json!(1),
        "subscribe",
        Some(json!({"cortexToken": token, "session": sid, "streams": ["eeg"]})),
    )
    .await;
    create_record(&mut ws, &token, &sid, "order").await;
    let carries = |f: &Value, label: &str| {
        f["eeg"]
            .as_array()
            .and_then(|v| v.last())
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|x| x["label"] == label))
    };
    let mut early = Vec::new();
    for i in 0..150 {
        let label = format!("order-{i}");
        let req = json!({"jsonrpc": "2.0", "id": 100 + i, "method": "injectMarker",
            "params": {"cortexToken": token, "session": sid, "time": now_ms(), "value": i, "label": label}});
        let mut before = Vec::new();
        let r = raw(&mut ws, req.to_string(), &mut before).await;
        assert!(r["result"]["marker"]["uuid"].is_string(), "{r}");
        if before.iter().any(|f| carries(f, &label)) {
            early.push(i);
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    assert!(
        early.is_empty(),
        "markers carried by a sample before their reply: {early:?}"
    );
}
