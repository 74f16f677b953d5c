//! The one error type of this crate, and the Cortex error code of each (from the table in
//! `cortex_api::codes`).

use thiserror::Error;

/// Why a Cortex request cannot be served. Messages say what the app should do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServiceError {
    /// The token is unknown (never issued, or malformed).
    #[error("invalid cortex token: call authorize to get one")]
    InvalidToken,
    /// The token was issued but has expired.
    #[error("the cortex token has expired: call authorize again")]
    TokenExpired,
    /// The app has not been granted access.
    #[error("this application has no access right yet: call requestAccess first")]
    NoAccess,
    /// A clientId that is missing or empty.
    #[error("invalid client id or client secret: clientId must be a non-empty string")]
    BadClient,
    /// No headset with that id.
    #[error("headset {0} not found: call queryHeadsets to see the available ids")]
    HeadsetNotFound(String),
    /// The headset exists but is not connected.
    #[error("headset {0} is not connected: call controlDevice connect and wait for warning 104")]
    HeadsetNotConnected(String),
    /// One session per headset per app.
    #[error("a session already exists for headset {0} in this application (session {1})")]
    SessionExists(String, String),
    /// No open session with that id for this app.
    #[error("session {0} does not exist or is closed")]
    SessionNotFound(String),
    /// A `status` (or `command`) value outside the allowed set.
    #[error("invalid status {0:?}")]
    InvalidStatus(String),
    /// Parameters that are present but wrong.
    #[error("{0}")]
    InvalidParams(String),
    /// Something Cortex has that epocd deliberately does not (training, profiles).
    #[error("{0}")]
    NotSupported(String),
    /// The session must be activated first (createRecord).
    #[error("session {0} is not activated: call updateSession with status \"active\" first")]
    SessionNotActivated(String),
    /// createRecord while a record is in progress in the session.
    #[error("record {0} is already in progress in this session: call stopRecord first")]
    RecordInProgress(String),
    /// A method that needs a record in progress (stopRecord, injectMarker, updateMarker).
    #[error("no record is in progress in session {0}: call createRecord first")]
    NoRecordInProgress(String),
    /// No record (or marker) with that id that this app may use.
    #[error("{0}")]
    RecordNotFound(String),
    /// No method of that name.
    #[error("method not found: {0}")]
    MethodNotFound(String),
    /// A profile name that is invalid or names no profile.
    #[error("{0}")]
    ProfileName(String),
    /// A profile could not be created, read or written (name taken, damaged file, disk).
    #[error("{0}")]
    ProfileFailed(String),
    /// load while another profile is loaded on the headset.
    #[error("headset {0} already has profile {1:?} loaded: unload it first (setupProfile unload)")]
    HeadsetHasProfile(String, String),
    /// unload, save or training with no profile loaded.
    #[error("no profile is loaded on headset {0}: load one first (setupProfile load)")]
    NoProfileLoaded(String),
    /// A profile another app has loaded.
    #[error("profile {0:?} is loaded by another application on headset {1}")]
    ProfileOfAnotherApp(String, String),
    /// A failure inside epocd (disk, thread spawn).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The Cortex error code apps see.
    pub fn code(&self) -> i64 {
        use cortex_api::codes::error::*;
        match self {
            ServiceError::InvalidToken => INVALID_TOKEN,
            ServiceError::TokenExpired => TOKEN_EXPIRED,
            ServiceError::NoAccess => NO_ACCESS_RIGHT,
            ServiceError::BadClient => INVALID_CLIENT,
            ServiceError::HeadsetNotFound(_) | ServiceError::HeadsetNotConnected(_) => HEADSET_UNAVAILABLE,
            ServiceError::SessionExists(..) => SESSION_EXISTS,
            ServiceError::SessionNotFound(_) => SESSION_NOT_FOUND,
            ServiceError::InvalidStatus(_) => INVALID_STATUS,
            ServiceError::InvalidParams(_) => INVALID_PARAMS,
            ServiceError::SessionNotActivated(_) => SESSION_NOT_ACTIVATED,
            ServiceError::RecordInProgress(_) => RECORD_ALREADY_STARTED,
            ServiceError::NoRecordInProgress(_) => RECORD_NOT_STARTED,
            ServiceError::RecordNotFound(_) => RECORD_NOT_FOUND,
            ServiceError::NotSupported(_) | ServiceError::MethodNotFound(_) => METHOD_NOT_FOUND,
            ServiceError::ProfileName(_) => INVALID_PROFILE_NAME,
            ServiceError::ProfileFailed(_) => PROFILE_ERROR,
            ServiceError::HeadsetHasProfile(..) => HEADSET_HAS_PROFILE,
            ServiceError::NoProfileLoaded(_) => NO_PROFILE_LOADED,
            ServiceError::ProfileOfAnotherApp(..) => PROFILE_ACCESS_DENIED,
            ServiceError::Internal(_) => INTERNAL_ERROR,
        }
    }
}

impl From<cortex_profile::ProfileError> for ServiceError {
    fn from(e: cortex_profile::ProfileError) -> Self {
        use cortex_profile::ProfileError::*;
        match e {
            InvalidName(_) | NotFound(_) => ServiceError::ProfileName(e.to_string()),
            _ => ServiceError::ProfileFailed(e.to_string()),
        }
    }
}
