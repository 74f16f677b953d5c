//! Behaviour of the ring: order, broadcast, exact loss counts, and untorn items under real
//! concurrency (the exhaustive interleavings are in `loom.rs`).
#![cfg(not(loom))]

use sample_ring::{Next, RingItem, ring};

/// A test item whose words all derive from one number, so a torn read is detectable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seq(u64);

impl RingItem for Seq {
    const WORDS: usize = 8;
    fn to_words(&self, out: &mut [u64]) {
        for (i, w) in out.iter_mut().enumerate() {
            *w = self
                .0
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(i as u32 * 7);
        }
    }
    fn from_words(words: &[u64]) -> Self {
        let v = words[0].wrapping_mul(0xF1DE_83E1_9937_733D); // inverse of the multiplier
        for (i, w) in words.iter().enumerate() {
            assert_eq!(
                *w,
                v.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(i as u32 * 7),
                "torn item"
            );
        }
        Seq(v)
    }
}

#[test]
fn items_come_out_in_order_then_empty() {
    let mut w = ring::<Seq>(8);
    let mut r = w.handle().reader();
    assert_eq!(r.try_next(), Next::Empty);
    for i in 0..5 {
        w.push(Seq(i));
    }
    for i in 0..5 {
        assert_eq!(r.try_next(), Next::Item(Seq(i)));
    }
    assert_eq!(r.try_next(), Next::Empty);
    assert_eq!(r.lag(), 0);
}

#[test]
fn every_reader_sees_every_item() {
    let mut w = ring::<Seq>(16);
    let h = w.handle();
    let mut readers: Vec<_> = (0..4).map(|_| h.reader()).collect();
    for i in 0..10 {
        w.push(Seq(i));
    }
    for r in &mut readers {
        let got: Vec<u64> = std::iter::from_fn(|| match r.try_next() {
            Next::Item(s) => Some(s.0),
            _ => None,
        })
        .collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }
}

#[test]
fn a_lapped_reader_is_told_exactly_what_it_missed() {
    let mut w = ring::<Seq>(4);
    let mut r = w.handle().reader();
    for i in 0..10 {
        w.push(Seq(i));
    }
    assert_eq!(r.lag(), 10);
    assert_eq!(r.try_next(), Next::Missed(6), "items 0..=5 were overwritten");
    for i in 6..10 {
        assert_eq!(r.try_next(), Next::Item(Seq(i)));
    }
    assert_eq!(r.try_next(), Next::Empty);
}

#[test]
fn new_readers_start_now_or_at_the_oldest() {
    let mut w = ring::<Seq>(4);
    for i in 0..6 {
        w.push(Seq(i));
    }
    let h = w.handle();
    let mut live = h.reader();
    let mut old = h.reader_from_oldest();
    assert_eq!(live.try_next(), Next::Empty);
    assert_eq!(old.try_next(), Next::Item(Seq(2)));
    w.push(Seq(6));
    assert_eq!(live.try_next(), Next::Item(Seq(6)));
    assert_eq!(h.written(), 7);
    assert_eq!(h.capacity(), 4);
    let mut skipper = h.reader_from_oldest();
    assert_eq!(skipper.skip_to_latest(), 4);
    assert_eq!(skipper.try_next(), Next::Empty);
    // n back from the newest, never further than the ring holds.
    assert_eq!(h.reader_back(2).try_next(), Next::Item(Seq(5)));
    assert_eq!(h.reader_back(0).try_next(), Next::Empty);
    assert_eq!(h.reader_back(100).try_next(), Next::Item(Seq(3)));
}

#[test]
fn capacity_rounds_up_to_a_power_of_two() {
    assert_eq!(ring::<Seq>(5).handle().capacity(), 8);
    assert_eq!(ring::<Seq>(0).handle().capacity(), 2);
}

/// Real threads: a writer at full speed and readers of different speeds. Every reader must
/// get untorn items in order, and items + missed must add up to everything written.
#[test]
fn concurrent_readers_never_see_torn_or_reordered_items() {
    const N: u64 = 300_000;
    let mut w = ring::<Seq>(256);
    let h = w.handle();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|k| {
            let mut r = h.reader();
            let done = done.clone();
            std::thread::spawn(move || {
                let (mut expect, mut items, mut missed) = (0u64, 0u64, 0u64);
                loop {
                    match r.try_next() {
                        Next::Item(Seq(v)) => {
                            assert_eq!(v, expect, "out of order");
                            expect += 1;
                            items += 1;
                            if k == 2 && v % 1000 == 0 {
                                std::thread::yield_now(); // a slow reader that gets lapped
                            }
                        }
                        Next::Missed(n) => {
                            expect += n;
                            missed += n;
                        }
                        Next::Empty => {
                            if done.load(std::sync::atomic::Ordering::Acquire) && r.lag() == 0 {
                                break;
                            }
                            std::hint::spin_loop();
                        }
                    }
                }
                (items, missed)
            })
        })
        .collect();
    for i in 0..N {
        w.push(Seq(i));
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    for t in readers {
        let (items, missed) = t.join().unwrap();
        assert_eq!(items + missed, N);
    }
}
