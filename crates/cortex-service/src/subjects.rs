//! Subjects (docs/cortex-api.md, "Subjects"): createSubject, updateSubject, deleteSubjects,
//! querySubjects, getDemographicAttributes. All SQLite, under the store's lock only.

use std::sync::Arc;

use cortex_api::codes;
use cortex_record::{Store, Subject};
use serde_json::{Value, json};

use crate::methods::{Call, Reply};
use crate::order::order_keys;
use crate::params::Params;
use crate::record_book::internal;
use crate::{Cortex, ServiceError};

/// What createSubject / updateSubject were given.
#[derive(Debug, Clone, Default)]
struct SubjectParams {
    /// The unique name (≤ 30 characters).
    name: String,
    /// `YYYY-MM-DD`.
    date_of_birth: Option<String>,
    /// `M`, `F` or `U`.
    sex: Option<String>,
    /// ISO 3166 alpha-2.
    country_code: Option<String>,
    /// State or region.
    state: Option<String>,
    /// City.
    city: Option<String>,
    /// `[{name, value}]`.
    attributes: Option<Value>,
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

impl SubjectParams {
    fn read(p: &Params<'_>) -> Result<SubjectParams, ServiceError> {
        let opt = |name: &str| p.opt_str(name).map(|v| v.map(str::to_owned));
        Ok(SubjectParams {
            name: p.str("subjectName")?.to_owned(),
            date_of_birth: opt("dateOfBirth")?,
            sex: opt("sex")?,
            country_code: opt("countryCode")?,
            state: opt("state")?,
            city: opt("city")?,
            attributes: p.0.get("attributes").filter(|v| !v.is_null()).cloned(),
        })
    }
}

fn validate(p: &SubjectParams) -> Result<(), ServiceError> {
    let bad = |m: String| Err(ServiceError::InvalidParams(m));
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
            ServiceError::InvalidParams("attributes must be an array of {name, value}".into())
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

fn subject_json(store: &Store, s: &Subject) -> Result<Value, ServiceError> {
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

/// `createSubject`.
pub fn create_subject(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    put_subject(c, call, false)
}

/// `updateSubject`.
pub fn update_subject(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    put_subject(c, call, true)
}

/// createSubject (`replace` false) and updateSubject (`replace` true).
fn put_subject(c: &Arc<Cortex>, call: &Call<'_>, replace: bool) -> Result<Reply, ServiceError> {
    let p = SubjectParams::read(&call.params)?;
    c.app_of(call.params.token()?)?;
    validate(&p)?;
    let book = c.book()?;
    let store = book.store()?;
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
        return Err(ServiceError::InvalidParams(if replace {
            format!(
                "subject {:?} does not exist: create it with createSubject",
                p.name
            )
        } else {
            format!("subject {:?} already exists: use updateSubject", p.name)
        }));
    }
    subject_json(&store, &s).map(Reply::from)
}

/// `deleteSubjects`.
pub fn delete_subjects(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let names = call.params.strings("subjects")?;
    c.app_of(call.params.token()?)?;
    let book = c.book()?;
    let store = book.store()?;
    let mut success = Vec::new();
    let mut failure = Vec::new();
    for n in &names {
        if store.delete_subject(n).map_err(internal)? {
            success.push(json!({"subjectName": n, "message": "The subject was deleted."}));
        } else {
            failure.push(json!({"subjectName": n, "code": codes::error::INVALID_PARAMS, "message": format!("subject {n:?} does not exist")}));
        }
    }
    Ok(json!({"success": success, "failure": failure}).into())
}

/// `querySubjects`.
pub fn query_subjects(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let p = &call.params;
    let query = p.object("query")?;
    let order_by = p.array("orderBy")?;
    let limit = usize::try_from(p.opt_uint("limit")?.unwrap_or(0)).unwrap_or(usize::MAX);
    let offset = usize::try_from(p.opt_uint("offset")?.unwrap_or(0)).unwrap_or(usize::MAX);
    c.app_of(p.token()?)?;
    let book = c.book()?;
    let store = book.store()?;
    let mut found = Vec::new();
    for s in store.subjects().map_err(internal)? {
        let mut keep = true;
        for (k, v) in query {
            let want = v
                .as_str()
                .ok_or_else(|| ServiceError::InvalidParams(format!("query.{k} must be a string")))?;
            keep &= match k.as_str() {
                "subjectName" => s.name == want,
                "sex" => s.sex == want,
                "countryCode" => s.country_code == want,
                "city" => s.city == want,
                "keyword" => s.name.to_lowercase().contains(&want.to_lowercase()),
                other => {
                    return Err(ServiceError::InvalidParams(format!(
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
        .map(|s| subject_json(&store, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"subjects": page, "count": count, "limit": limit, "offset": offset}).into())
}

/// `getDemographicAttributes`.
pub fn get_demographic_attributes(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    c.app_of(call.params.token()?)?;
    Ok(Value::Array(
        ATTRIBUTES
            .iter()
            .map(|(name, values)| json!({"name": name, "value": values}))
            .collect(),
    )
    .into())
}

/// The English ISO 3166-1 name of an alpha-2 code (`None` for a code that is not assigned).
fn country_name(code: &str) -> Option<&'static str> {
    isocountry::CountryCode::for_alpha2(code).ok().map(|c| c.name())
}
