//! A connection's outgoing bytes: whole WebSocket frames appended by whichever thread has
//! them (fan-out threads, the request path, tungstenite's own control frames) and written to
//! the socket by the connection's writer task.
//!
//! One ordered byte buffer instead of a queue of messages: a data frame costs its copy and
//! nothing else (no allocation, no queue node, no wake-up of the writer while batching), and
//! everything queued since the last write leaves in a single `write`. Frames keep their order
//! because each is appended whole under the buffer's lock.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

/// What the writer task is waiting for while it sleeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// It is running (or about to look again): nobody needs to wake it.
    Nothing,
    /// Any frame wakes it (frames are written at once).
    AnyFrame,
    /// Only an urgent frame wakes it (data waits for the batching tick).
    Urgent,
}

struct State {
    bytes: Vec<u8>,
    /// Data frames in `bytes`, for the slow-client limit.
    data_frames: usize,
    /// Bytes of data frames in `bytes`, for the same limit in bytes.
    data_bytes: usize,
    /// Frames of any kind in `bytes`, for the load measurement.
    frames: u64,
    /// A reply or control frame is waiting: write without waiting for the tick.
    urgent: bool,
    waiting: Waiting,
    /// No more frames: write what is queued, then close the connection.
    closing: bool,
}

/// What the writer took out of the queue in one go.
pub struct Batch {
    /// Frames in the bytes (any kind).
    pub frames: u64,
    /// The connection is to be closed once these bytes are written.
    pub last: bool,
}

/// The outgoing side of one connection.
pub struct OutQueue {
    state: Mutex<State>,
    /// Wakes the writer (a permit is kept if it is not waiting yet).
    wake_writer: Notify,
    /// Told after every write, for request readers waiting for the backlog to drain.
    drained: Notify,
    /// Told once when the connection starts closing.
    closed: Notify,
    limit_frames: usize,
}

/// Bytes of data frames a connection may have waiting before it counts as not reading
/// (a frame count alone would let large frames, such as eeg frames carrying big markers,
/// pile up gigabytes).
pub const DATA_LIMIT_BYTES: usize = 8 << 20;

