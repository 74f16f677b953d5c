//! Time formats of the Cortex API.

/// Now, as Cortex writes datetimes: ISO 8601 with microseconds and the local offset
/// (`2019-05-31T11:06:24.398560+07:00`).
pub fn iso_now() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
