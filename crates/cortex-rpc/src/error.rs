//! The one error type of this crate.

use cortex_session::SessionError;
use thiserror::Error;

use crate::codes;

/// Why a request failed, or the server could not start.
#[derive(Debug, Error)]
pub enum RpcError {
    /// A JSON-RPC level error with its Cortex code.
    #[error("{message}")]
    Call {
        /// Cortex / JSON-RPC code.
        code: i64,
        /// Human message.
        message: String,
    },
    /// TLS material could not be made or loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// The listening socket or another OS resource failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl RpcError {
    /// A call error with a code.
    pub fn call(code: i64, message: impl Into<String>) -> Self {
        RpcError::Call {
            code,
            message: message.into(),
        }
    }

    /// Invalid params (-32602).
    pub fn params(message: impl Into<String>) -> Self {
        Self::call(codes::INVALID_PARAMS, message)
    }
}

impl From<SessionError> for RpcError {
    fn from(e: SessionError) -> Self {
        RpcError::Call {
            code: codes::code_of(&e),
            message: e.to_string(),
        }
    }
}
