//! A source fed by another thread through a channel: how tests inject faults (disconnects,
//! silence, garbage) and benchmarks measure latency through the real acquisition thread.

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, unbounded};
use epoc_protocol::REPORT_LEN;

use crate::DriverError;
use crate::source::{Identity, Source};

/// What the feeding side can make the source do.
#[derive(Debug, Clone)]
pub enum Feed {
    /// Deliver this report.
    Report([u8; REPORT_LEN]),
    /// Fail the next read as if the device was unplugged.
    Disconnect(String),
    /// Let `reconnect` succeed from now on (it fails while the device is "unplugged").
    Replug,
    /// End the source for good.
    End,
}

/// The receiving half, handed to the acquisition thread.
pub struct ChannelSource {
    identity: Identity,
    rx: Receiver<Feed>,
    plugged: bool,
}

/// Make a channel source and the sender that feeds it.
pub fn channel_source(identity: Identity) -> (Sender<Feed>, ChannelSource) {
    let (tx, rx) = unbounded();
    (
        tx,
        ChannelSource {
            identity,
            rx,
            plugged: true,
        },
    )
}

impl Source for ChannelSource {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn read(&mut self, timeout: Duration) -> Result<Option<[u8; REPORT_LEN]>, DriverError> {
        if !self.plugged {
            return Err(DriverError::Disconnected("unplugged".into()));
        }
        match self.rx.recv_timeout(timeout) {
            Ok(Feed::Report(r)) => Ok(Some(r)),
            Ok(Feed::Disconnect(why)) => {
                self.plugged = false;
                Err(DriverError::Disconnected(why))
            }
            Ok(Feed::Replug) => Ok(None),
            Ok(Feed::End) | Err(RecvTimeoutError::Disconnected) => Err(DriverError::Ended),
            Err(RecvTimeoutError::Timeout) => Ok(None),
        }
    }

    fn reconnect(&mut self) -> Result<(), DriverError> {
        loop {
            match self.rx.try_recv() {
                Ok(Feed::Replug) => self.plugged = true,
                Ok(Feed::End) | Err(TryRecvError::Disconnected) => return Err(DriverError::Ended),
                Ok(_) => {} // reports sent while unplugged are lost, as on a real link
                Err(TryRecvError::Empty) => break,
            }
        }
        if self.plugged {
            Ok(())
        } else {
            Err(DriverError::Disconnected("still unplugged".into()))
        }
    }
}
