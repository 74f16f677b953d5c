//! Profiles (docs/cortex-api.md, "Profiles and BCI"): queryProfile, getCurrentProfile,
//! setupProfile (create, load, unload, save, rename, delete) and loadGuestProfile. A profile
//! is a file (`cortex-profile`); a headset has at most one loaded, by one app. File I/O runs
//! under the profile store's lock, never under the service lock.

use std::sync::{Arc, MutexGuard};

use cortex_api::codes;
use cortex_api::warning;
use cortex_profile::{Profile, ProfileStore};
use epoc_protocol::DISPLAY_ORDER;
use serde_json::{Value, json};

use crate::headset::LoadedProfile;
use crate::methods::{Call, Reply};
use crate::service::{State, lock};
use crate::{ClientId, Cortex, ServiceError};

/// The name a guest profile shows.
pub(crate) const GUEST: &str = "guest";

/// The profile store, locked (file I/O happens under this lock, never the service's).
pub(crate) fn store(c: &Cortex) -> Result<MutexGuard<'_, ProfileStore>, ServiceError> {
    c.profiles
        .as_ref()
        .map(lock)
        .ok_or_else(|| ServiceError::Internal("profiles need a data dir (--data-dir)".into()))
}

/// The profile `app` loaded on `headset`: -32045 if none is, -32046 if another app's is.
/// Takes `&` or `&mut` (`h.profile.as_ref()` / `.as_mut()`).
pub(crate) fn own<P: std::ops::Deref<Target = LoadedProfile>>(
    loaded: Option<P>,
    app: &str,
    headset: &str,
) -> Result<P, ServiceError> {
    let p = loaded.ok_or_else(|| ServiceError::NoProfileLoaded(headset.into()))?;
    if p.app_id != app {
        return Err(ServiceError::ProfileOfAnotherApp(
            p.profile.name.clone(),
            headset.into(),
        ));
    }
    Ok(p)
}

/// The stored profile named `name`.
pub(crate) fn stored(c: &Cortex, name: &str) -> Result<Profile, ServiceError> {
    Ok(store(c)?.get(name)?)
}

/// Tell `client` a profile event (warnings 13, 14).
fn notify(st: &State, client: ClientId, code: i64, headset: &str, name: &str) {
    if let Some(outbox) = st.outbox(client) {
        outbox.push_warning(warning::frame(
            code,
            json!({"headsetId": headset, "profile": name}),
        ));
    }
}

/// `queryProfile`: every profile, with the fields the training examples read.
pub fn query_profile(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    c.app_of(call.params.token()?)?;
    let listing = store(c)?.list()?;
    for problem in &listing.problems {
        tracing::warn!("{problem}");
    }
    let channels: Vec<&str> = DISPLAY_ORDER.iter().map(|ch| ch.name()).collect();
    let out: Vec<Value> = listing
        .profiles
        .iter()
        .map(|p| json!({"name": p.name, "uuid": p.uuid, "readOnly": false, "eegChannels": channels}))
        .collect();
    Ok(Value::from(out).into())
}

/// `getCurrentProfile {headset}`: the loaded profile's name (or null) and whether this app
/// loaded it.
pub fn get_current_profile(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let headset = call.params.str("headset")?;
    let st = lock(&c.state);
    let h = st
        .headset(headset)
        .ok_or_else(|| ServiceError::HeadsetNotFound(headset.into()))?;
    Ok(match &h.profile {
        Some(p) => json!({"name": p.profile.name, "loadedByThisApp": p.app_id == app}),
        None => json!({"name": Value::Null, "loadedByThisApp": false}),
    }
    .into())
}

/// `loadGuestProfile {headset}`: an empty profile that is never saved.
pub fn load_guest_profile(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let headset = call.params.str("headset")?;
    let guest = Profile::new(GUEST)?;
    attach(c, call.client, &app, headset, guest, true)?;
    Ok(json!({"message": format!("the guest profile is loaded on {headset}")}).into())
}

