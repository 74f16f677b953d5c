use super::*;
use crate::training::{ExpressionEpoch, ExpressionRecorder, trained_templates};
use std::f64::consts::TAU;

const RATE: u16 = 256;

/// Deterministic noise in [-1, 1).
fn noise(n: u64, ch: usize) -> f64 {
    let x = n
        .wrapping_mul(6364136223846793005)
        .wrapping_add((ch as u64).wrapping_mul(1442695040888963407))
        >> 11;
    (x % 2_000_000) as f64 / 1_000_000.0 - 1.0
}

/// Background: DC, 10 Hz alpha, white noise of ±3 µV.
fn background(n: u64) -> [f64; EEG_CHANNELS] {
    let t = n as f64 / f64::from(RATE);
    std::array::from_fn(|ch| 4200.0 + 8.0 * (TAU * 10.0 * t).sin() + 3.0 * noise(n, ch))
}

/// A raised cosine of `len` samples starting at `at`, peak 1.
fn bump(n: u64, at: u64, len: u64) -> f64 {
    if n < at || n >= at + len {
        return 0.0;
    }
    0.5 * (1.0 - (TAU * (n - at) as f64 / len as f64).cos())
}

fn run(secs: u64, add: impl Fn(u64, &mut [f64; EEG_CHANNELS])) -> Vec<FacFrame> {
    let mut d = FacialDetector::new(RATE);
    (0..secs * u64::from(RATE))
        .filter_map(|n| {
            let mut s = background(n);
            add(n, &mut s);
            d.push(s)
        })
        .collect()
}

fn eye_events(frames: &[FacFrame]) -> Vec<EyeEvent> {
    frames.iter().filter_map(|f| f.eye).collect()
}

#[test]
fn thirty_two_frames_a_second() {
    assert_eq!(run(2, |_, _| {}).len(), 64);
}

#[test]
fn a_blink_is_found_once_near_its_onset_and_nothing_in_quiet() {
    let at = 5 * 256;
    let frames = run(10, |n, s| {
        let b = 150.0 * bump(n, at, 64);
        s[0] += b;
        s[13] += b;
        s[1] += 0.5 * b;
        s[12] += 0.5 * b;
    });
    let ev = eye_events(&frames);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].action, EyeAction::Blink);
    assert!(ev[0].onset.abs_diff(at) < 26, "onset {} vs {at}", ev[0].onset);
}

#[test]
fn one_sided_closure_is_a_wink_of_that_side() {
    for (side, want) in [(0usize, EyeAction::WinkLeft), (13, EyeAction::WinkRight)] {
        let other = 13 - side;
        let frames = run(8, |n, s| {
            let b = 150.0 * bump(n, 5 * 256, 100);
            s[side] += b;
            s[other] += 0.25 * b;
        });
        let ev = eye_events(&frames);
        assert_eq!(ev.iter().map(|e| e.action).collect::<Vec<_>>(), vec![want]);
    }
}

#[test]
fn a_look_and_its_return_is_one_look_of_that_side() {
    for (sign, want) in [(1.0, EyeAction::LookLeft), (-1.0, EyeAction::LookRight)] {
        let frames = run(10, |n, s| {
            // Eyes to one side at 5 s, back at 6 s, each a 50 ms move.
            let ramp = |at: u64| ((n as f64 - at as f64) / 13.0).clamp(0.0, 1.0);
            let pos = sign * 80.0 * (ramp(5 * 256) - ramp(6 * 256));
            s[1] += pos;
            s[12] -= pos;
        });
        let ev = eye_events(&frames);
        assert_eq!(
            ev.iter().map(|e| e.action).collect::<Vec<_>>(),
            vec![want],
            "{ev:?}"
        );
    }
}

fn emg(n: u64, amp: f64) -> f64 {
    // Sum of a few tones in 28–42 Hz with drifting phases: band-limited muscle noise.
    let t = n as f64 / f64::from(RATE);
    amp * [28.0, 31.5, 35.0, 38.5, 42.0]
        .iter()
        .enumerate()
        .map(|(i, f)| (TAU * f * t + 7.0 * noise(n / 16, i)).sin())
        .sum::<f64>()
        / 2.2
}

