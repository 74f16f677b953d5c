//! The classifier on the virtual headset "thinking" scripted commands, through the real
//! encrypt → decrypt → decode path: trained on 8 s epochs as the training API records them,
//! judged on held-out time.

use epoc_driver::virtual_headset::{VIRTUAL_EEG_HZ, decoded_eeg};
use epoc_driver::virtual_script::VirtualScript;
use epoc_mental::{ComFrame, EpochRecorder, EpochResult, MentalCommands, TrainingSet};

/// EEG (µV) of `secs` seconds of virtual headset 1 acting out `script`.
fn eeg(script: &str, secs: f64) -> Vec<[f64; 14]> {
    decoded_eeg(1, &VirtualScript::parse(script).unwrap(), secs).unwrap()
}

/// A script, its training epochs (start, action) and its test stretches (from, to, action).
type Session = (String, Vec<(f64, &'static str)>, Vec<(f64, f64, &'static str)>);

fn session(epochs: usize) -> Session {
    let (mut text, mut train, mut test) = (String::new(), Vec::new(), Vec::new());
    let mut t = 5.0;
    for _ in 0..epochs {
        for action in ["neutral", "push", "pull"] {
            if action != "neutral" {
                text.push_str(&format!("{t} {action} 9\n"));
            }
            train.push((t, action));
            t += 10.0;
        }
    }
    for action in ["push", "neutral", "pull", "neutral"] {
        if action != "neutral" {
            text.push_str(&format!("{t} {action} 10\n"));
        }
        test.push((t, t + 10.0, action));
        t += 10.0;
    }
    (text, train, test)
}

/// Accuracy on the test stretches (skipping each stretch's first 1.5 s: the window fills)
/// after training on `epochs` epochs per action.
fn accuracy(epochs: usize) -> f64 {
    let (script, train, test) = session(epochs);
    let end = test.last().unwrap().1;
    let eeg = eeg(&script, end);
    let rate = f64::from(VIRTUAL_EEG_HZ);
    let mut set = TrainingSet::default();
    for (start, action) in &train {
        let mut rec = EpochRecorder::new(VIRTUAL_EEG_HZ as u16);
        let from = (start * rate) as usize;
        let result = eeg[from..].iter().find_map(|s| rec.push(*s)).unwrap();
        match result {
            EpochResult::Succeeded(e) => set.add(action, e),
            EpochResult::Failed(f) => panic!("{action} at {start}: {f}"),
        }
    }
    let active = vec!["push".to_owned(), "pull".to_owned()];
    let mut live = MentalCommands::new(VIRTUAL_EEG_HZ as u16);
    live.set_classifier(set.fit(&active), Vec::new());
    let mut frames: Vec<(f64, ComFrame)> = Vec::new();
    for (i, s) in eeg.iter().enumerate() {
        if let Some(f) = live.push(*s) {
            frames.push((i as f64 / rate, f));
        }
    }
    let (mut right, mut total) = (0, 0);
    for (from, to, action) in &test {
        for (_, f) in frames.iter().filter(|(t, _)| *t >= from + 1.5 && *t < *to) {
            total += 1;
            if f.action == *action {
                right += 1;
            }
        }
    }
    right as f64 / total as f64
}

#[test]
fn trained_commands_are_recognised_on_held_out_time() {
    for epochs in [1, 2] {
        let a = accuracy(epochs);
        println!(
            "{epochs} epoch(s) of 8 s per action: {:.1} % of com frames right",
            a * 100.0
        );
        assert!(a >= 0.9, "{epochs} epochs: {a}");
    }
}
