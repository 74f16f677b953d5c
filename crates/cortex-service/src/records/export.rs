//! exportRecord: checks the whole request first (nothing is written for a bad one), then
//! exports each record with no lock held; the JSON companion file carries the record object
//! built here.

use std::path::PathBuf;
use std::sync::Arc;

use cortex_api::codes;
use cortex_record::{CsvVersion, EdfFormat, ExportFormat, ExportRequest, StreamTypes};
use serde_json::json;

use super::{own_record, record_object_with_markers};
use crate::methods::{Call, Reply};
use crate::record_book::internal;
use crate::{Cortex, ServiceError};

/// `exportRecord`: per-record success and failure. Request-level mistakes (folder, format,
/// stream types) are an error, and nothing is written.
pub fn export_record(c: &Arc<Cortex>, call: &Call<'_>) -> Result<Reply, ServiceError> {
    let app = c.app_of(call.params.token()?)?;
    let p = &call.params;
    // Accepted and ignored: epocd has no licences; demographics go in the JSON file.
    for flag in [
        "includeDemographics",
        "includeMarkerExtraInfos",
        "includeSurvey",
        "includeDeprecatedPM",
    ] {
        p.opt_bool(flag)?;
    }
    p.opt_strings("licenseIds")?;
    let record_ids = p.strings("recordIds")?;
    let folder = p.str("folder")?;
    let stream_types = p.strings("streamTypes")?;
    let format = p.str("format")?;
    let version = p.opt_str("version")?;
    let format = match (format, version) {
        ("CSV", Some("V1")) => ExportFormat::Csv(CsvVersion::V1),
        ("CSV", Some("V2")) => ExportFormat::Csv(CsvVersion::V2),
        ("CSV", v) => {
            return Err(ServiceError::InvalidParams(format!(
                "CSV export needs version \"V1\" or \"V2\" (got {v:?})"
            )));
        }
        ("EDF", _) => ExportFormat::Edf(EdfFormat::Edf),
        ("EDFPLUS", _) => ExportFormat::Edf(EdfFormat::EdfPlus),
        ("BDFPLUS", _) => ExportFormat::Edf(EdfFormat::BdfPlus),
        (other, _) => {
            return Err(ServiceError::InvalidParams(format!(
                "format {other:?}: use EDF, EDFPLUS, BDFPLUS or CSV"
            )));
        }
    };
    let streams =
        StreamTypes::parse(&stream_types).map_err(|e| ServiceError::InvalidParams(e.to_string()))?;
    let req = ExportRequest {
        format,
        streams,
        folder: PathBuf::from(folder),
    };
    req.validate()
        .map_err(|e| ServiceError::InvalidParams(e.to_string()))?;
    let book = c.book()?;
    let mut success = Vec::new();
    let mut failure = Vec::new();
    for id in &record_ids {
        let job = own_record(book, &app, id).and_then(|r| {
            let markers = book.store()?.markers(id).map_err(internal)?;
            Ok((r, markers, book.dir(id)))
        });
        let outcome = job
            .map_err(|e| (codes::error::RECORD_NOT_FOUND, e.to_string()))
            .and_then(|(r, markers, dir)| {
                let object = record_object_with_markers(&r, &markers);
                cortex_record::export_record(&r, &markers, &dir, &req, &object, &mut |_| {})
                    .map_err(|e| (codes::error::INVALID_PARAMS, e.to_string()))
            });
        match outcome {
            Ok(_) => success.push(json!({"recordId": id})),
            Err((code, message)) => failure.push(json!({"recordId": id, "code": code, "message": message})),
        }
    }
    Ok(json!({"success": success, "failure": failure}).into())
}
