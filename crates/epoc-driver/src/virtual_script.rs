//! Scripted events for the virtual headset: what a person would do with their face and mind
//! at known times, so detections can be tested against ground truth through the real
//! encrypt → decrypt → decode path.
//!
//! A script is text, one event per line: `<start seconds> <action> [<duration seconds>]
//! [<strength>]`, `#` starts a comment. Actions:
//! - eyes: `blink`, `winkL`, `winkR` (a closure), `lookL`, `lookR` (gaze held for the
//!   duration, then back);
//! - face: `surprise`, `frown`, `smile`, `clench` (a muscle burst for the duration);
//! - mind: `relaxed` (posterior alpha up, beta down), `engaged` (beta up, alpha and theta
//!   down), `neutral` (nothing), reached over 5 s and left over 5 s;
//! - mental commands: `push`, `pull`, `lift`, … ([`MENTAL_ACTIONS`]): a 12 Hz rhythm with the
//!   command's own spatial pattern for the duration (default 8 s, one training epoch);
//! - sensor faults on one channel: `flat:O1`, `rail:T7`, `mains:P8` (50 Hz pick-up),
//!   `loose:F3` (broadband noise), `emg:T8` (heavy muscle activity), default an hour.
//!
//! An action may name one virtual headset: `0 flat:O1@2` happens on headset 2 only.
//!
//! Strength scales the amplitude (1 = the defaults of docs/detections.md). With a script the
//! headset makes no spontaneous blinks: everything it acts out is in the script.

use std::path::Path;

use crate::DriverError;

/// What a scripted event acts out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptAction {
    /// Both eyelids, 250 ms.
    Blink,
    /// The left eyelid, 400 ms.
    WinkLeft,
    /// The right eyelid, 400 ms.
    WinkRight,
    /// Gaze to the left, held.
    LookLeft,
    /// Gaze to the right, held.
    LookRight,
    /// Frontalis (eyebrows raised).
    Surprise,
    /// Corrugator (eyebrows together).
    Frown,
    /// Zygomaticus.
    Smile,
    /// Masseter and temporalis.
    Clench,
    /// Alpha up, beta down.
    Relaxed,
    /// Beta up, alpha and theta down.
    Engaged,
    /// No change.
    Neutral,
    /// Thinking a mental command ([`MENTAL_ACTIONS`] index): a rhythm with that command's
    /// own spatial pattern.
    Think(usize),
    /// A sensor fault on one channel (display index): `flat:O1`, `rail:T7`, `mains:P8`,
    /// `loose:F3`, `emg:T8`.
    Fault(Fault, usize),
}

/// What goes wrong with a sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No signal reaches the ADC: a constant.
    Flat,
    /// Stuck at the top of the ADC range.
    Rail,
    /// 50 Hz mains pick-up of 40 µV.
    Mains,
    /// A loose, noisy contact: 60 µV of broadband noise.
    Loose,
    /// A sensor over a tense muscle: heavy EMG (above 30 Hz) all along.
    Emg,
}

/// The Cortex mental-command actions a script can think (besides neutral, which is rest).
pub const MENTAL_ACTIONS: [&str; 13] = [
    "push",
    "pull",
    "lift",
    "drop",
    "left",
    "right",
    "rotateLeft",
    "rotateRight",
    "rotateClockwise",
    "rotateCounterClockwise",
    "rotateForwards",
    "rotateReverse",
    "disappear",
];

/// Default seconds of a thought: one training epoch.
const THINK_SECONDS: f64 = 8.0;
/// Default seconds of a sensor fault.
const FAULT_SECONDS: f64 = 3600.0;

