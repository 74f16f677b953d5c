//! Blinks, winks and looks from frontal EOG.
//!
//! The approach of MNE's EOG event finder (`find_eog_events`): band-pass 1–10 Hz, then find
//! peaks above a threshold. EPOC has no Fp1/Fp2, so the vertical EOG is the mean of AF3 and
//! AF4; the horizontal EOG is F7 − F8 (the cornea is positive: looking left raises F7 and
//! lowers F8). Online, the threshold is the larger of a fixed floor and a multiple of the
//! signal's running noise, not MNE's whole-recording (max − min) / 4.
//!
//! An excursion runs from the first sample over threshold to the return below half of it.
//! Mostly horizontal: a look (a step of gaze, which the 1 Hz high-pass turns into a
//! transient; a step back to the centre is not a look). Otherwise: a blink, or a wink when
//! one side carries over twice the other.

use biquad::Type;

use crate::EyeAction;
use crate::filters::Chain;

/// No eye event is smaller than this, in µV (blinks are 100–300 µV at the forehead).
pub const FLOOR_UV: f64 = 40.0;
/// Or smaller than this many times the running RMS of the filtered signal.
pub const NOISE_FACTOR: f64 = 6.0;
/// One side over this many times the other makes a blink a wink.
pub const WINK_RATIO: f64 = 2.0;
/// A look is an excursion whose horizontal peak is this many times its vertical one.
pub const LOOK_DOMINANCE: f64 = 1.5;
/// Seconds before detections start (the filters settle, the noise is learned).
pub const WARM_UP_S: f64 = 3.0;
/// Seconds after which a gaze to one side is assumed back in the centre.
const GAZE_HOLD_S: f64 = 4.0;
/// Seconds of noise memory.
const NOISE_MEMORY_S: f64 = 10.0;
/// An excursion longer than this is cut (and judged) there.
const MAX_EXCURSION_S: f64 = 1.5;
/// Seconds after an excursion during which no other starts and the noise is not learned:
/// the band-pass rings back the other way after a large deflection.
const REFRACTORY_S: f64 = 0.4;

#[derive(Debug, Clone, Copy)]
struct Excursion {
    onset: u64,
    start: u64,
    peak_v: f64,
    peak_h: f64,
    peak_left: f64,
    peak_right: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Gaze {
    Centre,
    Left(u64),
    Right(u64),
}

/// An eye event and the sample where it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EyeEvent {
    /// What the eyes did.
    pub action: EyeAction,
    /// Index of the sample where the excursion began.
    pub onset: u64,
}

pub(crate) struct EyeDetector {
    rate: f64,
    /// AF3, F7, F8, AF4.
    filters: [Chain; 4],
    offset: Option<[f64; 4]>,
    noise_v: f64,
    noise_h: f64,
    n: u64,
    last_quiet: u64,
    /// No excursion starts, and the noise is not learned, before this sample.
    settled_at: u64,
    excursion: Option<Excursion>,
    gaze: Gaze,
}

impl EyeDetector {
    pub(crate) fn new(rate: f64) -> Self {
        let band = || Chain::new(rate, &[(Type::HighPass, 1.0), (Type::LowPass, 10.0)]);
        EyeDetector {
            rate,
            filters: [band(), band(), band(), band()],
            offset: None,
            noise_v: 0.0,
            noise_h: 0.0,
            n: 0,
            last_quiet: 0,
            settled_at: 0,
            excursion: None,
            gaze: Gaze::Centre,
        }
    }

    fn thresholds(&self) -> (f64, f64) {
        (
            FLOOR_UV.max(NOISE_FACTOR * self.noise_v.sqrt()),
            FLOOR_UV.max(NOISE_FACTOR * self.noise_h.sqrt()),
        )
    }

    /// One sample of AF3, F7, F8 and AF4 (µV).
    pub(crate) fn push(&mut self, raw: [f64; 4]) -> Option<EyeEvent> {
        let n = self.n;
        self.n += 1;
        // Start the filters from the first sample's level, not from the ~4200 µV step.
        let offset = *self.offset.get_or_insert(raw);
        let f: [f64; 4] = std::array::from_fn(|i| self.filters[i].run(raw[i] - offset[i]));
        let (left, horizontal, right) = (f[0], f[1] - f[2], f[3]);
        // Either eye: a wink shows on one side only.
        let vertical = left.max(right);
        let (tv, th) = self.thresholds();
        let warm = n as f64 >= WARM_UP_S * self.rate;
        if let Gaze::Left(since) | Gaze::Right(since) = self.gaze
            && (n - since) as f64 > GAZE_HOLD_S * self.rate
        {
            self.gaze = Gaze::Centre;
        }
        let Some(mut ex) = self.excursion else {
            let k = 1.0 / (NOISE_MEMORY_S * self.rate);
            let refractory = n < self.settled_at;
            // Learn the noise from quiet signal only (under half the thresholds, ~3 RMS).
            if !refractory && vertical.abs() < tv / 2.0 && horizontal.abs() < th / 2.0 {
                self.noise_v += k * (vertical * vertical - self.noise_v);
                self.noise_h += k * (horizontal * horizontal - self.noise_h);
            }
            if vertical < tv / 4.0 && horizontal.abs() < th / 4.0 {
                self.last_quiet = n;
            }
            if warm && !refractory && (vertical >= tv || horizontal.abs() >= th) {
                self.excursion = Some(Excursion {
                    onset: (self.last_quiet + 1).min(n),
                    start: n,
                    peak_v: vertical,
                    peak_h: horizontal,
                    peak_left: left,
                    peak_right: right,
                });
            }
            return None;
        };
        ex.peak_v = ex.peak_v.max(vertical);
        ex.peak_left = ex.peak_left.max(left);
        ex.peak_right = ex.peak_right.max(right);
        if horizontal.abs() > ex.peak_h.abs() {
            ex.peak_h = horizontal;
        }
        let settled = vertical < 0.5 * tv && horizontal.abs() < 0.5 * th;
        let too_long = (n - ex.start) as f64 > MAX_EXCURSION_S * self.rate;
        if !(settled || too_long) {
            self.excursion = Some(ex);
            return None;
        }
        self.excursion = None;
        self.last_quiet = n;
        self.settled_at = n + (REFRACTORY_S * self.rate) as u64;
        self.judge(&ex, tv, th, n)
    }

    fn judge(&mut self, ex: &Excursion, tv: f64, th: f64, n: u64) -> Option<EyeEvent> {
        let event = |action| {
            Some(EyeEvent {
                action,
                onset: ex.onset,
            })
        };
        if ex.peak_h.abs() >= th && ex.peak_h.abs() > LOOK_DOMINANCE * ex.peak_v.max(0.0) {
            let toward_left = ex.peak_h > 0.0;
            return match (self.gaze, toward_left) {
                (Gaze::Right(_), true) | (Gaze::Left(_), false) => {
                    self.gaze = Gaze::Centre;
                    None
                }
                (Gaze::Centre, true) => {
                    self.gaze = Gaze::Left(n);
                    event(EyeAction::LookLeft)
                }
                (Gaze::Centre, false) => {
                    self.gaze = Gaze::Right(n);
                    event(EyeAction::LookRight)
                }
                _ => None, // further the same way
            };
        }
        if ex.peak_v < tv {
            return None;
        }
        let (l, r) = (ex.peak_left.max(1e-9), ex.peak_right.max(1e-9));
        if l > WINK_RATIO * r {
            event(EyeAction::WinkLeft)
        } else if r > WINK_RATIO * l {
            event(EyeAction::WinkRight)
        } else {
            event(EyeAction::Blink)
        }
    }
}
