//! Method dispatch: params in, service call, result out.

use std::sync::Arc;

use cortex_session::{ClientId, Cortex, ExportParams, MarkerParams, NewRecord, RecordQuery, SubjectParams};
use serde_json::Value;

use crate::envelope::Request;
use crate::params::Params;
use crate::{RpcError, codes};

/// A method's result and the frames to send right after it.
#[derive(Debug)]
pub struct Reply {
    /// The `result` of the response.
    pub result: Value,
    /// Frames (warnings) that must follow the response.
    pub after: Vec<String>,
}

impl From<Value> for Reply {
    fn from(result: Value) -> Self {
        Reply {
            result,
            after: Vec::new(),
        }
    }
}

/// Cortex methods that need Emotiv's detection algorithms or its headset configuration tool.
const NOT_SUPPORTED: [&str; 18] = [
    "queryProfile",
    "getCurrentProfile",
    "setupProfile",
    "loadGuestProfile",
    "getDetectionInfo",
    "training",
    "getTrainedSignatureActions",
    "getTrainingTime",
    "facialExpressionSignatureType",
    "facialExpressionThreshold",
    "mentalCommandActiveAction",
    "mentalCommandBrainMap",
    "mentalCommandGetSkillRating",
    "mentalCommandTrainingThreshold",
    "mentalCommandActionSensitivity",
    "updateHeadset",
    "configMapping",
    "requestToDownloadRecordData",
];