impl ScriptAction {
    const NAMES: [(&'static str, ScriptAction, f64); 12] = [
        ("blink", ScriptAction::Blink, 0.25),
        ("winkL", ScriptAction::WinkLeft, 0.4),
        ("winkR", ScriptAction::WinkRight, 0.4),
        ("lookL", ScriptAction::LookLeft, 1.0),
        ("lookR", ScriptAction::LookRight, 1.0),
        ("surprise", ScriptAction::Surprise, 1.0),
        ("frown", ScriptAction::Frown, 1.0),
        ("smile", ScriptAction::Smile, 1.0),
        ("clench", ScriptAction::Clench, 1.0),
        ("relaxed", ScriptAction::Relaxed, 60.0),
        ("engaged", ScriptAction::Engaged, 60.0),
        ("neutral", ScriptAction::Neutral, 60.0),
    ];

    /// The script name of this action.
    pub fn name(self) -> &'static str {
        if let ScriptAction::Think(i) = self {
            return MENTAL_ACTIONS.get(i).copied().unwrap_or("?");
        }
        if let ScriptAction::Fault(f, _) = self {
            return match f {
                Fault::Flat => "flat",
                Fault::Rail => "rail",
                Fault::Mains => "mains",
                Fault::Loose => "loose",
                Fault::Emg => "emg",
            };
        }
        Self::NAMES
            .iter()
            .find(|(_, a, _)| *a == self)
            .map_or("?", |(n, _, _)| n)
    }

    /// The action of a script name, and its default duration.
    fn parse(name: &str) -> Option<(ScriptAction, f64)> {
        if let Some((_, a, d)) = Self::NAMES.iter().find(|(n, _, _)| *n == name) {
            return Some((*a, *d));
        }
        if let Some((kind, channel)) = name.split_once(':') {
            let fault = match kind {
                "flat" => Fault::Flat,
                "rail" => Fault::Rail,
                "mains" => Fault::Mains,
                "loose" => Fault::Loose,
                "emg" => Fault::Emg,
                _ => return None,
            };
            let ch = epoc_protocol::DISPLAY_ORDER
                .iter()
                .position(|c| c.name() == channel)?;
            return Some((ScriptAction::Fault(fault, ch), FAULT_SECONDS));
        }
        MENTAL_ACTIONS
            .iter()
            .position(|a| *a == name)
            .map(|i| (ScriptAction::Think(i), THINK_SECONDS))
    }
}

/// One scripted event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScriptEvent {
    /// Seconds from the headset's first sample.
    pub start: f64,
    /// What happens.
    pub action: ScriptAction,
    /// How long, in seconds.
    pub duration: f64,
    /// Amplitude scale (1 = default).
    pub strength: f64,
    /// Only virtual headset N acts it out (`flat:O1@2`); None: every one.
    pub headset: Option<u32>,
}

/// A parsed script, events in start order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VirtualScript {
    /// The events.
    pub events: Vec<ScriptEvent>,
}

