//! Markers from LSL: epocd listens for the marker streams the config names (PsychoPy, Unity
//! with LSL4Unity, any experiment software) and hands each marker to the service, at the
//! marker's time on epocd's sample clock, so records get markers without a Cortex client.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use labstream::{Inlet, Post, Query};

use crate::{ClockMap, wall_now};

/// Where received markers go: the text and its time in epoch seconds.
pub type MarkerSink = Box<dyn Fn(&str, f64) + Send>;

/// How often a stream not found yet is looked for again.
const LOOK_AGAIN: Duration = Duration::from_secs(2);

/// Inlets on the named marker streams, read while this value lives.
pub struct MarkerInlets {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MarkerInlets {
    /// Listen for the marker streams called `names` (found, and found again after they come
    /// back, by name) and give every marker to `sink`.
    pub fn start(names: Vec<String>, sink: MarkerSink) -> std::io::Result<MarkerInlets> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("lsl-markers-in".into())
            .spawn(move || listen(&names, &sink, &stopping))?;
        Ok(MarkerInlets {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for MarkerInlets {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Watched {
    name: String,
    inlet: Option<Inlet>,
    next_look: Instant,
}

fn listen(names: &[String], sink: &MarkerSink, stop: &AtomicBool) {
    let mut watched: Vec<Watched> = names
        .iter()
        .map(|n| Watched {
            name: n.clone(),
            inlet: None,
            next_look: Instant::now(),
        })
        .collect();
    let mut clock = ClockMap::new();
    while !stop.load(Ordering::Acquire) {
        clock.observe(wall_now(), labstream_net::clock());
        for w in &mut watched {
            if w.inlet.is_none() && Instant::now() >= w.next_look {
                w.next_look = Instant::now() + LOOK_AGAIN;
                w.inlet = open(&w.name);
            }
            let Some(inlet) = w.inlet.as_mut() else { continue };
            loop {
                match inlet.pull_text(Duration::ZERO) {
                    Ok(Some((t, values))) => {
                        let text = values.join(" ");
                        sink(&text, clock.to_epoch(t));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::info!(
                            "LSL: marker stream {:?} is gone ({e}); looking for it again",
                            w.name
                        );
                        w.inlet = None;
                        break;
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Find the stream called `name` and open an inlet that puts its stamps on this machine's
/// LSL clock (clock synchronisation, no dejittering: markers are irregular).
fn open(name: &str) -> Option<Inlet> {
    let info = labstream::resolve_first(&Query::name(name), Duration::from_millis(300)).ok()??;
    match Inlet::builder(&info)
        .postprocess(Post::CLOCK_SYNC)
        .recover(true)
        .open(Duration::from_secs(2))
    {
        Ok(inlet) => {
            tracing::info!(
                "LSL: listening for markers on {name:?} (source_id {:?})",
                info.source_id()
            );
            Some(inlet)
        }
        Err(e) => {
            tracing::debug!("LSL: cannot open marker stream {name:?} yet: {e}");
            None
        }
    }
}
