//! What happens to headsets without a request: acquisition events (connected, disconnected,
//! detection failed, ended) become statuses and warnings; dongles plugged in and out are
//! added and removed; `controlDevice refresh` scans in the background. Each takes the
//! service lock only to change memory; closing sessions' records and joining threads happen
//! after it.

use std::sync::{Arc, Weak};

use cortex_api::{codes, warning};
use crossbeam_channel::Receiver;
use epoc_driver::discovery::HotplugEvent;
use epoc_driver::{Connection, EventKind, HeadsetEvent, headset_id};
use epoc_protocol::Serial;
use serde_json::json;

use crate::headset::HeadsetSpec;
use crate::service::{Aftermath, close_sessions_where, lock};
use crate::{ClientId, Cortex, ServiceError};

/// Turn acquisition events into headset status changes and warnings.
pub(crate) fn event_loop(cortex: Weak<Cortex>, rx: Receiver<HeadsetEvent>) {
    while let Ok(ev) = rx.recv() {
        let Some(c) = cortex.upgrade() else { return };
        let serial = Serial::from_usb(&ev.serial).ok();
        let mut st = lock(&c.state);
        // Events name the headset by serial; the registry keys by id (the model prefix of a
        // dongle can change once its reports are decrypted).
        let Some(h) = st.headsets.iter_mut().find(|h| {
            h.link
                .as_ref()
                .is_some_and(|l| l.acquisition.identity().serial.as_str() == ev.serial)
        }) else {
            continue;
        };
        let id = h.id.clone();
        match ev.kind {
            EventKind::Connected { mode, .. } => {
                h.mode = Some(mode);
                if h.model != mode.model
                    && let Some(serial) = serial
                {
                    h.model = mode.model;
                    h.id = headset_id(mode.model, &serial);
                }
                let id = h.id.clone();
                drop(st);
                tracing::info!(
                    "headset {id} connected ({} {}-bit, {} Hz)",
                    mode.model.cortex_prefix(),
                    mode.resolution.bits(),
                    mode.eeg_rate.hz()
                );
                c.broadcast(&warning::frame(
                    codes::warning::HEADSET_CONNECTED,
                    json!({"headsetId": id, "behavior": "Headset is connected."}),
                ));
            }
            EventKind::Disconnected { reason } => {
                tracing::warn!("headset {id} disconnected: {reason}");
                let after = close_sessions_where(
                    &mut st,
                    |s| s.headset_id == id,
                    Some(&format!("The headset disconnected: {reason}")),
                );
                drop(st);
                c.finish(after);
                c.broadcast(&warning::frame(
                    codes::warning::HEADSET_DISCONNECTED,
                    json!({"headsetId": id, "behavior": format!("Headset disconnected: {reason}")}),
                ));
            }
            EventKind::DetectionFailed { reason } => {
                tracing::warn!("headset {id}: {reason}");
                drop(st);
                c.broadcast(&warning::frame(
                    codes::warning::HEADSET_CANNOT_CONNECT,
                    json!({"headsetId": id, "behavior": reason}),
                ));
            }
            EventKind::Reconnected => {}
            EventKind::Ended { reason } => {
                let why = reason.unwrap_or_else(|| "stopped".into());
                let after = close_sessions_where(
                    &mut st,
                    |s| s.headset_id == id,
                    Some(&format!("The headset is gone: {why}")),
                );
                drop(st);
                c.finish(after);
            }
        }
    }
}

/// Ask for a refresh for `client`, or join the one in flight: one scan at a time, on the one
/// refresh thread, and every client that asked hears warning 142 when it ends.
pub(crate) fn start_refresh(c: &Arc<Cortex>, client: ClientId) -> Result<(), ServiceError> {
    let mut waiting = lock(&c.refresh_waiting);
    let idle = waiting.is_empty();
    if !waiting.contains(&client) {
        waiting.push(client);
    }
    if idle {
        c.refresh_wanted
            .send(())
            .map_err(|_| ServiceError::Internal("the refresh thread is gone".into()))?;
    }
    Ok(())
}

