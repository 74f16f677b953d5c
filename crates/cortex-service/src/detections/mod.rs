//! Profiles, training and detections (docs/cortex-api.md, "Profiles and BCI"): profiles
//! (`profiles.rs`), training and its `sys` events (`training.rs`), the mental-command
//! settings of a profile (`mental.rs`); here getDetectionInfo, and the facial-expression
//! settings (signature type and thresholds), which the `fac` stream applies.

pub mod mental;
pub mod profiles;
pub mod training;

use std::sync::Arc;

use epoc_facial::{DEFAULT_THRESHOLD, FaceAction, Thresholds};
use serde_json::json;

use crate::methods::{Call, Reply};
use crate::service::{State, lock};
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
/// The mental-command actions besides neutral: the Cortex set, which the virtual headset can
/// also think (one list for both).
pub(crate) use epoc_driver::virtual_script::MENTAL_ACTIONS;
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

/// A session's facial-expression settings (per session until profiles exist).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FacialSettings {
    pub(crate) thresholds: Thresholds,
}

/// `getDetectionInfo {detection}`: the actions, training controls and training events of a
/// detection.
pub fn get_detection_info(_: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let detection = call.params.str("detection")?;
    let mental: Vec<&str> = std::iter::once(epoc_mental::NEUTRAL)
        .chain(MENTAL_ACTIONS)
        .collect();
    let (actions, events): (&[&str], &[&str]) = match detection {
        "facialExpression" => (&FACIAL_ACTIONS, &FACIAL_EVENTS),
        "mentalCommand" => (&mental, &MENTAL_EVENTS),
        other => {
            return Err(ServiceError::InvalidParams(format!(
                "unknown detection {other:?}: use \"facialExpression\" or \"mentalCommand\""
            )));
        }
    };
    let mut result = json!({"actions": actions, "controls": CONTROLS, "events": events});
    if detection == "facialExpression" {
        result["signature"] = json!(["universal", "trained"]);
    }
    Ok(result.into())
}

/// What a facial-expression setting applies to: a session, or a profile by name.
enum Target<'a> {
    Session(&'a str),
    Profile(&'a str),
}

fn target<'a>(call: &Call<'a>) -> Result<Target<'a>, ServiceError> {
    if let Some(session) = call.params.opt_str("session")? {
        return Ok(Target::Session(session));
    }
    match call.params.opt_str("profile")? {
        Some(profile) => Ok(Target::Profile(profile)),
        None => Err(ServiceError::InvalidParams(
            "pass \"session\" (this session's setting) or \"profile\" (a profile's)".into(),
        )),
    }
}

/// A profile's thresholds as the detector takes them.
pub(crate) fn profile_thresholds(p: &cortex_profile::Profile) -> Thresholds {
    let mut t = Thresholds::default();
    for (name, value) in &p.facial_expression.thresholds {
        if let Some(a) = FaceAction::parse(name) {
            t.set(a, *value);
        }
    }
    t
}

fn set_profile_threshold(p: &mut cortex_profile::Profile, action: FaceAction, value: u16) {
    let list = &mut p.facial_expression.thresholds;
    list.retain(|(n, _)| n != action.name());
    list.push((action.name().to_owned(), value));
}

/// Give `app`'s sessions on `headset` the `thresholds` (their `fac` applies them at once).
pub(crate) fn apply_thresholds(st: &mut State, app: &str, headset: &str, thresholds: Thresholds) {
    let fanout = st
        .headset(headset)
        .and_then(|h| h.link.as_ref())
        .map(|l| l.fanout.handle());
    for s in st
        .sessions
        .iter_mut()
        .filter(|s| s.app_id == app && s.headset_id == headset)
    {
        s.facial.thresholds = thresholds;
        if let Some(f) = &fanout {
            f.set_thresholds(&s.id, thresholds);
        }
    }
}

/// The `status` of a get/set method.
pub(crate) fn status<'a>(call: &Call<'a>) -> Result<&'a str, ServiceError> {
    match call.params.str("status")? {
        s @ ("get" | "set") => Ok(s),
        other => Err(ServiceError::InvalidStatus(format!(
            "{other} (use \"get\" or \"set\")"
        ))),
    }
}

