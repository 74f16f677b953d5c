//! Profiles, training and detections (docs/cortex-api.md, "Profiles and BCI"):
//! getDetectionInfo, and the facial-expression settings of a session (signature type and
//! thresholds), which its `fac` stream applies. Profiles, training and mental commands are
//! not there yet: those methods say so with -32601.

use std::sync::Arc;

use epoc_facial::{DEFAULT_THRESHOLD, FaceAction, Thresholds};
use serde_json::json;

use crate::methods::{Call, Reply};
use crate::service::lock;
use crate::{Cortex, ServiceError};

/// Facial-expression actions, as Cortex lists them.
const FACIAL_ACTIONS: [&str; 12] = [
    "neutral",
    "blink",
    "winkL",
    "winkR",
    "horiEye",
    "surprise",
    "frown",
    "smile",
    "clench",
    "laugh",
    "smirkLeft",
    "smirkRight",
];
const FACIAL_EVENTS: [&str; 8] = [
    "FE_Started",
    "FE_Succeeded",
    "FE_Failed",
    "FE_Completed",
    "FE_DataErased",
    "FE_Rejected",
    "FE_Reset",
    "FE_AutoSamplingNeutralCompleted",
];
const MENTAL_ACTIONS: [&str; 14] = [
    "neutral",
    "push",
    "pull",
    "lift",
    "drop",
    "left",
    "right",
    "rotateLeft",
    "rotateRight",
    "rotateClockwise",
    "rotateCounterClockwise",
    "rotateForwards",
    "rotateReverse",
    "disappear",
];
const MENTAL_EVENTS: [&str; 10] = [
    "MC_Started",
    "MC_Succeeded",
    "MC_Failed",
    "MC_Completed",
    "MC_DataErased",
    "MC_Rejected",
    "MC_Reset",
    "MC_AutoSamplingNeutralCompleted",
    "MC_SignatureUpdated",
    "MC_TrainingCountUpdated",
];
const CONTROLS: [&str; 5] = ["start", "accept", "reject", "reset", "erase"];

/// The signatures epocd has: the universal one (a trained one comes with training).
const SIGNATURES: [&str; 1] = ["universal"];

/// A session's facial-expression settings (per session until profiles exist).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FacialSettings {
    pub(crate) thresholds: Thresholds,
}

/// Every method of this chapter that epocd does not have yet.
pub fn not_yet(_: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    Err(ServiceError::NotSupported(format!(
        "{} is not supported by epocd yet: it has no profiles, training or mental commands \
         (the met and fac detections work without them)",
        call.method
    )))
}

/// `getDetectionInfo {detection}`: the actions, training controls and training events of a
/// detection.
pub fn get_detection_info(_: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let detection = call.params.str("detection")?;
    let (actions, events): (&[&str], &[&str]) = match detection {
        "facialExpression" => (&FACIAL_ACTIONS, &FACIAL_EVENTS),
        "mentalCommand" => (&MENTAL_ACTIONS, &MENTAL_EVENTS),
        other => {
            return Err(ServiceError::InvalidParams(format!(
                "unknown detection {other:?}: use \"facialExpression\" or \"mentalCommand\""
            )));
        }
    };
    let mut result = json!({"actions": actions, "controls": CONTROLS, "events": events});
    if detection == "facialExpression" {
        result["signature"] = json!(SIGNATURES);
    }
    Ok(result.into())
}

/// The session a facial-expression setting applies to: `session` (profiles come later).
fn settings_session<'a>(call: &Call<'a>) -> Result<&'a str, ServiceError> {
    if call.params.opt_str("profile")?.is_some() && call.params.opt_str("session")?.is_none() {
        return Err(ServiceError::NotSupported(
            "epocd has no profiles yet: pass \"session\" to set this for a session".into(),
        ));
    }
    call.params.str("session")
}

fn status<'a>(call: &Call<'a>) -> Result<&'a str, ServiceError> {
    match call.params.str("status")? {
        s @ ("get" | "set") => Ok(s),
        other => Err(ServiceError::InvalidStatus(format!(
            "{other} (use \"get\" or \"set\")"
        ))),
    }
}

/// `facialExpressionSignatureType {status, session, signature?}`: get, or set, which
/// signature the session's `fac` stream uses. Only the universal one exists yet.
pub fn signature_type(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let status = status(call)?;
    let session = settings_session(call)?;
    if status == "set" {
        match call.params.str("signature")? {
            "universal" => {}
            "trained" => {
                return Err(ServiceError::NotSupported(
                    "the trained signature needs a profile trained for facial expressions, and epocd has no \
                     training yet: use \"universal\""
                        .into(),
                ));
            }
            other => {
                return Err(ServiceError::InvalidParams(format!(
                    "unknown signature {other:?}: use \"universal\" or \"trained\""
                )));
            }
        }
    }
    let mut st = lock(&c.state);
    st.own_session(&app, session)?;
    Ok(json!({"availableSignature": SIGNATURES, "signatureType": "universal"}).into())
}

/// `facialExpressionThreshold {status, action, session, value?}`: an expression's threshold
/// (0–1000; higher asks for a stronger expression; docs/detections.md).
pub fn threshold(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let status = status(call)?;
    let session = settings_session(call)?;
    let name = call.params.str("action")?;
    let action = FaceAction::parse(name).ok_or_else(|| {
        ServiceError::InvalidParams(format!(
            "facial expression {name:?} has no threshold in epocd: use surprise, frown, smile or clench \
             (eye actions are found by their amplitude, docs/detections.md)"
        ))
    })?;
    let value = if status == "set" {
        let v = call.params.opt_uint("value")?.ok_or_else(|| {
            ServiceError::InvalidParams("set needs \"value\": an integer from 0 to 1000".into())
        })?;
        Some(u16::try_from(v).ok().filter(|v| *v <= 1000).ok_or_else(|| {
            ServiceError::InvalidParams(format!(
                "value {v} is out of range: use an integer from 0 to 1000"
            ))
        })?)
    } else {
        None
    };
    let mut st = lock(&c.state);
    let s = st.own_session(&app, session)?;
    let Some(value) = value else {
        let current = s.facial.thresholds.get(action);
        return Ok(json!({"currentThreshold": current, "defaultThreshold": DEFAULT_THRESHOLD}).into());
    };
    s.facial.thresholds.set(action, value);
    let thresholds = s.facial.thresholds;
    let headset_id = s.headset_id.clone();
    if let Some(fanout) = st
        .headset(&headset_id)
        .and_then(|h| h.link.as_ref())
        .map(|l| l.fanout.handle())
    {
        fanout.set_thresholds(session, thresholds);
    }
    Ok(
        json!({"currentThreshold": value, "message": format!("the threshold of {name} is now {value}")})
            .into(),
    )
}