/// Run one request.
pub fn dispatch(cortex: &Arc<Cortex>, client: ClientId, req: &Request) -> Result<Reply, RpcError> {
    let p = Params(&req.params);
    let reply: Reply = match req.method.as_str() {
        "getCortexInfo" => cortex.cortex_info().into(),
        "getUserLogin" => cortex.user_login().into(),
        "requestAccess" => {
            p.str("clientSecret")?;
            cortex.request_access(p.str("clientId")?)?.into()
        }
        "hasAccessRight" => {
            p.str("clientSecret")?;
            cortex.has_access_right(p.str("clientId")?)?.into()
        }
        "authorize" => {
            p.str("clientSecret")?;
            p.opt_str("license")?; // any licence, or none, is fine
            if let Some(d) = req.params.get("debit")
                && !d.is_number()
                && !d.is_null()
            {
                return Err(RpcError::params("parameter debit must be a number"));
            }
            cortex.authorize(p.str("clientId")?)?.into()
        }
        "generateNewToken" => {
            p.str("clientSecret")?;
            cortex.generate_new_token(p.token()?, p.str("clientId")?)?.into()
        }
        "getUserInformation" => cortex.user_information(p.token()?)?.into(),
        "getLicenseInfo" => cortex.license_info(p.token()?)?.into(),
        "queryHeadsets" => cortex.query_headsets(p.opt_str("id")?).into(),
        "controlDevice" => {
            let (result, after) = cortex.control_device(client, p.str("command")?, p.opt_str("headset")?)?;
            Reply { result, after }
        }
        "updateHeadsetCustomInfo" => cortex
            .update_headset_custom_info(
                p.token()?,
                p.str("headsetId")?,
                p.opt_str("headbandPosition")?,
                p.opt_str("customName")?,
            )?
            .into(),
        "syncWithHeadsetClock" => cortex
            .sync_with_headset_clock(p.str("headset")?, p.f64("monotonicTime")?, p.f64("systemTime")?)?
            .into(),
        "createSession" => cortex
            .create_session(client, p.token()?, p.opt_str("headset")?, p.str("status")?)?
            .into(),
        "updateSession" => cortex
            .update_session(p.token()?, p.str("session")?, p.str("status")?)?
            .into(),
        "querySessions" => cortex.query_sessions(p.token()?)?.into(),
        "subscribe" => cortex
            .subscribe(client, p.token()?, p.str("session")?, &p.strings("streams")?)?
            .into(),
        "unsubscribe" => cortex
            .unsubscribe(p.token()?, p.str("session")?, &p.strings("streams")?)?
            .into(),
        "createRecord" => cortex
            .create_record(
                p.token()?,
                p.str("session")?,
                NewRecord {
                    title: p.str("title")?.to_owned(),
                    description: p.opt_str("description")?.unwrap_or_default().to_owned(),
                    subject_name: p.opt_str("subjectName")?.map(str::to_owned),
                    tags: p.opt_strings("tags")?.unwrap_or_default(),
                    experiment_id: p.opt_int("experimentId")?.unwrap_or(0),
                },
            )?
            .into(),
        "stopRecord" => cortex.stop_record(p.token()?, p.str("session")?)?.into(),
        "updateRecord" => {
            let tags = p.opt_strings("tags")?;
            cortex
                .update_record(
                    p.token()?,
                    p.str("record")?,
                    p.opt_str("title")?,
                    p.opt_str("description")?,
                    tags.as_deref(),
                )?
                .into()
        }
        "deleteRecord" => cortex.delete_records(p.token()?, &p.strings("records")?)?.into(),
        "queryRecords" => {
            let query = RecordQuery {
                query: p.object("query")?.clone(),
                order_by: p.array("orderBy")?.to_vec(),
                limit: usize::try_from(p.opt_uint("limit")?.unwrap_or(0)).unwrap_or(usize::MAX),
                offset: usize::try_from(p.opt_uint("offset")?.unwrap_or(0)).unwrap_or(usize::MAX),
                include_markers: p.opt_bool("includeMarkers")?.unwrap_or(false),
                include_sync_status: p.opt_bool("includeSyncStatusInfo")?.unwrap_or(false),
            };
            cortex.query_records(p.token()?, &query)?.into()
        }
        "getRecordInfos" => cortex.record_infos(p.token()?, &p.strings("recordIds")?)?.into(),
        "configOptOut" => cortex
            .config_opt_out(p.token()?, p.str("status")?, p.opt_bool("newOptOut")?)?
            .into(),
        "exportRecord" => {
            // Accepted and ignored: epocd has no licences, demographics go in the JSON file.
            for flag in [
                "includeDemographics",
                "includeMarkerExtraInfos",
                "includeSurvey",
                "includeDeprecatedPM",
            ] {
                p.opt_bool(flag)?;
            }
            p.opt_strings("licenseIds")?;
            let params = ExportParams {
                record_ids: p.strings("recordIds")?,
                folder: p.str("folder")?.to_owned(),
                stream_types: p.strings("streamTypes")?,
                format: p.str("format")?.to_owned(),
                version: p.opt_str("version")?.map(str::to_owned),
            };
            cortex.export_records(p.token()?, &params)?.into()
        }
        "injectMarker" => {
            let params = MarkerParams {
                time: p.f64("time")?,
                value: p.value("value")?.clone(),
                label: p.str("label")?.to_owned(),
                port: p.opt_str("port")?.unwrap_or("Software").to_owned(),
                extras: p
                    .opt_object("extras")?
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Default::default())),
            };
            cortex
                .inject_marker(p.token()?, p.str("session")?, params)?
                .into()
        }
        "updateMarker" => cortex
            .update_marker(
                p.token()?,
                p.str("session")?,
                p.str("markerId")?,
                p.f64("time")?,
                p.opt_object("extras")?,
            )?
            .into(),
        "createSubject" | "updateSubject" => {
            let params = SubjectParams {
                name: p.str("subjectName")?.to_owned(),
                date_of_birth: p.opt_str("dateOfBirth")?.map(str::to_owned),
                sex: p.opt_str("sex")?.map(str::to_owned),
                country_code: p.opt_str("countryCode")?.map(str::to_owned),
                state: p.opt_str("state")?.map(str::to_owned),
                city: p.opt_str("city")?.map(str::to_owned),
                attributes: req.params.get("attributes").filter(|v| !v.is_null()).cloned(),
            };
            cortex
                .put_subject(p.token()?, params, req.method == "updateSubject")?
                .into()
        }
        "deleteSubjects" => cortex
            .delete_subjects(p.token()?, &p.strings("subjects")?)?
            .into(),
        "querySubjects" => cortex
            .query_subjects(
                p.token()?,
                p.object("query")?,
                p.array("orderBy")?,
                usize::try_from(p.opt_uint("limit")?.unwrap_or(0)).unwrap_or(usize::MAX),
                usize::try_from(p.opt_uint("offset")?.unwrap_or(0)).unwrap_or(usize::MAX),
            )?
            .into(),
        "getDemographicAttributes" => cortex.demographic_attributes(p.token()?)?.into(),
        m if NOT_SUPPORTED.contains(&m) => {
            return Err(RpcError::call(
                codes::METHOD_NOT_FOUND,
                format!(
                    "{m} is not supported by epocd: it has no mental-command or facial-expression detection, \
                     profiles or headset configuration (raw data, band power and device streams are served)"
                ),
            ));
        }
        m => {
            return Err(RpcError::call(
                codes::METHOD_NOT_FOUND,
                format!("method not found: {m}"),
            ));
        }
    };
    Ok(reply)
}
