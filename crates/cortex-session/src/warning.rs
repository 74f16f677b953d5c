//! Warnings: server pushes with no `id` (cortex-api.md 7).

use serde_json::{Value, json};

/// Session subscriptions cancelled (headset gone, or a client too slow).
pub const SUBSCRIPTIONS_CANCELLED: i64 = 0;
/// Session closed by the daemon.
pub const SESSION_CLOSED: i64 = 1;
/// Access granted after a pending request.
pub const ACCESS_GRANTED: i64 = 9;
/// Disk space low (under 1 GB free where records are written) while recording.
pub const DISK_LOW: i64 = 19;
/// Disk space critical: under 300 MB free while recording, and when a full disk (or another
/// storage failure) stopped a record.
pub const DISK_CRITICAL: i64 = 20;
/// epocd's own: a record writer fell a whole ring lap behind and the record was stopped
/// (never expected at real rates; the message says what was kept).
pub const RECORD_WRITER_BEHIND: i64 = 150;
/// Record post-processing done, safe to export.
pub const RECORD_READY: i64 = 30;
/// Headset disconnected / data timeout.
pub const HEADSET_DISCONNECTED: i64 = 103;
/// Headset connected.
pub const HEADSET_CONNECTED: i64 = 104;
/// Headset scan finished.
pub const SCAN_FINISHED: i64 = 142;

/// The warning frame `{"jsonrpc":"2.0","warning":{"code":…,"message":…}}`.
pub fn frame(code: i64, message: Value) -> String {
    json!({"jsonrpc": "2.0", "warning": {"code": code, "message": message}}).to_string()
}

/// The last frame a client gets before it is dropped for not reading its data.
pub fn client_too_slow(sid: &str) -> String {
    frame(
        SUBSCRIPTIONS_CANCELLED,
        json!({
            "sessionId": sid,
            "behavior": "The client did not read its data fast enough; its queue is full, so epocd closes this connection.",
        }),
    )
}
