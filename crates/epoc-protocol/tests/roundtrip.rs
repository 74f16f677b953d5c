//! Properties over generated data: encode → encrypt → decrypt → decode is the identity for
//! every model and mode; detection recognises every layout from an encrypted stream; no input
//! of any length makes any entry point panic.

use epoc_protocol::*;
use proptest::prelude::*;

const MODES: [Mode; 6] = [
    Mode::EPOC,
    Mode::EPOC_PLUS_14,
    Mode::EPOC_PLUS_128,
    Mode::EPOC_PLUS_256,
    Mode::EPOC_X_128,
    Mode {
        model: Model::EpocX,
        resolution: Resolution::Bits16,
        eeg_rate: EegRate::Hz256,
    },
];

/// The key layouts a headset in `mode` may use.
fn layouts_for(mode: Mode) -> &'static [KeyLayout] {
    match (mode.model, mode.resolution) {
        (Model::Epoc, _) => &KeyLayout::EPOC,
        (Model::EpocPlus, Resolution::Bits14) => &[KeyLayout::Plus14],
        (Model::EpocPlus, Resolution::Bits16) => &[KeyLayout::Plus16, KeyLayout::Plus16Premium],
        (Model::EpocX, _) => &KeyLayout::EPOC_X,
    }
}

fn serial() -> impl Strategy<Value = Serial> {
    "[A-Z]{2}[0-9]{10}[0-9A-Z]{4}".prop_map(|s| Serial::from_usb(&s).unwrap())
}

fn report(mode: Mode) -> BoxedStrategy<Report> {
    match mode.resolution {
        Resolution::Bits14 => (
            any::<u8>(),
            prop::array::uniform14(0u16..16384),
            0u16..16384,
            0i16..4096,
            0i16..4096,
        )
            .prop_map(move |(counter, eeg, aux, gx, gy)| Report {
                mode,
                kind: if counter >= 128 {
                    ReportKind::Battery
                } else {
                    ReportKind::Eeg
                },
                counter,
                eeg,
                aux,
                motion: [gx, gy, 0, 0, 0, 0, 0, 0, 0],
            })
            .boxed(),
        Resolution::Bits16 => prop_oneof![
            (any::<u8>(), prop::array::uniform14(any::<u16>()), any::<u16>()).prop_map(
                move |(counter, eeg, aux)| Report {
                    mode,
                    kind: ReportKind::Eeg,
                    counter,
                    eeg,
                    aux,
                    motion: [0; 9],
                }
            ),
            (any::<u8>(), prop::array::uniform9(any::<i16>())).prop_map(move |(counter, motion)| Report {
                mode,
                kind: ReportKind::Motion,
                counter,
                eeg: [0; 14],
                aux: 0,
                motion,
            }),
        ]
        .boxed(),
    }
}

fn mode_report_layout() -> impl Strategy<Value = (Report, KeyLayout)> {
    prop::sample::select(MODES.to_vec())
        .prop_flat_map(|mode| (report(mode), prop::sample::select(layouts_for(mode))))
}

/// A stream as a headset sends it: consecutive EEG counters, motion interleaved in 16-bit.
fn stream(mode: Mode, start: u8, len: usize) -> Vec<Report> {
    let mut out = Vec::new();
    let eeg_mod = match mode.resolution {
        Resolution::Bits14 => 129u16,
        Resolution::Bits16 => mode.eeg_rate.hz(),
    };
    let mut seq = u16::from(start) % eeg_mod;
    for i in 0..len {
        let battery = mode.resolution == Resolution::Bits14 && seq == 128;
        out.push(Report {
            mode,
            kind: if battery {
                ReportKind::Battery
            } else {
                ReportKind::Eeg
            },
            counter: if battery { 240 } else { seq as u8 },
            eeg: [8000 + i as u16 % 100; 14],
            aux: 0,
            motion: [0; 9],
        });
        if mode.resolution == Resolution::Bits16 && i % 2 == 1 {
            out.push(Report {
                mode,
                kind: ReportKind::Motion,
                counter: (i / 2 % 128) as u8,
                eeg: [0; 14],
                aux: 0,
                motion: [10, -3, 7, 0, 16384, 0, 300, 200, -100],
            });
        }
        seq = (seq + 1) % eeg_mod;
    }
    out
}

