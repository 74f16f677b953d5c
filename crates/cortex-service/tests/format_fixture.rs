//! The record format fixture (`tests/fixtures/records-v1`): a data dir written by epocd 0.1.0
//! (sample encoding 1), with that version's exports in every layout. Every later epocd must
//! open it, list its records and export them byte for byte the same. The hemokit record's
//! EEG is also checked against hemokit's own decoding of the capture it replayed, so the
//! fixture cannot silently hold wrong values.

mod common;

use std::path::{Path, PathBuf};

use common::Client;
use cortex_service::{Cortex, ServiceConfig};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/records-v1")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// CSV headers name the exporting software's version; the fixture was written by 0.1.0.
fn same_version(name: &str, bytes: Vec<u8>) -> Vec<u8> {
    if !name.ends_with(".csv") {
        return bytes;
    }
    let text = String::from_utf8(bytes).expect("CSV is UTF-8");
    text.replacen(
        concat!("headset firmware:epocd-", env!("CARGO_PKG_VERSION")),
        "headset firmware:epocd-0.1.0",
        1,
    )
    .into_bytes()
}

const LAYOUTS: [(&str, &str, &[&str], Option<&str>); 5] = [
    ("csv-v1", "CSV", &["EEG", "MOTION", "BP"], Some("V1")),
    ("csv-v2", "CSV", &["EEG", "MOTION", "BP"], Some("V2")),
    ("edf", "EDF", &["EEG", "MOTION"], None),
    ("edfplus", "EDFPLUS", &["EEG", "MOTION"], None),
    ("bdfplus", "BDFPLUS", &["EEG", "MOTION"], None),
];

#[test]
fn records_written_by_0_1_0_read_and_export_byte_for_byte_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    copy_dir(&fixture().join("data"), &data);
    let cortex = Cortex::start(ServiceConfig {
        data_dir: Some(data),
        ..ServiceConfig::default()
    })
    .unwrap();
    let client = Client::connect(&cortex);
    let token = client.authorize("com.example.fixture");
    let listed: Value =
        serde_json::from_slice(&std::fs::read(fixture().join("records.json")).unwrap()).unwrap();
    let found = client.call(
        "queryRecords",
        json!({"cortexToken": token, "query": {}, "orderBy": [{"uuid": "ASC"}], "includeMarkers": true}),
    );
    assert_eq!(found["count"], json!(2));
    let mut ids: Vec<&str> = listed["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    ids.sort_unstable();
    for (r, id) in found["records"].as_array().unwrap().iter().zip(&ids) {
        assert_eq!(r["uuid"], json!(id));
        assert_eq!(r["state"], json!("stopped"));
        assert_eq!(
            r["markers"].as_array().unwrap().len(),
            2,
            "an instance and an interval marker"
        );
    }
    let mut compared = 0;
    for id in ids {
        for (name, format, streams, version) in LAYOUTS {
            let out = tmp.path().join(format!("{id}-{name}"));
            std::fs::create_dir(&out).unwrap();
            let mut params = json!({"cortexToken": token, "recordIds": [id], "folder": out, "streamTypes": streams, "format": format});
            if let Some(v) = version {
                params["version"] = json!(v);
            }
            let r = client.call("exportRecord", params);
            assert_eq!(r["failure"], json!([]), "{id} {name}");
            let want = files(&fixture().join("exports").join(id).join(name));
            let got: Vec<(String, Vec<u8>)> = files(&out)
                .into_iter()
                .map(|(n, b)| (n.clone(), same_version(&n, b)))
                .collect();
            assert_eq!(
                got.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                want.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                "{id} {name}: the same files"
            );
            for ((n, g), (_, w)) in got.iter().zip(&want) {
                assert!(g == w, "{id} {name}: {n} differs from the one 0.1.0 wrote");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 30, "every file of both records in every layout");
    cortex.shutdown();
}

/// The hemokit capture's EEG in display order and µV, from hemokit's own per-packet table
/// (14-bit values, packet order F3 FC5 AF3 F7 T7 P7 O1 O2 P8 T8 F8 AF4 FC6 F4; 0.51 µV a step).
fn hemokit_rows() -> Vec<[f64; 14]> {
    const PACKET: [&str; 14] = [
        "F3", "FC5", "AF3", "F7", "T7", "P7", "O1", "O2", "P8", "T8", "F8", "AF4", "FC6", "F4",
    ];
    const DISPLAY: [&str; 14] = [
        "AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4",
    ];
    let text =
        std::fs::read_to_string(repo().join("tests/data/hemokit/hemokit_recording-1-truncated.expected.csv"))
            .unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let mut row = [0.0; 14];
            for (i, name) in DISPLAY.iter().enumerate() {
                let col = header.iter().position(|h| h == name).unwrap();
                assert!(PACKET.contains(name));
                row[i] = f[col].parse::<f64>().unwrap() * 0.51;
            }
            row
        })
        .collect()
}

#[test]
fn the_fixtures_hemokit_record_holds_the_captures_decoded_values() {
    let id = "8be910e9-120d-4f05-abad-cf686364cc3d";
    let dir = fixture().join("exports").join(id).join("csv-v2");
    let (_, csv) = files(&dir)
        .into_iter()
        .find(|(n, _)| n.ends_with(".md.bp.csv"))
        .expect("the CSV V2 export");
    let text = String::from_utf8(csv).unwrap();
    let mut lines = text.lines().skip(1);
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let af3 = header.iter().position(|h| *h == "EEG.AF3").unwrap();
    let rows: Vec<[f64; 14]> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            std::array::from_fn(|i| f[af3 + i].parse().unwrap())
        })
        .collect();
    assert!(rows.len() > 150, "about 1.6 s at 128 Hz");
    let truth = hemokit_rows();
    let close = |a: &[f64; 14], b: &[f64; 14]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 0.001);
    let start = (0..truth.len())
        .find(|&i| close(&rows[0], &truth[i]))
        .expect("the first recorded sample is one of the capture's");
    for (k, row) in rows.iter().enumerate() {
        // The replay loops over the capture.
        let want = &truth[(start + k) % truth.len()];
        assert!(close(row, want), "sample {k}: {row:?} != hemokit's {want:?}");
    }
}