/// Load `profile` on `headset` for `app` (warning 13).
fn attach(
    c: &Cortex,
    client: ClientId,
    app: &str,
    headset: &str,
    profile: Profile,
    guest: bool,
) -> Result<(), ServiceError> {
    let mut st = lock(&c.state);
    let h = st
        .headset_mut(headset)
        .ok_or_else(|| ServiceError::HeadsetNotFound(headset.into()))?;
    if h.link.is_none() {
        return Err(ServiceError::HeadsetNotConnected(headset.into()));
    }
    if let Some(loaded) = &h.profile {
        if loaded.app_id != app {
            return Err(ServiceError::ProfileOfAnotherApp(
                loaded.profile.name.clone(),
                headset.into(),
            ));
        }
        if loaded.profile.uuid != profile.uuid {
            return Err(ServiceError::HeadsetHasProfile(
                headset.into(),
                loaded.profile.name.clone(),
            ));
        }
    }
    let name = profile.name.clone();
    let thresholds = super::profile_thresholds(&profile);
    h.profile = Some(LoadedProfile {
        profile,
        app_id: app.to_owned(),
        guest,
    });
    super::apply_thresholds(&mut st, app, headset, thresholds);
    let loaded = st
        .headset(headset)
        .and_then(|h| h.profile.as_ref())
        .map(|p| p.profile.clone());
    push_mental(&st, headset, loaded.as_ref());
    tracing::info!("profile {name:?} loaded on {headset}");
    notify(&st, client, codes::warning::PROFILE_LOADED, headset, &name);
    Ok(())
}

/// `setupProfile {profile, status, headset?, newProfileName?}`.
pub fn setup_profile(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let name = call.params.str("profile")?;
    let status = call.params.str("status")?;
    let headset = || call.params.str("headset");
    let message = match status {
        "create" => {
            store(c)?.create(name)?;
            format!("profile {name:?} created")
        }
        "load" => {
            let headset = headset()?;
            let profile = store(c)?.get(name)?;
            attach(c, call.client, &app, headset, profile, false)?;
            format!("profile {name:?} loaded on {headset}")
        }
        "unload" => {
            let headset = headset()?;
            let mut st = lock(&c.state);
            let h = st
                .headset_mut(headset)
                .ok_or_else(|| ServiceError::HeadsetNotFound(headset.into()))?;
            own(h.profile.as_ref(), &app, headset)?;
            let unloaded = h.profile.take().map(|p| p.profile.name).unwrap_or_default();
            notify(
                &st,
                call.client,
                codes::warning::PROFILE_UNLOADED,
                headset,
                &unloaded,
            );
            format!("profile {unloaded:?} unloaded from {headset}")
        }
        "save" => {
            let headset = headset()?;
            let profile = {
                let st = lock(&c.state);
                let h = st
                    .headset(headset)
                    .ok_or_else(|| ServiceError::HeadsetNotFound(headset.into()))?;
                match own(h.profile.as_ref(), &app, headset)? {
                    p if p.guest => {
                        return Err(ServiceError::InvalidParams(
                            "the guest profile cannot be saved: create a profile and load it instead".into(),
                        ));
                    }
                    p if p.profile.name != name => {
                        return Err(ServiceError::InvalidParams(format!(
                            "profile {name:?} is not the one loaded on {headset} ({:?})",
                            p.profile.name
                        )));
                    }
                    p => p.profile.clone(),
                }
            };
            store(c)?.save(&profile)?;
            format!("profile {name:?} saved")
        }
        "rename" => {
            let new = call.params.str("newProfileName")?;
            let renamed = store(c)?.rename(name, new)?;
            let mut st = lock(&c.state);
            for h in &mut st.headsets {
                if let Some(p) = h.profile.as_mut().filter(|p| p.profile.uuid == renamed.uuid) {
                    p.profile.name = renamed.name.clone();
                }
            }
            format!("profile {name:?} renamed to {new:?}")
        }
        "delete" => {
            {
                let st = lock(&c.state);
                if let Some(h) = st.headsets.iter().find(|h| {
                    h.profile
                        .as_ref()
                        .is_some_and(|p| !p.guest && p.profile.name == name)
                }) {
                    return Err(ServiceError::HeadsetHasProfile(h.id.clone(), name.into()));
                }
            }
            store(c)?.delete(name)?;
            format!("profile {name:?} deleted")
        }
        other => {
            return Err(ServiceError::InvalidStatus(format!(
                "{other} (use create, load, unload, save, rename or delete)"
            )));
        }
    };
    let shown = if status == "rename" {
        call.params.str("newProfileName")?
    } else {
        name
    };
    Ok(json!({"action": status, "name": shown, "message": message}).into())
}