proptest! {
    #[test]
    fn encode_encrypt_decrypt_decode_is_identity((r, layout) in mode_report_layout(), serial in serial()) {
        let cipher = Cipher::for_layout(layout, &serial);
        let mut bytes = encode(&r).unwrap();
        cipher.encrypt(&mut bytes);
        cipher.decrypt(&mut bytes);
        prop_assert_eq!(decode(&bytes, r.mode).unwrap(), r);
    }

    #[test]
    fn detection_finds_the_mode_of_any_stream(
        mode in prop::sample::select(MODES.to_vec()),
        pick in any::<prop::sample::Index>(),
        serial in serial(),
        start in any::<u8>(),
    ) {
        let layout = *pick.get(layouts_for(mode));
        let cipher = Cipher::for_layout(layout, &serial);
        // 300 EEG reports: long enough that a 256 Hz stream shows a counter above 127.
        let reports: Vec<[u8; 32]> = stream(mode, start, 300)
            .iter()
            .map(|r| { let mut b = encode(r).unwrap(); cipher.encrypt(&mut b); b })
            .collect();
        let found = detect(&serial, &reports, &KeyLayout::ALL).unwrap();
        prop_assert_eq!(found.mode, mode);
        prop_assert!(found.matched_percent >= 99);
        // A wrong serial decrypts nothing.
        let other = Serial::from_usb("XX00000000000!!!").unwrap();
        prop_assert!(detect(&other, &reports, &KeyLayout::ALL).is_err());
    }

    #[test]
    fn decoder_counts_dropped_reports(mode in prop::sample::select(MODES.to_vec()), serial in serial(), drop_at in 10usize..200, drop_n in 1usize..20) {
        let layout = layouts_for(mode)[0];
        let cipher = Cipher::for_layout(layout, &serial);
        let eeg: Vec<Report> = stream(mode, 0, 250).into_iter().filter(Report::has_eeg).collect();
        let mut decoder = Decoder::new(cipher.clone(), mode);
        for (i, r) in eeg.iter().enumerate() {
            if (drop_at..drop_at + drop_n).contains(&i) { continue; }
            let mut b = encode(r).unwrap();
            cipher.encrypt(&mut b);
            let d = decoder.decode(&b).unwrap();
            prop_assert_eq!(d.lost as usize, if i == drop_at + drop_n { drop_n } else { 0 });
        }
        prop_assert_eq!(decoder.lost_total(), drop_n as u64);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), mode in prop::sample::select(MODES.to_vec())) {
        if let Ok(r) = report_from_read(&bytes) {
            if let Ok(rep) = decode(&r, mode) {
                let _ = (rep.quality(), rep.battery(), rep.eeg_microvolts(), rep.gyro14());
                // Whatever decodes, encodes back to a report that decodes the same.
                let again = encode(&rep).unwrap();
                prop_assert_eq!(decode(&again, mode).unwrap(), rep);
            }
            let mut dec = Decoder::new(Cipher::new([7; 16], true), mode);
            let _ = dec.decode(&r);
        }
        let _ = parse_capture(&bytes);
        let _ = ble::Reassembler::new().push(&bytes);
        let _ = ble::parse_name(&String::from_utf8_lossy(&bytes));
        let _ = Serial::from_usb(&String::from_utf8_lossy(&bytes));
        let chunks: Vec<[u8; 32]> = bytes.chunks_exact(32).map(|c| c.try_into().unwrap()).collect();
        let _ = detect(&Serial::from_usb("SN201211154288GM").unwrap(), &chunks, &KeyLayout::ALL);
    }
}
