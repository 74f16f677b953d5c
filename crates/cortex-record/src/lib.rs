//! Records for epocd. Today: the EDF family writer ([`edf`]) and the crash-safe block files
//! ([`blocks`]) that the record store and the Cortex record methods build on.

pub mod blocks;
pub mod edf;
pub mod writer;

pub use edf::{Annotation, EdfError, EdfFormat, EdfWriter, Header, Signal};
