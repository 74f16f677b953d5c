//! The method table: every Cortex method epocd answers, and the chapter file that handles it.
//! A handler reads its typed params from a [`Call`] and returns a [`Reply`].

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::params::Params;
use crate::{ClientId, Cortex, ServiceError};
use crate::{access, detections, headsets, markers, records, sessions, subjects};

/// One request as the service sees it.
pub struct Call<'a> {
    /// The method name.
    pub method: &'a str,
    /// The connection it came from.
    pub client: ClientId,
    /// Its params.
    pub params: Params<'a>,
}

/// Run after the reply has been queued (before the connection's next request): subscribing
/// a connection to data only then means no sample can precede the subscribe reply.
pub type AfterReply = Box<dyn FnOnce() + Send>;

/// A method's result, the frames that must follow it, and what to do once it is queued.
pub struct Reply {
    /// The `result` of the response.
    pub result: Value,
    /// Frames (warnings) that must follow the response.
    pub after: Vec<String>,
    /// Work to run once the response and `after` are queued.
    pub then: Option<AfterReply>,
}

impl From<Value> for Reply {
    fn from(result: Value) -> Self {
        Reply {
            result,
            after: Vec::new(),
            then: None,
        }
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("result", &self.result)
            .field("after", &self.after)
            .field("then", &self.then.is_some())
            .finish()
    }
}

/// A method handler.
pub type Handler = fn(&Arc<Cortex>, &Call<'_>) -> Result<Reply, ServiceError>;

/// Every method, by Cortex chapter (docs/cortex-api.md): name → handler.
pub const METHODS: &[(&str, Handler)] = &[
    // Cortex and authentication: access.rs
    ("getCortexInfo", access::get_cortex_info),
    ("getUserLogin", access::get_user_login),
    ("requestAccess", access::request_access),
    ("hasAccessRight", access::has_access_right),
    ("authorize", access::authorize),
    ("generateNewToken", access::generate_new_token),
    ("getUserInformation", access::get_user_information),
    ("getLicenseInfo", access::get_license_info),
    // Headsets: headsets.rs
    ("queryHeadsets", headsets::query_headsets),
    ("controlDevice", headsets::control_device),
    ("updateHeadsetCustomInfo", headsets::update_headset_custom_info),
    ("syncWithHeadsetClock", headsets::sync_with_headset_clock),
    ("updateHeadset", headsets::update_headset),
    ("configMapping", headsets::config_mapping),
    ("epocd.headsetActivity", headsets::headset_activity),
    // Sessions and data subscription: sessions.rs
    ("createSession", sessions::create_session),
    ("updateSession", sessions::update_session),
    ("querySessions", sessions::query_sessions),
    ("subscribe", sessions::subscribe),
    ("unsubscribe", sessions::unsubscribe),
    // Records: records.rs
    ("createRecord", records::create_record),
    ("stopRecord", records::stop_record),
    ("updateRecord", records::update_record),
    ("deleteRecord", records::delete_record),
    ("queryRecords", records::query_records),
    ("getRecordInfos", records::get_record_infos),
    ("configOptOut", records::config_opt_out),
    ("exportRecord", records::export_record),
    (
        "requestToDownloadRecordData",
        records::request_to_download_record_data,
    ),
    // Markers: markers.rs
    ("injectMarker", markers::inject_marker),
    ("updateMarker", markers::update_marker),
    // Subjects: subjects.rs
    ("createSubject", subjects::create_subject),
    ("updateSubject", subjects::update_subject),
    ("deleteSubjects", subjects::delete_subjects),
    ("querySubjects", subjects::query_subjects),
    ("getDemographicAttributes", subjects::get_demographic_attributes),
    // Profiles, training and detections: detections.rs
    ("queryProfile", detections::profiles::query_profile),
    ("getCurrentProfile", detections::profiles::get_current_profile),
    ("setupProfile", detections::profiles::setup_profile),
    ("loadGuestProfile", detections::profiles::load_guest_profile),
    ("getDetectionInfo", detections::get_detection_info),
    ("training", detections::training::training),
    (
        "getTrainedSignatureActions",
        detections::mental::trained_signature_actions,
    ),
    ("getTrainingTime", detections::mental::training_time),
    ("facialExpressionSignatureType", detections::signature_type),
    ("facialExpressionThreshold", detections::threshold),
    ("mentalCommandActiveAction", detections::mental::active_action),
    ("mentalCommandBrainMap", detections::mental::brain_map),
    ("mentalCommandGetSkillRating", detections::mental::skill_rating),
    (
        "mentalCommandTrainingThreshold",
        detections::mental::training_threshold,
    ),
    (
        "mentalCommandActionSensitivity",
        detections::mental::action_sensitivity,
    ),
];

impl Cortex {
    /// Run the method `method` for `client` with `params`: the whole Cortex API without a
    /// socket (the transport calls this; so do the in-process tests).
    pub fn call(
        self: &Arc<Self>,
        client: ClientId,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Reply, ServiceError> {
        let handler = METHODS
            .iter()
            .find(|(name, _)| *name == method)
            .map(|(_, h)| *h)
            .ok_or_else(|| ServiceError::MethodNotFound(method.to_owned()))?;
        let call = Call {
            method,
            client,
            params: Params(params),
        };
        let _span = tracing::debug_span!("call", method).entered();
        handler(self, &call)
    }
}