/// Append the header of an unmasked, final WebSocket frame (RFC 6455 5.2; servers never mask).
fn push_header(out: &mut Vec<u8>, opcode: u8, len: usize) {
    out.push(0x80 | opcode);
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// Append `text` as one text frame.
fn push_text(out: &mut Vec<u8>, text: &str) {
    push_header(out, TEXT, text.len());
    out.extend_from_slice(text.as_bytes());
}

const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;

impl OutQueue {
    /// An empty queue that holds at most `limit_frames` data frames.
    pub fn new(limit_frames: usize) -> OutQueue {
        OutQueue {
            state: Mutex::new(State {
                // Idle connections cost little: the buffer grows with what is queued.
                bytes: Vec::new(),
                data_frames: 0,
                data_bytes: 0,
                frames: 0,
                urgent: false,
                waiting: Waiting::Nothing,
                closing: false,
            }),
            wake_writer: Notify::new(),
            drained: Notify::new(),
            closed: Notify::new(),
            limit_frames: limit_frames.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the bytes half-framed in a way that
        // matters more than losing the connection; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue a data text frame made of `parts`; [`OutQueue::flush`] wakes the writer for it.
    /// False when the client has `limit_frames` data frames, or [`DATA_LIMIT_BYTES`] of them,
    /// waiting already: it is not reading.
    pub fn push_data(&self, parts: &[&str]) -> bool {
        let len = parts.iter().map(|p| p.len()).sum();
        let mut st = self.lock();
        if st.closing {
            return true; // going away: its sessions are being closed, nothing to report
        }
        if st.data_frames >= self.limit_frames || st.data_bytes + len > DATA_LIMIT_BYTES {
            return false;
        }
        push_header(&mut st.bytes, TEXT, len);
        for p in parts {
            st.bytes.extend_from_slice(p.as_bytes());
        }
        st.data_frames += 1;
        st.data_bytes += len;
        st.frames += 1;
        true
    }

    /// Wake the writer if it waits for data frames and some are queued: once per burst of
    /// frames, not once per frame.
    pub fn flush(&self) {
        let mut st = self.lock();
        let wake = st.waiting == Waiting::AnyFrame && st.data_frames > 0;
        if wake {
            st.waiting = Waiting::Nothing;
        }
        drop(st);
        if wake {
            self.wake_writer.notify_one();
        }
    }

    /// Queue a reply (or a warning that must not wait): written at once, never refused.
    pub fn push_reply(&self, text: &str) -> bool {
        self.push_urgent(|bytes| push_text(bytes, text))
    }

    /// Queue bytes tungstenite wrote itself (handshake response, pong, close reply).
    pub fn push_raw(&self, raw: &[u8]) -> bool {
        self.push_urgent(|bytes| bytes.extend_from_slice(raw))
    }

    fn push_urgent(&self, append: impl FnOnce(&mut Vec<u8>)) -> bool {
        let mut st = self.lock();
        if st.closing {
            return false;
        }
        append(&mut st.bytes);
        st.frames += 1;
        st.urgent = true;
        let wake = st.waiting != Waiting::Nothing;
        st.waiting = Waiting::Nothing;
        drop(st);
        if wake {
            self.wake_writer.notify_one();
        }
        true
    }

    /// Send `last` (if given) and a close frame, then close the connection.
    pub fn close(&self, last: Option<&str>) {
        self.close_with(last, None);
    }

    /// Send `last` (if given) and a close frame carrying `code` and a short reason (RFC 6455
    /// 5.5.1: 1000 normal, 1002 protocol error, 1007 bad UTF-8, 1009 too big), then close.
    pub fn close_with(&self, last: Option<&str>, code: Option<(u16, &str)>) {
        let mut st = self.lock();
        if st.closing {
            return;
        }
        if let Some(text) = last {
            push_text(&mut st.bytes, text);
            st.frames += 1;
        }
        match code {
            Some((code, reason)) => {
                // A control frame's payload is at most 125 bytes: the code and the reason.
                let reason = &reason.as_bytes()[..reason.len().min(123)];
                push_header(&mut st.bytes, CLOSE, 2 + reason.len());
                st.bytes.extend_from_slice(&code.to_be_bytes());
                st.bytes.extend_from_slice(reason);
            }
            None => push_header(&mut st.bytes, CLOSE, 0),
        }
        self.mark_closing(st);
    }

    /// Queue raw bytes to go out before anything else the connection sends (an HTTP
    /// response to a request that is not a WebSocket upgrade), then close.
    pub fn reply_http_and_close(&self, response: &[u8]) {
        let mut st = self.lock();
        if st.closing {
            return;
        }
        st.bytes.extend_from_slice(response);
        st.frames += 1;
        self.mark_closing(st);
    }

    /// Close without sending anything more than what is queued (the peer went away, or
    /// tungstenite already sent its close frame).
    pub fn finish(&self) {
        let st = self.lock();
        if !st.closing {
            self.mark_closing(st);
        }
    }

    fn mark_closing(&self, mut st: MutexGuard<'_, State>) {
        st.closing = true;
        st.waiting = Waiting::Nothing;
        drop(st);
        self.wake_writer.notify_one();
        self.closed.notify_waiters();
    }

    /// Whether the connection is closing.
    pub fn is_closing(&self) -> bool {
        self.lock().closing
    }

    /// Resolves once the connection starts closing.
    pub async fn closed(&self) {
        loop {
            let notified = self.closed.notified();
            if self.is_closing() {
                return;
            }
            notified.await;
        }
    }

    /// Wait until fewer than `bytes` are queued (a client that sends requests without
    /// reading the replies must not make the daemon buffer without bound).
    pub async fn wait_below(&self, bytes: usize) {
        loop {
            let notified = self.drained.notified();
            let drained = {
                let st = self.lock();
                st.bytes.len() < bytes || st.closing
            };
            if drained {
                return;
            }
            notified.await;
        }
    }

    /// Swap the queued bytes into `out` (which must be empty) if there is something to write
    /// now: always for urgent frames and when closing, for data only if `data_now`. Otherwise
    /// note what should wake the writer and return `None`.
    pub fn take(&self, out: &mut Vec<u8>, data_now: bool) -> Option<Batch> {
        let mut st = self.lock();
        let due = st.urgent || st.closing || data_now;
        if due && (!st.bytes.is_empty() || st.closing) {
            std::mem::swap(&mut st.bytes, out);
            let batch = Batch {
                frames: st.frames,
                last: st.closing,
            };
            st.frames = 0;
            st.data_frames = 0;
            st.data_bytes = 0;
            st.urgent = false;
            st.waiting = Waiting::Nothing;
            return Some(batch);
        }
        st.waiting = if data_now {
            Waiting::AnyFrame
        } else {
            Waiting::Urgent
        };
        None
    }

    /// Sleep until a producer wakes the writer (or a wake-up was already pending).
    pub async fn wait_for_frames(&self) {
        self.wake_writer.notified().await;
    }

    /// The writer finished writing a batch.
    pub fn wrote(&self) {
        self.drained.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Split a byte stream of unmasked server frames back into (opcode, payload).
    fn frames(mut bytes: &[u8]) -> Vec<(u8, String)> {
        let mut out = Vec::new();
        while let [b0, b1, rest @ ..] = bytes {
            assert_eq!(b0 & 0x80, 0x80, "FIN set");
            assert_eq!(b1 & 0x80, 0, "server frames are not masked");
            let (len, rest) = match b1 & 0x7f {
                126 => (usize::from(u16::from_be_bytes([rest[0], rest[1]])), &rest[2..]),
                127 => (
                    usize::try_from(u64::from_be_bytes(rest[..8].try_into().unwrap())).unwrap(),
                    &rest[8..],
                ),
                n => (usize::from(n), rest),
            };
            out.push((b0 & 0x0f, String::from_utf8(rest[..len].to_vec()).unwrap()));
            bytes = &rest[len..];
        }
        assert!(bytes.is_empty(), "no trailing partial frame");
        out
    }

    #[test]
    fn frames_of_every_length_class_round_trip() {
        let q = OutQueue::new(100);
        let long = "x".repeat(70_000);
        let medium = "y".repeat(300);
        assert!(q.push_data(&["{\"a\":", "1", "}"]));
        assert!(q.push_data(&[&medium]));
        assert!(q.push_reply(&long));
        let mut out = Vec::new();
        let batch = q.take(&mut out, false).expect("a reply makes it due");
        assert_eq!(batch.frames, 3);
        assert!(!batch.last);
        assert_eq!(
            frames(&out),
            vec![(TEXT, "{\"a\":1}".to_owned()), (TEXT, medium), (TEXT, long)]
        );
    }

    #[test]
    fn data_waits_for_the_tick_but_replies_do_not() {
        let q = OutQueue::new(100);
        let mut out = Vec::new();
        assert!(q.push_data(&["d"]));
        assert!(
            q.take(&mut out, false).is_none(),
            "data alone waits while batching"
        );
        assert!(q.take(&mut out, true).is_some(), "and goes when it is time");
        out.clear();
        assert!(q.take(&mut out, true).is_none(), "nothing left");
    }

    /// Whether the writer would be woken now (a permit is waiting for it).
    fn woken(q: &OutQueue) -> bool {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_millis(20), q.wait_for_frames())
                .await
                .is_ok()
        })
    }

    #[test]
    fn a_burst_of_data_frames_wakes_the_writer_once_at_its_flush() {
        let q = OutQueue::new(100);
        let mut out = Vec::new();
        assert!(
            q.take(&mut out, true).is_none(),
            "nothing yet: the writer waits for frames"
        );
        assert!(q.push_data(&["a"]) && q.push_data(&["b"]) && q.push_data(&["c"]));
        assert!(!woken(&q), "queued data alone does not wake the writer");
        q.flush();
        assert!(woken(&q), "the flush does");
        q.flush();
        assert!(!woken(&q), "once");
        let batch = q.take(&mut out, true).expect("the burst is due");
        assert_eq!(batch.frames, 3, "and leaves in one write");
        out.clear();
        q.flush();
        assert!(q.take(&mut out, true).is_none());
        assert!(!woken(&q), "a flush with nothing queued wakes nobody");
    }

    #[test]
    fn a_client_that_does_not_read_is_refused_data_not_replies() {
        let q = OutQueue::new(3);
        for _ in 0..3 {
            assert!(q.push_data(&["d"]));
        }
        assert!(!q.push_data(&["d"]), "the fourth data frame is refused");
        assert!(q.push_reply("r"), "replies are never refused");
        let mut out = Vec::new();
        q.take(&mut out, true).expect("due");
        assert!(q.push_data(&["d"]), "room again once written");
    }

    #[test]
    fn close_sends_the_last_words_then_a_close_frame() {
        let q = OutQueue::new(10);
        assert!(q.push_data(&["d"]));
        q.close(Some("bye"));
        assert!(q.is_closing());
        assert!(q.push_data(&["late"]), "frames after closing are dropped quietly");
        assert!(!q.push_reply("late"));
        let mut out = Vec::new();
        let batch = q.take(&mut out, false).expect("closing is always due");
        assert!(batch.last);
        assert_eq!(
            frames(&out),
            vec![
                (TEXT, "d".to_owned()),
                (TEXT, "bye".to_owned()),
                (CLOSE, String::new())
            ]
        );
    }

    #[test]
    fn data_is_bounded_in_bytes_too_and_replies_are_not() {
        let q = OutQueue::new(1_000_000);
        let big = "x".repeat(1 << 20);
        let mut accepted = 0;
        while q.push_data(&[&big]) {
            accepted += 1;
            assert!(accepted <= 16, "never more than the byte limit");
        }
        assert_eq!(accepted, DATA_LIMIT_BYTES / (1 << 20));
        assert!(q.push_reply("a warning still goes out"));
        let mut out = Vec::new();
        q.take(&mut out, true).expect("a batch");
        assert!(q.push_data(&[&big]), "room again once written");
    }
}
