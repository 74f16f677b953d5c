//! Method dispatch: params in, service call, result out.

use std::sync::Arc;

use cortex_session::{ClientId, Cortex};
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
