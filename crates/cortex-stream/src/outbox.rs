//! Where a client's frames go, and what happens to a client that does not keep up.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use cortex_api::warning;

use crate::fanout::LiveInfo;

/// Where a client's frames go. Implemented by the WebSocket layer with one ordered queue
/// and two lanes: data frames are bounded (a client that stops reading is dropped), warnings
/// are never refused (a client's flow may depend on them: 30 after stopRecord, 0 before
/// being dropped).
pub trait Outbox: Send + Sync {
    /// Queue one data frame made of `parts` joined. The fan-out passes pieces because only
    /// the sid differs between subscribers: no per-client string is built. False when the
    /// data lane is full: the client is not keeping up.
    fn push_parts(&self, parts: &[&str]) -> bool;
    /// Like `push_parts`, but the writer is not woken until [`Outbox::flush`]: a producer
    /// that queues a burst of frames wakes it once, not once per frame.
    fn push_parts_quietly(&self, parts: &[&str]) -> bool {
        self.push_parts(parts)
    }
    /// Wake the writer for the frames queued quietly.
    fn flush(&self) {}
    /// Queue a warning: in order with everything else, never refused.
    fn push_warning(&self, frame: String);
    /// Send this last frame (a warning) if possible, then close the connection.
    fn close(&self, last: String);
}

/// Drop the subscribers at `failed` whose outbox was full: count each connection once, warn
/// the client and close it, and forget every session of that connection. Works by outbox
/// identity, not by index, so two failing sessions of one connection never shift the index
/// of an innocent one. `parts` gives a subscriber's sid and outbox (the fan-out and the
/// detections thread keep different subscriber records).
pub(crate) fn drop_slow<S>(
    subs: &mut Vec<S>,
    failed: Vec<usize>,
    live: &LiveInfo,
    parts: impl Fn(&S) -> (&str, &Arc<dyn Outbox>),
) {
    let mut gone: Vec<Arc<dyn Outbox>> = Vec::new();
    for i in failed {
        let Some(sub) = subs.get(i) else { continue };
        let (sid, outbox) = parts(sub);
        if gone.iter().any(|g| Arc::ptr_eq(g, outbox)) {
            continue;
        }
        live.dropped_clients.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("session {sid}: the client did not keep up with its data and was disconnected");
        outbox.close(warning::client_too_slow(sid));
        gone.push(Arc::clone(outbox));
    }
    subs.retain(|s| !gone.iter().any(|g| Arc::ptr_eq(g, parts(s).1)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Outbox for Counting {
        fn push_parts(&self, _: &[&str]) -> bool {
            true
        }
        fn push_warning(&self, _: String) {}
        fn close(&self, _: String) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn two_slow_sessions_of_one_connection_drop_it_once_and_nobody_else() {
        let slow = Arc::new(Counting::default());
        let other = Arc::new(Counting::default());
        let (slow_box, other_box): (Arc<dyn Outbox>, Arc<dyn Outbox>) = (slow.clone(), other.clone());
        let mut subs = vec![
            ("a1".to_owned(), Arc::clone(&slow_box)),
            ("b".to_owned(), Arc::clone(&other_box)),
            ("a2".to_owned(), Arc::clone(&slow_box)),
            ("c".to_owned(), Arc::clone(&other_box)),
        ];
        let live = LiveInfo::default();
        drop_slow(&mut subs, vec![0, 2], &live, |s| (&s.0, &s.1));
        let left: Vec<&str> = subs.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(left, ["b", "c"]);
        assert_eq!(slow.0.load(Ordering::Relaxed), 1, "closed once");
        assert_eq!(other.0.load(Ordering::Relaxed), 0);
        assert_eq!(live.dropped_clients.load(Ordering::Relaxed), 1);
    }
}
