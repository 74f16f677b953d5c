//! Byte-exact decoding of third-party captures (tests/data and ../shared/captures). The
//! expected values come from hemokit's and emokit's own output and from the research tables,
//! never from this crate.

mod common;

use common::*;
use epoc_protocol::*;

fn display_from_packet(packet: &[i64]) -> [u16; 14] {
    let mut out = [0u16; 14];
    for (slot, ch) in PACKET_ORDER.iter().enumerate() {
        out[ch.display_index()] = packet[slot] as u16;
    }
    out
}

#[test]
fn hemokit_dump_matches_hemokit_output() {
    let dump = std::fs::read(repo_data("hemokit/recording-1-truncated.dump")).unwrap();
    let decrypted = std::fs::read(repo_data("hemokit/recording-1-truncated.dump.decrypted")).unwrap();
    let packets =
        std::fs::read_to_string(repo_data("hemokit/recording-1-truncated.dump.packets.json")).unwrap();
    let packets: Vec<serde_json::Value> = packets
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v.is_object())
        .collect();

    let capture = parse_capture(&dump).unwrap();
    assert_eq!(capture.reports.len(), 202);
    assert_eq!(capture.trailing_bytes, 0);
    assert_eq!(packets.len(), 202);

    let serial = Serial::from_usb("SN201211154288GM").unwrap();
    let detection = detect(&serial, &capture.reports, &KeyLayout::ALL).unwrap();
    assert_eq!(detection.layout, KeyLayout::EpocT);
    assert_eq!(detection.mode, Mode::EPOC);

    let cipher = Cipher::for_layout(detection.layout, &serial);
    let mut decoder = Decoder::from_detection(&serial, &detection);
    let mut batteries = 0;
    for (i, (ct, expected)) in capture.reports.iter().zip(&packets).enumerate() {
        let mut plain = *ct;
        cipher.decrypt(&mut plain);
        assert_eq!(
            &plain[..],
            &decrypted[i * 32..i * 32 + 32],
            "plaintext of report {i}"
        );

        let r = decoder.decode(ct).unwrap().report;
        assert_eq!(
            i64::from(r.sequence()),
            expected["packetCounter"].as_i64().unwrap(),
            "counter {i}"
        );
        let sensors: Vec<i64> = expected["packetSensors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(r.eeg, display_from_packet(&sensors), "channels of report {i}");
        let [gx, gy] = r.gyro14().unwrap();
        assert_eq!(
            i64::from(gx) - 1652,
            expected["packetGyroX"].as_i64().unwrap(),
            "gyro x {i}"
        );
        assert_eq!(
            i64::from(gy) - 1681,
            expected["packetGyroY"].as_i64().unwrap(),
            "gyro y {i}"
        );
        match expected["packetBattery"].as_i64() {
            Some(percent) => {
                batteries += 1;
                assert_eq!(r.kind, ReportKind::Battery);
                assert_eq!(r.battery().unwrap().percent, Some(percent as u8));
            }
            None => assert_ne!(r.kind, ReportKind::Battery),
        }
        // hemokit names the electrode its (emokit-mask) quality belongs to; ours must agree on
        // the electrode even though the value comes from another bit field.
        if let Some(q) = expected["packetQuality"].as_array() {
            assert_eq!(
                r.quality().map(|q| q.channel.name()),
                q[0].as_str(),
                "quality electrode {i}"
            );
        }
    }
    assert_eq!(batteries, 1);
    // Stale 123, 123, then 0 at the start are not loss; the rest of the dump has no gap.
    assert_eq!(decoder.lost_total(), 0);
}

#[test]
fn hemokit_expected_table() {
    let table =
        std::fs::read_to_string(repo_data("hemokit/hemokit_recording-1-truncated.expected.csv")).unwrap();
    let serial = Serial::from_usb("SN201211154288GM").unwrap();
    let cipher = Cipher::for_layout(KeyLayout::EpocT, &serial);
    let rows = expected_rows(&table);
    assert_eq!(rows.len(), 202);
    for row in rows {
        let mut d = unhex32(&row["ciphertext_hex"]);
        cipher.decrypt(&mut d);
        assert_eq!(d, unhex32(&row["plaintext_hex"]));
        let r = decode(&d, Mode::EPOC).unwrap();
        assert_eq!(r.counter.to_string(), row["byte0"]);
        assert_eq!(r.kind == ReportKind::Battery, row["is_battery_packet"] == "1");
        for ch in DISPLAY_ORDER {
            assert_eq!(
                r.eeg[ch.display_index()].to_string(),
                row[ch.name()],
                "{ch} of row {}",
                row["index"]
            );
        }
        let [gx, gy] = r.gyro14().unwrap();
        assert_eq!(gx.to_string(), row["gyro_x_raw12"]);
        assert_eq!(gy.to_string(), row["gyro_y_raw12"]);
        assert_eq!(
            r.quality()
                .map(|q| q.channel.name().to_owned())
                .unwrap_or_default(),
            row["quality_sensor"]
        );
    }
}

