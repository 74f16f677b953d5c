//! Headsets (docs/cortex-api.md, "Headsets"): queryHeadsets, controlDevice,
//! updateHeadsetCustomInfo, syncWithHeadsetClock; updateHeadset and configMapping are
//! answered as unsupported; epocd's own `epocd.headsetActivity` (what uses a headset, for the
//! headset page). Also how headsets join the service (`Cortex::add_headset`).
//!
//! Opening a device can take seconds (a Bluetooth connect up to 30 s): it happens with no
//! lock held. `connect` marks the headset as opening (status `connecting`), opens it and
//! starts its threads, then attaches the result; a second connect meanwhile changes nothing.

use std::sync::Arc;

use cortex_api::{codes, warning};
use epoc_driver::headset_id;
use epoc_protocol::Model;
use serde_json::{Value, json};

use crate::headset::{Headset, HeadsetSpec, HeadsetStatus};
use crate::methods::{Call, Reply};
use crate::service::{Recording, close_sessions_where, lock};
use crate::time::unix_now;
use crate::{Cortex, ServiceError};

impl Cortex {
    /// Open a headset and start streaming it. Returns its Cortex id. The open and the thread
    /// start happen before the service lock is taken.
    pub fn add_headset(&self, spec: HeadsetSpec) -> Result<String, ServiceError> {
        let source = spec
            .open()
            .map_err(|e| ServiceError::InvalidParams(e.to_string()))?;
        let identity = source.identity().clone();
        let model = identity.model_hint.unwrap_or(Model::EpocPlus);
        let id = headset_id(model, &identity.serial);
        if lock(&self.state).headset(&id).is_some() {
            return Err(ServiceError::InvalidParams(format!(
                "headset {id} is already added"
            )));
        }
        let link = self.start_link(source, &id)?;
        let mut st = lock(&self.state);
        if st.headset(&id).is_some() {
            drop(st);
            drop(link);
            return Err(ServiceError::InvalidParams(format!(
                "headset {id} is already added"
            )));
        }
        st.headsets.push(Headset {
            id: id.clone(),
            spec,
            connection: identity.connection,
            model,
            mode: None,
            custom_name: String::new(),
            headband_position: None,
            link: Some(link),
            opening: false,
            profile: None,
        });
        Ok(id)
    }
}

/// `queryHeadsets`, optionally filtered by an id or a `MODEL-*` wildcard.
pub fn query_headsets(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let id = call.params.opt_str("id")?;
    call.params.opt_bool("includeFlexMappings")?; // EPOC Flex only: nothing to include
    let st = lock(&c.state);
    Ok(Value::Array(
        st.headsets
            .iter()
            .filter(|h| id.is_none_or(|p| h.matches(p)))
            .map(Headset::to_json)
            .collect(),
    )
    .into())
}

/// `epocd.headsetActivity` (an epocd extension; no Cortex client calls it): how many records
/// are being written from a headset and how far they are, and its LSL outlets. It describes
/// the headset, as its streams do, so any authorized app may ask; it tells nothing of whose
/// records they are (no ids, titles or apps).
pub fn headset_activity(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    c.app_of(call.params.token()?)?;
    let id = call.params.str("headset")?;
    let st = lock(&c.state);
    let h = st
        .headset(id)
        .ok_or_else(|| ServiceError::HeadsetNotFound(id.into()))?;
    let rate = f64::from(h.effective_mode().eeg_rate.hz());
    let records: Vec<Value> = st
        .sessions
        .iter()
        .filter(|s| s.headset_id == id)
        .filter_map(|s| match &s.recording {
            Recording::Active(r) => {
                let stats = r.writer.stats();
                let samples = stats.samples.load(std::sync::atomic::Ordering::Relaxed);
                let durable = stats.durable.load(std::sync::atomic::Ordering::Relaxed);
                Some(json!({
                    "seconds": (samples as f64 / rate * 10.0).round() / 10.0,
                    "samples": samples,
                    "durableSamples": durable,
                }))
            }
            Recording::Idle | Recording::Starting => None,
        })
        .collect();
    let outlets: Vec<&String> = h
        .link
        .as_ref()
        .and_then(|l| l.lsl.as_ref())
        .map(|o| o.names().iter().collect())
        .unwrap_or_default();
    Ok(json!({
        "headset": id,
        "records": records,
        "lsl": {"enabled": c.config.lsl, "outlets": outlets},
    })
    .into())
}

/// `controlDevice`: refresh, connect, disconnect. A connect of a headset that is already
/// connected is answered with warning 104 after the reply, so clients waiting for it go on.
pub fn control_device(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let command = call.params.str("command")?;
    let headset = call.params.opt_str("headset")?;
    call.params.opt_object("mappings")?; // EPOC Flex only
    call.params.opt_str("connectionType")?;
    match command {
        "refresh" => {
            crate::events::start_refresh(c, call.client)?;
            Ok(json!({"command": "refresh", "message": "Refreshing the headset list."}).into())
        }
        "connect" => {
            let id = headset
                .ok_or_else(|| ServiceError::InvalidParams("connect needs the headset parameter".into()))?;
            connect(c, id)
        }
        "disconnect" => {
            // Disconnecting closes every app's sessions on the headset (and stops their
            // records), as unplugging it would: only an authorized app may.
            if !call.params.0.contains_key("cortexToken") && !call.params.0.contains_key("token") {
                return Err(ServiceError::InvalidParams(
                    "controlDevice disconnect needs cortexToken: it ends every app's sessions and records on the headset"
                        .into(),
                ));
            }
            c.app_of(call.params.token()?)?;
            let id = headset.ok_or_else(|| {
                ServiceError::InvalidParams("disconnect needs the headset parameter".into())
            })?;
            let after = {
                let mut st = lock(&c.state);
                if st.headset(id).is_none() {
                    return Err(ServiceError::HeadsetNotFound(id.into()));
                }
                let mut after = close_sessions_where(
                    &mut st,
                    |s| s.headset_id == id,
                    Some("The headset was disconnected by controlDevice."),
                );
                after.links.extend(st.headset_mut(id).and_then(|h| h.link.take()));
                after
            };
            c.finish(after);
            Ok(json!({"command": "disconnect", "message": "Disconnected the headset."}).into())
        }
        other => Err(ServiceError::InvalidStatus(format!(
            "{other} (command must be connect, disconnect or refresh)"
        ))),
    }
}

