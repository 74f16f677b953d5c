//! The one error type of this crate.

use thiserror::Error;

/// Why a source could not deliver, or a device could not be used. Messages say what to do.
#[derive(Debug, Error)]
pub enum DriverError {
    /// The device went away (unplugged, powered off, out of range, read error).
    #[error("disconnected: {0}")]
    Disconnected(String),
    /// A replay reached the end of its file (and does not loop).
    #[error("end of capture")]
    Ended,
    /// The device exists but cannot be opened; the text says why and how to fix it.
    #[error("{0}")]
    CannotOpen(String),
    /// Nothing matched the request.
    #[error("{0}")]
    NotFound(String),
    /// Bluetooth (BlueZ over D-Bus) cannot be used on this machine.
    #[error("Bluetooth unavailable: {0}")]
    BluetoothUnavailable(String),
    /// A capture file could not be read or parsed.
    #[error("{0}")]
    Capture(String),
    /// A virtual headset script could not be read or parsed; the text names the line.
    #[error("{0}")]
    Script(String),
    /// Bad input to the protocol layer (serial, capture format).
    #[error(transparent)]
    Protocol(#[from] epoc_protocol::ProtocolError),
    /// The operating system refused something (thread spawn, file I/O).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
