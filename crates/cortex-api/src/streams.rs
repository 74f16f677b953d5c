//! The data streams epocd serves and their `cols` (docs/cortex-api.md, "Streams").

use epoc_protocol::{DISPLAY_ORDER, EPOCX_MOTION_NAMES, GYRO14_NAMES, MOTION_NAMES, Mode, Model, Resolution};
use serde_json::{Value, json};

/// A set of streams, one [`Stream::bit`] each.
pub type StreamBits = u16;

/// A stream epocd can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Raw EEG in µV, at the headset rate.
    Eeg,
    /// Motion, at the headset's motion rate.
    Mot,
    /// Device info (battery, signal, contact quality), 2 Hz.
    Dev,
    /// EEG quality, 2 Hz.
    Eq,
    /// Band power per channel, 8 Hz.
    Pow,
    /// Performance metrics, 2 Hz.
    Met,
    /// Facial expressions, 32 Hz.
    Fac,
    /// Mental commands, 8 Hz.
    Com,
    /// Training events.
    Sys,
}

impl Stream {
    /// All streams epocd serves.
    pub const ALL: [Stream; 9] = [
        Stream::Eeg,
        Stream::Mot,
        Stream::Dev,
        Stream::Eq,
        Stream::Pow,
        Stream::Met,
        Stream::Fac,
        Stream::Com,
        Stream::Sys,
    ];

    /// Parse a Cortex stream name.
    pub fn parse(name: &str) -> Option<Stream> {
        Some(match name {
            "eeg" => Stream::Eeg,
            "mot" => Stream::Mot,
            "dev" => Stream::Dev,
            "eq" => Stream::Eq,
            "pow" => Stream::Pow,
            "met" => Stream::Met,
            "fac" => Stream::Fac,
            "com" => Stream::Com,
            "sys" => Stream::Sys,
            _ => return None,
        })
    }

    /// The Cortex stream name.
    pub const fn name(self) -> &'static str {
        match self {
            Stream::Eeg => "eeg",
            Stream::Mot => "mot",
            Stream::Dev => "dev",
            Stream::Eq => "eq",
            Stream::Pow => "pow",
            Stream::Met => "met",
            Stream::Fac => "fac",
            Stream::Com => "com",
            Stream::Sys => "sys",
        }
    }

    /// Bit for subscription sets.
    pub const fn bit(self) -> StreamBits {
        1 << self as u16
    }

    /// Streams computed by the detections (their own thread, only while subscribed).
    pub const fn is_detection(self) -> bool {
        matches!(self, Stream::Met | Stream::Fac | Stream::Com | Stream::Sys)
    }

    /// The `cols` of this stream for a headset in `mode`.
    pub fn cols(self, mode: Mode) -> Value {
        let sensors: Vec<&str> = DISPLAY_ORDER.iter().map(|c| c.name()).collect();
        match self {
            Stream::Eeg => {
                let mut c = vec!["COUNTER", "INTERPOLATED"];
                c.extend(&sensors);
                c.extend(["RAW_CQ", "MARKER_HARDWARE", "MARKERS"]);
                json!(c)
            }
            Stream::Mot => {
                let mut c = vec!["COUNTER_MEMS", "INTERPOLATED_MEMS"];
                c.extend(motion_sensors(mode));
                json!(c)
            }
            Stream::Dev => {
                let mut cq: Vec<&str> = sensors.clone();
                cq.push("OVERALL");
                json!(["Battery", "Signal", cq, "BatteryPercent"])
            }
            Stream::Eq => {
                let mut c = vec!["batteryPercent", "overall", "sampleRateQuality"];
                c.extend(&sensors);
                json!(c)
            }
            Stream::Pow => {
                let cols: Vec<String> = sensors
                    .iter()
                    .flat_map(|s| BANDS.iter().map(move |(b, _, _)| format!("{s}/{b}")))
                    .collect();
                json!(cols)
            }
            Stream::Met => json!(MET_COLS),
            Stream::Fac => json!(FAC_COLS),
            Stream::Com => json!(["act", "pow"]),
            Stream::Sys => json!(["detection", "event"]),
        }
    }
}

/// The `met` columns: the label set of current Cortex builds (docs/cortex-api.md, "Streams").
pub const MET_COLS: [&str; 13] = [
    "attention.isActive",
    "attention",
    "eng.isActive",
    "eng",
    "exc.isActive",
    "exc",
    "lex",
    "str.isActive",
    "str",
    "rel.isActive",
    "rel",
    "int.isActive",
    "int",
];

/// The `fac` columns.
pub const FAC_COLS: [&str; 5] = ["eyeAct", "uAct", "uPow", "lAct", "lPow"];

/// Why a stream name is refused: it is not a Cortex stream.
pub fn unsupported_reason(name: &str) -> String {
    format!("unknown stream {name:?}: epocd serves eeg, mot, dev, eq, pow, met, fac, com and sys")
}

/// Names of a headset's motion values, as its headset object lists them.
pub fn motion_sensors(mode: Mode) -> Vec<&'static str> {
    match (mode.resolution, mode.model) {
        (Resolution::Bits14, _) => GYRO14_NAMES.to_vec(),
        (Resolution::Bits16, Model::EpocX) => EPOCX_MOTION_NAMES.to_vec(),
        (Resolution::Bits16, _) => MOTION_NAMES.to_vec(),
    }
}

pub use band_power::BANDS;
