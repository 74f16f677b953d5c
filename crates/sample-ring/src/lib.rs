//! A lock-free, fixed-capacity, single-writer / many-reader **broadcast** ring.
//!
//! Why: the acquisition thread of a headset must never wait for anybody, yet every consumer
//! (each client subscription, the record writer, derived streams) must see every sample, and a
//! consumer that falls behind must learn exactly how much it lost rather than silently skip.
//!
//! How: each slot is a seqlock made only of atomics. The writer marks the slot's stamp odd,
//! stores the item's words, then stamps it `2 * position + 2`. A reader loads the stamp, the
//! words, then the stamp again; equal even stamps mean an untorn item of exactly the position
//! it wanted. A larger stamp means the writer lapped the reader: it is told how many items it
//! skipped and resumes at the oldest one still in the ring. There is no lock and no `unsafe`.

mod sync;

use sync::{Arc, AtomicU64, Ordering, fence};

/// A fixed-size value that can live in the ring: it converts itself to and from `WORDS`
/// 64-bit words. Explicit packing (instead of copying raw bytes) keeps the ring free of
/// `unsafe` and of padding-byte questions.
pub trait RingItem: Copy {
    /// Number of 64-bit words one item takes.
    const WORDS: usize;
    /// Write the item into `out` (exactly `WORDS` long).
    fn to_words(&self, out: &mut [u64]);
    /// Rebuild an item from `words` (exactly `WORDS` long), as written by `to_words`.
    fn from_words(words: &[u64]) -> Self;
}

/// One cache line of atomics. Slots are laid out in whole lines, so a reader polling one slot
/// never shares a line with the slot the writer is filling (no false sharing).
#[repr(align(64))]
struct Line([AtomicU64; 8]);

/// An atomic alone on its cache line (and the next: adjacent-line prefetch).
#[repr(align(128))]
struct Padded(AtomicU64);

/// The geometry, copied into every writer and reader so the hot paths never read shared
/// memory the writer dirties.
#[derive(Clone, Copy)]
struct Layout {
    capacity: u64,
    words: usize,
    /// Words per slot: the stamp, the item, padding to a whole number of lines.
    stride: usize,
}

impl Layout {
    /// First word of the slot that holds position `pos` (capacity is a power of two).
    #[inline]
    fn base(self, pos: u64) -> usize {
        (pos & (self.capacity - 1)) as usize * self.stride
    }

    #[inline]
    fn cell(lines: &[Line], at: usize) -> &AtomicU64 {
        &lines[at / 8].0[at % 8]
    }
}

struct Shared {
    /// Next position the writer will fill (number of items ever written).
    head: Padded,
    /// Per slot: word 0 is the stamp (`2p + 1` while position `p` is being written,
    /// `2p + 2` once complete), words 1..=WORDS the item.
    lines: Box<[Line]>,
}

/// Create a ring holding the last `capacity` items (rounded up to a power of two, at least 2).
/// Returns the writer; readers come from [`Writer::handle`].
pub fn ring<T: RingItem>(capacity: usize) -> Writer<T> {
    let capacity = capacity.max(2).next_power_of_two();
    let words = T::WORDS.max(1);
    let stride = (1 + words).div_ceil(8) * 8;
    let layout = Layout {
        capacity: capacity as u64,
        words,
        stride,
    };
    let shared = Arc::new(Shared {
        head: Padded(AtomicU64::new(0)),
        lines: (0..capacity * stride / 8)
            .map(|_| Line(std::array::from_fn(|_| AtomicU64::new(0))))
            .collect(),
    });
    Writer {
        shared,
        layout,
        next: 0,
        scratch: vec![0; words],
        _item: std::marker::PhantomData,
    }
}

/// The single writer. `push` never blocks and never looks at readers.
pub struct Writer<T: RingItem> {
    shared: Arc<Shared>,
    layout: Layout,
    next: u64,
    scratch: Vec<u64>,
    _item: std::marker::PhantomData<fn(T) -> T>,
}

impl<T: RingItem> Writer<T> {
    /// Publish one item, overwriting the oldest when the ring is full. Wait-free.
    #[inline]
    pub fn push(&mut self, item: T) {
        let (lines, l) = (&self.shared.lines, self.layout);
        let pos = self.next;
        item.to_words(&mut self.scratch);
        let base = l.base(pos);
        let stamp = Layout::cell(lines, base);
        stamp.store(2 * pos + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        for (i, word) in self.scratch.iter().enumerate() {
            Layout::cell(lines, base + 1 + i).store(*word, Ordering::Relaxed);
        }
        stamp.store(2 * pos + 2, Ordering::Release);
        self.shared.head.0.store(pos + 1, Ordering::Release);
        self.next = pos + 1;
    }

    /// A handle that can make readers, to give to consumers.
    pub fn handle(&self) -> RingHandle<T> {
        RingHandle {
            shared: Arc::clone(&self.shared),
            layout: self.layout,
            _item: std::marker::PhantomData,
        }
    }

    /// Items written so far.
    pub fn written(&self) -> u64 {
        self.next
    }
}

/// A cloneable, `Send + Sync` handle from which readers are made.
pub struct RingHandle<T: RingItem> {
    shared: Arc<Shared>,
    layout: Layout,
    _item: std::marker::PhantomData<fn(T) -> T>,
}

impl<T: RingItem> Clone for RingHandle<T> {
    fn clone(&self) -> Self {
        RingHandle {
            shared: Arc::clone(&self.shared),
            layout: self.layout,
            _item: std::marker::PhantomData,
        }
    }
}

impl<T: RingItem> RingHandle<T> {
    /// A reader that starts with the next item written (it sees nothing older).
    pub fn reader(&self) -> Reader<T> {
        let pos = self.shared.head.0.load(Ordering::Acquire);
        self.reader_at(pos)
    }