/// Decode a whole emokit EPOC+ capture and compare every field with its expected table.
fn check_emokit_file(stem: &str) {
    let Some(shared) = shared_captures() else { return };
    let csv = std::fs::read(shared.join(format!("emokit/{stem}.csv"))).unwrap();
    let table = std::fs::read_to_string(shared.join(format!("derived/{stem}.expected.csv"))).unwrap();
    let capture = parse_capture(&csv).unwrap();
    let rows = expected_rows(&table);
    assert_eq!(capture.reports.len(), rows.len());

    let serial = Serial::from_usb(serial_in_file_name(stem).unwrap()).unwrap();
    let detection = detect(&serial, &capture.reports, &KeyLayout::ALL).unwrap();
    assert_eq!(detection.layout, KeyLayout::Plus16);
    assert_eq!(detection.mode, Mode::EPOC_PLUS_256);
    let cipher = Cipher::for_layout(detection.layout, &serial);
    for (ct, row) in capture.reports.iter().zip(&rows) {
        let at = &row["index"];
        assert_eq!(*ct, unhex32(&row["ciphertext_hex"]), "ciphertext of row {at}");
        let mut d = *ct;
        cipher.decrypt(&mut d);
        assert_eq!(d, unhex32(&row["plaintext_hex"]), "plaintext of row {at}");
        let r = decode(&d, detection.mode).unwrap();
        assert_eq!(r.counter.to_string(), row["counter"]);
        match row["type"].as_str() {
            "EEG" => {
                assert_eq!(r.kind, ReportKind::Eeg);
                let packet: Vec<i64> = (1..=14).map(|k| row[&format!("v{k}")].parse().unwrap()).collect();
                assert_eq!(r.eeg, display_from_packet(&packet), "EEG of row {at}");
                let [lo, hi] = r.aux.to_le_bytes();
                assert_eq!(
                    (lo.to_string(), hi.to_string()),
                    (row["aux16"].clone(), row["aux17"].clone())
                );
            }
            "MOT" => {
                assert_eq!(r.kind, ReportKind::Motion);
                for k in 0..9 {
                    assert_eq!(
                        r.motion[k].to_string(),
                        row[&format!("v{}", k + 1)],
                        "motion {k} of row {at}"
                    );
                }
            }
            other => panic!("unknown row type {other}"),
        }
    }
}

#[test]
fn emokit_epocplus_capture_17_21_32() {
    check_emokit_file("emotiv_encrypted_data_UD20160103001874_2017-04-05.17-21-32.384061");
}

#[test]
fn emokit_epocplus_capture_17_39_48() {
    check_emokit_file("emotiv_encrypted_data_UD20160103001874_2017-04-05.17-39-48.516489");
}

