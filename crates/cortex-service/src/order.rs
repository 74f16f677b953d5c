//! The `orderBy` parameter of the query methods (queryRecords, querySubjects): one shape and
//! one set of error messages for both.

use serde_json::Value;

use crate::ServiceError;

/// `[{"field": "ASC"|"DESC"}, …]` → `(field, descending)` in priority order, each field
/// checked against the ones this method can sort by.
pub(crate) fn order_keys(order_by: &[Value], allowed: &[&str]) -> Result<Vec<(String, bool)>, ServiceError> {
    let mut keys = Vec::with_capacity(order_by.len());
    for o in order_by {
        let (field, dir) = o
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next())
            .ok_or_else(|| {
                ServiceError::InvalidParams(
                    "orderBy must be an array of {\"field\": \"ASC\"|\"DESC\"} objects".into(),
                )
            })?;
        let desc = match dir.as_str() {
            Some("ASC") => false,
            Some("DESC") => true,
            _ => {
                return Err(ServiceError::InvalidParams(format!(
                    "orderBy.{field} must be \"ASC\" or \"DESC\""
                )));
            }
        };
        if !allowed.contains(&field.as_str()) {
            let (last, rest) = allowed.split_last().unwrap_or((&"", &[]));
            return Err(ServiceError::InvalidParams(format!(
                "cannot order by {field:?}: use {} or {last}",
                rest.join(", ")
            )));
        }
        keys.push((field.clone(), desc));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_in_order_and_each_mistake_named() {
        let allowed = ["title", "uuid", "startDatetime"];
        let keys = order_keys(&[json!({"title": "DESC"}), json!({"uuid": "ASC"})], &allowed).unwrap();
        assert_eq!(keys, vec![("title".to_owned(), true), ("uuid".to_owned(), false)]);
        let message = |v: Value| match order_keys(&[v], &allowed) {
            Err(ServiceError::InvalidParams(m)) => m,
            other => panic!("expected invalid params, got {other:?}"),
        };
        assert!(message(json!({"title": "UP"})).contains("orderBy.title must be \"ASC\" or \"DESC\""));
        assert_eq!(
            message(json!({"size": "ASC"})),
            "cannot order by \"size\": use title, uuid or startDatetime"
        );
        assert!(message(json!({"title": "ASC", "uuid": "ASC"})).contains("orderBy must be an array"));
        assert!(message(json!("title")).contains("orderBy must be an array"));
    }
}
