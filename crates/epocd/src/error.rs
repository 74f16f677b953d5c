//! The CLI's error: every failure a subcommand can have, and the exit status it maps to.

use std::io;

use epoc_driver::DriverError;
use thiserror::Error;

use crate::decode_cmd::DecodeError;

/// Why a subcommand failed. The message is printed as `epocd: <message>`.
#[derive(Debug, Error)]
pub enum CliError {
    /// `decode` failed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A device or capture could not be used.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// A file or the terminal failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: io::Error,
    },
    /// The server could not start.
    #[error(transparent)]
    Rpc(#[from] cortex_rpc::RpcError),
    /// The Cortex service could not start or add a headset.
    #[error(transparent)]
    Session(#[from] cortex_service::ServiceError),
    /// An EDF file could not be written.
    #[error(transparent)]
    Edf(#[from] cortex_record::EdfError),
    /// The record store could not be read, or an export failed.
    #[error(transparent)]
    Record(#[from] cortex_record::RecordError),
    /// A profile could not be read or written.
    #[error(transparent)]
    Profile(#[from] cortex_profile::ProfileError),
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// 2 when the user must change the input or the setup, 1 for failures of the machine.
    pub fn exit_status(&self) -> u8 {
        match self {
            CliError::Decode(e) => e.exit_status(),
            CliError::Driver(DriverError::Io(_)) | CliError::Io { .. } => 1,
            CliError::Rpc(_) | CliError::Edf(_) => 1,
            CliError::Record(
                cortex_record::RecordError::Invalid(_) | cortex_record::RecordError::NotFound(_),
            ) => 2,
            CliError::Record(_) => 1,
            CliError::Profile(cortex_profile::ProfileError::Io { .. }) => 1,
            CliError::Profile(_) => 2,
            CliError::Driver(_) | CliError::Usage(_) | CliError::Session(_) => 2,
        }
    }

    /// Wrap an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }
}

/// Create an output file, refusing to replace an existing one unless `force`: no command
/// overwrites a user's file silently.
pub fn create_output(path: &std::path::Path, force: bool) -> Result<std::fs::File, CliError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .create_new(!force)
        .truncate(true)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => CliError::Usage(format!(
                "{} already exists: choose another --out, or pass --force to replace it",
                path.display()
            )),
            _ => CliError::Io {
                context: format!("cannot create {}", path.display()),
                source: e,
            },
        })
}