impl VirtualScript {
    /// Read and parse a script file.
    pub fn load(path: &Path) -> Result<Self, DriverError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            DriverError::Script(format!(
                "cannot read the virtual headset script {}: {e}",
                path.display()
            ))
        })?;
        Self::parse(&text).map_err(|e| DriverError::Script(format!("{}: {e}", path.display())))
    }

    /// Parse script text; an error names the line and what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut events = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |what: String| {
                format!(
                    "line {}: {what} (expected `<seconds> <action> [<duration>] [<strength>]`)",
                    i + 1
                )
            };
            let mut parts = line.split_whitespace();
            let number = |s: Option<&str>, what: &str| -> Result<Option<f64>, String> {
                match s {
                    None => Ok(None),
                    Some(s) => match s.parse::<f64>() {
                        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
                        _ => Err(bad(format!("{what} {s:?} is not a number ≥ 0"))),
                    },
                }
            };
            let start = number(parts.next(), "the start")?.unwrap_or(0.0);
            let token = parts.next().ok_or_else(|| bad("no action".into()))?;
            // `action@N`: only virtual headset N acts it out.
            let (name, headset) = match token.rsplit_once('@') {
                Some((name, n)) => match n.parse::<u32>() {
                    Ok(n) if n >= 1 => (name, Some(n)),
                    _ => {
                        return Err(bad(format!(
                            "{token:?}: after @ comes a virtual headset number (1, 2, …)"
                        )));
                    }
                },
                None => (token, None),
            };
            let (action, default_duration) = ScriptAction::parse(name).ok_or_else(|| {
                let known: Vec<&str> = ScriptAction::NAMES
                    .iter()
                    .map(|(n, _, _)| *n)
                    .chain(MENTAL_ACTIONS)
                    .collect();
                bad(format!(
                    "unknown action {name:?}; known: {}, and the sensor faults flat:, rail:, mains:, loose:, emg: \
                     followed by a site (flat:O1)",
                    known.join(", ")
                ))
            })?;
            let duration = number(parts.next(), "the duration")?.unwrap_or(default_duration);
            let strength = number(parts.next(), "the strength")?.unwrap_or(1.0);
            if let Some(extra) = parts.next() {
                return Err(bad(format!("unexpected {extra:?}")));
            }
            if duration <= 0.0 {
                return Err(bad("the duration must be above 0".into()));
            }
            events.push(ScriptEvent {
                start,
                action,
                duration,
                strength,
                headset,
            });
        }
        events.sort_by(|a, b| a.start.total_cmp(&b.start));
        Ok(VirtualScript { events })
    }

    /// The events virtual headset `n` acts out: those for every headset and those for `n`.
    pub fn for_headset(&self, n: u32) -> VirtualScript {
        VirtualScript {
            events: self
                .events
                .iter()
                .filter(|e| e.headset.is_none_or(|h| h == n))
                .copied()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_with_defaults_and_sorts_them() {
        let s = VirtualScript::parse("# a test\n12.5 clench 2 0.5\n3 blink\n\n5 relaxed # calm\n").unwrap();
        assert_eq!(s.events.len(), 3);
        let fault = VirtualScript::parse("0 rail:T7").unwrap().events[0];
        assert_eq!(fault.action, ScriptAction::Fault(Fault::Rail, 4));
        assert!(VirtualScript::parse("0 rail:Cz").is_err(), "no such EPOC site");
        let two = VirtualScript::parse("0 flat:O1@2\n1 blink").unwrap();
        assert_eq!(two.events[0].headset, Some(2));
        assert_eq!(two.for_headset(1).events.len(), 1, "headset 1 only blinks");
        assert_eq!(two.for_headset(2).events.len(), 2);
        assert!(
            VirtualScript::parse("0 flat:O1@0").is_err(),
            "headsets count from 1"
        );
        assert!(VirtualScript::parse("0 flat:O1@x").is_err());
        let think = VirtualScript::parse("1 rotateLeft").unwrap().events[0];
        assert_eq!((think.action.name(), think.duration), ("rotateLeft", 8.0));
        assert_eq!(s.events[0].action, ScriptAction::Blink);
        assert_eq!((s.events[0].duration, s.events[0].strength), (0.25, 1.0));
        assert_eq!(s.events[1].duration, 60.0);
        assert_eq!(
            (s.events[2].start, s.events[2].duration, s.events[2].strength),
            (12.5, 2.0, 0.5)
        );
    }

    #[test]
    fn errors_name_the_line_and_the_fix() {
        let e = VirtualScript::parse("1 blink\n2 yawn\n").unwrap_err();
        assert!(
            e.starts_with("line 2: unknown action \"yawn\"; known: blink"),
            "{e}"
        );
        let e = VirtualScript::parse("x blink").unwrap_err();
        assert!(e.contains("line 1: the start \"x\" is not a number"), "{e}");
        assert!(VirtualScript::parse("1 blink 0").unwrap_err().contains("above 0"));
        assert!(
            VirtualScript::parse("1 blink 1 1 1")
                .unwrap_err()
                .contains("unexpected")
        );
    }
}
