//! `epocd decode` as a user runs it: the real binary, real captures, exit statuses and
//! messages. Expected values come from hemokit's own parse and the research tables.

mod common;

use std::process::Output;

use common::{epocd, root, shared};

fn stdout_lines(o: &Output) -> Vec<String> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

const HEMOKIT: &str = "tests/data/hemokit/recording-1-truncated.dump";

#[test]
fn decodes_the_hemokit_dump_like_hemokit() {
    let dump = root().join(HEMOKIT);
    let o = epocd(&["decode", "--serial", "SN201211154288GM", dump.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<serde_json::Value> = stdout_lines(&o)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let theirs =
        std::fs::read_to_string(root().join("tests/data/hemokit/recording-1-truncated.dump.packets.json"))
            .unwrap();
    let theirs: Vec<serde_json::Value> = theirs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v.is_object())
        .collect();
    assert_eq!(rows.len(), 202);
    // hemokit lists sensors in packet order.
    let packet_order = [
        "F3", "FC5", "AF3", "F7", "T7", "P7", "O1", "O2", "P8", "T8", "F8", "AF4", "FC6", "F4",
    ];
    for (i, (ours, h)) in rows.iter().zip(&theirs).enumerate() {
        assert_eq!(ours["index"], i);
        assert_eq!(ours["counter"], h["packetCounter"], "row {i}");
        let kind = if h["packetBattery"].is_null() {
            "eeg"
        } else {
            "battery"
        };
        assert_eq!(ours["kind"], kind);
        if kind == "battery" {
            assert_eq!(ours["battery"]["percent"], h["packetBattery"]);
        }
        for (slot, name) in packet_order.iter().enumerate() {
            let raw = h["packetSensors"][slot].as_f64().unwrap();
            let uv = ours["eeg"][name].as_f64().unwrap();
            assert!((uv - raw * 0.51).abs() < 0.0006, "{name} row {i}: {uv} vs {raw}");
        }
        assert_eq!(
            ours["gyro"]["GYROX"].as_i64().unwrap() - 1652,
            h["packetGyroX"].as_i64().unwrap()
        );
    }
}

#[test]
fn decodes_an_emokit_csv_with_serial_from_its_name_in_both_formats() {
    let Some(shared) = shared() else { return };
    let stem = "emotiv_encrypted_data_UD20160103001874_2017-04-05.17-39-48.516489";
    let csv = shared.join(format!("emokit/{stem}.csv"));
    let table = std::fs::read_to_string(shared.join(format!("derived/{stem}.expected.csv"))).unwrap();
    let expected: Vec<Vec<String>> = table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();

    let o = epocd(&["decode", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<serde_json::Value> = stdout_lines(&o)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), expected.len());
    let packet_order = [
        "F3", "FC5", "AF3", "F7", "T7", "P7", "O1", "O2", "P8", "T8", "F8", "AF4", "FC6", "F4",
    ];
    let motion = [
        "GYROX", "GYROY", "GYROZ", "ACCX", "ACCY", "ACCZ", "MAGX", "MAGY", "MAGZ",
    ];
    for (ours, exp) in rows.iter().zip(&expected) {
        assert_eq!(ours["counter"].to_string(), exp[4]);
        match exp[3].as_str() {
            "EEG" => {
                assert_eq!(ours["kind"], "eeg");
                for (slot, name) in packet_order.iter().enumerate() {
                    let raw: f64 = exp[5 + slot].parse().unwrap();
                    let uv = ours["eeg"][name].as_f64().unwrap();
                    assert!(
                        (uv - raw * 0.128205128205129).abs() < 0.0006,
                        "{name}: {uv} vs {raw}"
                    );
                }
            }
            _ => {
                assert_eq!(ours["kind"], "motion");
                for (k, name) in motion.iter().enumerate() {
                    assert_eq!(ours["motion"][name].to_string(), exp[5 + k]);
                }
            }
        }
    }

    let o = epocd(&[
        "decode",
        "--format",
        "csv",
        "--model",
        "epocplus",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let lines = stdout_lines(&o);
    assert_eq!(lines.len(), expected.len() + 1);
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(&header[..5], ["index", "kind", "counter", "lost", "AF3"]);
    assert_eq!(header.last(), Some(&"MAGZ"));
    assert!(
        lines[1..].iter().all(|l| l.split(',').count() == header.len()),
        "every row has every column"
    );
}

#[test]
fn wrong_serial_is_one_clear_line_and_status_2() {
    let dump = root().join(HEMOKIT);
    let o = epocd(&["decode", "--serial", "SN201211154288GX", dump.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "no garbage rows");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no key layout decrypts these reports — check the serial"),
        "{err}"
    );
}

#[test]
fn wrong_model_is_refused() {
    let dump = root().join(HEMOKIT);
    let o = epocd(&[
        "decode",
        "--model",
        "epocx",
        "--serial",
        "SN201211154288GM",
        dump.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

#[test]
fn bad_inputs_get_status_2_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.dump");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "these are my notes, not a capture at all, honestly.\n".repeat(20),
    )
    .unwrap();
    let short = dir.path().join("short.dump");
    std::fs::write(&short, [0u8; 64]).unwrap();
    let bad_csv = dir.path().join("bad.csv");
    std::fs::write(&bad_csv, "None,0b1,0b2\nNone,0b1\n").unwrap();
    let missing = dir.path().join("missing.dump");
    let dump = root().join(HEMOKIT);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["decode", "--serial", "SN201211154288GM", empty.to_str().unwrap()],
            "empty",
        ),
        (
            vec!["decode", "--serial", "SN201211154288GM", text.to_str().unwrap()],
            "check the serial",
        ),
        (
            vec!["decode", "--serial", "SN201211154288GM", short.to_str().unwrap()],
            "at least 8 reports",
        ),
        (
            vec![
                "decode",
                "--serial",
                "SN201211154288GM",
                bad_csv.to_str().unwrap(),
            ],
            "line 1",
        ),
        (
            vec![
                "decode",
                "--serial",
                "SN201211154288GM",
                missing.to_str().unwrap(),
            ],
            "cannot read",
        ),
        (vec!["decode", dump.to_str().unwrap()], "--serial is required"),
        (
            vec!["decode", "--serial", "GM", dump.to_str().unwrap()],
            "too short",
        ),
    ];
    for (args, needle) in cases {
        let o = epocd(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: expected {needle:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn a_cut_off_dump_decodes_its_whole_reports() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(root().join(HEMOKIT)).unwrap();
    bytes.truncate(100 * 32 + 17);
    let cut = dir.path().join("cut.dump");
    std::fs::write(&cut, &bytes).unwrap();
    let o = epocd(&["decode", "--serial", "SN201211154288GM", cut.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(stdout_lines(&o).len(), 100);
    assert!(String::from_utf8_lossy(&o.stderr).contains("ignoring 17 bytes"));
}
