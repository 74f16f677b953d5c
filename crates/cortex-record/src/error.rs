//! The one error type of the record store and export. Cortex error codes are assigned in
//! `cortex-rpc`; messages here say what to do.

use std::path::PathBuf;

use thiserror::Error;

use crate::blocks::BlockError;
use crate::edf::EdfError;

/// Why a record operation failed.
#[derive(Debug, Error)]
pub enum RecordError {
    /// The metadata database refused (locked, damaged, disk full).
    #[error("record database {path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A database made by a newer epocd.
    #[error("record database {0} was written by a newer epocd (schema {1}); upgrade epocd")]
    NewerSchema(PathBuf, i64),
    /// Sample storage failed.
    #[error(transparent)]
    Blocks(#[from] BlockError),
    /// Writing an EDF file failed.
    #[error(transparent)]
    Edf(#[from] EdfError),
    /// A file or folder could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No record (or marker, subject) with that id.
    #[error("{0}")]
    NotFound(String),
    /// A request that cannot be served as asked (bad folder, bad stream type, file exists).
    #[error("{0}")]
    Invalid(String),
}

impl RecordError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RecordError {
        let path = path.into();
        move |source| RecordError::Io { path, source }
    }
}
