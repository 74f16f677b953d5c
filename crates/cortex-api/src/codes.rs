//! Every Cortex error and warning code epocd sends: the one table (docs/cortex-api.md,
//! "Error codes" and "Warnings"). No numeric code is written anywhere else.

/// Error codes: the `error.code` of a response, and the `code` of a per-item failure.
pub mod error {
    /// Not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Valid JSON that is not a JSON-RPC request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Missing or wrongly typed parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// A failure inside epocd.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Headset not found or not connected.
    pub const HEADSET_UNAVAILABLE: i64 = -32004;
    /// A session already exists for this headset and app.
    pub const SESSION_EXISTS: i64 = -32005;
    /// No such session.
    pub const SESSION_NOT_FOUND: i64 = -32007;
    /// No record in progress (stopRecord, markers).
    pub const RECORD_NOT_STARTED: i64 = -32011;
    /// The session must be activated first.
    pub const SESSION_NOT_ACTIVATED: i64 = -32012;
    /// A status value outside the allowed set.
    pub const INVALID_STATUS: i64 = -32013;
    /// Unknown token.
    pub const INVALID_TOKEN: i64 = -32014;
    /// Expired token.
    pub const TOKEN_EXPIRED: i64 = -32015;
    /// A stream that cannot be (un)subscribed: unknown, unavailable or already subscribed.
    pub const STREAM_UNAVAILABLE: i64 = -32016;
    /// A record is already in progress in the session (or the record is still recording).
    pub const RECORD_ALREADY_STARTED: i64 = -32017;
    /// Bad client id or secret.
    pub const INVALID_CLIENT: i64 = -32021;
    /// The app has no access right.
    pub const NO_ACCESS_RIGHT: i64 = -32102;
    /// No such record (or marker), or it belongs to another app.
    pub const RECORD_NOT_FOUND: i64 = -32122;
    /// A profile name that is not valid, or names no profile.
    pub const INVALID_PROFILE_NAME: i64 = -32031;
    /// A profile could not be created, read or written (name taken, damaged file, disk).
    pub const PROFILE_ERROR: i64 = -32036;
    /// The headset already has a profile loaded (unload it first).
    pub const HEADSET_HAS_PROFILE: i64 = -32044;
    /// No profile is loaded on the headset.
    pub const NO_PROFILE_LOADED: i64 = -32045;
    /// The profile is loaded by another application (Python's `ERR_PROFILE_ACCESS_DENIED`).
    pub const PROFILE_ACCESS_DENIED: i64 = -32046;
}

/// Warning codes: server pushes `{"jsonrpc":"2.0","warning":{"code":…,"message":…}}`.
pub mod warning {
    /// A session's subscriptions were cancelled (headset gone, or a client too slow).
    pub const SUBSCRIPTIONS_CANCELLED: i64 = 0;
    /// A session was closed by the daemon.
    pub const SESSION_CLOSED: i64 = 1;
    /// The user approved the app (after a requestAccess that answered `false`).
    pub const ACCESS_GRANTED: i64 = 9;
    /// A profile was loaded on a headset (setupProfile load, loadGuestProfile).
    pub const PROFILE_LOADED: i64 = 13;
    /// A profile was unloaded (setupProfile unload).
    pub const PROFILE_UNLOADED: i64 = 14;
    /// A profile was unloaded because its app's last session on the headset closed.
    pub const PROFILE_AUTO_UNLOADED: i64 = 15;
    /// Disk space low (under 1 GB free where records are written) while recording.
    pub const DISK_LOW: i64 = 19;
    /// Disk space critical: under 300 MB free while recording, and when a full disk (or
    /// another storage failure) stopped a record.
    pub const DISK_CRITICAL: i64 = 20;
    /// Record post-processing done, safe to export.
    pub const RECORD_READY: i64 = 30;
    /// The headset cannot connect (its reports could not be decoded).
    pub const HEADSET_CANNOT_CONNECT: i64 = 101;
    /// Headset disconnected / data timeout.
    pub const HEADSET_DISCONNECTED: i64 = 103;
    /// Headset connected.
    pub const HEADSET_CONNECTED: i64 = 104;
    /// Headset scan finished.
    pub const SCAN_FINISHED: i64 = 142;
    /// epocd's own: a record writer fell a whole ring lap behind and the record was stopped
    /// (never expected at real rates; the message says what was kept).
    pub const RECORD_WRITER_BEHIND: i64 = 150;
    /// epocd's own: a record is whole in the lab's bucket (`[sync]`).
    pub const RECORD_UPLOADED: i64 = 151;
    /// epocd's own: a record's upload failed for a reason a person must fix (the message
    /// says which); the record stays intact here.
    pub const RECORD_UPLOAD_FAILED: i64 = 152;
    /// epocd's own: a record was brought here from the lab's bucket (requestToDownloadRecordData).
    pub const RECORD_DOWNLOADED: i64 = 153;
    /// epocd's own: bringing a record here failed (the message says why: a checksum, the
    /// network); nothing of it was kept.
    pub const RECORD_DOWNLOAD_FAILED: i64 = 154;
}
