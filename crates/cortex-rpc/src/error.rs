//! The one error type of this crate: why the server could not start or serve. Errors of
//! methods are the service's (`cortex_service::ServiceError`, with their Cortex codes).

use thiserror::Error;

/// Why the server could not start, or a connection could not be served.
#[derive(Debug, Error)]
pub enum RpcError {
    /// TLS material could not be made or loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// The listening socket or another OS resource failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
