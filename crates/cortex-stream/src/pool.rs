//! One thread that runs the fan-out of every headset. All headsets' acquisitions burst on one
//! grid, so a thread per headset woke once per burst each; one shared thread wakes once (or
//! twice, when the bursts land a moment apart) and serves them all. Each headset's work is a
//! few microseconds per burst, so none holds up another noticeably.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::fanout::Worker;

/// How long the thread sleeps with no fan-out at all (a new one wakes it at once).
const EMPTY_WAIT: Duration = Duration::from_secs(3600);

enum PoolMessage {
    Add(Box<Worker>),
    Close,
}

/// The shared fan-out thread. Dropping the pool stops the thread once its fan-outs are gone.
pub struct FanoutPool {
    add: Sender<PoolMessage>,
    thread: Thread,
    join: Option<JoinHandle<()>>,
}

impl FanoutPool {
    /// Start the thread, named `name`.
    pub fn start(name: &str) -> std::io::Result<Arc<Self>> {
        let (add, rx) = unbounded();
        let join = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run(&rx))?;
        Ok(Arc::new(FanoutPool {
            add,
            thread: join.thread().clone(),
            join: Some(join),
        }))
    }

    /// The thread to wake when a fan-out of this pool has work.
    pub(crate) fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Hand a fan-out's worker to the thread.
    pub(crate) fn add(&self, worker: Worker) {
        let _ = self.add.send(PoolMessage::Add(Box::new(worker)));
        self.thread.unpark();
    }
}

impl Drop for FanoutPool {
    fn drop(&mut self) {
        let _ = self.add.send(PoolMessage::Close);
        self.thread.unpark();
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

fn run(rx: &Receiver<PoolMessage>) {
    let mut workers: Vec<Box<Worker>> = Vec::new();
    let mut closing = false;
    loop {
        while let Ok(m) = rx.try_recv() {
            match m {
                PoolMessage::Add(w) => workers.push(w),
                PoolMessage::Close => closing = true,
            }
        }
        let mut next: Option<Instant> = None;
        // A worker that stops is dropped here, which releases its demand and outboxes and
        // tells the `Fanout` waiting in its drop.
        // A bug in one headset's fan-out must not stop the others': its worker is dropped.
        workers.retain_mut(|w| match catch_unwind(AssertUnwindSafe(|| w.step())) {
            Ok(Some(at)) => {
                next = Some(next.map_or(at, |n| n.min(at)));
                true
            }
            Ok(None) => false,
            Err(_) => {
                tracing::error!("a fan-out failed (a bug): its headset's subscribers get no more frames");
                false
            }
        });
        if closing && workers.is_empty() {
            return;
        }
        let now = Instant::now();
        match next {
            Some(at) if at <= now => {}
            Some(at) => std::thread::park_timeout(at - now),
            None => std::thread::park_timeout(EMPTY_WAIT),
        }
    }
}
