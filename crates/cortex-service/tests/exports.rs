//! exportRecord in-process: the CSV V2 layout with markers on their samples, interval
//! markers, never overwriting, request checks that write nothing, and the EDF family files.
//! The files' content is read with pyedflib and MNE by the conformance scripts.

mod common;

use std::path::Path;
use std::time::Duration;

use common::csv::read_csv;
use common::{Lab, code, now_ms};
use serde_json::{Value, json};

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn export(rid: &str, format: &str, version: Option<&str>, streams: Value, folder: &str) -> Value {
    let mut p = json!({"recordIds": [rid], "folder": folder, "streamTypes": streams, "format": format});
    if let Some(v) = version {
        p["version"] = json!(v);
    }
    p
}

#[test]
fn a_record_exports_in_every_format_with_its_markers_and_never_overwrites() {
    let lab = Lab::new();
    let out = tempfile::tempdir().unwrap();
    let sid = lab.session("active");
    let r = lab.rpc("createRecord", json!({"session": sid, "title": "Eyes, closed"}));
    let rid = r["result"]["record"]["uuid"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(1200));
    let t1 = now_ms();
    lab.rpc(
        "injectMarker",
        json!({"session": sid, "time": t1, "value": 42, "label": "blink"}),
    );
    std::thread::sleep(Duration::from_millis(500));
    let t2 = now_ms();
    let r = lab.rpc(
        "injectMarker",
        json!({"session": sid, "time": t2, "value": "go", "label": "stim"}),
    );
    let m2 = r["result"]["marker"]["uuid"].as_str().unwrap().to_owned();
    lab.rpc(
        "updateMarker",
        json!({"session": sid, "markerId": m2, "time": t2 + 400.0}),
    );
    std::thread::sleep(Duration::from_millis(800));
    lab.rpc("stopRecord", json!({"session": sid}));

    // CSV V2 with every stream type the official example asks for.
    let folder = out.path().to_str().unwrap().to_owned();
    let v2 = export(
        &rid,
        "CSV",
        Some("V2"),
        json!(["EEG", "MOTION", "PM", "BP"]),
        &folder,
    );
    let r = lab.rpc("exportRecord", v2.clone());
    assert_eq!(r["result"]["success"][0]["recordId"], json!(rid), "{r}");
    assert_eq!(r["result"]["failure"], json!([]));
    let files = names(out.path());
    let csv_name = files
        .iter()
        .find(|f| f.ends_with(".md.pm.fe.bp.csv"))
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
        "PM.Engagement.Scaled",
        "PM.Interest.Raw",
        "PM.LongTermExcitement",
        "FE.BlinkWink",
        "FE.LowerFaceActionPower",
    ] {
        csv.col(c);
    }
    // About 2.5 s at 256 Hz, every row complete, markers on the rows nearest their time.
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
    let r = lab.rpc("exportRecord", v2);
    assert_eq!(r["result"]["failure"][0]["recordId"], json!(rid), "{r}");
    assert!(
        r["result"]["failure"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    for (params, what) in [
        (
            export(&rid, "EDF", None, json!(["EEG", "BP"]), &folder),
            "EDF with BP",
        ),
        (
            export(&rid, "CSV", None, json!(["EEG"]), &folder),
            "CSV without version",
        ),
        (
            export(&rid, "XLS", None, json!(["EEG"]), &folder),
            "unknown format",
        ),
        (
            export(&rid, "EDF", None, json!(["EEG"]), "relative/dir"),
            "relative folder",
        ),
        (
            export(&rid, "EDF", None, json!(["EEG"]), "/nonexistent/epocd"),
            "missing folder",
        ),
        (
            export(&rid, "EDF", None, json!(["EEG", "FOO"]), &folder),
            "unknown stream type",
        ),
    ] {
        let r = lab.rpc("exportRecord", params);
        assert_eq!(code(&r), -32602, "{what}: {r}");
    }
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), before);
    let r = lab.rpc(
        "exportRecord",
        export("nope", "EDF", None, json!(["EEG"]), &folder),
    );
    assert_eq!(r["result"]["failure"][0]["code"], json!(-32122), "{r}");

    // EDF family: the files appear.
    for (format, ext) in [("EDF", ".edf"), ("EDFPLUS", ".edf"), ("BDFPLUS", ".bdf")] {
        let sub = out.path().join(format);
        std::fs::create_dir(&sub).unwrap();
        let r = lab.rpc(
            "exportRecord",
            export(
                &rid,
                format,
                None,
                json!(["EEG", "MOTION"]),
                sub.to_str().unwrap(),
            ),
        );
        assert_eq!(r["result"]["success"][0]["recordId"], json!(rid), "{format}: {r}");
        assert!(
            names(&sub).iter().any(|n| n.ends_with(ext)),
            "{format}: {:?}",
            names(&sub)
        );
    }
}
