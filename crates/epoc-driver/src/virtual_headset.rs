//! A synthetic EPOC+ (16-bit, 256 Hz EEG, 64 Hz motion) that needs no hardware.
//!
//! Its signal is plausible EEG: a 1/f background, an alpha rhythm near 10 Hz strongest at O1/O2,
//! and a blink on AF3/AF4 every few seconds, around Emotiv's ~4200 µV DC level; plus motion,
//! contact quality and battery. Every report is **encoded and encrypted exactly like a real
//! EPOC+** with the key of its serial, so it exercises the real detection, decryption and
//! decoding path.

use std::time::Duration;

use epoc_protocol::{
    Cipher, DISPLAY_ORDER, EEG_CHANNELS, KeyLayout, Mode, Model, REPORT_LEN, Report, ReportKind, Serial,
    encode,
};

use crate::DriverError;
use crate::pacing::Pacer;
use crate::source::{Connection, Identity, Source};
use crate::virtual_actor::Actor;
use crate::virtual_script::VirtualScript;

/// EEG samples per second.
pub const VIRTUAL_EEG_HZ: u32 = 256;
/// Motion samples per second (one motion report after every fourth EEG report).
pub const VIRTUAL_MOTION_HZ: u32 = 64;
const UV_PER_COUNT: f64 = 0.128205128205129;

/// The serial of virtual headset number `n`: stable, so its Cortex id is too.
pub fn virtual_serial(n: u32) -> String {
    format!("VD2026{:010}", n)
}

/// Deterministic xorshift64* (no dependency, same signal on every run for a given headset).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Approximately standard normal (sum of four uniforms).
    fn normal(&mut self) -> f64 {
        (self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * 1.732
    }
}

/// How strongly each channel (display order) carries alpha and blinks.
const ALPHA_WEIGHT: [f64; EEG_CHANNELS] = [
    0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.0, 0.5, 0.2, 0.1, 0.1, 0.1, 0.1,
];
const BLINK_WEIGHT: [f64; EEG_CHANNELS] = [
    1.0, 0.5, 0.2, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.2, 0.5, 1.0,
];
/// Poles of the three first-order filters whose sum approximates a 1/f spectrum.
const PINK_POLES: [f64; 3] = [0.995, 0.95, 0.6];
const PINK_GAINS: [f64; 3] = [0.8, 1.6, 2.4];

#[derive(Debug, Clone)]
struct Generator {
    rng: Rng,
    pink: [[f64; 3]; EEG_CHANNELS],
    dc: [f64; EEG_CHANNELS],
    alpha_phase: f64,
    alpha_freq: f64,
    next_blink: u64,
    /// Scripted events, replacing the spontaneous blinks.
    actor: Option<Actor>,
}

impl Generator {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed | 1);
        let dc = std::array::from_fn(|_| 4200.0 + (rng.unit() - 0.5) * 60.0);
        Generator {
            rng,
            pink: [[0.0; 3]; EEG_CHANNELS],
            dc,
            alpha_phase: 0.0,
            alpha_freq: 10.0,
            next_blink: 512,
            actor: None,
        }
    }

    /// The µV of every channel at sample `n`.
    fn eeg(&mut self, n: u64) -> [f64; EEG_CHANNELS] {
        let dt = 1.0 / f64::from(VIRTUAL_EEG_HZ);
        // Alpha wanders a little around 10 Hz and waxes and wanes over seconds.
        self.alpha_freq = (self.alpha_freq + self.rng.normal() * 0.002).clamp(9.5, 10.5);
        self.alpha_phase =
            (self.alpha_phase + std::f64::consts::TAU * self.alpha_freq * dt) % std::f64::consts::TAU;
        let envelope = 12.0 + 6.0 * (std::f64::consts::TAU * 0.1 * n as f64 * dt).sin();
        let alpha = envelope * self.alpha_phase.sin();
        let scripted = self.actor.as_mut().map(|actor| {
            let rng = &mut self.rng;
            actor.act(n, || rng.normal())
        });
        if let Some((alpha_gain, acted)) = scripted {
            let pins = self
                .actor
                .as_ref()
                .map(|a| a.pins())
                .unwrap_or([None; EEG_CHANNELS]);
            return std::array::from_fn(|ch| {
                let v = self.dc[ch] + self.background(ch) + ALPHA_WEIGHT[ch] * alpha * alpha_gain + acted[ch];
                match pins[ch] {
                    Some(crate::virtual_actor::Pin::Flat) => self.dc[ch],
                    Some(crate::virtual_actor::Pin::At(uv)) => uv,
                    None => v,
                }
            });
        }
        if n >= self.next_blink + 64 {
            self.next_blink = n + 768 + (self.rng.unit() * 768.0) as u64; // every 3–6 s
        }
        let blink = if n >= self.next_blink {
            // A 250 ms raised-cosine eyelid artefact.
            let x = (n - self.next_blink) as f64 / 64.0;
            120.0 * 0.5 * (1.0 - (std::f64::consts::TAU * x).cos())
        } else {
            0.0
        };
        std::array::from_fn(|ch| {
            self.dc[ch] + self.background(ch) + ALPHA_WEIGHT[ch] * alpha + BLINK_WEIGHT[ch] * blink
        })
    }

    /// The 1/f background of channel `ch` plus white noise, for the next sample.
    fn background(&mut self, ch: usize) -> f64 {
        let mut pink = 0.0;
        for k in 0..3 {
            let s = &mut self.pink[ch][k];
            *s = PINK_POLES[k] * *s + self.rng.normal();
            pink += PINK_GAINS[k] * *s * (1.0 - PINK_POLES[k]).sqrt();
        }
        pink * 2.0 + self.rng.normal()
    }
}

