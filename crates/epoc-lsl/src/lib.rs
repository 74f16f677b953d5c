//! Lab Streaming Layer outlets for one headset. A thread with its own ring reader publishes
//! every decoded sample to an EEG outlet and a motion outlet, and markers to a markers outlet,
//! each stamped on LSL's clock (`CLOCK_MONOTONIC`, what every LSL program shares on a
//! machine) at the instant epocd's sample clock gave the sample, not when it was published.
//!
//! Why its own thread: publishing costs a lock and an allocation per sample; the
//! acquisition thread does neither, and the Cortex fan-out must not wait for LSL consumers.

mod clock;
mod inlets;
mod streams;

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use epoc_protocol::{Mode, ReportKind, Resolution};
use epoc_sample::Sample;
use labstream_wire::Value;
use sample_ring::{Next, Reader, RingHandle};

pub use clock::ClockMap;
pub use inlets::{MarkerInlets, MarkerSink};
pub use streams::{HeadsetMeta, source_id};

/// How often the thread drains the ring (LSL consumers read in chunks anyway).
const DRAIN_EVERY: Duration = Duration::from_millis(10);

enum Control {
    Marker { text: String, epoch_secs: f64 },
    Stop,
}

/// The LSL outlets of one headset, published while this value lives.
pub struct HeadsetOutlets {
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
    names: Vec<String>,
}

impl HeadsetOutlets {
    /// Start publishing what `ring` carries for the headset `meta` describes.
    pub fn start(ring: &RingHandle<Sample>, meta: HeadsetMeta) -> std::io::Result<HeadsetOutlets> {
        let (control, rx) = unbounded();
        let reader = ring.reader();
        let names = streams::outlet_names(&meta);
        let thread = std::thread::Builder::new()
            .name(format!("lsl-{}", meta.serial))
            .spawn(move || Publisher::new(reader, rx, meta).run())?;
        Ok(HeadsetOutlets {
            control,
            thread: Some(thread),
            names,
        })
    }

    /// The names of its outlets (`EPOCPLUS-00000001 EEG`, …), as LSL clients see them.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Publish a marker on the markers outlet, stamped at `epoch_secs` (the marker's time on
    /// the headset clock, which is epoch seconds).
    pub fn marker(&self, text: &str, epoch_secs: f64) {
        let _ = self.control.send(Control::Marker {
            text: text.to_owned(),
            epoch_secs,
        });
    }
}

impl Drop for HeadsetOutlets {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Publisher {
    reader: Reader<Sample>,
    control: Receiver<Control>,
    meta: HeadsetMeta,
    clock: ClockMap,
    eeg: Option<(Mode, labstream_net::Outlet)>,
    motion: Option<(Mode, labstream_net::Outlet)>,
    markers: Option<labstream_net::Outlet>,
    /// Band power, when asked for: the window, samples since the last value, the outlet.
    power: Option<(band_power::BandPower, u32, Mode, labstream_net::Outlet)>,
    /// Markers waiting for the EEG sample they fall on: text, epoch time, when queued.
    pending: Vec<(String, f64, std::time::Instant)>,
    /// The EEG samples published in the last two seconds: epoch time and LSL stamp, oldest
    /// first (markers are placed on the nearest of them).
    recent: std::collections::VecDeque<(f64, f64)>,
    /// 16-bit motion before its rate is known: the samples held back, and the EEG and
    /// motion samples counted so far.
    motion_probe: (Vec<Sample>, u32, u32),
}

/// EEG samples counted before the motion rate is decided (a quarter second at 256 Hz).
const MOTION_PROBE_EEG: u32 = 64;
/// A marker that meets no EEG sample this long (the headset went quiet) goes out unsnapped.
const MARKER_WAIT: Duration = Duration::from_secs(2);

impl Publisher {
    fn new(reader: Reader<Sample>, control: Receiver<Control>, meta: HeadsetMeta) -> Publisher {
        Publisher {
            reader,
            control,
            meta,
            clock: ClockMap::new(),
            eeg: None,
            motion: None,
            markers: None,
            power: None,
            pending: Vec::new(),
            recent: std::collections::VecDeque::new(),
            motion_probe: (Vec::new(), 0, 0),
        }
    }

