//! Signal quality on a virtual headset with scripted faulty sensors, through the real
//! encrypt → decrypt → decode path: the faults are the truth.

use std::time::Duration;

use epoc_driver::Source;
use epoc_driver::virtual_headset::{VIRTUAL_EEG_HZ, VirtualHeadset, virtual_serial};
use epoc_driver::virtual_script::VirtualScript;
use epoc_protocol::{Cipher, DISPLAY_ORDER, KeyLayout, Mode, ReportKind, Serial};
use epoc_quality::SignalQuality;

#[test]
fn each_scripted_fault_lowers_only_its_sensor() {
    let script = VirtualScript::parse("0 flat:O1\n0 rail:T7\n0 mains:P8\n0 loose:F3\n").unwrap();
    let mut source = VirtualHeadset::scripted(1, false, &script).unwrap();
    let serial = Serial::from_usb(&virtual_serial(1)).unwrap();
    let mut decoder = epoc_protocol::Decoder::new(
        Cipher::for_layout(KeyLayout::Plus16, &serial),
        Mode::EPOC_PLUS_256,
    );
    let mut q = SignalQuality::new(VIRTUAL_EEG_HZ as u16);
    let mut seconds = Vec::new();
    while seconds.len() < 10 {
        let bytes = source.read(Duration::from_secs(1)).unwrap().unwrap();
        let d = decoder.decode(&bytes).unwrap();
        if d.report.kind == ReportKind::Eeg
            && let Some(g) = q.push(d.report.eeg_microvolts(), &[4; 14])
        {
            seconds.push(g);
        }
    }
    let at = |name: &str| DISPLAY_ORDER.iter().position(|c| c.name() == name).unwrap();
    for g in &seconds[1..] {
        assert_eq!(g[at("O1")], 0, "flat: {g:?}");
        assert_eq!(g[at("T7")], 0, "railing: {g:?}");
        assert!(g[at("P8")] <= 2, "mains: {g:?}");
        assert!(g[at("F3")] <= 2, "loose: {g:?}");
        for ch in ["AF3", "F7", "FC5", "P7", "O2", "T8", "FC6", "F4", "F8", "AF4"] {
            assert!(g[at(ch)] >= 3, "{ch} is fine: {g:?}");
        }
    }
}
