//! A record's metadata, markers and subject as portable JSON (`record.json` in a lab's
//! bucket): every field as stored, numbers exact (serde_json's float round trip), so a record
//! brought to another machine exports byte for byte as it did here.

use serde_json::{Map, Value, json};

use crate::RecordError;
use crate::store::{Marker, RecordMeta, RecordState, Subject, mode_from, mode_names};

/// The archive format this version writes and reads.
pub const ARCHIVE_FORMAT: u64 = 1;

/// The archive of a record.
pub fn to_json(r: &RecordMeta, markers: &[Marker], subject: Option<&Subject>) -> Value {
    let (model, bits, rate) = mode_names(r.mode);
    json!({
        "format": ARCHIVE_FORMAT,
        "record": {
            "uuid": r.uuid, "title": r.title, "description": r.description, "tags": r.tags,
            "applicationId": r.application_id, "applicationVersion": r.application_version,
            "licenseId": r.license_id, "ownerId": r.owner_id, "experimentId": r.experiment_id,
            "subjectName": r.subject_name, "sessionId": r.session_id, "headsetId": r.headset_id,
            "serial": r.serial, "model": model, "bits": bits, "eegRate": rate,
            "start": r.start, "end": r.end, "state": r.state.name(), "note": r.note,
        },
        "markers": markers.iter().map(|m| json!({
            "uuid": m.uuid, "seq": m.seq, "interval": m.interval, "value": m.value,
            "label": m.label, "port": m.port, "startMs": m.start_ms, "endMs": m.end_ms,
            "extras": m.extras,
        })).collect::<Vec<_>>(),
        "subject": subject.map(|s| json!({
            "name": s.name, "dateOfBirth": s.date_of_birth, "sex": s.sex,
            "countryCode": s.country_code, "state": s.state, "city": s.city,
            "attributes": s.attributes,
        })),
    })
}

/// A record read back from its archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Archived {
    /// The metadata.
    pub record: RecordMeta,
    /// The markers, in their order.
    pub markers: Vec<Marker>,
    /// The subject's details, if the record had a subject.
    pub subject: Option<Subject>,
}

struct Fields<'a>(&'a Map<String, Value>, &'static str);

impl Fields<'_> {
    fn bad(&self, key: &str) -> RecordError {
        RecordError::Invalid(format!(
            "record archive: {}.{key} is missing or of the wrong type",
            self.1
        ))
    }
    fn str(&self, key: &str) -> Result<String, RecordError> {
        self.0
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| self.bad(key))
    }
    fn f64(&self, key: &str) -> Result<f64, RecordError> {
        self.0
            .get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| self.bad(key))
    }
    fn i64(&self, key: &str) -> Result<i64, RecordError> {
        self.0
            .get(key)
            .and_then(Value::as_i64)
            .ok_or_else(|| self.bad(key))
    }
    fn value(&self, key: &str) -> Value {
        self.0.get(key).cloned().unwrap_or(Value::Null)
    }
}

fn object<'a>(v: &'a Value, what: &'static str) -> Result<Fields<'a>, RecordError> {
    v.as_object()
        .map(|m| Fields(m, what))
        .ok_or_else(|| RecordError::Invalid(format!("record archive: {what} is not an object")))
}

