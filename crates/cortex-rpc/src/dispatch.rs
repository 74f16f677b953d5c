//! From a parsed request to the frames that answer it: the service's method table
//! (`cortex_service::METHODS`, each method in its chapter's file) does the work; this turns
//! its reply or error into JSON-RPC frames.

use std::sync::Arc;

use cortex_service::methods::AfterReply;
use cortex_service::{ClientId, Cortex};

use crate::envelope::{self, Request};

/// The frames to send for one request, in order, and what to run once they are queued.
pub struct Answer {
    /// The response, then any warnings that follow it.
    pub frames: Vec<String>,
    /// Work the method left for after its reply (subscribing the connection to data).
    pub then: Option<AfterReply>,
}

/// Run one request.
pub fn dispatch(cortex: &Arc<Cortex>, client: ClientId, req: &Request) -> Answer {
    match cortex.call(client, &req.method, &req.params) {
        Ok(reply) => {
            let mut frames = vec![envelope::result(&req.id, reply.result)];
            frames.extend(reply.after);
            Answer {
                frames,
                then: reply.then,
            }
        }
        Err(e) => Answer {
            frames: vec![envelope::error(&req.id, e.code(), &e.to_string())],
            then: None,
        },
    }
}
