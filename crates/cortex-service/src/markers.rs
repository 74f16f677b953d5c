//! Markers (docs/cortex-api.md, "Markers"): injectMarker, updateMarker. The marker object
//! is built here ([`marker_object`]). The session's record is looked up under the service
//! lock; the SQLite write happens after it is released.

use std::sync::Arc;

use cortex_record::Marker;
use serde_json::{Value, json};

use crate::methods::{Call, Reply};
use crate::record_book::internal;
use crate::service::lock;
use crate::time::iso_from_unix;
use crate::{Cortex, ServiceError};

/// The marker object (docs/cortex-api.md, "Marker object").
pub fn marker_object(m: &Marker) -> Value {
    json!({
        "uuid": m.uuid,
        "type": if m.interval { "interval" } else { "instance" },
        "value": m.value,
        "label": m.label,
        "port": m.port,
        "startDatetime": iso_from_unix(m.start_ms / 1000.0),
        "endDatetime": iso_from_unix(m.end_ms / 1000.0),
        "extras": m.extras,
    })
}

/// The longest marker label, string value or port, in bytes. A marker is copied into the
/// next eeg frame of every subscriber of the headset, so its size is bounded.
pub const MAX_MARKER_TEXT: usize = 1024;
/// The largest `extras` object, serialized, in bytes.
pub const MAX_MARKER_EXTRAS: usize = 16 * 1024;

/// The latest time a marker may carry: the end of year 9999, in ms since the epoch.
const LATEST_MS: f64 = 253_402_300_799_999.0;

fn bounded<'a>(name: &str, text: &'a str) -> Result<&'a str, ServiceError> {
    if text.len() > MAX_MARKER_TEXT {
        return Err(ServiceError::InvalidParams(format!(
            "{name} is {} bytes: at most {MAX_MARKER_TEXT}",
            text.len()
        )));
    }
    Ok(text)
}

fn check_extras(extras: Option<&Value>) -> Result<(), ServiceError> {
    if let Some(e) = extras {
        let size = e.to_string().len();
        if size > MAX_MARKER_EXTRAS {
            return Err(ServiceError::InvalidParams(format!(
                "extras is {size} bytes of JSON: at most {MAX_MARKER_EXTRAS}"
            )));
        }
    }
    Ok(())
}

/// A marker time: milliseconds since the epoch, from 1970 to the end of year 9999.
fn marker_time(name: &str, t: f64) -> Result<f64, ServiceError> {
    if !t.is_finite() || !(0.0..=LATEST_MS).contains(&t) {
        return Err(ServiceError::InvalidParams(format!(
            "{name} must be milliseconds since the epoch (0 to {LATEST_MS}), not {t}"
        )));
    }
    Ok(t)
}

/// A marker's `value`: a string or a non-negative integer.
fn marker_value(v: &Value) -> Result<Value, ServiceError> {
    match v {
        Value::String(s) => bounded("value", s).map(|_| v.clone()),
        Value::Number(n) if n.as_u64().is_some() => Ok(v.clone()),
        _ => Err(ServiceError::InvalidParams(
            "parameter value must be a string or an integer >= 0".into(),
        )),
    }
}

/// The record in progress in this app's session, and the session's headset.
fn recording_of(c: &Cortex, app: &str, session: &str) -> Result<(String, String), ServiceError> {
    let mut st = lock(&c.state);
    let s = st.own_session(app, session)?;
    let record = s
        .active_record()
        .map(|r| r.uuid.clone())
        .ok_or_else(|| ServiceError::NoRecordInProgress(s.id.clone()))?;
    Ok((record, s.headset_id.clone()))
}

/// What shows a stored marker live: the eeg stream's `MARKERS` column and, for injected
/// markers, the LSL markers outlet.
struct Live {
    headset_id: String,
    entry: String,
    lsl_text: Option<(String, f64)>,
}

impl Live {
    fn show(self, c: &Cortex) {
        if let Some(link) = lock(&c.state)
            .headset(&self.headset_id)
            .and_then(|h| h.link.as_ref())
        {
            link.fanout.add_marker(self.entry);
            if let (Some((text, secs)), Some(lsl)) = (self.lsl_text, &link.lsl) {
                lsl.marker(&text, secs);
            }
        }
    }
}

