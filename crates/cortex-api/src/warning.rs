//! Warning frames: server pushes with no `id`. Their codes are in [`crate::codes::warning`].

use serde_json::{Value, json};

use crate::codes::warning::SUBSCRIPTIONS_CANCELLED;

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
