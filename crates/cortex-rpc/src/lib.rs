//! The JSON-RPC 2.0 / WebSocket shell of epocd's Cortex API: the envelope rules, parameter
//! checks, method dispatch to `cortex-session`, the Cortex error-code table, TLS with a
//! locally generated CA, and the server with per-client bounded queues.

mod batching;
pub mod codes;
mod connection;
mod dispatch;
pub mod envelope;
mod error;
mod outqueue;
mod params;
pub mod server;
pub mod tls;

pub use error::RpcError;
pub use server::{Server, ServerOptions};
