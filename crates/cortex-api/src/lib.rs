//! The EMOTIV Cortex API as data, with no I/O: the error and warning code table
//! ([`codes`]), warning frames ([`warning`]) and the data streams with their columns
//! ([`streams`]). The service (`cortex-service`), the data plane (`cortex-stream`) and the
//! JSON-RPC shell (`cortex-rpc`) all take their numbers and names from here.

pub mod codes;
pub mod streams;
pub mod warning;

pub use streams::{Stream, StreamBits};
