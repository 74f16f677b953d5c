//! Exhaustive interleavings of the writer/reader races with loom:
//! `RUSTFLAGS="--cfg loom" cargo test -p sample-ring --release --test loom`.
#![cfg(loom)]

use sample_ring::{Next, RingItem, ring};

/// Three words that must agree; any torn read fails `from_words`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Triple(u64);

impl RingItem for Triple {
    const WORDS: usize = 3;
    fn to_words(&self, out: &mut [u64]) {
        out[0] = self.0;
        out[1] = !self.0;
        out[2] = self.0 ^ 0xA5A5;
    }
    fn from_words(w: &[u64]) -> Self {
        assert_eq!(w[1], !w[0], "torn read");
        assert_eq!(w[2], w[0] ^ 0xA5A5, "torn read");
        Triple(w[0])
    }
}

/// Read until `budget` attempts are spent; check order and loss accounting.
fn drain(r: &mut sample_ring::Reader<Triple>, budget: usize) -> (u64, u64) {
    let (mut next, mut missed) = (0u64, 0u64);
    for _ in 0..budget {
        match r.try_next() {
            Next::Item(Triple(v)) => {
                assert_eq!(v, next, "items out of order or duplicated");
                next += 1;
            }
            Next::Missed(n) => {
                next += n;
                missed += n;
            }
            Next::Empty => loom::thread::yield_now(),
        }
    }
    (next, missed)
}

#[test]
fn writer_laps_a_concurrent_reader() {
    loom::model(|| {
        let mut w = ring::<Triple>(2);
        let mut r = w.handle().reader();
        let t = loom::thread::spawn(move || {
            for i in 0..3 {
                w.push(Triple(i));
            }
        });
        let (next, _) = drain(&mut r, 3);
        assert!(next <= 3);
        t.join().unwrap();
    });
}

#[test]
fn two_readers_see_consistent_items() {
    loom::model(|| {
        let mut w = ring::<Triple>(2);
        let h = w.handle();
        let mut a = h.reader();
        let mut b = h.reader();
        let reader = loom::thread::spawn(move || drain(&mut b, 2));
        w.push(Triple(0));
        w.push(Triple(1));
        drain(&mut a, 2);
        reader.join().unwrap();
    });
}
