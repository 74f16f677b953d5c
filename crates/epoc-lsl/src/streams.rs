//! The three streams of a headset as LSL describes them: name, type, rate, format, a
//! `source_id` made from the serial (so a recorder finds the stream again after a replug or a
//! restart), and the XDF metadata labs read (`desc/channels`, `desc/acquisition`,
//! `desc/reference`, `desc/cap`).

use epoc_protocol::{DISPLAY_ORDER, Mode, Model};
use labstream_net::StreamInfo;
use labstream_wire::Format;

/// What names a headset's streams.
#[derive(Debug, Clone)]
pub struct HeadsetMeta {
    /// The Cortex headset id (`EPOCPLUS-00000001`), for stream names.
    pub headset_id: String,
    /// The dongle (or BLE) serial: the stable part of every `source_id`.
    pub serial: String,
    /// Also publish band power (the Cortex `pow` stream) as its own outlet.
    pub band_power: bool,
}

/// The LSL name of a headset's stream of `kind` (`EEG`, `Motion`, `Markers`, `BandPower`).
pub fn stream_name(meta: &HeadsetMeta, kind: &str) -> String {
    format!("{} {kind}", meta.headset_id)
}

/// The names of the outlets a headset publishes.
pub fn outlet_names(meta: &HeadsetMeta) -> Vec<String> {
    let mut kinds = vec!["EEG", "Motion", "Markers"];
    if meta.band_power {
        kinds.push("BandPower");
    }
    kinds.into_iter().map(|k| stream_name(meta, k)).collect()
}

/// The `source_id` of a headset's stream `kind` (`eeg`, `motion`, `markers`).
pub fn source_id(serial: &str, kind: &str) -> String {
    format!("epocd-{serial}-{kind}")
}

fn model_name(m: Model) -> &'static str {
    match m {
        Model::Epoc => "EPOC",
        Model::EpocPlus => "EPOC+",
        Model::EpocX => "EPOC X",
    }
}

/// The motion values a mode carries, by name.
pub(crate) fn motion_names(mode: Mode) -> &'static [&'static str] {
    mode.motion_names()
}

fn acquisition(info: &mut StreamInfo, meta: &HeadsetMeta, mode: Mode) {
    let acq = info.desc.append_child("acquisition");
    acq.append_child_value("manufacturer", "EMOTIV");
    acq.append_child_value("model", model_name(mode.model));
    acq.append_child_value("serial_number", &meta.serial);
    acq.append_child_value("software", concat!("epocd ", env!("CARGO_PKG_VERSION")));
}

/// The EEG stream: 14 channels in µV at the headset's rate, display (10-20) order.
pub(crate) fn eeg_info(meta: &HeadsetMeta, mode: Mode) -> StreamInfo {
    let mut info = StreamInfo::new(
        &stream_name(meta, "EEG"),
        "EEG",
        DISPLAY_ORDER.len() as u32,
        Format::Float32,
        f64::from(mode.eeg_rate.hz()),
    );
    info.source_id = source_id(&meta.serial, "eeg");
    let channels = info.desc.append_child("channels");
    for c in DISPLAY_ORDER {
        let ch = channels.append_child("channel");
        ch.append_child_value("label", c.name());
        ch.append_child_value("unit", "microvolts");
        ch.append_child_value("type", "EEG");
    }
    // Saline sensors against the CMS/DRL reference pair at P3/P4 (mastoid area on EPOC X).
    let reference = info.desc.append_child("reference");
    reference.append_child_value("label", "CMS");
    reference.append_child_value("label", "DRL");
    reference.append_child_value("subtracted", "No");
    reference.append_child_value("common_average", "No");
    let cap = info.desc.append_child("cap");
    cap.append_child_value("name", model_name(mode.model));
    cap.append_child_value("labelscheme", "10-20");
    acquisition(&mut info, meta, mode);
    info
}

/// The motion stream: the mode's motion values in raw counts, at the motion `rate`.
pub(crate) fn motion_info(meta: &HeadsetMeta, mode: Mode, rate: f64) -> StreamInfo {
    let names = motion_names(mode);
    let mut info = StreamInfo::new(
        &stream_name(meta, "Motion"),
        "Motion",
        names.len() as u32,
        Format::Float32,
        rate,
    );
    info.source_id = source_id(&meta.serial, "motion");
    let channels = info.desc.append_child("channels");
    for name in names {
        let kind = match &name[..name.len().min(3)] {
            "GYR" => "AngularVelocity",
            "ACC" => "Acceleration",
            "MAG" => "MagneticField",
            _ => "Motion",
        };
        let ch = channels.append_child("channel");
        ch.append_child_value("label", name);
        ch.append_child_value("unit", "counts");
        ch.append_child_value("type", kind);
    }
    acquisition(&mut info, meta, mode);
    info
}

/// The markers stream: one string channel, irregular.
pub(crate) fn markers_info(meta: &HeadsetMeta) -> StreamInfo {
    let mut info = StreamInfo::new(&stream_name(meta, "Markers"), "Markers", 1, Format::String, 0.0);
    info.source_id = source_id(&meta.serial, "markers");
    info.desc
        .append_child("acquisition")
        .append_child_value("serial_number", &meta.serial);
    info
}

/// The band-power stream: the Cortex `pow` values (µV²/Hz per sensor and band) at 8 Hz.
pub(crate) fn band_power_info(meta: &HeadsetMeta, mode: Mode) -> StreamInfo {
    let mut info = StreamInfo::new(
        &stream_name(meta, "BandPower"),
        "BandPower",
        band_power::POW_VALUES as u32,
        Format::Float32,
        f64::from(band_power::POW_RATE_HZ),
    );
    info.source_id = source_id(&meta.serial, "bandpower");
    let channels = info.desc.append_child("channels");
    for c in DISPLAY_ORDER {
        for (band, lo, hi) in band_power::BANDS {
            let ch = channels.append_child("channel");
            ch.append_child_value("label", &format!("{}/{band}", c.name()));
            ch.append_child_value("unit", "uV^2/Hz");
            ch.append_child_value("type", "BandPower");
            ch.append_child_value("band_hz", &format!("{lo}-{hi}"));
        }
    }
    acquisition(&mut info, meta, mode);
    info
}
