//! Time formats shared by records, markers and the Cortex API.

use chrono::{DateTime, Local, SecondsFormat, TimeZone};

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A local datetime from epoch seconds (the epoch itself if out of range).
pub fn local_from_unix(secs: f64) -> DateTime<Local> {
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    Local
        .timestamp_opt(whole as i64, nanos)
        .single()
        .unwrap_or_else(|| DateTime::<Local>::from(std::time::UNIX_EPOCH))
}

/// Cortex's datetime format: ISO 8601 with microseconds and the local offset
/// (`2019-05-31T11:06:24.398560+07:00`).
pub fn iso_from_unix(secs: f64) -> String {
    local_from_unix(secs).to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// Epoch seconds from a Cortex datetime (`None` if it is not RFC 3339).
pub fn unix_from_iso(text: &str) -> Option<f64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.timestamp() as f64 + f64::from(d.timestamp_subsec_micros()) / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips_to_the_microsecond() {
        let t = 1_700_000_123.456_789;
        let iso = iso_from_unix(t);
        assert!(iso.contains(".456789"), "{iso}");
        let back = unix_from_iso(&iso).expect("parses");
        assert!((back - t).abs() < 1e-6, "{back} vs {t}");
    }

    #[test]
    fn garbage_is_not_a_datetime() {
        assert_eq!(unix_from_iso("yesterday"), None);
    }
}
