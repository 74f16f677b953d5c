//! Subjects and demographic attributes (cortex-api.md 3.7).

use cortex_record::{RecordError, Store, Subject};
use serde_json::{Map, Value, json};

use super::order::order_keys;
use super::{Cortex, State, lock};
use crate::SessionError;

/// What createSubject / updateSubject were given.
#[derive(Debug, Clone, Default)]
pub struct SubjectParams {
    /// The unique name (≤ 30 characters).
    pub name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// `M`, `F` or `U`.
    pub sex: Option<String>,
    /// ISO 3166 alpha-2.
    pub country_code: Option<String>,
    /// State or region.
    pub state: Option<String>,
    /// City.
    pub city: Option<String>,
    /// `[{name, value}]`.
    pub attributes: Option<Value>,
}

/// The demographic attributes apps may set, with their allowed values.
const ATTRIBUTES: [(&str, &[&str]); 4] = [
    ("Handedness", &["Left", "Right", "Ambidextrous"]),
    (
        "Education",
        &[
            "Primary school",
            "High school",
            "Bachelor",
            "Master",
            "Doctorate",
            "Other",
        ],
    ),
    ("Vision", &["Normal", "Corrected to normal", "Impaired"]),
    ("Hearing", &["Normal", "Impaired"]),
];

fn internal(e: RecordError) -> SessionError {
    SessionError::Internal(e.to_string())
}

fn store(st: &State) -> Result<&Store, SessionError> {
    st.book.as_ref().map(|b| &b.store).ok_or_else(|| {
        SessionError::Internal("subjects need a data directory: start epocd serve with --data-dir".into())
    })
}

fn validate(p: &SubjectParams) -> Result<(), SessionError> {
    let bad = |m: String| Err(SessionError::InvalidParams(m));
    let n = p.name.trim().chars().count();
    if n == 0 || p.name.chars().count() > 30 {
        return bad("subjectName must be 1 to 30 characters".into());
    }
    if let Some(d) = &p.date_of_birth
        && !d.is_empty()
        && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        return bad(format!("dateOfBirth {d:?} must be a date as YYYY-MM-DD"));
    }
    if let Some(s) = &p.sex
        && !["M", "F", "U", ""].contains(&s.as_str())
    {
        return bad(format!("sex {s:?} must be \"M\", \"F\" or \"U\""));
    }
    if let Some(c) = &p.country_code
        && !(c.is_empty() || country_name(c).is_some())
    {
        return bad(format!(
            "countryCode {c:?} must be an ISO 3166 alpha-2 code such as \"FR\""
        ));
    }
    if let Some(a) = &p.attributes {
        let items = a.as_array().ok_or_else(|| {
            SessionError::InvalidParams("attributes must be an array of {name, value}".into())
        })?;
        for item in items {
            let (Some(name), Some(value)) = (
                item.get("name").and_then(Value::as_str),
                item.get("value").and_then(Value::as_str),
            ) else {
                return bad("each attribute must be {\"name\": string, \"value\": string}".into());
            };
            let Some((_, allowed)) = ATTRIBUTES.iter().find(|(n, _)| *n == name) else {
                return bad(format!(
                    "unknown attribute {name:?}: getDemographicAttributes lists the names"
                ));
            };
            if !allowed.contains(&value) {
                return bad(format!("attribute {name}: {value:?} is not one of {allowed:?}"));
            }
        }
    }
    Ok(())
}

fn subject_json(store: &Store, s: &Subject) -> Result<Value, SessionError> {
    Ok(json!({
        "subjectName": s.name,
        "dateOfBirth": s.date_of_birth,
        "sex": s.sex,
        "countryCode": s.country_code,
        "countryName": country_name(&s.country_code).unwrap_or_default(),
        "state": s.state,
        "city": s.city,
        "attributes": s.attributes,
        "experimentsCount": store.records_of_subject(&s.name).map_err(internal)?,
    }))
}

