//! Ring throughput: items/s written while 1 or 8 readers keep up (issue target: ≥ 50 M items/s
//! with one reader). Items are 56 bytes (7 words), the packed size of a decoded headset
//! sample, so stamp + item fill exactly one cache line.
//! Run: `cargo bench -p sample-ring --bench throughput`.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sample_ring::{Next, RingItem, ring};

#[derive(Clone, Copy)]
struct Item([u64; 7]);

impl RingItem for Item {
    const WORDS: usize = 7;
    fn to_words(&self, out: &mut [u64]) {
        out.copy_from_slice(&self.0);
    }
    fn from_words(words: &[u64]) -> Self {
        let mut a = [0; 7];
        a.copy_from_slice(words);
        Item(a)
    }
}

fn run(capacity: usize, readers: usize, items: u64) -> (f64, u64, u64) {
    let mut w = ring::<Item>(capacity);
    let h = w.handle();
    let done = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..readers)
        .map(|_| {
            let mut r = h.reader();
            let done = done.clone();
            std::thread::spawn(move || {
                let (mut got, mut missed, mut sum) = (0u64, 0u64, 0u64);
                loop {
                    match r.try_next() {
                        Next::Item(i) => {
                            got += 1;
                            sum = sum.wrapping_add(i.0[3]);
                        }
                        Next::Missed(n) => missed += n,
                        Next::Empty => {
                            if done.load(Ordering::Acquire) && r.lag() == 0 {
                                break;
                            }
                            // A reader that has caught up gives its core away: on this
                            // 2-core machine 8 spinning readers would starve the writer.
                            std::thread::yield_now();
                        }
                    }
                }
                std::hint::black_box(sum);
                (got, missed)
            })
        })
        .collect();
    let start = Instant::now();
    for i in 0..items {
        w.push(Item([i; 7]));
    }
    let secs = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Release);
    let (mut got, mut missed) = (0, 0);
    for t in threads {
        let (g, m) = t.join().expect("reader thread");
        got += g;
        missed += m;
    }
    (items as f64 / secs, got, missed)
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let items = if quick { 100_000 } else { 50_000_000 };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("sample-ring throughput, 56-byte items, {cores} cores");
    // A small ring stays in the reader's cache, so every write must invalidate the reader's
    // copy of the line; a ring larger than L2 avoids that. Both sizes are reported.
    for (capacity, readers) in [(4096, 0usize), (4096, 1), (4096, 8), (65536, 1), (65536, 8)] {
        let (rate, got, missed) = run(capacity, readers, items);
        let share = if readers == 0 {
            100.0
        } else {
            got as f64 * 100.0 / (items as f64 * readers as f64)
        };
        println!(
            "  capacity {capacity:>5}, {readers} reader(s): {:>6.1} M items/s written; readers received {share:5.1} % ({:>6.1} M reads/s delivered in all, {missed} missed)",
            rate / 1e6,
            rate * share / 100.0 * readers as f64 / 1e6
        );
    }
}
