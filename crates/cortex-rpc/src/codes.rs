//! The Cortex error-code table: the one place where errors become numbers
//! (cortex-api.md 6).

use cortex_session::SessionError;

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
/// A record is already in progress in the session.
pub const RECORD_ALREADY_STARTED: i64 = -32017;
/// No such record (or marker), or it belongs to another app.
pub const RECORD_NOT_FOUND: i64 = -32122;
/// A status value outside the allowed set.
pub const INVALID_STATUS: i64 = -32013;
/// Unknown token.
pub const INVALID_TOKEN: i64 = -32014;
/// Expired token.
pub const TOKEN_EXPIRED: i64 = -32015;
/// Bad client id or secret.
pub const INVALID_CLIENT: i64 = -32021;
/// The app has no access right.
pub const NO_ACCESS_RIGHT: i64 = -32102;

/// The Cortex code of a session-layer error.
pub fn code_of(e: &SessionError) -> i64 {
    match e {
        SessionError::InvalidToken => INVALID_TOKEN,
        SessionError::TokenExpired => TOKEN_EXPIRED,
        SessionError::NoAccess => NO_ACCESS_RIGHT,
        SessionError::BadClient => INVALID_CLIENT,
        SessionError::HeadsetNotFound(_) | SessionError::HeadsetNotConnected(_) => HEADSET_UNAVAILABLE,
        SessionError::SessionExists(..) => SESSION_EXISTS,
        SessionError::SessionNotFound(_) => SESSION_NOT_FOUND,
        SessionError::InvalidStatus(_) => INVALID_STATUS,
        SessionError::InvalidParams(_) => INVALID_PARAMS,
        SessionError::SessionNotActivated(_) => SESSION_NOT_ACTIVATED,
        SessionError::RecordInProgress(_) => RECORD_ALREADY_STARTED,
        SessionError::NoRecordInProgress(_) => RECORD_NOT_STARTED,
        SessionError::RecordNotFound(_) => RECORD_NOT_FOUND,
        SessionError::NotSupported(_) => METHOD_NOT_FOUND,
        SessionError::Internal(_) => INTERNAL_ERROR,
    }
}