/// `facialExpressionSignatureType {status, session|profile, signature?}`: which signature
/// `fac` names expressions by: `universal` (the anatomical templates) or `trained` (the
/// user's own patterns, once the profile has a trained expression).
pub fn signature_type(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let set = status(call)? == "set";
    let wanted = if set {
        match call.params.str("signature")? {
            s @ ("universal" | "trained") => Some(s),
            other => {
                return Err(ServiceError::InvalidParams(format!(
                    "unknown signature {other:?}: use \"universal\" or \"trained\""
                )));
            }
        }
    } else {
        None
    };
    let answer = |available: bool, current: &str| {
        let mut list = vec!["universal"];
        if available {
            list.push("trained");
        }
        json!({"availableSignature": list, "signatureType": current})
    };
    let result = profiles::with_profile(c, &app, call, set, |p| {
        let available = !profiles::trained_expressions(p).is_empty();
        if let Some(sig) = wanted {
            if sig == "trained" && !available {
                return Err(ServiceError::InvalidParams(format!(
                    "profile {:?} has no trained facial expression: train one first (training with \
                     detection facialExpression), or use \"universal\"",
                    p.name
                )));
            }
            p.facial_expression.signature = sig.to_owned();
        }
        Ok(answer(available, &p.facial_expression.signature))
    });
    match result {
        // A session with no profile loaded has the universal signature only.
        Err(ServiceError::NoProfileLoaded(_)) if call.params.opt_str("session")?.is_some() => match wanted {
            Some("trained") => Err(ServiceError::InvalidParams(
                "the trained signature needs a loaded profile with facial-expression training: load one \
                 (setupProfile load) and train an expression (training)"
                    .into(),
            )),
            _ => Ok(answer(false, "universal").into()),
        },
        other => Ok(other?.into()),
    }
}

/// `facialExpressionThreshold {status, action, session, value?}`: an expression's threshold
/// (0–1000; higher asks for a stronger expression; docs/detections.md).
pub fn threshold(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let status = status(call)?;
    let target = target(call)?;
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
    let current = match target {
        Target::Session(session) => {
            let mut st = lock(&c.state);
            let s = st.own_session(&app, session)?;
            let headset = s.headset_id.clone();
            if let Some(value) = value {
                s.facial.thresholds.set(action, value);
                let thresholds = s.facial.thresholds;
                apply_thresholds(&mut st, &app, &headset, thresholds);
                // A profile this app loaded there keeps it (saved with setupProfile save).
                if let Some(p) = st
                    .headset_mut(&headset)
                    .and_then(|h| h.profile.as_mut())
                    .filter(|p| p.app_id == app)
                {
                    set_profile_threshold(&mut p.profile, action, value);
                }
                value
            } else {
                s.facial.thresholds.get(action)
            }
        }
        Target::Profile(name) => {
            // Loaded by this app: change the loaded copy (and its sessions); else the file.
            let mut st = lock(&c.state);
            let loaded = st.headsets.iter_mut().find_map(|h| {
                let id = h.id.clone();
                h.profile
                    .as_mut()
                    .filter(|p| p.app_id == app && p.profile.name == name)
                    .map(|p| (id, p))
            });
            match (loaded, value) {
                (Some((_, p)), None) => profile_thresholds(&p.profile).get(action),
                (Some((headset, p)), Some(value)) => {
                    set_profile_threshold(&mut p.profile, action, value);
                    let thresholds = profile_thresholds(&p.profile);
                    apply_thresholds(&mut st, &app, &headset, thresholds);
                    value
                }
                (None, value) => {
                    drop(st);
                    let mut p = profiles::stored(c, name)?;
                    match value {
                        None => profile_thresholds(&p).get(action),
                        Some(value) => {
                            set_profile_threshold(&mut p, action, value);
                            profiles::store(c)?.save(&p)?;
                            value
                        }
                    }
                }
            }
        }
    };
    let Some(value) = value else {
        return Ok(json!({"currentThreshold": current, "defaultThreshold": DEFAULT_THRESHOLD}).into());
    };
    Ok(
        json!({"currentThreshold": value, "message": format!("the threshold of {name} is now {value}")})
            .into(),
    )
}
