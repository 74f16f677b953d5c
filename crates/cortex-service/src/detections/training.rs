//! `training` (docs/cortex-api.md, "Profiles and BCI"): recording, accepting and erasing
//! training epochs for mental commands and facial expressions, with the `sys` events the
//! official training examples wait for:
//! start → `MC_Started`, then (8 s later) `MC_Succeeded` or `MC_Failed` (from the headset's
//! detections thread); accept → `MC_Completed`; reject → `MC_Rejected`; reset → `MC_Reset`;
//! erase → `MC_DataErased` (`FE_` for facial expressions).

use std::sync::Arc;

use cortex_api::Stream;
use cortex_stream::frame::sys_frame;
use cortex_stream::{FanoutHandle, PendingEpoch, Training};
use epoc_facial::FaceAction;
use serde_json::json;

use super::profiles::push_mental;
use crate::methods::{Call, Reply};
use crate::service::lock;
use crate::{Cortex, ServiceError};

/// Seconds a training epoch records (`getTrainingTime`).
pub const TRAINING_SECONDS: f64 = epoc_mental::TRAINING_SECONDS;

/// The detections a profile trains.
pub(crate) fn check_detection(detection: &str) -> Result<&'static str, ServiceError> {
    match detection {
        "mentalCommand" => Ok("MC"),
        "facialExpression" => Ok("FE"),
        other => Err(ServiceError::InvalidParams(format!(
            "unknown detection {other:?}: use \"mentalCommand\" or \"facialExpression\""
        ))),
    }
}

/// An action that can be trained for `detection`.
pub(crate) fn check_action(detection: &str, action: &str) -> Result<(), ServiceError> {
    let ok = action == epoc_mental::NEUTRAL
        || match detection {
            "mentalCommand" => super::MENTAL_ACTIONS.contains(&action),
            _ => FaceAction::parse(action).is_some(),
        };
    if ok {
        return Ok(());
    }
    let known = if detection == "mentalCommand" {
        format!("neutral, {}", super::MENTAL_ACTIONS.join(", "))
    } else {
        "neutral, surprise, frown, smile, clench".to_owned()
    };
    Err(ServiceError::InvalidParams(format!(
        "{action:?} cannot be trained for {detection}: use one of {known}"
    )))
}

/// `training {session, detection, action, status}`.
pub fn training(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let sid = call.params.str("session")?;
    let detection = call.params.str("detection")?;
    let action = call.params.str("action")?;
    let status = call.params.str("status")?;
    let prefix = check_detection(detection)?;
    check_action(detection, action)?;
    let mut st = lock(&c.state);
    let s = st.own_session(&app, sid)?;
    if !s.streams.contains(&Stream::Sys) {
        return Err(ServiceError::InvalidParams(format!(
            "subscribe session {sid} to the sys stream first: training reports its progress there"
        )));
    }
    let headset = s.headset_id.clone();
    let client = s.client;
    let h = st
        .headset_mut(&headset)
        .ok_or_else(|| ServiceError::HeadsetNotFound(headset.clone()))?;
    let fanout: FanoutHandle = h
        .link
        .as_ref()
        .map(|l| l.fanout.handle())
        .ok_or_else(|| ServiceError::HeadsetNotConnected(headset.clone()))?;
    let link = &h.link;
    let loaded = super::profiles::own(h.profile.as_mut(), &app, &headset)?;
    let take_pending = || -> Option<PendingEpoch> {
        let live = link.as_ref()?.fanout.live();
        let mut list = live.pending_epochs.lock().ok()?;
        let i = list
            .iter()
            .position(|p| p.sid == sid && p.detection == detection)?;
        Some(list.remove(i))
    };
    let event = match status {
        "start" => {
            fanout.train(Training {
                sid: sid.to_owned(),
                detection: detection.to_owned(),
                action: Some(action.to_owned()),
            });
            None
        }
        "accept" => {
            let p = take_pending().ok_or_else(|| {
                ServiceError::InvalidParams(format!(
                    "no recorded epoch to accept: start training and wait for {prefix}_Succeeded"
                ))
            })?;
            let profile = &mut loaded.profile;
            if detection == "mentalCommand" {
                let mc = &mut profile.mental_command;
                mc.training.add(&p.action, p.epoch);
                let active = super::profiles::active_actions(profile);
                let scores = profile.mental_command.training.cross_validate(&active);
                profile.mental_command.last_training_score =
                    scores.iter().find(|(a, _)| *a == p.action).and_then(|(_, s)| *s);
            } else {
                profile.facial_expression.training.add(&p.action, p.epoch);
            }
            Some("Completed")
        }
        "reject" => {
            take_pending().ok_or_else(|| {
                ServiceError::InvalidParams(format!(
                    "no recorded epoch to reject: start training and wait for {prefix}_Succeeded or {prefix}_Failed"
                ))
            })?;
            Some("Rejected")
        }
        "reset" => {
            fanout.train(Training {
                sid: sid.to_owned(),
                detection: detection.to_owned(),
                action: None,
            });
            take_pending();
            Some("Reset")
        }
        "erase" => {
            let profile = &mut loaded.profile;
            if detection == "mentalCommand" {
                profile.mental_command.training.erase(action);
            } else {
                profile.facial_expression.training.erase(action);
            }
            Some("DataErased")
        }
        other => {
            return Err(ServiceError::InvalidStatus(format!(
                "{other} (use start, accept, reject, reset or erase)"
            )));
        }
    };
    if matches!(status, "accept" | "erase") {
        let profile = loaded.profile.clone();
        push_mental(&st, &headset, Some(&profile));
    }
    if let (Some(event), Some(outbox)) = (event, st.outbox(client)) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        outbox.push_parts(&[&sys_frame(sid, detection, &format!("{prefix}_{event}"), now)]);
    }
    Ok(json!({"action": action, "status": status, "message": format!("{detection} training: {status} {action}")}).into())
}