/// Read an archive written by [`to_json`].
pub fn from_json(v: &Value) -> Result<Archived, RecordError> {
    let top = object(v, "archive")?;
    if top.i64("format")? != ARCHIVE_FORMAT as i64 {
        return Err(RecordError::Invalid(format!(
            "record archive format {} (this epocd reads {ARCHIVE_FORMAT}): update epocd",
            top.value("format")
        )));
    }
    let record_value = top.value("record");
    let r = object(&record_value, "record")?;
    let tags = r
        .value("tags")
        .as_array()
        .map(|t| t.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let record = RecordMeta {
        uuid: r.str("uuid")?,
        title: r.str("title")?,
        description: r.str("description")?,
        tags,
        application_id: r.str("applicationId")?,
        application_version: r.str("applicationVersion")?,
        license_id: r.str("licenseId")?,
        owner_id: r.str("ownerId")?,
        experiment_id: r.i64("experimentId")?,
        subject_name: r.str("subjectName")?,
        session_id: r.str("sessionId")?,
        headset_id: r.str("headsetId")?,
        serial: r.str("serial")?,
        mode: mode_from(&r.str("model")?, r.i64("bits")?, r.i64("eegRate")?),
        start: r.f64("start")?,
        end: r.value("end").as_f64(),
        state: RecordState::parse(&r.str("state")?),
        note: r.str("note")?,
    };
    let mut markers = Vec::new();
    for m in top.value("markers").as_array().cloned().unwrap_or_default() {
        let f = object(&m, "marker")?;
        markers.push(Marker {
            uuid: f.str("uuid")?,
            record_id: record.uuid.clone(),
            seq: f.i64("seq")?,
            interval: f.value("interval").as_bool().unwrap_or(false),
            value: f.value("value"),
            label: f.str("label")?,
            port: f.str("port")?,
            start_ms: f.f64("startMs")?,
            end_ms: f.f64("endMs")?,
            extras: f.value("extras"),
        });
    }
    markers.sort_by_key(|m| m.seq);
    let subject_value = top.value("subject");
    let subject = match subject_value {
        Value::Null => None,
        ref s => {
            let f = object(s, "subject")?;
            Some(Subject {
                name: f.str("name")?,
                date_of_birth: f.str("dateOfBirth")?,
                sex: f.str("sex")?,
                country_code: f.str("countryCode")?,
                state: f.str("state")?,
                city: f.str("city")?,
                attributes: f.value("attributes"),
            })
        }
    };
    Ok(Archived {
        record,
        markers,
        subject,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use epoc_protocol::Mode;

    #[test]
    fn an_archive_reads_back_exactly() {
        let record = RecordMeta {
            uuid: "6f1c2a7e-0d1b-4c55-9a3e-2b7f5d8e9a01".into(),
            title: "t".into(),
            description: "d".into(),
            tags: vec!["a".into(), "b".into()],
            application_id: "com.x".into(),
            application_version: "1".into(),
            license_id: "l".into(),
            owner_id: "o".into(),
            experiment_id: 7,
            subject_name: "s1".into(),
            session_id: "sess".into(),
            headset_id: "EPOCPLUS-00000001".into(),
            serial: "VD20260000000001".into(),
            mode: Mode::EPOC_PLUS_256,
            start: 1_764_650_000.123_456_7,
            end: Some(1_764_650_060.987_654_3),
            state: RecordState::Stopped,
            note: String::new(),
        };
        let marker = Marker {
            uuid: "m".into(),
            record_id: record.uuid.clone(),
            seq: 1,
            interval: true,
            value: json!(3),
            label: "stim".into(),
            port: "Software".into(),
            start_ms: 1_764_650_001_234.567_8,
            end_ms: 1_764_650_002_000.1,
            extras: json!({"k": [1, 2]}),
        };
        let subject = Subject {
            name: "s1".into(),
            sex: "F".into(),
            ..Subject::default()
        };
        let json = to_json(&record, std::slice::from_ref(&marker), Some(&subject));
        let text = serde_json::to_string(&json).unwrap();
        let back = from_json(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back.record, record);
        assert_eq!(back.markers, [marker]);
        assert_eq!(back.subject, Some(subject));
        let mut wrong = json.clone();
        wrong["format"] = json!(2);
        assert!(
            from_json(&wrong)
                .unwrap_err()
                .to_string()
                .contains("update epocd")
        );
        wrong = json;
        wrong["record"]["start"] = json!("yesterday");
        assert!(
            from_json(&wrong)
                .unwrap_err()
                .to_string()
                .contains("record.start")
        );
    }
}
