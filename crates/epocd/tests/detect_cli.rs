//! `epocd detect` on real captures: the detectors run through the real decode path without
//! error and report plausible values. The captures carry no annotations, so these are bounds
//! a human recording stays within, not ground truth (the scripted virtual sessions give that).

mod common;

use common::{epocd, root, shared};

fn detect(args: &[&str]) -> serde_json::Value {
    let o = epocd(&[&["detect"], args].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn real_epoc_plus_captures_give_plausible_metrics_and_event_rates() {
    let Some(shared) = shared() else { return };
    let mut seen = 0;
    for entry in std::fs::read_dir(shared.join("emokit")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("emotiv_encrypted_data_") {
            continue;
        }
        seen += 1;
        let d = detect(&["--ignore-contact", path.to_str().unwrap()]);
        println!("{name}: {d}");
        let seconds = d["seconds"].as_f64().unwrap();
        assert!(seconds > 5.0, "{name}: {seconds}");
        // Two updates a second.
        let updates = d["metUpdates"].as_f64().unwrap();
        assert!(
            (updates - 2.0 * seconds).abs() <= 1.5,
            "{name}: {updates} updates in {seconds} s"
        );
        for (metric, v) in d["met"].as_object().unwrap() {
            // Still EEG: most windows are clean once the first 2 s are in.
            assert!(
                v["acceptedFraction"].as_f64().unwrap() > 0.6,
                "{name} {metric}: {v}"
            );
            let raw = v["meanRaw"].as_f64().unwrap();
            match metric.as_str() {
                // A log ratio of two sites' alpha: within a factor e^3 either way.
                "int" => assert!(raw.abs() < 3.0, "{name} {metric}: {raw}"),
                // Relative alpha is a fraction of the total.
                "rel" => assert!(raw > 0.0 && raw < 1.0, "{name} {metric}: {raw}"),
                _ => assert!(raw > 0.01 && raw < 100.0, "{name} {metric}: {raw}"),
            }
        }
        // Nobody blinks, winks or glances more than once a second.
        for (event, v) in d["fac"].as_object().unwrap() {
            assert!(v["perMinute"].as_f64().unwrap() <= 60.0, "{name} {event}: {v}");
        }
        // With the contact the headset reported, a metric can only lose windows.
        let as_recorded = detect(&[path.to_str().unwrap()]);
        assert_eq!(as_recorded["contactIgnored"], false);
        for (metric, v) in as_recorded["met"].as_object().unwrap() {
            let (with, without) = (
                v["acceptedFraction"].as_f64().unwrap(),
                d["met"][metric]["acceptedFraction"].as_f64().unwrap(),
            );
            assert!(with <= without, "{name} {metric}: {with} > {without}");
        }
    }
    assert_eq!(seen, 3, "the three emokit EPOC+ captures");
}

#[test]
fn the_hemokit_epoc_dump_runs_at_128_hz() {
    let dump = root().join("tests/data/hemokit/recording-1-truncated.dump");
    let d = detect(&["--serial", "SN201211154288GM", dump.to_str().unwrap()]);
    assert_eq!(d["eegRate"], 128);
    assert_eq!(d["model"], "EPOC");
    // 202 reports: 1.6 s, under the 2 s a metric window needs.
    assert!(d["seconds"].as_f64().unwrap() < 2.0);
    assert!(d["met"]["eng"]["meanRaw"].is_null());
}

#[test]
fn a_file_that_is_not_a_capture_is_refused_with_the_reason() {
    let o = epocd(&[
        "detect",
        "--serial",
        "UD20160103001874",
        root().join("Cargo.toml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("check the serial"), "{err}");
}
