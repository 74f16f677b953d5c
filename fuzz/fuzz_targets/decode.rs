//! Arbitrary bytes into every entry point of `epoc-protocol` that sees outside data.
//! Run by hand: `cargo fuzz run decode` (see README.md).
#![no_main]

use epoc_protocol::{
    Cipher, Decoder, EegRate, KeyLayout, Mode, Model, Resolution, Serial, ble, decode, detect, encode,
    parse_capture, report_from_read,
};
use libfuzzer_sys::fuzz_target;

const MODES: [Mode; 5] = [
    Mode::EPOC,
    Mode::EPOC_PLUS_14,
    Mode::EPOC_PLUS_256,
    Mode::EPOC_X_128,
    Mode { model: Model::EpocX, resolution: Resolution::Bits16, eeg_rate: EegRate::Hz256 },
];

fuzz_target!(|data: &[u8]| {
    for chunk in data.chunks(32) {
        if let Ok(report) = report_from_read(chunk) {
            for mode in MODES {
                if let Ok(r) = decode(&report, mode) {
                    let _ = (r.quality(), r.battery(), r.eeg_microvolts());
                    let again = encode(&r).expect("a decoded report encodes");
                    assert_eq!(decode(&again, mode).expect("re-decodes"), r);
                }
                let mut decoder = Decoder::new(Cipher::new([0x42; 16], mode.model == Model::EpocX), mode);
                let _ = decoder.decode(&report);
            }
        }
    }
    let _ = parse_capture(data);
    let mut reassembler = ble::Reassembler::new();
    for note in data.chunks(20) {
        let _ = reassembler.push(note);
    }
    let text = String::from_utf8_lossy(data);
    let _ = ble::parse_name(&text);
    if let Ok(serial) = Serial::from_usb(&text) {
        let _ = KeyLayout::ALL.map(|l| l.derive(&serial));
    }
    let reports: Vec<[u8; 32]> = data.chunks_exact(32).filter_map(|c| c.try_into().ok()).collect();
    if let Ok(serial) = Serial::from_usb("UD20160103001874") {
        let _ = detect(&serial, &reports, &KeyLayout::ALL);
    }
});
