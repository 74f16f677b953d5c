//! Sessions and data subscription (docs/cortex-api.md, "Sessions", "Data subscription"):
//! createSession, updateSession, querySessions, subscribe, unsubscribe.
//!
//! A subscribe reply always reaches the client before the first sample of what it
//! subscribed: the fan-out learns of the subscription only after the reply is queued (the
//! reply's `then`).

use std::sync::Arc;

use cortex_api::Stream;
use cortex_api::codes::error::STREAM_UNAVAILABLE;
use cortex_api::streams::unsupported_reason;
use serde_json::{Value, json};

use crate::headset::{Headset, HeadsetStatus};
use crate::methods::{Call, Reply};
use crate::service::{Recording, Session, SessionStatus, State, close_session, lock};
use crate::time::iso_now;
use crate::{Cortex, OPEN_LICENSE_ID, ServiceError};

/// The session object (docs/cortex-api.md, "Session object").
pub(crate) fn session_object(st: &State, s: &Session) -> Value {
    let headset = st.headset(&s.headset_id).map_or(Value::Null, Headset::to_json);
    json!({
        "id": s.id,
        "status": s.status.name(),
        "owner": "",
        "license": if s.status == SessionStatus::Activated { OPEN_LICENSE_ID } else { "" },
        "appId": s.app_id,
        "started": s.started,
        "stopped": s.stopped,
        "streams": s.streams.iter().map(|x| x.name()).collect::<Vec<_>>(),
        "recordIds": s.record_ids,
        "recording": s.active_record().is_some(),
        "headset": headset,
    })
}

/// `createSession`.
pub fn create_session(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let headset = call.params.opt_str("headset")?;
    let status = match call.params.str("status")? {
        "open" => SessionStatus::Opened,
        "active" => SessionStatus::Activated,
        other => {
            return Err(ServiceError::InvalidStatus(format!(
                "{other} (status must be open or active)"
            )));
        }
    };
    let mut st = lock(&c.state);
    let h = match headset {
        Some(id) => st
            .headset(id)
            .ok_or_else(|| ServiceError::HeadsetNotFound(id.into()))?,
        None => st
            .headsets
            .iter()
            .find(|h| h.status() == HeadsetStatus::Connected)
            .ok_or_else(|| ServiceError::HeadsetNotConnected("(none connected)".into()))?,
    };
    if h.status() != HeadsetStatus::Connected {
        return Err(ServiceError::HeadsetNotConnected(h.id.clone()));
    }
    let headset_id = h.id.clone();
    if let Some(s) = st
        .sessions
        .iter()
        .find(|s| s.app_id == app && s.headset_id == headset_id)
    {
        return Err(ServiceError::SessionExists(headset_id, s.id.clone()));
    }
    let session = Session {
        id: uuid::Uuid::new_v4().to_string(),
        client: call.client,
        app_id: app,
        headset_id,
        status,
        started: iso_now(),
        stopped: String::new(),
        streams: Vec::new(),
        record_ids: Vec::new(),
        recording: Recording::Idle,
        facial: Default::default(),
    };
    let json = session_object(&st, &session);
    st.sessions.push(session);
    Ok(json.into())
}

/// `updateSession`: activate, or close (its record stops after the lock is released).
pub fn update_session(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let session = call.params.str("session")?;
    let status = call.params.str("status")?;
    let mut st = lock(&c.state);
    st.own_session(&app, session)?;
    match status {
        "active" => {
            st.own_session(&app, session)?.status = SessionStatus::Activated;
            let s = st
                .sessions
                .iter()
                .find(|s| s.id == session)
                .ok_or_else(|| ServiceError::SessionNotFound(session.into()))?;
            Ok(session_object(&st, s).into())
        }
        "close" => {
            let (json, after) = close_session(&mut st, session, None)
                .ok_or_else(|| ServiceError::SessionNotFound(session.into()))?;
            drop(st);
            c.finish(after);
            Ok(json.into())
        }
        other => Err(ServiceError::InvalidStatus(format!(
            "{other} (status must be active or close)"
        ))),
    }
}

/// `querySessions`: this app's open sessions.
pub fn query_sessions(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let st = lock(&c.state);
    Ok(Value::Array(
        st.sessions
            .iter()
            .filter(|s| s.app_id == app)
            .map(|s| session_object(&st, s))
            .collect(),
    )
    .into())
}

fn stream_failure(name: &str, message: String) -> Value {
    json!({"streamName": name, "code": STREAM_UNAVAILABLE, "message": message})
}

/// `subscribe`: partial success is a normal result with `success` and `failure`. The
/// fan-out starts sending once the reply is queued.
pub fn subscribe(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let session = call.params.str("session")?;
    let streams = call.params.strings("streams")?;
    let mut st = lock(&c.state);
    let s = st.own_session(&app, session)?;
    let (activated, headset_id) = (s.status == SessionStatus::Activated, s.headset_id.clone());
    let mut have: Vec<Stream> = s.streams.clone();
    let mut success = Vec::new();
    let mut failure = Vec::new();
    let mode = st.headset(&headset_id).map(Headset::effective_mode);
    let mut bits: cortex_api::StreamBits = 0;
    for name in &streams {
        match Stream::parse(name) {
            None => failure.push(stream_failure(name, unsupported_reason(name))),
            Some(Stream::Eeg) if !activated => failure.push(stream_failure(
                name,
                "the eeg stream needs an activated session: createSession or updateSession with status \"active\"".into(),
            )),
            Some(x) if have.contains(&x) => {
                failure.push(stream_failure(name, format!("the {name} stream is already subscribed")))
            }
            Some(x) => {
                let Some(mode) = mode else {
                    failure.push(stream_failure(name, "the session's headset is gone".into()));
                    continue;
                };
                have.push(x);
                bits |= x.bit();
                success.push(json!({"streamName": name, "cols": x.cols(mode), "sid": session}));
            }
        }
    }
    let mut then = None;
    if bits != 0 {
        let outbox = st
            .outbox(call.client)
            .ok_or_else(|| ServiceError::Internal("client gone".into()))?;
        if let Some(fanout) = st
            .headset(&headset_id)
            .and_then(|h| h.link.as_ref())
            .map(|l| l.fanout.handle())
        {
            let sid = session.to_owned();
            then = Some(Box::new(move || fanout.subscribe(&sid, bits, outbox)) as crate::methods::AfterReply);
        }
    }
    if let Some(s) = st.sessions.iter_mut().find(|s| s.id == session) {
        s.streams = have;
    }
    Ok(Reply {
        result: json!({"success": success, "failure": failure}),
        after: Vec::new(),
        then,
    })
}

/// `unsubscribe`.
pub fn unsubscribe(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let session = call.params.str("session")?;
    let streams = call.params.strings("streams")?;
    let mut st = lock(&c.state);
    let s = st.own_session(&app, session)?;
    let mut success = Vec::new();
    let mut failure = Vec::new();
    let mut bits: cortex_api::StreamBits = 0;
    for name in &streams {
        match Stream::parse(name).filter(|x| s.streams.contains(x)) {
            Some(x) => {
                s.streams.retain(|y| *y != x);
                bits |= x.bit();
                success.push(json!({"streamName": name, "message": "Unsubscribe successfully"}));
            }
            None => failure.push(stream_failure(
                name,
                format!("the {name} stream is not subscribed"),
            )),
        }
    }
    let headset_id = s.headset_id.clone();
    if let Some(link) = st.headset(&headset_id).and_then(|h| h.link.as_ref()) {
        link.fanout.unsubscribe(session, bits);
    }
    Ok(json!({"success": success, "failure": failure}).into())
}