#[test]
fn each_expression_is_told_apart_by_where_it_shows() {
    for (action, pattern) in TEMPLATES {
        let frames = run(16, |n, s| {
            if (12 * 256..14 * 256).contains(&n) {
                for ch in 0..EEG_CHANNELS {
                    s[ch] += pattern[ch] * emg(n, 20.0);
                }
            }
        });
        let during: Vec<_> = frames
            .iter()
            .filter(|f| (12 * 256 + 102..14 * 256).contains(&f.sample))
            .collect();
        let t = Thresholds::default();
        let hits = during
            .iter()
            .filter(|f| {
                let (u, _, l, _) = t.apply(f);
                (if action.is_upper() { u } else { l }) == action.name()
            })
            .count();
        assert!(
            hits * 10 >= during.len() * 9,
            "{action:?}: {hits}/{} {:?}",
            during.len(),
            during.iter().map(|f| t.apply(f)).collect::<Vec<_>>()
        );
        let before: Vec<_> = frames
            .iter()
            .filter(|f| (10 * 256..12 * 256).contains(&f.sample))
            .collect();
        assert!(
            before
                .iter()
                .all(|f| t.apply(f) == ("neutral", 0.0, "neutral", 0.0))
        );
    }
}

#[test]
fn a_higher_threshold_asks_for_a_stronger_expression() {
    let frame = FacFrame {
        sample: 0,
        eye: None,
        face: Some(MuscleReading {
            action: FaceAction::Clench,
            power: 0.6,
        }),
    };
    let mut t = Thresholds::default();
    assert_eq!(t.apply(&frame), ("neutral", 0.0, "clench", 0.6));
    t.set(FaceAction::Clench, 700);
    assert_eq!(t.apply(&frame), ("neutral", 0.0, "neutral", 0.0));
    t.set(FaceAction::Clench, 5000);
    assert_eq!(t.get(FaceAction::Clench), 1000);
}

// Trained signatures (training.rs).
fn training_emg(n: u64) -> f64 {
    let t = n as f64 / f64::from(RATE);
    [34.0, 37.5, 41.0]
        .iter()
        .enumerate()
        .map(|(i, f)| (TAU * f * t + 7.0 * noise(n / 16, i)).sin())
        .sum::<f64>()
        * 8.0
}

/// This user's smile shows where the universal templates expect a clench.
const ODD_SMILE: [f64; EEG_CHANNELS] = [
    0.0, 0.7, 0.2, 0.9, 1.0, 0.4, 0.0, 0.0, 0.4, 1.0, 0.9, 0.2, 0.7, 0.0,
];

fn odd_smile(n: u64, active: bool) -> [f64; EEG_CHANNELS] {
    std::array::from_fn(|ch| {
        4200.0
            + 3.0 * noise(n, ch)
            + if active {
                ODD_SMILE[ch] * training_emg(n)
            } else {
                0.0
            }
    })
}

fn named_during(detector: &mut FacialDetector, from: u64, secs: u64) -> Vec<&'static str> {
    let t = crate::Thresholds::default();
    (from..from + secs * u64::from(RATE))
        .filter_map(|n| detector.push(odd_smile(n, n - from > 64)))
        .map(|f| t.apply(&f).2)
        .filter(|a| *a != "neutral")
        .collect()
}

#[test]
fn a_trained_signature_names_the_users_own_pattern() {
    let mut d = FacialDetector::new(RATE);
    let mut n = 0;
    for _ in 0..12 * u64::from(RATE) {
        d.push(odd_smile(n, false));
        n += 1;
    }
    // Universal: the odd smile reads as a clench.
    let universal = named_during(&mut d, n, 3);
    n += 3 * u64::from(RATE);
    assert!(
        universal.iter().all(|a| *a == "clench") && !universal.is_empty(),
        "{universal:?}"
    );
    for _ in 0..2 * u64::from(RATE) {
        d.push(odd_smile(n, false));
        n += 1;
    }
    // Train smile: hold it for the epoch.
    let mut rec = ExpressionRecorder::new(Some(FaceAction::Smile), RATE);
    let pattern = loop {
        d.push(odd_smile(n, true));
        n += 1;
        if let Some(r) = rec.push(&d) {
            break r;
        }
    };
    let ExpressionEpoch::Succeeded(pattern) = pattern else {
        panic!("{pattern:?}")
    };
    for _ in 0..3 * u64::from(RATE) {
        d.push(odd_smile(n, false));
        n += 1;
    }
    d.set_signature(&trained_templates([("smile", pattern.as_slice())]));
    let trained = named_during(&mut d, n, 3);
    assert!(
        trained.iter().all(|a| *a == "smile") && !trained.is_empty(),
        "{trained:?}"
    );
}

#[test]
fn an_epoch_without_the_expression_fails() {
    let mut d = FacialDetector::new(RATE);
    let mut rec = ExpressionRecorder::new(Some(FaceAction::Frown), RATE);
    let mut n = 0;
    let r = loop {
        d.push(odd_smile(n, false));
        n += 1;
        if let Some(r) = rec.push(&d) {
            break r;
        }
    };
    assert!(matches!(r, ExpressionEpoch::Failed(s) if s < 0.25), "{r:?}");
    // 10 s of warm-up, then the 8 s epoch.
    assert_eq!(
        n,
        18 * u64::from(RATE) - 1,
        "the epoch starts once the detector is warm"
    );
}