impl Cortex {
    /// `createSubject` (`replace` false) and `updateSubject` (`replace` true).
    pub fn put_subject(&self, token: &str, p: SubjectParams, replace: bool) -> Result<Value, SessionError> {
        self.app_of(token)?;
        validate(&p)?;
        let st = lock(&self.state);
        let store = store(&st)?;
        let old = store.subject(&p.name).map_err(internal)?.unwrap_or_default();
        let s = Subject {
            name: p.name.clone(),
            date_of_birth: p.date_of_birth.unwrap_or(old.date_of_birth),
            sex: p.sex.unwrap_or(old.sex),
            country_code: p.country_code.unwrap_or(old.country_code),
            state: p.state.unwrap_or(old.state),
            city: p.city.unwrap_or(old.city),
            attributes: p
                .attributes
                .or(Some(old.attributes).filter(|a| a.is_array()))
                .unwrap_or_else(|| Value::Array(Vec::new())),
        };
        if !store.put_subject(&s, replace).map_err(internal)? {
            return Err(SessionError::InvalidParams(if replace {
                format!(
                    "subject {:?} does not exist: create it with createSubject",
                    p.name
                )
            } else {
                format!("subject {:?} already exists: use updateSubject", p.name)
            }));
        }
        subject_json(store, &s)
    }

    /// `deleteSubjects`.
    pub fn delete_subjects(&self, token: &str, names: &[String]) -> Result<Value, SessionError> {
        self.app_of(token)?;
        let st = lock(&self.state);
        let store = store(&st)?;
        let mut success = Vec::new();
        let mut failure = Vec::new();
        for n in names {
            if store.delete_subject(n).map_err(internal)? {
                success.push(json!({"subjectName": n, "message": "The subject was deleted."}));
            } else {
                failure.push(json!({"subjectName": n, "code": -32602, "message": format!("subject {n:?} does not exist")}));
            }
        }
        Ok(json!({"success": success, "failure": failure}))
    }

    /// `querySubjects`.
    pub fn query_subjects(
        &self,
        token: &str,
        query: &Map<String, Value>,
        order_by: &[Value],
        limit: usize,
        offset: usize,
    ) -> Result<Value, SessionError> {
        self.app_of(token)?;
        let st = lock(&self.state);
        let store = store(&st)?;
        let mut found = Vec::new();
        for s in store.subjects().map_err(internal)? {
            let mut keep = true;
            for (k, v) in query {
                let want = v
                    .as_str()
                    .ok_or_else(|| SessionError::InvalidParams(format!("query.{k} must be a string")))?;
                keep &= match k.as_str() {
                    "subjectName" => s.name == want,
                    "sex" => s.sex == want,
                    "countryCode" => s.country_code == want,
                    "city" => s.city == want,
                    "keyword" => s.name.to_lowercase().contains(&want.to_lowercase()),
                    other => {
                        return Err(SessionError::InvalidParams(format!(
                            "unknown query key {other:?}: use subjectName, sex, countryCode, city or keyword"
                        )));
                    }
                };
            }
            if keep {
                found.push(s);
            }
        }
        let keys = order_keys(order_by, &["subjectName", "dateOfBirth", "sex", "countryCode"])?;
        // Stable sorts from the least to the most important key.
        for (field, desc) in keys.into_iter().rev() {
            let key = |s: &Subject| -> String {
                match field.as_str() {
                    "dateOfBirth" => s.date_of_birth.clone(),
                    "sex" => s.sex.clone(),
                    "countryCode" => s.country_code.clone(),
                    _ => s.name.clone(),
                }
            };
            found.sort_by(|a, b| {
                let o = key(a).cmp(&key(b));
                if desc { o.reverse() } else { o }
            });
        }
        let count = found.len();
        let page = found
            .iter()
            .skip(offset)
            .take(if limit == 0 { usize::MAX } else { limit })
            .map(|s| subject_json(store, s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({"subjects": page, "count": count, "limit": limit, "offset": offset}))
    }

    /// `getDemographicAttributes`.
    pub fn demographic_attributes(&self, token: &str) -> Result<Value, SessionError> {
        self.app_of(token)?;
        Ok(Value::Array(
            ATTRIBUTES
                .iter()
                .map(|(name, values)| json!({"name": name, "value": values}))
                .collect(),
        ))
    }
}

/// The English ISO 3166-1 name of an alpha-2 code (`None` for a code that is not assigned).
fn country_name(code: &str) -> Option<&'static str> {
    isocountry::CountryCode::for_alpha2(code).ok().map(|c| c.name())
}