/// The classifier and sensitivities `com` should use for `profile`: its active actions (the
/// trained ones, up to four, when none were chosen) over its training.
pub(crate) fn mental_setup(profile: &Profile) -> cortex_stream::MentalSetup {
    let mc = &profile.mental_command;
    let active = active_actions(profile);
    let sensitivity = active
        .iter()
        .zip(mc.sensitivity)
        .map(|(a, s)| (a.clone(), s))
        .collect();
    cortex_stream::MentalSetup {
        classifier: mc.training.fit(&active),
        sensitivity,
    }
}

/// The actions `com` chooses among besides neutral.
pub(crate) fn active_actions(profile: &Profile) -> Vec<String> {
    let mc = &profile.mental_command;
    if !mc.active_actions.is_empty() {
        return mc.active_actions.clone();
    }
    mc.training
        .actions
        .iter()
        .map(|a| a.action.clone())
        .filter(|a| a != epoc_mental::NEUTRAL)
        .take(cortex_profile::MAX_ACTIVE_ACTIONS)
        .collect()
}

/// Tell `headset`'s detections what `profile` has learnt (None: no profile): the
/// mental-command classifier and the facial signature.
pub(crate) fn push_mental(st: &State, headset: &str, profile: Option<&Profile>) {
    if let Some(f) = st
        .headset(headset)
        .and_then(|h| h.link.as_ref())
        .map(|l| l.fanout.handle())
    {
        f.set_mental(profile.map(mental_setup).unwrap_or_default());
        f.set_facial_signature(profile.map(facial_signature).unwrap_or_default());
    }
}

/// The expressions with trained patterns in `profile`.
pub(crate) fn trained_expressions(profile: &Profile) -> cortex_stream::FacialSignature {
    epoc_facial::trained_templates(profile.facial_expression.training.actions.iter().flat_map(|a| {
        a.epochs
            .iter()
            .flat_map(move |e| e.windows.iter().map(move |w| (a.action.as_str(), w.as_slice())))
    }))
}

/// The facial signature `fac` uses for `profile`: its trained patterns when it chose the
/// trained signature, else none (universal).
pub(crate) fn facial_signature(profile: &Profile) -> cortex_stream::FacialSignature {
    if profile.facial_expression.signature == "trained" {
        trained_expressions(profile)
    } else {
        Vec::new()
    }
}

/// What a profile setting names: `session` (the profile this app loaded on that session's
/// headset) or `profile` (by name: the loaded copy if this app loaded it, else the file).
/// `f` reads or changes it; `changed` says whether to keep the change (and retrain `com`).
pub(crate) fn with_profile<R>(
    c: &Cortex,
    app: &str,
    call: &Call<'_>,
    changed: bool,
    f: impl FnOnce(&mut Profile) -> Result<R, ServiceError>,
) -> Result<R, ServiceError> {
    let session = call.params.opt_str("session")?;
    let name = call.params.opt_str("profile")?;
    let mut st = lock(&c.state);
    let headset = match (session, name) {
        (Some(sid), _) => {
            let headset = st.own_session(app, sid)?.headset_id.clone();
            own(
                st.headset(&headset).and_then(|h| h.profile.as_ref()),
                app,
                &headset,
            )?;
            Some(headset)
        }
        (None, Some(name)) => st
            .headsets
            .iter()
            .find(|h| {
                h.profile
                    .as_ref()
                    .is_some_and(|p| p.app_id == app && p.profile.name == name)
            })
            .map(|h| h.id.clone()),
        (None, None) => {
            return Err(ServiceError::InvalidParams(
                "pass \"session\" (the profile loaded for it) or \"profile\" (a profile by name)".into(),
            ));
        }
    };
    if let Some(headset) = headset {
        let h = st
            .headset_mut(&headset)
            .ok_or_else(|| ServiceError::HeadsetNotFound(headset.clone()))?;
        let p = h
            .profile
            .as_mut()
            .ok_or_else(|| ServiceError::NoProfileLoaded(headset.clone()))?;
        let out = f(&mut p.profile)?;
        if changed {
            let profile = p.profile.clone();
            push_mental(&st, &headset, Some(&profile));
        }
        return Ok(out);
    }
    drop(st);
    let name = name.unwrap_or_default();
    let mut p = stored(c, name)?;
    let out = f(&mut p)?;
    if changed {
        store(c)?.save(&p)?;
    }
    Ok(out)
}
