//! How the acquisition thread tells its consumer that samples are in the ring.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Wakes one consumer thread when a sample is published, so it can sleep instead of polling.
/// `wake` is an atomic check plus, only if that thread is parked, a futex wake: no lock and
/// no tokio on the acquisition thread. A consumer that drains on a schedule of its own for
/// a while (batched delivery) turns the wake-ups off with `set_quiet`, sparing both threads
/// a context switch per report.
#[derive(Debug, Clone, Default)]
pub struct Wakeup(Arc<WakeupTarget>);

#[derive(Debug, Default)]
struct WakeupTarget {
    thread: std::sync::OnceLock<std::thread::Thread>,
    quiet: AtomicBool,
}

impl Wakeup {
    /// A wakeup with no thread yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The thread to wake (set once; later calls are ignored).
    pub fn set_thread(&self, thread: std::thread::Thread) {
        let _ = self.0.thread.set(thread);
    }

    /// While quiet, publishing wakes nobody: the consumer looks on its own schedule. It
    /// must look once more after turning wake-ups back on (samples published meanwhile wait
    /// in the ring).
    pub fn set_quiet(&self, quiet: bool) {
        self.0.quiet.store(quiet, Ordering::Relaxed);
        // Pairs with the fence in `wake`: either the publisher sees the flag cleared, or
        // the consumer's next look sees the sample.
        std::sync::atomic::fence(Ordering::SeqCst);
    }

    /// Wake the thread if there is one and it wants to be woken.
    #[inline]
    pub fn wake(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.0.quiet.load(Ordering::Relaxed) {
            return;
        }
        if let Some(t) = self.0.thread.get() {
            t.unpark();
        }
    }
}
