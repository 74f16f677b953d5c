//! Profiles, training and detections (docs/cortex-api.md, "Profiles and BCI"): queryProfile,
//! getCurrentProfile, setupProfile, loadGuestProfile, getDetectionInfo, training and the
//! mental-command and facial-expression settings. epocd does not compute detections yet;
//! until it does, each method says so with -32601.

use std::sync::Arc;

use crate::methods::{Call, Reply};
use crate::{Cortex, ServiceError};

/// Every method of this chapter, for now.
pub fn not_yet(_: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    Err(ServiceError::NotSupported(format!(
        "{} is not supported by epocd yet: it has no mental-command or facial-expression detection or profiles \
         (raw data, band power and device streams are served)",
        call.method
    )))
}