#[test]
fn emokit_third_capture_is_continuous() {
    let Some(shared) = shared_captures() else { return };
    let csv = std::fs::read(
        shared.join("emokit/emotiv_encrypted_data_UD20160103001874_2017-04-05.17-42-23.292665.csv"),
    )
    .unwrap();
    let capture = parse_capture(&csv).unwrap();
    assert_eq!(capture.reports.len(), 2066, "2066 full rows");
    assert_eq!(
        capture.truncated_last_line,
        Some(2067),
        "the 30-field last row is skipped"
    );

    let serial = Serial::from_usb("UD20160103001874").unwrap();
    let detection = detect(&serial, &capture.reports, &KeyLayout::ALL).unwrap();
    assert_eq!(
        (detection.layout, detection.mode),
        (KeyLayout::Plus16, Mode::EPOC_PLUS_256)
    );
    let mut decoder = Decoder::from_detection(&serial, &detection);
    let (mut eeg, mut motion) = (Vec::new(), Vec::new());
    for ct in &capture.reports {
        let r = decoder
            .decode(ct)
            .expect("every report has a valid type byte")
            .report;
        match r.kind {
            ReportKind::Eeg => {
                eeg.push(r.counter);
                for uv in r.eeg_microvolts() {
                    assert!(
                        (3000.0..5500.0).contains(&uv),
                        "EEG {uv} µV outside the EPOC+ band"
                    );
                }
            }
            ReportKind::Motion => {
                motion.push(r.counter);
                let acc = r.motion[3..6]
                    .iter()
                    .map(|&a| f64::from(a).powi(2))
                    .sum::<f64>()
                    .sqrt();
                assert!((14000.0..19000.0).contains(&acc), "|acc| {acc} is not ~1 g");
            }
            ReportKind::Battery => panic!("16-bit streams have no battery packets"),
        }
    }
    // Two EEG per motion report (256 Hz EEG, 128 Hz motion).
    assert!((eeg.len() as f64 / motion.len() as f64 - 2.0).abs() < 0.01);
    let gaps = |c: &[u8], m: u16| {
        c.windows(2)
            .filter(|w| (u16::from(w[0]) + 1) % m != u16::from(w[1]))
            .count()
    };
    assert_eq!(gaps(&eeg, 256), 0, "EEG counter continuity");
    assert!(
        gaps(&motion, 128) <= 1,
        "motion counter continuity (one stale start allowed)"
    );
    // The decoder's loss count is exactly the counter gaps, computed here independently.
    let lost = |c: &[u8], m: u64| -> u64 {
        c.windows(2)
            .skip(SETTLE_REPORTS as usize - 1)
            .filter(|w| w[0] != w[1])
            .map(|w| (u64::from(w[1]) + m - u64::from(w[0]) - 1) % m)
            .sum()
    };
    assert_eq!(decoder.lost_total(), lost(&eeg, 256) + lost(&motion, 128));
}

#[test]
fn emokit_decrypted_epocplus_packets_equal_our_decryption() {
    let Some(shared) = shared_captures() else { return };
    let text = std::fs::read_to_string(repo_data("emokit/epocplusdata.txt")).unwrap();
    let theirs = decimal_packets(&text);
    assert_eq!(theirs.len(), 46);
    let csv = std::fs::read(
        shared.join("emokit/emotiv_encrypted_data_UD20160103001874_2017-04-05.17-21-32.384061.csv"),
    )
    .unwrap();
    let capture = parse_capture(&csv).unwrap();
    let cipher = Cipher::for_layout(KeyLayout::Plus16, &Serial::from_usb("UD20160103001874").unwrap());
    for (i, (ct, expected)) in capture.reports.iter().zip(&theirs).enumerate() {
        let mut d = *ct;
        cipher.decrypt(&mut d);
        assert_eq!(&d, expected, "packet {i}");
    }
}

#[test]
fn emokit_epoc_mode_packets() {
    let text = std::fs::read_to_string(repo_data("emokit/epoc_data.txt")).unwrap();
    let packets = decimal_packets(&text);
    assert_eq!(packets.len(), 54);
    let reports: Vec<Report> = packets
        .iter()
        .map(|p| decode(p, Mode::EPOC_PLUS_14).unwrap())
        .collect();
    let counters: Vec<u16> = reports.iter().map(Report::sequence).collect();
    let expected: Vec<u16> = (80..=128).chain(0..=4).collect();
    assert_eq!(counters, expected);
    let battery = reports[48];
    assert_eq!(battery.kind, ReportKind::Battery);
    assert_eq!(
        battery.battery().unwrap(),
        Battery {
            raw: 236,
            percent: Some(46)
        }
    );
    for r in &reports {
        assert!(r.eeg.iter().all(|v| (8000..9400).contains(v)), "{:?}", r.eeg);
        let [gx, gy] = r.gyro14().unwrap();
        assert!(
            (1700..1770).contains(&gx) && (1650..1720).contains(&gy),
            "gyro {gx} {gy}"
        );
    }
}

#[test]
fn emokit_test_package() {
    // emokit's test documents these as 14-bit value minus 8192, in packet order.
    let bytes: [u8; 32] = std::fs::read(repo_data("emokit/test_package.data"))
        .unwrap()
        .try_into()
        .unwrap();
    let r = decode(&bytes, Mode::EPOC).unwrap();
    assert_eq!(r.counter, 25);
    let expected = [2, 81, -100, 75, 68, 84, 80, 54, 55, 55, 16, 43, 128, 1504];
    let got: Vec<i64> = PACKET_ORDER
        .iter()
        .map(|c| i64::from(r.eeg[c.display_index()]) - 8192)
        .collect();
    assert_eq!(got, expected);
}