/// The virtual headset as a [`Source`].
pub struct VirtualHeadset {
    identity: Identity,
    cipher: Cipher,
    generator: Generator,
    pacer: Pacer,
    real_time: bool,
    eeg_n: u64,
    motion_n: u64,
    motion_next: bool,
}

impl VirtualHeadset {
    /// Virtual headset number `n` acting out `script` (docs/detections.md, "Scripted
    /// sessions") instead of blinking by itself.
    pub fn scripted(n: u32, real_time: bool, script: &VirtualScript) -> Result<Self, DriverError> {
        let mut headset = Self::new(n, real_time)?;
        headset.generator.actor = Some(Actor::new(&script.for_headset(n), f64::from(VIRTUAL_EEG_HZ)));
        Ok(headset)
    }

    /// Virtual headset number `n` (1, 2, …), paced at the real rate or as fast as possible.
    pub fn new(n: u32, real_time: bool) -> Result<Self, DriverError> {
        let serial = Serial::from_usb(&virtual_serial(n))?;
        Ok(VirtualHeadset {
            cipher: Cipher::for_layout(KeyLayout::Plus16, &serial),
            identity: Identity {
                serial,
                model_hint: Some(Model::EpocPlus),
                rate_hint: Some(epoc_protocol::EegRate::Hz256),
                connection: Connection::Virtual,
                location: format!("virtual:{n}"),
                real_time,
            },
            generator: Generator::new(0x5EED_0000 + u64::from(n)),
            pacer: Pacer::new(),
            real_time,
            eeg_n: 0,
            motion_n: 0,
            motion_next: false,
        })
    }

    fn eeg_report(&mut self) -> Report {
        let n = self.eeg_n;
        let counter = (n % 256) as u8;
        let uv = self.generator.eeg(n);
        let eeg = uv.map(|v| (v / UV_PER_COUNT).round().clamp(0.0, 65535.0) as u16);
        let mut report = Report {
            mode: Mode::EPOC_PLUS_256,
            kind: ReportKind::Eeg,
            counter,
            eeg,
            aux: 0,
            motion: [0; 9],
        };
        report.aux = if counter == 255 {
            110 // battery, raw (the 16-bit scale is unknown; a real EPOC+ read 114–115)
        } else {
            // Good contact, unless a scripted fault took the sensor off the scalp.
            let jitter = (self.generator.rng.unit() * 40.0) as u16;
            let level = match (report.quality(), &self.generator.actor) {
                (Some(q), Some(actor)) => actor.contact()[q.channel.display_index()],
                _ => 4,
            };
            match level {
                0 => jitter,              // none
                1 | 2 => 0x0040 + jitter, // poor
                _ => 0x0200 + jitter,     // good
            }
        };
        report
    }

