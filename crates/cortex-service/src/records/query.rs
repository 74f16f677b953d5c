//! queryRecords and getRecordInfos: filters, order, paging, markers and sync status.

use std::sync::Arc;

use cortex_record::RecordMeta;
use serde_json::{Map, Value, json};

use super::{opted_out, own_record, record_object, record_object_with_markers};
use crate::methods::{Call, Reply};
use crate::order::order_keys;
use crate::record_book::{RecordBook, internal};
use crate::{Cortex, ServiceError};

/// The most marker text (labels, values, extras) one reply may carry: a reply is built whole
/// in memory, several times its size, before it is sent.
pub const MAX_REPLY_MARKER_BYTES: usize = 16 << 20;

/// A record object with its markers, counting their size against `budget`.
fn with_markers(book: &RecordBook, r: &RecordMeta, budget: &mut usize) -> Result<Value, ServiceError> {
    let markers = book.store()?.markers(&r.uuid).map_err(internal)?;
    for m in &markers {
        let size =
            256 + m.label.len() + m.port.len() + m.value.to_string().len() + m.extras.to_string().len();
        *budget = budget.checked_sub(size).ok_or_else(|| {
            ServiceError::InvalidParams(format!(
                "the reply would carry more than {} MiB of markers: ask for fewer records at a time (limit and \
                 offset), or without includeMarkers",
                MAX_REPLY_MARKER_BYTES >> 20
            ))
        })?;
    }
    Ok(record_object_with_markers(r, &markers))
}

fn matches_query(r: &RecordMeta, app: &str, q: &Map<String, Value>) -> Result<bool, ServiceError> {
    let bad = |k: &str, what: &str| ServiceError::InvalidParams(format!("query.{k} must be {what}"));
    let mut app_filter = false;
    for (k, v) in q {
        let ok = match k.as_str() {
            "applicationId" => {
                app_filter = true;
                r.application_id == v.as_str().ok_or_else(|| bad(k, "a string"))?
            }
            "licenseId" => r.license_id == v.as_str().ok_or_else(|| bad(k, "a string"))?,
            "uuid" => r.uuid == v.as_str().ok_or_else(|| bad(k, "a string"))?,
            "subjectName" => r.subject_name == v.as_str().ok_or_else(|| bad(k, "a string"))?,
            "title" => {
                let t = v.as_str().ok_or_else(|| bad(k, "a string"))?.to_lowercase();
                r.title.to_lowercase().contains(&t)
            }
            "keyword" => {
                let t = v.as_str().ok_or_else(|| bad(k, "a string"))?.to_lowercase();
                r.title.to_lowercase().contains(&t)
                    || r.description.to_lowercase().contains(&t)
                    || r.tags.iter().any(|x| x.to_lowercase().contains(&t))
            }
            "tags" => {
                let want = v.as_array().ok_or_else(|| bad(k, "an array of strings"))?;
                want.iter()
                    .all(|w| w.as_str().is_some_and(|w| r.tags.iter().any(|t| t == w)))
            }
            "startDatetime" => {
                let range = v.as_object().ok_or_else(|| bad(k, "an object {from, to}"))?;
                let bound = |name: &str| -> Result<Option<f64>, ServiceError> {
                    match range.get(name) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => cortex_record::time::unix_from_iso(s)
                            .map(Some)
                            .ok_or_else(|| bad(k, "an object whose from/to are ISO 8601 datetimes")),
                        Some(_) => Err(bad(k, "an object whose from/to are ISO 8601 datetimes")),
                    }
                };
                bound("from")?.is_none_or(|f| r.start >= f) && bound("to")?.is_none_or(|t| r.start <= t)
            }
            other => {
                return Err(ServiceError::InvalidParams(format!(
                    "unknown query key {other:?}: use applicationId, licenseId, uuid, subjectName, title, keyword, tags or startDatetime"
                )));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(app_filter || r.application_id == app)
}

fn order(records: &mut [RecordMeta], order_by: &[Value]) -> Result<(), ServiceError> {
    let keys = order_keys(
        order_by,
        &["startDatetime", "endDatetime", "title", "description", "uuid"],
    )?;
    records.sort_by(|a, b| {
        for (field, desc) in &keys {
            let ord = match field.as_str() {
                "startDatetime" => a.start.total_cmp(&b.start),
                "endDatetime" => a.end.unwrap_or(f64::MAX).total_cmp(&b.end.unwrap_or(f64::MAX)),
                "title" => a.title.cmp(&b.title),
                "description" => a.description.cmp(&b.description),
                _ => a.uuid.cmp(&b.uuid),
            };
            let ord = if *desc { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(())
}

/// `queryRecords`.
pub fn query_records(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let p = &call.params;
    let query = p.object("query")?;
    let order_by = p.array("orderBy")?;
    let limit = usize::try_from(p.opt_uint("limit")?.unwrap_or(0)).unwrap_or(usize::MAX);
    let offset = usize::try_from(p.opt_uint("offset")?.unwrap_or(0)).unwrap_or(usize::MAX);
    let include_markers = p.opt_bool("includeMarkers")?.unwrap_or(false);
    let include_sync_status = p.opt_bool("includeSyncStatusInfo")?.unwrap_or(false);
    let book = c.book()?;
    let mut found = Vec::new();
    let mut all = book.store()?.records().map_err(internal)?;
    // With sync, the records in the lab's bucket that are not here are listed too
    // (`notDownloaded`), as Cortex lists the records of its cloud.
    let remote: Vec<String> = match book.syncer() {
        Some(s) => {
            let here: std::collections::HashSet<String> = all.iter().map(|r| r.uuid.clone()).collect();
            let extra: Vec<RecordMeta> = s
                .remote_records()
                .into_iter()
                .filter(|r| !here.contains(&r.uuid))
                .collect();
            let ids = extra.iter().map(|r| r.uuid.clone()).collect();
            all.extend(extra);
            ids
        }
        None => Vec::new(),
    };
    for r in all {
        if matches_query(&r, &app, query)? {
            found.push(r);
        }
    }
    order(&mut found, order_by)?;
    let count = found.len();
    let opt_out = opted_out(book)?;
    let syncer = book.syncer();
    let mut budget = MAX_REPLY_MARKER_BYTES;
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(if limit == 0 { usize::MAX } else { limit })
        .map(|r| {
            let mut v = if include_markers {
                with_markers(book, r, &mut budget)?
            } else {
                record_object(r)
            };
            if include_sync_status {
                v["syncStatus"] = match syncer {
                    Some(s) if remote.contains(&r.uuid) => {
                        crate::sync::remote_status_json(opt_out, s.is_downloading(&r.uuid))
                    }
                    _ => crate::sync::status_json(
                        syncer.is_some(),
                        opt_out,
                        syncer.and_then(|s| s.state(&r.uuid)),
                    ),
                };
            }
            Ok(v)
        })
        .collect::<Result<_, ServiceError>>()?;
    Ok(json!({"count": count, "limit": limit, "offset": offset, "records": page}).into())
}

/// `getRecordInfos`: record objects with their markers.
pub fn get_record_infos(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let ids = call.params.strings("recordIds")?;
    let book = c.book()?;
    let mut out = Vec::new();
    let mut budget = MAX_REPLY_MARKER_BYTES;
    for id in &ids {
        out.push(with_markers(book, &own_record(book, &app, id)?, &mut budget)?);
    }
    Ok(Value::Array(out).into())
}
