//! Records for epocd. Today: the EDF family writer ([`edf`]); the durable store and the
//! Cortex record methods build on it.

pub mod edf;

pub use edf::{Annotation, EdfError, EdfFormat, EdfWriter, Header, Signal};
