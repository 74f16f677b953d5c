//! The JSON-RPC 2.0 / WebSocket shell of epocd's Cortex API: the envelope rules, dispatch
//! into the service's method table (`cortex-service`), TLS with a locally generated CA, and
//! the server with one ordered, bounded byte queue per connection. No method logic lives
//! here.

mod batching;
mod connection;
mod dispatch;
pub mod envelope;
mod error;
mod outqueue;
pub mod server;
pub mod tls;

pub use error::RpcError;
pub use server::{Server, ServerOptions};
