//! The state the fan-out derives from the samples (device and contact state, sample-rate
//! quality, band power, EEG quality), and the values each stream's frame carries.

use band_power::{BandPower, POW_VALUES};
use cortex_api::Stream;
use epoc_protocol::DeviceState;
use epoc_sample::Sample;

use crate::frame::push_f64;

/// Rolling state for the derived streams.
pub(crate) struct Derived {
    pub(crate) rate: u16,
    pub(crate) device: DeviceState,
    pub(crate) since_dev: u32,
    pub(crate) since_pow: u32,
    pub(crate) window_received: u32,
    pub(crate) window_lost: u32,
    pub(crate) eeg_seen: u64,
    pub(crate) motion_seen: u64,
    pub(crate) power: BandPower,
    pub(crate) pow: [f64; POW_VALUES],
    /// Signal-based EEG quality, graded once a second.
    pub(crate) quality: epoc_quality::SignalQuality,
    /// The latest grades (0–4 per sensor, capped by contact); None before the first second.
    pub(crate) grades: Option<[u8; epoc_protocol::EEG_CHANNELS]>,
}

impl Derived {
    pub(crate) fn new(rate: u16) -> Self {
        Derived {
            rate,
            device: DeviceState::default(),
            since_dev: 0,
            since_pow: 0,
            window_received: 0,
            window_lost: 0,
            eeg_seen: 0,
            motion_seen: 0,
            power: BandPower::new(rate),
            pow: [0.0; POW_VALUES],
            quality: epoc_quality::SignalQuality::new(rate),
            grades: None,
        }
    }

    pub(crate) fn sample_rate_quality(&self) -> f64 {
        let total = self.window_received + self.window_lost;
        if total == 0 {
            1.0
        } else {
            f64::from(self.window_received) / f64::from(total)
        }
    }
}

/// The values of a `stream` frame for sample `s` (the columns of docs/cortex-api.md), from
/// the sample itself (eeg, mot) or the derived state (dev, eq, pow).
pub(crate) fn write_values(out: &mut String, stream: Stream, s: &Sample, d: Option<&Derived>) {
    let r = &s.report;
    match stream {
        Stream::Eeg => {
            out.push_str(&r.sequence().to_string());
            out.push_str(",0");
            for uv in r.eeg_microvolts() {
                out.push(',');
                push_f64(out, uv, 3);
            }
            out.push(',');
            push_f64(out, f64::from(r.aux), 1);
            out.push_str(",0,[]");
        }
        Stream::Mot => {
            out.push_str(&r.sequence().to_string());
            out.push_str(",0");
            let n = cortex_api::streams::motion_sensors(r.mode).len();
            for v in &r.motion[..n] {
                out.push(',');
                out.push_str(&v.to_string());
            }
        }
        Stream::Dev => {
            let Some(d) = d else { return };
            let percent = d.device.battery_percent.unwrap_or(0);
            out.push_str(&(u32::from(percent).div_ceil(25).min(4)).to_string());
            out.push(',');
            push_f64(out, d.sample_rate_quality(), 2);
            out.push_str(",[");
            for (i, l) in d.device.levels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&l.to_string());
            }
            out.push(',');
            out.push_str(&d.device.overall().to_string());
            out.push_str("],");
            out.push_str(&percent.to_string());
        }
        Stream::Eq => {
            let Some(d) = d else { return };
            // Signal quality once a second of EEG was graded; contact quality until then. Never
            // above the contact quality of now (it may have dropped since the last grading).
            let contact = d.device.levels;
            let grades = d
                .grades
                .map_or(contact, |g| std::array::from_fn(|i| g[i].min(contact[i])));
            out.push_str(&d.device.battery_percent.unwrap_or(0).to_string());
            out.push(',');
            out.push_str(&epoc_quality::overall(&grades).to_string());
            out.push(',');
            push_f64(out, d.sample_rate_quality(), 2);
            for l in grades {
                out.push(',');
                out.push_str(&l.to_string());
            }
        }
        Stream::Met | Stream::Fac | Stream::Com | Stream::Sys => {} // the detections thread writes these
        Stream::Pow => {
            let Some(d) = d else { return };
            for (i, v) in d.pow.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_f64(out, *v, 3);
            }
        }
    }
}
