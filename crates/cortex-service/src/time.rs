//! Time formats of the Cortex API (one implementation, in `cortex-record`).

pub use cortex_record::time::{iso_from_unix, unix_now};

/// Now, as Cortex writes datetimes: ISO 8601 with microseconds and the local offset
/// (`2019-05-31T11:06:24.398560+07:00`).
pub fn iso_now() -> String {
    iso_from_unix(unix_now())
}