/// The refresh thread: scan each time one is asked for, then tell everyone who asked.
pub(crate) fn refresh_loop(cortex: Weak<Cortex>, wanted: Receiver<()>) {
    while wanted.recv().is_ok() {
        if cortex.upgrade().is_none() {
            return;
        }
        refresh(&cortex);
    }
}

/// A refresh: look for new dongles and Bluetooth headsets, then warning 142.
fn refresh(cortex: &Weak<Cortex>) {
    let Some(c) = cortex.upgrade() else { return };
    let scan = (!c.config.ble_scan.is_zero()).then_some(c.config.ble_scan);
    drop(c);
    let found = epoc_driver::discovery::discover(scan);
    let Some(c) = cortex.upgrade() else { return };
    for f in found.headsets.iter().filter(|f| f.problem.is_none()) {
        if lock(&c.state).headset(&f.headset_id).is_some() {
            continue;
        }
        let spec = match (f.connection, &f.serial) {
            (Connection::Dongle, Some(serial)) => HeadsetSpec::Dongle {
                serial: serial.clone(),
            },
            (Connection::Bluetooth, _) => HeadsetSpec::Ble {
                address: f.location.clone(),
            },
            _ => continue,
        };
        if let Err(e) = c.add_headset(spec) {
            tracing::warn!("refresh found {} but cannot use it: {e}", f.headset_id);
        }
    }
    let waiting = std::mem::take(&mut *lock(&c.refresh_waiting));
    // A headset that is there but unusable (a dongle without permission, say): warning 101
    // with the reason and the fix, so an app (the headset page) can tell the user.
    let problems: Vec<String> = found
        .headsets
        .iter()
        .filter_map(|f| f.problem.as_ref().map(|p| cannot_connect(&f.headset_id, p)))
        .collect();
    for client in &waiting {
        for frame in &problems {
            c.send_to(*client, frame.clone());
        }
    }
    for client in waiting {
        c.send_to(
            client,
            warning::frame(
                codes::warning::SCAN_FINISHED,
                json!({"behavior": "Headset scanning finished."}),
            ),
        );
    }
}

/// Dongles plugged in start streaming; dongles pulled out are gone (their sessions close).
pub(crate) fn hotplug_loop(cortex: Weak<Cortex>, rx: Receiver<HotplugEvent>) {
    while let Ok(ev) = rx.recv() {
        let Some(c) = cortex.upgrade() else { return };
        match ev {
            HotplugEvent::Added(d) => match (d.serial, d.problem) {
                (Some(serial), None) => {
                    tracing::info!("dongle {serial} plugged in");
                    if let Err(e) = c.add_headset(HeadsetSpec::Dongle { serial }) {
                        tracing::warn!("cannot use the dongle: {e}");
                    }
                }
                (serial, Some(problem)) => {
                    let serial = serial.unwrap_or_default();
                    tracing::warn!("dongle {serial} plugged in but unusable: {problem}");
                    c.broadcast(&cannot_connect(&format!("dongle {serial}"), &problem));
                }
                (None, None) => tracing::warn!("a dongle without a serial number was plugged in"),
            },
            HotplugEvent::Removed(d) => {
                let Some(serial) = d.serial else { continue };
                tracing::info!("dongle {serial} unplugged");
                let spec = HeadsetSpec::Dongle { serial };
                let after = {
                    let mut st = lock(&c.state);
                    let ids: Vec<String> = st
                        .headsets
                        .iter()
                        .filter(|h| h.spec == spec)
                        .map(|h| h.id.clone())
                        .collect();
                    let mut after = Aftermath::default();
                    for id in ids {
                        after.merge(close_sessions_where(
                            &mut st,
                            |s| s.headset_id == id,
                            Some("The dongle was unplugged."),
                        ));
                        if let Some(pos) = st.headsets.iter().position(|h| h.id == id) {
                            after.links.extend(st.headsets.remove(pos).link);
                        }
                    }
                    after
                };
                c.finish(after);
            }
        }
    }
}

/// Warning 101 (headset cannot connect) with the reason and its fix.
fn cannot_connect(headset_id: &str, problem: &str) -> String {
    warning::frame(
        codes::warning::HEADSET_CANNOT_CONNECT,
        json!({"headsetId": headset_id, "behavior": problem}),
    )
}