/// `controlDevice connect`: reserve (mark opening) → open with no lock → attach.
fn connect(c: &Arc<Cortex>, id: &str) -> Result<Reply, ServiceError> {
    let reply = || json!({"command": "connect", "message": "Start connecting to device"});
    let spec = {
        let mut st = lock(&c.state);
        let h = st
            .headset_mut(id)
            .ok_or_else(|| ServiceError::HeadsetNotFound(id.into()))?;
        match h.status() {
            HeadsetStatus::Connected => {
                return Ok(Reply {
                    result: reply(),
                    after: vec![warning::frame(
                        codes::warning::HEADSET_CONNECTED,
                        json!({"headsetId": id, "behavior": "Headset is connected."}),
                    )],
                    then: None,
                });
            }
            HeadsetStatus::Connecting => return Ok(reply().into()),
            HeadsetStatus::Discovered => {
                h.opening = true;
                h.spec.clone()
            }
        }
    };
    let opened = spec
        .open()
        .map_err(|e| ServiceError::HeadsetNotConnected(format!("{id} ({e})")))
        .and_then(|source| c.start_link(source, id));
    let mut st = lock(&c.state);
    let Some(h) = st.headset_mut(id) else {
        // Unplugged while opening: nothing to attach to.
        drop(st);
        drop(opened);
        return Err(ServiceError::HeadsetNotFound(id.into()));
    };
    h.opening = false;
    let link = opened?;
    if h.link.is_some() {
        // Another path attached one meanwhile: keep it, join this one's threads unlocked.
        drop(st);
        drop(link);
    } else {
        h.link = Some(link);
    }
    Ok(reply().into())
}

/// `updateHeadsetCustomInfo`.
pub fn update_headset_custom_info(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    c.app_of(call.params.token()?)?;
    let headset = call.params.str("headsetId")?;
    let position = call.params.opt_str("headbandPosition")?;
    let name = call.params.opt_str("customName")?;
    if let Some(p) = position
        && p != "back"
        && p != "top"
    {
        return Err(ServiceError::InvalidParams(format!(
            "headbandPosition {p:?}: must be \"back\" or \"top\""
        )));
    }
    let mut st = lock(&c.state);
    let h = st
        .headset_mut(headset)
        .ok_or_else(|| ServiceError::HeadsetNotFound(headset.into()))?;
    if let Some(p) = position {
        h.headband_position = Some(p.to_owned());
    }
    if let Some(n) = name {
        h.custom_name = n.to_owned();
    }
    Ok(json!({
        "customName": h.custom_name,
        "headbandPosition": h.headband_position,
        "headsetId": h.id,
        "message": "Update headset customized information successfully.",
    })
    .into())
}

/// `syncWithHeadsetClock`: the headset clock is epoch seconds (sample `time`), so the
/// adjustment maps the client's monotonic clock onto it.
pub fn sync_with_headset_clock(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let headset = call.params.str("headset")?;
    let monotonic = call.params.f64("monotonicTime")?;
    let system = call.params.f64("systemTime")?;
    // Seconds: a monotonic clock of any origin within ±1e12 s, and epoch time up to year 9999.
    if !monotonic.is_finite() || monotonic.abs() > 1e12 {
        return Err(ServiceError::InvalidParams(format!(
            "monotonicTime must be seconds of a monotonic clock, not {monotonic}"
        )));
    }
    if !system.is_finite() || !(0.0..=253_402_300_799.0).contains(&system) {
        return Err(ServiceError::InvalidParams(format!(
            "systemTime must be seconds since the epoch, not {system}"
        )));
    }
    if lock(&c.state).headset(headset).is_none() {
        return Err(ServiceError::HeadsetNotFound(headset.into()));
    }
    // The client's systemTime and our clock are both epoch seconds: correct for any
    // difference between them too.
    let skew = unix_now() - system;
    Ok(json!({"headset": headset, "adjustment": system - monotonic + skew}).into())
}

/// `updateHeadset`: epocd cannot reconfigure a headset (mode, rates).
pub fn update_headset(_: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    Err(ServiceError::NotSupported(format!(
        "{} is not supported by epocd: it does not reconfigure headsets; set the mode with EMOTIV's configuration tool",
        call.method
    )))
}

/// `configMapping`: EPOC Flex mappings (epocd serves the EPOC family only).
pub fn config_mapping(_: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    Err(ServiceError::NotSupported(format!(
        "{} is not supported by epocd: it is for EPOC Flex sensor mappings, and epocd serves EPOC, EPOC+ and EPOC X",
        call.method
    )))
}