    fn run(mut self) {
        match labstream_net::Outlet::new(streams::markers_info(&self.meta)) {
            Ok(o) => self.markers = Some(o),
            Err(e) => tracing::warn!("LSL: cannot open the markers outlet of {}: {e}", self.meta.serial),
        }
        loop {
            self.clock.observe(wall_now(), labstream_net::clock());
            match self.control.recv_timeout(DRAIN_EVERY) {
                Ok(Control::Marker { text, epoch_secs }) => {
                    self.pending.push((text, epoch_secs, std::time::Instant::now()));
                }
                Ok(Control::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            loop {
                match self.reader.try_next() {
                    Next::Item(s) => self.publish(&s),
                    Next::Missed(n) => tracing::warn!(
                        "LSL: {n} samples of {} were not published (too slow)",
                        self.meta.serial
                    ),
                    Next::Empty => break,
                }
            }
            // Markers no EEG sample has met for a while (the headset went quiet, or the
            // marker is older than anything published) go out at their own time.
            let oldest = self.recent.front().map(|(t, _)| *t);
            let (late, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
                .into_iter()
                .partition(|m| m.2.elapsed() >= MARKER_WAIT || oldest.is_some_and(|t| m.1 < t));
            self.pending = waiting;
            for (text, epoch, _) in late {
                let at = self.clock.to_lsl(epoch);
                self.push_marker(text, at);
            }
        }
    }

    fn push_marker(&self, text: String, timestamp: f64) {
        if let Some(o) = &self.markers {
            o.push(&labstream_wire::Sample {
                timestamp,
                values: vec![Value::Str(text.into_bytes())],
            });
        }
    }

    /// Markers up to the newest EEG sample published go out with the stamp of the EEG
    /// sample nearest them: the sample they are placed on in records, so an LSL recording
    /// shows them on exactly that sample.
    fn place_markers(&mut self) {
        let Some(&(newest, _)) = self.recent.back() else {
            return;
        };
        if self.pending.is_empty() {
            return;
        }
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|m| m.1 <= newest);
        self.pending = waiting;
        for (text, epoch, _) in due {
            let after = self.recent.partition_point(|(t, _)| *t < epoch);
            let nearest = [after.checked_sub(1), Some(after)]
                .into_iter()
                .flatten()
                .filter_map(|i| self.recent.get(i))
                .min_by(|a, b| (a.0 - epoch).abs().total_cmp(&(b.0 - epoch).abs()))
                .map(|(_, stamp)| *stamp);
            let at = nearest.unwrap_or_else(|| self.clock.to_lsl(epoch));
            self.push_marker(text, at);
        }
    }

    fn publish(&mut self, s: &Sample) {
        let r = &s.report;
        let t = self.clock.to_lsl(s.time);
        if r.kind != ReportKind::Motion {
            let uv = r.eeg_microvolts();
            let values = uv.iter().map(|v| Value::F32(*v as f32)).collect();
            if let Some(o) = self.outlet_for(r.mode, true, 0.0) {
                o.push(&labstream_wire::Sample { timestamp: t, values });
            }
            if self.meta.band_power {
                self.band_power(r.mode, uv, t);
            }
            self.recent.push_back((s.time, t));
            while self.recent.len() > 2 * usize::from(r.mode.eeg_rate.hz()) {
                self.recent.pop_front();
            }
            self.place_markers();
            self.motion_probe.1 += 1;
        }
        // 14-bit reports carry the gyro with every EEG sample; 16-bit motion has its reports.
        if r.mode.resolution == Resolution::Bits14 {
            self.push_motion(s, f64::from(r.mode.eeg_rate.hz()));
        } else if r.kind == ReportKind::Motion {
            self.motion_probe.2 += 1;
            match self.motion.as_ref() {
                Some((m, _)) if *m == r.mode => self.push_motion(s, 0.0),
                _ => self.motion_probe.0.push(*s),
            }
        }
        // 16-bit motion rates are a headset setting the reports do not state: count motion
        // against EEG samples for a quarter second, then open the outlet at that rate and
        // publish what was held back.
        let (held, eeg, motion) = &self.motion_probe;
        if !held.is_empty() && *eeg >= MOTION_PROBE_EEG {
            let per_sec = f64::from(*motion) * f64::from(r.mode.eeg_rate.hz()) / f64::from(*eeg);
            let rate = [32.0, 64.0, 128.0]
                .into_iter()
                .min_by(|a: &f64, b: &f64| (a - per_sec).abs().total_cmp(&(b - per_sec).abs()))
                .unwrap_or(0.0);
            for h in std::mem::take(&mut self.motion_probe.0) {
                self.push_motion(&h, rate);
            }
        }
    }

    /// Publish a motion sample, opening the motion outlet at `rate` if needed.
    fn push_motion(&mut self, s: &Sample, rate: f64) {
        let r = &s.report;
        let t = self.clock.to_lsl(s.time);
        let n = streams::motion_names(r.mode).len();
        let values = r.motion[..n].iter().map(|v| Value::F32(f32::from(*v))).collect();
        if let Some(o) = self.outlet_for(r.mode, false, rate) {
            o.push(&labstream_wire::Sample { timestamp: t, values });
        }
    }

    /// Band power as the Cortex `pow` stream computes it (2 s window, 8 values a second).
    fn band_power(&mut self, mode: Mode, uv: [f64; epoc_protocol::EEG_CHANNELS], t: f64) {
        if self.power.as_ref().is_none_or(|(_, _, m, _)| *m != mode) {
            self.power = match labstream_net::Outlet::new(streams::band_power_info(&self.meta, mode)) {
                Ok(o) => Some((band_power::BandPower::new(mode.eeg_rate.hz()), 0, mode, o)),
                Err(e) => {
                    tracing::warn!(
                        "LSL: cannot open the band-power outlet of {}: {e}",
                        self.meta.serial
                    );
                    self.meta.band_power = false;
                    return;
                }
            };
        }
        let Some((power, since, mode, outlet)) = self.power.as_mut() else {
            return;
        };
        power.push(uv);
        *since += 1;
        if *since >= u32::from(mode.eeg_rate.hz()) / band_power::POW_RATE_HZ {
            *since = 0;
            let mut out = [0.0; band_power::POW_VALUES];
            if power.compute(&mut out) {
                outlet.push(&labstream_wire::Sample {
                    timestamp: t,
                    values: out.iter().map(|v| Value::F32(*v as f32)).collect(),
                });
            }
        }
    }

    /// The EEG (`eeg`) or motion outlet for `mode`, opened on first use and again when the
    /// headset's mode changes (its rate or channels differ).
    fn outlet_for(&mut self, mode: Mode, eeg: bool, motion_rate: f64) -> Option<&labstream_net::Outlet> {
        let slot = if eeg { &mut self.eeg } else { &mut self.motion };
        if slot.as_ref().is_none_or(|(m, _)| *m != mode) {
            *slot = None;
            let info = if eeg {
                streams::eeg_info(&self.meta, mode)
            } else {
                streams::motion_info(&self.meta, mode, motion_rate)
            };
            match labstream_net::Outlet::new(info) {
                Ok(o) => {
                    tracing::info!(
                        "LSL: {} outlet up for {} (source_id {})",
                        if eeg { "EEG" } else { "Motion" },
                        self.meta.headset_id,
                        o.info().source_id
                    );
                    *slot = Some((mode, o));
                }
                Err(e) => {
                    tracing::warn!("LSL: cannot open an outlet for {}: {e}", self.meta.serial);
                    return None;
                }
            }
        }
        slot.as_ref().map(|(_, o)| o)
    }
}

pub(crate) fn wall_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
