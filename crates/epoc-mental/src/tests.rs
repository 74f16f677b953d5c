use super::*;
use std::f64::consts::TAU;

const RATE: u16 = 128;

/// Deterministic pseudo-random numbers in [-1, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Spatial patterns of three "thoughts": where a 12 Hz source shows.
const PATTERNS: [(&str, [f64; EEG_CHANNELS]); 3] = [
    ("neutral", [0.0; EEG_CHANNELS]),
    (
        "push",
        [
            0.0, 0.2, 1.0, 0.8, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.4, 0.1, 0.0,
        ],
    ),
    (
        "pull",
        [
            0.0, 0.0, 0.1, 0.2, 0.3, 0.9, 0.6, 0.2, 0.1, 0.1, 0.0, 0.0, 0.0, 0.0,
        ],
    ),
];

fn sample(n: u64, noise: &mut Noise, pattern: &[f64; EEG_CHANNELS]) -> [f64; EEG_CHANNELS] {
    let t = n as f64 / f64::from(RATE);
    let source = 10.0 * (TAU * 12.0 * t + noise.next()).sin();
    std::array::from_fn(|ch| 4200.0 + 3.0 * noise.next() + pattern[ch] * source)
}

fn train(noise: &mut Noise, epochs: usize) -> TrainingSet {
    let mut set = TrainingSet::default();
    let mut n = 0u64;
    for _ in 0..epochs {
        for (action, pattern) in &PATTERNS {
            let mut rec = EpochRecorder::new(RATE);
            loop {
                n += 1;
                if let Some(r) = rec.push(sample(n, noise, pattern)) {
                    match r {
                        EpochResult::Succeeded(e) => set.add(action, e),
                        EpochResult::Failed(f) => panic!("{action}: only {f} usable"),
                    }
                    break;
                }
            }
        }
    }
    set
}

#[test]
fn an_epoch_is_fifteen_windows_after_a_second_of_filling() {
    let mut noise = Noise(7);
    let mut rec = EpochRecorder::new(RATE);
    let mut n = 0;
    let result = loop {
        n += 1;
        if let Some(r) = rec.push(sample(n, &mut noise, &PATTERNS[1].1)) {
            break r;
        }
    };
    assert_eq!(n, 9 * 128);
    match result {
        EpochResult::Succeeded(e) => assert_eq!(e.windows.len(), 16),
        EpochResult::Failed(f) => panic!("{f}"),
    }
}

#[test]
fn an_epoch_full_of_artefacts_fails() {
    let mut noise = Noise(7);
    let mut rec = EpochRecorder::new(RATE);
    let mut n = 0;
    let result = loop {
        n += 1;
        let mut s = sample(n, &mut noise, &PATTERNS[0].1);
        if n % 64 == 0 {
            s[0] += 500.0; // a jump every half second spoils every window
        }
        if let Some(r) = rec.push(s) {
            break r;
        }
    };
    assert!(
        matches!(result, EpochResult::Failed(f) if f < MIN_USABLE),
        "{result:?}"
    );
}

#[test]
fn trained_actions_are_told_apart_on_new_data() {
    let mut noise = Noise(42);
    let set = train(&mut noise, 3);
    let active = vec!["push".to_owned(), "pull".to_owned()];
    let classifier = set.fit(&active).unwrap();
    let mut live = MentalCommands::new(RATE);
    live.set_classifier(Some(classifier), Vec::new());
    let mut n = 1_000_000;
    for (action, pattern) in &PATTERNS {
        let frames: Vec<ComFrame> = (0..10 * u64::from(RATE))
            .filter_map(|_| {
                n += 1;
                live.push(sample(n, &mut noise, pattern))
            })
            .collect();
        // After the window has filled with the new state.
        let settled = &frames[16..];
        let right = settled.iter().filter(|f| f.action == *action).count();
        assert!(
            right * 10 >= settled.len() * 9,
            "{action}: {right}/{}",
            settled.len()
        );
        if *action != "neutral" {
            assert!(
                settled
                    .iter()
                    .filter(|f| f.action == *action)
                    .all(|f| f.power > 0.5)
            );
        }
    }
}

#[test]
fn cross_validation_and_brain_map_reflect_separable_classes() {
    let mut noise = Noise(3);
    let set = train(&mut noise, 3);
    let active = vec!["push".to_owned(), "pull".to_owned()];
    for (action, accuracy) in set.cross_validate(&active) {
        assert!(accuracy.unwrap() > 0.9, "{action}: {accuracy:?}");
    }
    let map = set.fit(&active).unwrap().brain_map();
    assert_eq!(map.len(), 3);
    let dist = |a: [f64; 2], b: [f64; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    assert!(dist(map[1].1, map[2].1) > 0.1, "{map:?}");
}

#[test]
fn sensitivity_biases_toward_an_action() {
    let mut noise = Noise(11);
    let set = train(&mut noise, 2);
    let c = set.fit(&["push".to_owned()]).unwrap();
    // States from neutral to push: high sensitivity never says neutral where low says push,
    // and somewhere between them it says push where low says neutral.
    let mut flipped = 0;
    for step in 1..20 {
        let f = f64::from(step) / 20.0;
        let state: [f64; EEG_CHANNELS] = PATTERNS[1].1.map(|w| w * f);
        let mut w = Windower::new(RATE);
        for n in 0..256 {
            w.push(sample(n, &mut noise, &state));
        }
        let cov = w.covariance().unwrap();
        let low = c.classify(&cov, &[("push".to_owned(), 1)]);
        let high = c.classify(&cov, &[("push".to_owned(), 10)]);
        assert_eq!(high.distances, low.distances);
        assert!(!(low.action == "push" && high.action == "neutral"), "at {f}");
        if low.action == "neutral" && high.action == "push" {
            flipped += 1;
        }
    }
    assert!(flipped > 0);
}

#[test]
fn a_training_set_survives_serialisation() {
    let mut noise = Noise(5);
    let set = train(&mut noise, 1);
    let text = serde_json::to_string(&set).unwrap();
    let back: TrainingSet = serde_json::from_str(&text).unwrap();
    assert_eq!(back, set);
    assert_eq!(back.times("push"), 1);
}

#[test]
fn without_neutral_there_is_no_classifier() {
    let mut noise = Noise(5);
    let mut set = train(&mut noise, 1);
    set.erase("neutral");
    assert!(set.fit(&["push".to_owned(), "pull".to_owned()]).is_none());
}