    /// A reader that starts with the oldest item still in the ring.
    pub fn reader_from_oldest(&self) -> Reader<T> {
        let head = self.shared.head.0.load(Ordering::Acquire);
        self.reader_at(head.saturating_sub(self.layout.capacity))
    }

    /// A reader that starts `n` items back from the newest (at most the whole ring): for a
    /// consumer that needs some history to be useful at once (a detector's window).
    pub fn reader_back(&self, n: u64) -> Reader<T> {
        let head = self.shared.head.0.load(Ordering::Acquire);
        self.reader_at(head.saturating_sub(n.min(self.layout.capacity)))
    }

    fn reader_at(&self, pos: u64) -> Reader<T> {
        Reader {
            shared: Arc::clone(&self.shared),
            layout: self.layout,
            pos,
            known_head: pos,
            scratch: vec![0; self.layout.words],
            _item: std::marker::PhantomData,
        }
    }

    /// Items written so far.
    pub fn written(&self) -> u64 {
        self.shared.head.0.load(Ordering::Acquire)
    }

    /// How many items the ring keeps.
    pub fn capacity(&self) -> usize {
        self.layout.capacity as usize
    }
}

/// What a read returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next<T> {
    /// The next item, in order.
    Item(T),
    /// Nothing new yet: the reader has caught up with the writer.
    Empty,
    /// The writer lapped this reader: this many items were overwritten before it read them.
    /// The reader now stands at the oldest item still in the ring.
    Missed(u64),
}

/// One consumer's cursor. Each reader sees every item (unless it falls a lap behind).
pub struct Reader<T: RingItem> {
    shared: Arc<Shared>,
    layout: Layout,
    pos: u64,
    /// The writer's head as last seen. Slots below it are complete, so the reader touches
    /// the head's cache line only when it thinks it has caught up, and never polls the slot
    /// the writer is filling (which would bounce that line between cores on every item).
    known_head: u64,
    scratch: Vec<u64>,
    _item: std::marker::PhantomData<fn(T) -> T>,
}

impl<T: RingItem> Clone for Reader<T> {
    fn clone(&self) -> Self {
        Reader {
            shared: Arc::clone(&self.shared),
            layout: self.layout,
            pos: self.pos,
            known_head: self.known_head,
            scratch: self.scratch.clone(),
            _item: std::marker::PhantomData,
        }
    }
}

impl<T: RingItem> Reader<T> {
    /// Read the next item without waiting. Lock-free: it retries only when the writer
    /// overwrote the slot mid-read, which also means this reader was lapped.
    #[inline]
    pub fn try_next(&mut self) -> Next<T> {
        let (lines, l) = (&self.shared.lines, self.layout);
        if self.pos >= self.known_head {
            self.known_head = self.shared.head.0.load(Ordering::Acquire);
            if self.pos >= self.known_head {
                return Next::Empty;
            }
        }
        let base = l.base(self.pos);
        let stamp = Layout::cell(lines, base);
        let want = 2 * self.pos + 2;
        let first = stamp.load(Ordering::Acquire);
        if first < want {
            // Older lap's item, or our item being written right now: nothing new yet.
            return Next::Empty;
        }
        if first == want {
            for (i, out) in self.scratch.iter_mut().enumerate() {
                *out = Layout::cell(lines, base + 1 + i).load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if stamp.load(Ordering::Relaxed) == first {
                self.pos += 1;
                return Next::Item(T::from_words(&self.scratch));
            }
        }
        // Lapped: our position was overwritten. Resume at the oldest position still held.
        let head = self.shared.head.0.load(Ordering::Acquire);
        let oldest = head.saturating_sub(l.capacity).max(self.pos + 1);
        let missed = oldest - self.pos;
        self.pos = oldest;
        self.known_head = head;
        Next::Missed(missed)
    }

    /// Position of the next item this reader will return (items written before it).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Items written but not yet read by this reader.
    pub fn lag(&self) -> u64 {
        self.shared
            .head
            .0
            .load(Ordering::Acquire)
            .saturating_sub(self.pos)
    }

    /// Skip everything unread and continue with the next new item (what a live view wants
    /// after it was lapped). Returns how many items were skipped.
    pub fn skip_to_latest(&mut self) -> u64 {
        let head = self.shared.head.0.load(Ordering::Acquire);
        let skipped = head.saturating_sub(self.pos);
        self.pos = self.pos.max(head);
        self.known_head = head;
        skipped
    }
}