    fn motion_report(&mut self) -> Report {
        let r = &mut self.generator.rng;
        let mut noise = |sd: f64| (r.normal() * sd).round() as i16;
        Report {
            mode: Mode::EPOC_PLUS_256,
            kind: ReportKind::Motion,
            counter: (self.motion_n % u64::from(VIRTUAL_MOTION_HZ)) as u8,
            eeg: [0; EEG_CHANNELS],
            aux: 0,
            motion: [
                noise(3.0),
                noise(3.0),
                noise(3.0),
                noise(40.0),
                16384 + noise(40.0),
                noise(40.0),
                -600 + noise(5.0),
                -1590 + noise(5.0),
                260 + noise(5.0),
            ],
        }
    }
}

impl Source for VirtualHeadset {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn read(&mut self, timeout: Duration) -> Result<Option<[u8; REPORT_LEN]>, DriverError> {
        let report = if self.motion_next {
            self.motion_next = false;
            let r = self.motion_report();
            self.motion_n += 1;
            r
        } else {
            let due = Duration::from_secs_f64(self.eeg_n as f64 / f64::from(VIRTUAL_EEG_HZ));
            if self.real_time && !self.pacer.wait_until(due, timeout) {
                return Ok(None);
            }
            let r = self.eeg_report();
            self.eeg_n += 1;
            self.motion_next = self
                .eeg_n
                .is_multiple_of(u64::from(VIRTUAL_EEG_HZ / VIRTUAL_MOTION_HZ));
            r
        };
        let mut bytes = encode(&report)?;
        self.cipher.encrypt(&mut bytes);
        Ok(Some(bytes))
    }

    fn reconnect(&mut self) -> Result<(), DriverError> {
        Ok(())
    }
}

/// The EEG (µV, display order) of virtual headset `n` acting out `script` for `seconds`,
/// encrypted and then decrypted and decoded as epocd does, as fast as possible: ground truth
/// for detector tests and offline tools.
pub fn decoded_eeg(
    n: u32,
    script: &VirtualScript,
    seconds: f64,
) -> Result<Vec<[f64; EEG_CHANNELS]>, DriverError> {
    let mut source = VirtualHeadset::scripted(n, false, script)?;
    let serial = Serial::from_usb(&virtual_serial(n))?;
    let mut decoder = epoc_protocol::Decoder::new(
        Cipher::for_layout(KeyLayout::Plus16, &serial),
        Mode::EPOC_PLUS_256,
    );
    let want = (seconds * f64::from(VIRTUAL_EEG_HZ)).max(0.0) as usize;
    let mut out = Vec::with_capacity(want);
    while out.len() < want {
        let Some(bytes) = source.read(Duration::from_secs(1))? else {
            continue;
        };
        let d = decoder.decode(&bytes)?;
        if d.report.kind == ReportKind::Eeg {
            out.push(d.report.eeg_microvolts());
        }
    }
    Ok(out)
}

/// The channel names the virtual headset fills, for documentation and tests.
pub fn virtual_channels() -> [&'static str; EEG_CHANNELS] {
    DISPLAY_ORDER.map(|c| c.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_stable_and_keyable() {
        assert_eq!(virtual_serial(1), "VD20260000000001");
        assert!(VirtualHeadset::new(3, false).is_ok());
        assert_eq!(virtual_channels()[6], "O1");
    }

    #[test]
    fn a_sensor_off_the_scalp_reports_no_contact_through_the_cipher() {
        let script = VirtualScript::parse("0 flat:O1\n0 loose:F3\n0 mains:P8\n").unwrap();
        let mut source = VirtualHeadset::scripted(1, false, &script).unwrap();
        let serial = Serial::from_usb(&virtual_serial(1)).unwrap();
        let mut decoder = epoc_protocol::Decoder::new(
            Cipher::for_layout(KeyLayout::Plus16, &serial),
            Mode::EPOC_PLUS_256,
        );
        let mut state = epoc_protocol::DeviceState::default();
        for _ in 0..600 {
            if let Some(bytes) = source.read(Duration::from_secs(1)).unwrap() {
                state.update(&decoder.decode(&bytes).unwrap().report);
            }
        }
        let at = |name: &str| DISPLAY_ORDER.iter().position(|c| c.name() == name).unwrap();
        assert_eq!(state.levels[at("O1")], 0, "flat: {:?}", state.levels);
        assert_eq!(state.levels[at("F3")], 2, "loose: {:?}", state.levels);
        for ch in ["P8", "AF3", "T7", "O2", "AF4"] {
            assert_eq!(state.levels[at(ch)], 4, "{ch}: {:?}", state.levels);
        }
    }
}
