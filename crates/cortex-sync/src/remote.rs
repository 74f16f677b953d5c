//! What the bucket holds, and removing a record from it.

use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::SyncError;
use crate::layout::{Layout, valid_record_id};

/// The ids of the whole records in the bucket (those with a manifest), sorted.
pub async fn list_records<S: ObjectStore>(store: &S, layout: &Layout) -> Result<Vec<String>, SyncError> {
    let records = layout.records();
    let objects: Vec<_> = store.list(Some(&records)).try_collect().await?;
    let mut ids: Vec<String> = objects
        .iter()
        .filter_map(|o| {
            let mut parts = o.location.as_ref().rsplit('/');
            match (parts.next(), parts.next()) {
                (Some("manifest.json"), Some(id)) if valid_record_id(id) => Some(id.to_owned()),
                _ => None,
            }
        })
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Remove record `uuid` from the bucket: the manifest first, so that a removal cut short
/// never leaves something that looks whole, then every other object of the record.
pub async fn delete_record<S: ObjectStore>(store: &S, layout: &Layout, uuid: &str) -> Result<(), SyncError> {
    if !valid_record_id(uuid) {
        return Err(SyncError::NotFound(format!("record {uuid:?}")));
    }
    match store.delete(&layout.manifest(uuid)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let objects: Vec<_> = store.list(Some(&layout.record(uuid))).try_collect().await?;
    for o in objects {
        match store.delete(&o.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
