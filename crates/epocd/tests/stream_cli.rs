//! `epocd stream`, `capture` and `devices` as a user runs them. Replaying a capture through
//! the acquisition thread must give exactly what `epocd decode` gives.

mod common;

use std::process::Output;

use common::{epocd, root, shared};

use serde_json::Value;

fn rows(o: &Output) -> Vec<Value> {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Replay a capture through the acquisition thread and compare with `decode`.
fn replay_equals_decode(file: &std::path::Path, serial: &str, rate: f64) {
    let f = file.to_str().unwrap();
    let decoded = rows(&epocd(&["decode", "--serial", serial, f]));
    let streamed_out = epocd(&["stream", "--replay", f, "--serial", serial, "--fast"]);
    let streamed = rows(&streamed_out);
    assert_eq!(
        streamed.len(),
        decoded.len(),
        "same number of samples, none missing or duplicated"
    );
    for (i, (s, d)) in streamed.iter().zip(&decoded).enumerate() {
        let strip = |v: &Value| {
            let mut v = v.clone();
            let o = v.as_object_mut().unwrap();
            o.remove("index");
            o.remove("time");
            v
        };
        assert_eq!(strip(s), strip(d), "sample {i}");
    }
    // Loss is the counter gaps, and the stream says so in its summary.
    let lost: u64 = streamed.iter().map(|s| s["lost"].as_u64().unwrap()).sum();
    let err = String::from_utf8_lossy(&streamed_out.stderr);
    assert!(err.contains(&format!("{lost} samples lost")), "{err}");
    // Timestamps (counter-based for an unpaced replay) are spaced at the sample rate.
    let eeg: Vec<&Value> = streamed.iter().filter(|s| s["kind"] != "motion").collect();
    for w in eeg.windows(2) {
        let dt = w[1]["time"].as_f64().unwrap() - w[0]["time"].as_f64().unwrap();
        let expect = (1.0 + w[1]["lost"].as_f64().unwrap()) / rate;
        assert!((dt - expect).abs() < 2e-6, "dt {dt} vs {expect}");
    }
}

#[test]
fn replaying_the_hemokit_dump_equals_decoding_it() {
    replay_equals_decode(
        &root().join("tests/data/hemokit/recording-1-truncated.dump"),
        "SN201211154288GM",
        128.0,
    );
}

#[test]
fn replaying_each_emokit_capture_equals_decoding_it() {
    let Some(shared) = shared() else { return };
    for stem in ["17-21-32.384061", "17-39-48.516489", "17-42-23.292665"] {
        let file = shared.join(format!(
            "emokit/emotiv_encrypted_data_UD20160103001874_2017-04-05.{stem}.csv"
        ));
        replay_equals_decode(&file, "UD20160103001874", 256.0);
    }
}

#[test]
fn streaming_the_virtual_headset_in_real_time() {
    let started = std::time::Instant::now();
    let out = rows(&epocd(&["stream", "--virtual", "--count", "300"]));
    assert_eq!(out.len(), 300);
    assert!(
        started.elapsed().as_secs_f64() > 0.8,
        "paced at 256 Hz, not as fast as possible"
    );
    let eeg: Vec<&Value> = out.iter().filter(|s| s["kind"] == "eeg").collect();
    assert_eq!(eeg.len(), 240, "four EEG samples per motion sample");
    let t: Vec<f64> = eeg.iter().map(|s| s["time"].as_f64().unwrap()).collect();
    let mean_dt = (t[t.len() - 1] - t[0]) / (t.len() - 1) as f64;
    assert!(
        (mean_dt - 1.0 / 256.0).abs() < 1.0 / 256.0 * 0.1,
        "mean spacing {mean_dt}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - t[0]).abs() < 60.0, "timestamps are on the host clock");
}

#[test]
fn capture_writes_what_decode_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("virtual.dump");
    let o = epocd(&[
        "capture",
        "--device",
        "virtual:2",
        "--out",
        out.to_str().unwrap(),
        "--seconds",
        "1",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("decode as EPOCPLUS 16-bit 256 Hz"), "{err}");
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.len() % 32, 0);
    let decoded = rows(&epocd(&[
        "decode",
        "--serial",
        "VD20260000000002",
        out.to_str().unwrap(),
    ]));
    assert_eq!(decoded.len(), bytes.len() / 32);
    assert!(
        (250..400).contains(&decoded.len()),
        "about a second of reports: {}",
        decoded.len()
    );
    // An existing file is never overwritten silently.
    let again = epocd(&[
        "capture",
        "--device",
        "virtual:2",
        "--out",
        out.to_str().unwrap(),
        "--seconds",
        "0.2",
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
}

#[test]
fn devices_lists_what_can_be_used_and_why_not() {
    let o = epocd(&["devices", "--ble-scan", "0.2"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for section in ["USB dongles:", "Bluetooth:", "Virtual:", "EPOCPLUS-00000001"] {
        assert!(text.contains(section), "{section} missing in:\n{text}");
    }
}

#[test]
fn bad_stream_requests_fail_clearly() {
    let o = epocd(&["stream", "--device", "no-such-headset", "--count", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("epocd devices"));
    let dump = root().join("tests/data/hemokit/recording-1-truncated.dump");
    let o = epocd(&["stream", "--replay", dump.to_str().unwrap(), "--count", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--serial is required"));
    let o = epocd(&[
        "stream",
        "--replay",
        dump.to_str().unwrap(),
        "--serial",
        "SN201211154288GX",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("check the serial"));
}
