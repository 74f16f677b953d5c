//! Signal quality on a virtual headset with scripted faulty sensors, through the real
//! encrypt → decrypt → decode path: the faults are the truth.

use epoc_driver::virtual_headset::{VIRTUAL_EEG_HZ, decoded_eeg};
use epoc_driver::virtual_script::VirtualScript;
use epoc_protocol::DISPLAY_ORDER;
use epoc_quality::{SignalQuality, overall};

/// The grades of every second of `script` on virtual headset 1, with perfect contact.
fn graded(script: &str, seconds: f64) -> Vec<[u8; 14]> {
    graded_on(1, script, seconds)
}

fn graded_on(headset: u32, script: &str, seconds: f64) -> Vec<[u8; 14]> {
    let script = VirtualScript::parse(script).expect("script");
    let mut q = SignalQuality::new(VIRTUAL_EEG_HZ as u16);
    decoded_eeg(headset, &script, seconds)
        .expect("virtual headset")
        .into_iter()
        .filter_map(|uv| q.push(uv, &[4; 14]))
        .collect()
}

fn at(name: &str) -> usize {
    DISPLAY_ORDER.iter().position(|c| c.name() == name).expect("site")
}

#[test]
fn each_scripted_fault_lowers_only_its_sensor() {
    let seconds = graded("0 flat:O1\n0 rail:T7\n0 mains:P8\n0 loose:F3\n0 emg:T8\n", 10.0);
    assert_eq!(seconds.len(), 10);
    for g in &seconds[1..] {
        assert_eq!(g[at("O1")], 0, "flat: {g:?}");
        assert_eq!(g[at("T7")], 0, "railing: {g:?}");
        assert!(g[at("P8")] <= 2, "mains: {g:?}");
        assert!(g[at("F3")] <= 2, "loose: {g:?}");
        assert!(g[at("T8")] <= 2, "heavy EMG: {g:?}");
        for ch in ["AF3", "F7", "FC5", "P7", "O2", "FC6", "F4", "F8", "AF4"] {
            assert!(g[at(ch)] >= 3, "{ch} is fine: {g:?}");
        }
    }
}

#[test]
fn a_clean_headset_is_good_everywhere_and_a_fault_that_ends_recovers() {
    // O1 goes flat from 2 s to 5 s (a 3 s fault), then the sensor is fine again.
    let seconds = graded("2 flat:O1 3\n", 9.0);
    let o1: Vec<u8> = seconds.iter().map(|g| g[at("O1")]).collect();
    assert!(o1[0] >= 3 && o1[1] >= 3, "before the fault: {o1:?}");
    assert_eq!(&o1[3..5], &[0, 0], "during the fault: {o1:?}");
    assert!(o1[6..].iter().all(|&g| g >= 3), "after the fault: {o1:?}");
    for g in &seconds[6..] {
        assert!(overall(g) >= 75, "a clean headset's overall quality: {g:?}");
    }
}

#[test]
fn a_fault_for_one_headset_leaves_the_others_alone() {
    let script = "0 flat:O1@2\n";
    assert!(graded_on(1, script, 3.0).iter().all(|g| g[at("O1")] >= 3));
    assert!(graded_on(2, script, 3.0).iter().all(|g| g[at("O1")] == 0));
}
