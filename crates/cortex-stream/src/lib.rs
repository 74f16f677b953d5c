//! The data plane of epocd's Cortex API. The service (`cortex-service`) reaches it through
//! [`Fanout`] (subscribe, unsubscribe, markers, live facts) and [`Pace`]; it never formats a
//! data frame or touches a socket. Frames go to each client's [`Outbox`], implemented by the
//! transport.

mod derived;
mod detections;
pub mod fanout;
pub mod frame;
mod outbox;
pub mod pace;
mod pool;

pub use fanout::{
    FacialSignature, Fanout, FanoutHandle, FanoutPool, LiveInfo, MentalSetup, Outbox, PendingEpoch, Training,
};
pub use pace::Pace;
