//! The test vectors of docs/epoc-protocol.md 6, EPOC X included, in both directions:
//! decrypt + decode the documented ciphertext, and encode + encrypt back to it.

mod common;

use common::unhex32;
use epoc_protocol::*;

fn packet_order(r: &Report) -> Vec<u16> {
    PACKET_ORDER.iter().map(|c| r.eeg[c.display_index()]).collect()
}

fn round_trip(layout: KeyLayout, serial: &str, ct: &str, pt: &str, mode: Mode) -> Report {
    let cipher = Cipher::for_layout(layout, &Serial::from_usb(serial).unwrap());
    let mut d = unhex32(ct);
    cipher.decrypt(&mut d);
    assert_eq!(d, unhex32(pt), "plaintext");
    let r = decode(&d, mode).unwrap();
    // Encoding gives back the plaintext wherever the layout has no unused bits.
    let mut again = encode(&r).unwrap();
    if mode.resolution == Resolution::Bits16 && !mode.motion_big_endian() {
        assert_eq!(again, d, "encode(decode(p)) == p");
        cipher.encrypt(&mut again);
        assert_eq!(again, unhex32(ct), "encrypt(encode(decode(decrypt(c)))) == c");
    }
    r
}

#[test]
fn epoc_14bit_packet() {
    let r = round_trip(
        KeyLayout::EpocT,
        "SN201211154288GM",
        "5307cda5c3b6f414156fff4b5cf7923e74429071a52dc0dd18536196562c40b4",
        "507d3a3ac7b7ddc17c21fa68cd0000000205580da2457cda29179b1fe0676939",
        Mode::EPOC,
    );
    assert_eq!((r.kind, r.sequence()), (ReportKind::Eeg, 80));
    assert_eq!(
        packet_order(&r),
        [
            8014, 9132, 7903, 7617, 7944, 8102, 9012, 8277, 8246, 8773, 7990, 8849, 7788, 8160
        ]
    );
    assert_eq!(r.gyro14(), Some([1651, 1689]));
    let q = r.quality().unwrap();
    assert_eq!((q.channel, q.raw), (Channel::FC6, 0));
    assert!((r.eeg_microvolts()[2] - 8014.0 * 0.51).abs() < 1e-9, "F3 in µV");
}

#[test]
fn epoc_14bit_battery_packet() {
    let cipher = Cipher::for_layout(KeyLayout::EpocT, &Serial::from_usb("SN201211154288GM").unwrap());
    let mut d = unhex32("ba157825bf4276a3e24a6e52cf5a24740bd5f5377e76d5f907ba8010d962068d");
    cipher.decrypt(&mut d);
    assert_eq!(d[0], 0xef);
    let r = decode(&d, Mode::EPOC).unwrap();
    assert_eq!((r.kind, r.sequence()), (ReportKind::Battery, 128));
    assert_eq!(
        r.battery(),
        Some(Battery {
            raw: 239,
            percent: Some(66)
        })
    );
    assert_eq!(
        packet_order(&r),
        [
            7976, 9169, 7914, 7350, 8009, 8144, 9038, 8228, 8221, 8628, 7902, 8927, 7786, 8099
        ]
    );
}

#[test]
fn epoc_plus_16bit_eeg_and_motion() {
    let r = round_trip(
        KeyLayout::Plus16,
        "UD20160103001874",
        "aa861c3c4abc36235bfb3e6719a8a4a7e112c8b7c01fb94570afe4301a980d66",
        "9010947d7f7d927dd080897d577d8e7d0c00d172bd7db87d9d7d0886377fd394",
        Mode::EPOC_PLUS_256,
    );
    assert_eq!((r.kind, r.counter), (ReportKind::Eeg, 144));
    assert_eq!(
        packet_order(&r),
        [
            32148, 32127, 32146, 32976, 32137, 32087, 32142, 29393, 32189, 32184, 32157, 34312, 32567, 38099
        ]
    );
    assert_eq!(r.aux, 12);
    let uv = r.eeg_microvolts();
    let expected_uv = [
        4121.5385, 4118.8462, 4121.2821, 4227.6923, 4120.1282, 4113.7179, 4120.7692, 3768.3333, 4126.7949,
        4126.1538, 4122.6923, 4398.9744, 4175.2564, 4884.4872,
    ];
    for (slot, ch) in PACKET_ORDER.iter().enumerate() {
        assert!((uv[ch.display_index()] - expected_uv[slot]).abs() < 1e-3, "{ch}");
    }
    let m = round_trip(
        KeyLayout::Plus16,
        "UD20160103001874",
        "056c71588809f87e2c95e90ab9bb238ad58e399c72d8acab803e4bcc1507b3ac",
        "4a202400efff3b004502743f70f39bfdc9f90101000000000000000000000000",
        Mode::EPOC_PLUS_256,
    );
    assert_eq!((m.kind, m.counter), (ReportKind::Motion, 74));
    assert_eq!(m.motion, [36, -17, 59, 581, 16244, -3216, -613, -1591, 257]);
}

#[test]
fn epoc_x_eeg_and_motion() {
    let r = round_trip(
        KeyLayout::X,
        "UD20221202006756",
        "4e0cb3e62916d09d8995c4fd62fd427d171a186267685ee69a80a4f6ac03da9a",
        "4d1014806e81827ea3828182f78383841501ce89e78a5b932d817c7d3686c39c",
        Mode::EPOC_X_128,
    );
    assert_eq!((r.kind, r.counter), (ReportKind::Eeg, 77));
    assert_eq!(
        packet_order(&r),
        [
            32788, 33134, 32386, 33443, 33409, 33783, 33923, 35278, 35559, 37723, 33069, 32124, 34358, 40131
        ]
    );
    assert_eq!(r.aux, 277);
    let q = r.quality().unwrap();
    assert_eq!(
        q.channel,
        Channel::F4,
        "counter 77 = 64 + 13: the last packet slot"
    );
    let m = round_trip(
        KeyLayout::X,
        "UD20221202006756",
        "401ccb2d5bfab9e1bf18bad5e58bba8df260c77a0ecbd7f51af1b816f6508189",
        "1320d34cf8b8112cf888e024ff48ffffffffffff000000000000000000000000",
        Mode::EPOC_X_128,
    );
    assert_eq!((m.kind, m.counter), (ReportKind::Motion, 19));
    // Big-endian words (3.2.5): d34c = -11444, f8b8 = -1864, …, then three 0xffff.
    assert_eq!(m.motion, [-11444, -1864, 4396, -1912, -8156, -184, -1, -1, -1]);
    // EPOC X motion encodes back too (big-endian).
    let cipher = Cipher::for_layout(KeyLayout::X, &Serial::from_usb("UD20221202006756").unwrap());
    let mut ct = encode(&m).unwrap();
    cipher.encrypt(&mut ct);
    assert_eq!(
        ct,
        unhex32("401ccb2d5bfab9e1bf18bad5e58bba8df260c77a0ecbd7f51af1b816f6508189")
    );
}