/// Store a marker in its record. Returns its object and what shows it live, which the caller
/// runs once its reply is queued: a reply always precedes what it causes, so no eeg sample
/// carries the marker before the app has heard its id.
fn place(
    c: &Cortex,
    app: &str,
    headset_id: &str,
    mut m: Marker,
    to_lsl: bool,
) -> Result<(Value, Live), ServiceError> {
    m.seq = c.book()?.store()?.insert_marker(&m).map_err(internal)?;
    let marker = marker_object(&m);
    let mut entry = marker.clone();
    entry["applicationId"] = Value::from(app);
    entry["recordId"] = Value::from(m.record_id.clone());
    entry["markerId"] = Value::from(m.uuid.clone());
    entry["time"] = Value::from(m.start_ms / 1000.0);
    // The same text as an EDF+ annotation: the label, else the value.
    let lsl_text = to_lsl.then(|| {
        let text = if m.label.is_empty() {
            m.value
                .as_str()
                .map_or_else(|| m.value.to_string(), str::to_owned)
        } else {
            m.label.clone()
        };
        (text, m.start_ms / 1000.0)
    });
    Ok((
        marker,
        Live {
            headset_id: headset_id.to_owned(),
            entry: entry.to_string(),
            lsl_text,
        },
    ))
}

impl Cortex {
    /// A marker from an LSL marker stream (`[lsl] marker_streams`): into every record in
    /// progress, at its time (epoch seconds). With nothing recording it is dropped.
    pub fn lsl_marker(&self, text: &str, epoch_secs: f64) {
        let recording: Vec<(String, String, String)> = lock(&self.state)
            .sessions
            .iter()
            .filter_map(|s| {
                s.active_record()
                    .map(|r| (s.app_id.clone(), r.uuid.clone(), s.headset_id.clone()))
            })
            .collect();
        if recording.is_empty() {
            tracing::debug!("LSL marker {text:?} dropped: nothing is recording");
            return;
        }
        let mut cut = text.len().min(MAX_MARKER_TEXT);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let text = &text[..cut];
        for (app, record_id, headset_id) in recording {
            let m = Marker {
                uuid: uuid::Uuid::new_v4().to_string(),
                record_id,
                seq: 0,
                interval: false,
                value: Value::from(text),
                label: text.to_owned(),
                port: "LSL".into(),
                start_ms: (epoch_secs * 1000.0).clamp(0.0, LATEST_MS),
                end_ms: (epoch_secs * 1000.0).clamp(0.0, LATEST_MS),
                extras: Value::Object(Default::default()),
            };
            match place(self, &app, &headset_id, m, false) {
                Ok((_, live)) => live.show(self),
                Err(e) => tracing::warn!("LSL marker {text:?} could not be stored: {e}"),
            }
        }
    }
}

/// `injectMarker`: an instance marker in the session's record, also shown in the `MARKERS`
/// column of the headset's next eeg sample.
pub fn inject_marker(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let p = &call.params;
    let app = c.app_of(p.token()?)?;
    let session = p.str("session")?;
    let time = marker_time("time", p.f64("time")?)?;
    let value = marker_value(p.value("value")?)?;
    let label = bounded("label", p.str("label")?)?.to_owned();
    let port = bounded("port", p.opt_str("port")?.unwrap_or("Software"))?.to_owned();
    let extras = p
        .opt_object("extras")?
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    check_extras(Some(&extras))?;
    let (record_id, headset_id) = recording_of(c, &app, session)?;
    let m = Marker {
        uuid: uuid::Uuid::new_v4().to_string(),
        record_id: record_id.clone(),
        seq: 0,
        interval: false,
        value,
        label,
        port,
        start_ms: time,
        end_ms: time,
        extras,
    };
    let (marker, live) = place(c, &app, &headset_id, m, true)?;
    let c = Arc::clone(c);
    Ok(Reply {
        result: json!({"marker": marker, "recordId": record_id, "sessionId": session}),
        after: Vec::new(),
        then: Some(Box::new(move || live.show(&c))),
    })
}

/// `updateMarker`: give an instance marker an end (it becomes an interval).
pub fn update_marker(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let p = &call.params;
    let app = c.app_of(p.token()?)?;
    let session = p.str("session")?;
    let marker = p.str("markerId")?;
    let time = marker_time("time", p.f64("time")?)?;
    let extras = p.opt_object("extras")?;
    check_extras(extras)?;
    let (record_id, _) = recording_of(c, &app, session)?;
    let book = c.book()?;
    let store = book.store()?;
    let m = store
        .marker(marker)
        .map_err(internal)?
        .filter(|m| m.record_id == record_id)
        .ok_or_else(|| {
            ServiceError::RecordNotFound(format!(
                "marker {marker} is not in the record in progress ({record_id})"
            ))
        })?;
    if !time.is_finite() || time < m.start_ms {
        return Err(ServiceError::InvalidParams(format!(
            "time {time} is before the marker's start ({}): the end must not precede the start",
            m.start_ms
        )));
    }
    store.end_marker(marker, time, extras).map_err(internal)?;
    let m = store
        .marker(marker)
        .map_err(internal)?
        .ok_or_else(|| ServiceError::RecordNotFound(format!("marker {marker} vanished")))?;
    Ok(json!({"marker": marker_object(&m), "recordId": record_id, "sessionId": session}).into())
}
