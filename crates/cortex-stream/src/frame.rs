//! Data frames as bytes: `{"<stream>":[…],"sid":"<session>","time":…}` built as a head
//! shared by every subscriber, the sid, and a tail, so no per-client string is made.

use std::fmt::Write as _;

use cortex_api::Stream;

/// Start a sample frame: `{"<stream>":[`.
pub fn frame_start(out: &mut String, stream: Stream) {
    out.clear();
    out.push_str("{\"");
    out.push_str(stream.name());
    out.push_str("\":[");
}

/// End a frame's values and start its sid: `],"sid":"`. A frame is head + sid + tail
/// (`","time":…}`, no `id` key, as clients require) so that every subscriber of a sample
/// shares one head and one tail.
pub fn frame_before_sid(out: &mut String) {
    out.push_str("],\"sid\":\"");
}

/// The part of a frame's end after the sid: `","time":…}` (replaces `out`).
pub fn frame_after_sid(out: &mut String, time: f64) {
    out.clear();
    out.push_str("\",\"time\":");
    push_f64(out, time, 6);
    out.push('}');
}

/// Append a float with a fixed number of decimals, and JSON-safe (non-finite → 0).
pub fn push_f64(out: &mut String, v: f64, decimals: usize) {
    let v = if v.is_finite() { v } else { 0.0 };
    let _ = write!(out, "{v:.decimals$}");
}

/// A whole `sys` frame: `{"sys":["<detection>","<event>"],"sid":"…","time":…}` (every element
/// a string: the C# client casts them).
pub fn sys_frame(sid: &str, detection: &str, event: &str, time: f64) -> String {
    let mut out = String::with_capacity(128);
    frame_start(&mut out, Stream::Sys);
    out.push('"');
    out.push_str(detection);
    out.push_str("\",\"");
    out.push_str(event);
    out.push('"');
    frame_before_sid(&mut out);
    out.push_str(sid);
    let mut tail = String::new();
    frame_after_sid(&mut tail, time);
    out.push_str(&tail);
    out
}
