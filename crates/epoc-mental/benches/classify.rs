//! CPU of live mental commands: a minute of 256 Hz EEG through `MentalCommands` with a
//! classifier of neutral + 4 actions (band-pass of 14 channels per sample, a covariance and
//! five Riemannian distances 8 times a second). Prints the share of one core at the real rate.
//! Run: `cargo bench -p epoc-mental --bench classify`.
#![allow(missing_docs)]

use std::f64::consts::TAU;
use std::time::Instant;

use epoc_mental::{EpochRecorder, EpochResult, MentalCommands, TrainingSet};

const RATE: u16 = 256;

fn sample(n: u64, pattern: usize) -> [f64; 14] {
    let t = n as f64 / f64::from(RATE);
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    std::array::from_fn(|ch| {
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let noise = (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let w = if pattern > 0 && (ch + pattern).is_multiple_of(5) {
            1.0
        } else {
            0.0
        };
        4200.0 + 4.0 * noise + 8.0 * w * (TAU * 12.0 * t).sin()
    })
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let actions = ["neutral", "push", "pull", "lift", "drop"];
    let mut set = TrainingSet::default();
    let mut n = 0;
    for (k, action) in actions.iter().enumerate() {
        let mut rec = EpochRecorder::new(RATE);
        loop {
            n += 1;
            if let Some(EpochResult::Succeeded(e)) = rec.push(sample(n, k)) {
                set.add(action, e);
                break;
            }
        }
    }
    let active: Vec<String> = actions[1..].iter().map(|a| (*a).to_owned()).collect();
    let mut live = MentalCommands::new(RATE);
    live.set_classifier(set.fit(&active), Vec::new());
    let seconds = if quick { 2 } else { 60 };
    let samples = seconds * u64::from(RATE);
    let start = Instant::now();
    let mut frames = 0;
    for i in 0..samples {
        if live.push(sample(n + i, (i / 2560) as usize % 5)).is_some() {
            frames += 1;
        }
    }
    let spent = start.elapsed().as_secs_f64();
    println!(
        "mental commands, neutral + 4 actions: {seconds} s of 256 Hz EEG ({frames} com frames) in {:.1} ms: \
         {:.2} % of one core at the real rate",
        spent * 1000.0,
        spent / seconds as f64 * 100.0
    );
}
