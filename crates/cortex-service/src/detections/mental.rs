//! The settings and figures of trained profiles (docs/cortex-api.md, "Profiles and BCI"):
//! getTrainedSignatureActions, getTrainingTime, mentalCommandActiveAction,
//! mentalCommandActionSensitivity, mentalCommandBrainMap, mentalCommandTrainingThreshold and
//! mentalCommandGetSkillRating. Each reads or changes a profile: the one this app loaded for
//! `session`, or one by name (`profile`).

use std::sync::Arc;

use cortex_profile::{MAX_ACTIVE_ACTIONS, Profile};
use serde_json::{Value, json};

use super::profiles::{active_actions, with_profile};
use super::status;
use super::training::{TRAINING_SECONDS, check_action, check_detection};
use crate::methods::{Call, Reply};
use crate::{Cortex, ServiceError};

/// The accuracy (leave-one-epoch-out) a trained action should reach to be dependable:
/// `mentalCommandTrainingThreshold`'s `currentThreshold`.
const USABLE_ACCURACY: f64 = 0.6;

/// `getTrainedSignatureActions {detection, profile|session}`.
pub fn trained_signature_actions(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let detection = call.params.str("detection")?;
    check_detection(detection)?;
    let out = with_profile(c, &app, call, false, |p| {
        let set = if detection == "mentalCommand" {
            &p.mental_command.training
        } else {
            &p.facial_expression.training
        };
        let actions: Vec<Value> = set
            .actions
            .iter()
            .map(|a| json!({"action": a.action, "times": a.epochs.len()}))
            .collect();
        let total: usize = set.actions.iter().map(|a| a.epochs.len()).sum();
        Ok(json!({"totalTimesTraining": total, "trainedActions": actions}))
    })?;
    Ok(out.into())
}

/// `getTrainingTime {detection, session}`: seconds of one training epoch.
pub fn training_time(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    c.app_of(call.params.token()?)?;
    check_detection(call.params.str("detection")?)?;
    Ok(json!({"time": TRAINING_SECONDS}).into())
}

/// `mentalCommandActiveAction {status, profile|session, actions?}`: get gives the list;
/// set takes up to four trainable actions besides neutral.
pub fn active_action(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    if status(call)? == "get" {
        let list = with_profile(c, &app, call, false, |p| Ok(active_actions(p)))?;
        return Ok(json!(list).into());
    }
    let actions = call.params.strings("actions")?;
    let chosen: Vec<String> = actions
        .into_iter()
        .filter(|a| a != epoc_mental::NEUTRAL)
        .collect();
    if chosen.len() > MAX_ACTIVE_ACTIONS {
        return Err(ServiceError::InvalidParams(format!(
            "at most {MAX_ACTIVE_ACTIONS} actions can be active besides neutral, not {}",
            chosen.len()
        )));
    }
    for a in &chosen {
        check_action("mentalCommand", a)?;
    }
    with_profile(c, &app, call, true, |p| {
        p.mental_command.active_actions = chosen.clone();
        Ok(())
    })?;
    Ok(json!({"action": "set", "actions": chosen, "message": "active actions set"}).into())
}

/// `mentalCommandActionSensitivity {status, profile|session, values?}`: four values 1–10,
/// one per active action; get answers the list (clients tell get from set by it).
pub fn action_sensitivity(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    if status(call)? == "get" {
        let values = with_profile(c, &app, call, false, |p| Ok(p.mental_command.sensitivity))?;
        return Ok(json!(values).into());
    }
    let raw = call.params.array("values")?;
    let values: Vec<u8> = raw
        .iter()
        .map(|v| v.as_u64().filter(|v| (1..=10).contains(v)).map(|v| v as u8))
        .collect::<Option<Vec<u8>>>()
        .filter(|v| v.len() == MAX_ACTIVE_ACTIONS)
        .ok_or_else(|| {
            ServiceError::InvalidParams(
                "values must be four integers from 1 to 10, one per active action".into(),
            )
        })?;
    with_profile(c, &app, call, true, |p| {
        p.mental_command.sensitivity.copy_from_slice(&values);
        Ok(())
    })?;
    Ok(json!("sensitivity set").into())
}

fn classifier(p: &Profile) -> Option<epoc_mental::Classifier> {
    p.mental_command.training.fit(&active_actions(p))
}

/// `mentalCommandBrainMap {profile|session}`: each trained action's place on a 2-D map of
/// how far apart the classifier sees them.
pub fn brain_map(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let map = with_profile(c, &app, call, false, |p| {
        Ok(classifier(p).map(|c| c.brain_map()).unwrap_or_default())
    })?;
    let out: Vec<Value> = map
        .into_iter()
        .map(|(action, [x, y])| json!({"action": action, "coordinates": [x, y]}))
        .collect();
    Ok(json!(out).into())
}

/// `mentalCommandTrainingThreshold {session|profile}`: the accuracy an action should reach,
/// and the cross-validated accuracy of the last accepted epoch's action.
pub fn training_threshold(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let score = with_profile(c, &app, call, false, |p| Ok(p.mental_command.last_training_score))?;
    Ok(json!({"currentThreshold": USABLE_ACCURACY, "lastTrainingScore": score.unwrap_or(0.0)}).into())
}

/// `mentalCommandGetSkillRating {profile|session, action?}`: cross-validated accuracy (0–100)
/// of the action, or the mean over the active actions.
pub fn skill_rating(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let action = call.params.opt_str("action")?;
    if let Some(a) = action {
        check_action("mentalCommand", a)?;
    }
    let rating = with_profile(c, &app, call, false, |p| {
        let active = active_actions(p);
        let scores = p.mental_command.training.cross_validate(&active);
        let chosen: Vec<f64> = scores
            .iter()
            .filter(|(a, _)| match action {
                Some(x) => a == x,
                None => a != epoc_mental::NEUTRAL,
            })
            .filter_map(|(_, s)| *s)
            .collect();
        Ok(if chosen.is_empty() {
            0.0
        } else {
            100.0 * chosen.iter().sum::<f64>() / chosen.len() as f64
        })
    })?;
    Ok(json!(rating).into())
}
