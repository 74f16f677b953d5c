//! Rates learned from the reports detection looked at: the EEG rate when the counters do
//! not prove 256 Hz yet, and the motion rate (a headset setting the stream does not state).

use epoc_protocol::{Cipher, Detection, EegRate, REPORT_LEN, Resolution, TYPE_EEG, TYPE_MOTION};

use crate::source::Identity;

/// Motion samples per second, from the share of motion reports in the detection window:
/// 14-bit reports all carry the gyro (the EEG rate); 16-bit headsets send motion reports
/// between EEG reports at 0, 32, 64 or 128 Hz (a setting of the headset).
pub(crate) fn motion_rate(identity: &Identity, detection: &Detection, window: &[[u8; REPORT_LEN]]) -> u16 {
    let mode = detection.mode;
    if mode.resolution == Resolution::Bits14 {
        return mode.eeg_rate.hz();
    }
    let cipher = Cipher::for_layout(detection.layout, &identity.serial);
    let (mut eeg, mut motion) = (0u32, 0u32);
    for ct in window {
        let mut p = *ct;
        cipher.decrypt(&mut p);
        match p[1] {
            TYPE_EEG => eeg += 1,
            TYPE_MOTION => motion += 1,
            _ => {}
        }
    }
    if eeg == 0 {
        return 0;
    }
    let per_sec = f64::from(motion) * f64::from(mode.eeg_rate.hz()) / f64::from(eeg);
    [0u16, 32, 64, 128]
        .into_iter()
        .min_by(|a, b| {
            (f64::from(*a) - per_sec)
                .abs()
                .total_cmp(&(f64::from(*b) - per_sec).abs())
        })
        .unwrap_or(0)
}

/// The EEG rate to start with. Detection proves 256 Hz only once a counter passes 127;
/// before that, trust the source's hint, else (real-time sources) the arrival rate of the
/// window's EEG reports. The decoder still switches to 256 Hz if a counter passes 127.
pub(crate) fn settle_eeg_rate(
    identity: &Identity,
    detection: &Detection,
    window: &[[u8; REPORT_LEN]],
    arrivals: &[f64],
) -> EegRate {
    let mode = detection.mode;
    if mode.resolution == Resolution::Bits14 || mode.eeg_rate == EegRate::Hz256 {
        return mode.eeg_rate;
    }
    if let Some(hint) = identity.rate_hint {
        return hint;
    }
    let (Some(first), Some(last)) = (arrivals.first(), arrivals.last()) else {
        return mode.eeg_rate;
    };
    let span = last - first;
    if !identity.real_time || span <= 0.0 {
        return mode.eeg_rate;
    }
    let cipher = Cipher::for_layout(detection.layout, &identity.serial);
    let eeg = window
        .iter()
        .filter(|ct| {
            let mut p = **ct;
            cipher.decrypt(&mut p);
            p[1] == TYPE_EEG
        })
        .count();
    // Halfway (geometrically) between 128 and 256 Hz.
    if (eeg.saturating_sub(1)) as f64 / span > 181.0 {
        EegRate::Hz256
    } else {
        EegRate::Hz128
    }
}
