//! One client connection: the WebSocket handshake with the Origin check, a reader that
//! answers requests, and a writer task that writes the connection's [`OutQueue`] to the
//! socket.
//!
//! tungstenite parses incoming frames, but it never writes to the socket itself: what it
//! writes (the handshake response, pongs, its close reply) goes into the same queue as
//! replies and data frames, so one ordered buffer is the only way out, and data frames are
//! framed by the queue directly without a `Message` or a copy per frame.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use cortex_service::{ClientId, Cortex};
use cortex_stream::Outbox;
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::batching::Load;
use crate::dispatch::{Answer, dispatch};
use crate::envelope;
use crate::outqueue::OutQueue;
use crate::server::{ServerOptions, origin_allowed};
use cortex_api::codes::error as codes;

/// Largest request frame accepted (Cortex requests are a few hundred bytes).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// The WebSocket read buffer of a connection (it grows for a larger frame).
const READ_BUFFER_BYTES: usize = 4096;

/// Reply bytes queued before the reader stops reading requests until the client reads.
const REPLY_BACKLOG_BYTES: usize = 4 << 20;

/// How long the rest of a bad message is read away before a connection closes.
const LINGER: Duration = Duration::from_secs(2);

/// How long a closing connection may take to write what it has queued.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The session layer's view of a connection.
struct WsOutbox(Arc<OutQueue>);

impl Outbox for WsOutbox {
    fn push_parts(&self, parts: &[&str]) -> bool {
        let queued = self.0.push_data(parts);
        self.0.flush();
        queued
    }

    fn push_parts_quietly(&self, parts: &[&str]) -> bool {
        self.0.push_data(parts)
    }

    fn flush(&self) {
        self.0.flush();
    }

    fn push_warning(&self, frame: String) {
        self.0.push_reply(&frame);
    }

    fn close(&self, last: String) {
        self.0.close(Some(&last));
    }
}

/// The stream tungstenite works on: reads come from the socket, writes go to the queue.
struct Duplex<R> {
    read: R,
    /// Bytes read ahead (the HTTP request head), handed out before the socket's.
    ahead: Vec<u8>,
    out: Arc<OutQueue>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Duplex<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.ahead.is_empty() {
            let n = self.ahead.len().min(buf.remaining());
            buf.put_slice(&self.ahead[..n]);
            self.ahead.drain(..n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

/// The longest HTTP request head accepted (a WebSocket upgrade is a few hundred bytes).
const MAX_REQUEST_HEAD: usize = 8192;

/// Read the HTTP request head (up to the blank line). `None` if the peer closed or sent more
/// than [`MAX_REQUEST_HEAD`] bytes without one.
async fn read_request_head<R: AsyncRead + Unpin>(read: &mut R) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST_HEAD {
            return None;
        }
        let n = read.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Some(head)
}

/// Whether a request head asks for a WebSocket upgrade.
fn is_upgrade(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("upgrade") && v.trim().eq_ignore_ascii_case("websocket")
        })
    })
}

/// The answer to a plain HTTP request: one of the headset page's files, or 426 (the Cortex
/// API speaks WebSocket only).
fn plain_http(head: &[u8], options: &ServerOptions, peer: SocketAddr) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    if options.serve_page
        && let Some(request) = headset_page::parse_head(&text)
        && let Some(answer) = headset_page::answer(&request, options.tls.is_some())
    {
        tracing::debug!(
            "{peer}: {} {} → {}",
            request.method,
            request.target,
            answer.status
        );
        return answer.to_bytes();
    }
    tracing::debug!("plain HTTP request from {peer}: answered 426");
    upgrade_required(options.serve_page)
}

/// The Cortex API speaks WebSocket only.
fn upgrade_required(page: bool) -> Vec<u8> {
    let body = if page {
        "epocd serves the EMOTIV Cortex API over WebSocket here: connect with a Cortex client (wss://). \
         The live headset page is at /.\n"
    } else {
        "epocd serves the EMOTIV Cortex API over WebSocket here: connect with a Cortex client (wss://).\n"
    };
    format!(
        "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: close\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl<R: Unpin> AsyncWrite for Duplex<R> {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(if self.out.push_raw(buf) {
            Ok(buf.len())
        } else {
            Err(io::ErrorKind::BrokenPipe.into())
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.out.finish();
        Poll::Ready(Ok(()))
    }
}

/// Write the queue to the socket until the connection closes. Frames go out as soon as they
/// are queued, or, while the server batches, once per shared tick (replies at once always).
async fn write_out<W: AsyncWrite + Unpin>(mut socket: W, out: Arc<OutQueue>, load: Arc<Load>) {
    const KEEP_CAPACITY: usize = 1 << 20;
    let mut bytes = Vec::new();
    let mut tick_due = false;
    loop {
        let batching = load.batching();
        let Some(batch) = out.take(&mut bytes, !batching || tick_due) else {
            tick_due = false;
            if batching {
                let tick = load.next_tick();
                tokio::select! {
                    biased;
                    () = out.wait_for_frames() => {}
                    () = tokio::time::sleep_until(tick) => tick_due = true,
                }
            } else {
                out.wait_for_frames().await;
            }
            continue;
        };
        tick_due = false;
        let written = socket.write_all(&bytes).await.is_ok() && socket.flush().await.is_ok();
        load.count(batch.frames);
        bytes.clear();
        if bytes.capacity() > KEEP_CAPACITY {
            bytes = Vec::new();
        }
        out.wrote();
        if !written {
            out.finish();
            return;
        }
        if batch.last {
            let _ = socket.shutdown().await;
            return;
        }
    }
}

/// The close code and reason for a client that broke the protocol (`None`: the connection
/// itself failed, nothing to say).
fn close_code_of(e: &tokio_tungstenite::tungstenite::Error) -> Option<(u16, &'static str)> {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Capacity(_) => Some((1009, "message too big: requests are at most 1 MiB")),
        Error::Utf8(_) => Some((1007, "text frames must be UTF-8")),
        Error::Protocol(_) => Some((1002, "WebSocket protocol error")),
        _ => None,
    }
}

/// Let the writer send what is queued, but not forever (a client that stopped reading).
async fn finish_writer(out: &OutQueue, mut writer: JoinHandle<()>) {
    out.finish();
    if tokio::time::timeout(CLOSE_GRACE, &mut writer).await.is_err() {
        writer.abort();
    }
}

/// What to send for one text request.
fn handle_text(cortex: &Arc<Cortex>, client: ClientId, text: &str) -> Answer {
    match envelope::parse(text) {
        Ok(req) => dispatch(cortex, client, &req),
        Err(response) => Answer {
            frames: vec![response],
            then: None,
        },
    }
}

fn answer(frame: String) -> Answer {
    Answer {
        frames: vec![frame],
        then: None,
    }
}

/// Serve one accepted (and, with TLS, decrypted) connection until it closes.
pub(crate) async fn serve<S>(
    cortex: Arc<Cortex>,
    stream: S,
    options: &ServerOptions,
    peer: SocketAddr,
    load: Arc<Load>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let allowed = options.allowed_origins.clone();
    // The signature is tungstenite's callback type; its error is an HTTP response.
    #[allow(clippy::result_large_err)]
    let check_origin = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        match req.headers().get("origin").map(|o| o.to_str().unwrap_or("?")) {
            Some(origin) if !origin_allowed(origin, &allowed) => {
                tracing::warn!("refused a connection from origin {origin:?} (allow it with allowed_origins)");
                let body = format!(
                    "origin {origin} refused: epocd serves apps on this machine only (web pages from other sites \
                     must not drive it); allow it with --allow-origin"
                );
                let mut r = http::Response::new(Some(body));
                *r.status_mut() = http::StatusCode::FORBIDDEN;
                Err(r)
            }
            _ => Ok(resp),
        }
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        // Requests are a few hundred bytes: a small read buffer keeps idle connections cheap.
        .read_buffer_size(READ_BUFFER_BYTES);
    let _counted = load.connected();
    let (read, write) = tokio::io::split(stream);
    let out = Arc::new(OutQueue::new(options.queue_frames.max(16)));
    let writer = tokio::spawn(write_out(write, Arc::clone(&out), load));
    let mut read = read;
    let head = match tokio::time::timeout(options.handshake_timeout, read_request_head(&mut read)).await {
        Ok(Some(head)) => head,
        _ => {
            finish_writer(&out, writer).await;
            return;
        }
    };
    if !is_upgrade(&head) {
        out.reply_http_and_close(&plain_http(&head, options, peer));
        finish_writer(&out, writer).await;
        return;
    }
    let duplex = Duplex {
        read,
        ahead: head,
        out: Arc::clone(&out),
    };
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(duplex, check_origin, Some(config));
    let mut ws = match tokio::time::timeout(options.handshake_timeout, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            tracing::debug!("WebSocket handshake with {peer} failed: {e}");
            finish_writer(&out, writer).await;
            return;
        }
        Err(_) => {
            tracing::debug!("WebSocket handshake with {peer} timed out");
            finish_writer(&out, writer).await;
            return;
        }
    };
    let client = cortex.register_client(Arc::new(WsOutbox(Arc::clone(&out))));
    tracing::debug!("client {peer} connected");

    loop {
        // A connection with no session that says nothing for `idle_timeout` is closed: idle
        // connections must not hold descriptors and memory forever.
        let idle = tokio::time::sleep(options.idle_timeout);
        let msg = tokio::select! {
            msg = ws.next() => msg,
            () = out.closed() => break,
            () = idle, if !cortex.has_sessions(client) => {
                tracing::debug!("client {peer} idle without a session: closing");
                break;
            }
        };
        let answer = match msg {
            Some(Ok(Message::Text(text))) => {
                let cortex = Arc::clone(&cortex);
                let text = text.as_str().to_owned();
                // Methods may touch devices (controlDevice connect): keep them off the reactor.
                match tokio::task::spawn_blocking(move || handle_text(&cortex, client, &text)).await {
                    Ok(answer) => answer,
                    Err(_) => self::answer(envelope::error(
                        &envelope::Id::null(),
                        codes::INTERNAL_ERROR,
                        "internal error",
                    )),
                }
            }
            Some(Ok(Message::Binary(_))) => self::answer(envelope::error(
                &envelope::Id::null(),
                codes::INVALID_REQUEST,
                "invalid request: send JSON-RPC requests as text frames",
            )),
            // Answer a close with a close (echoing its code), and say why when the client broke
            // the protocol, rather than dropping the connection.
            Some(Ok(Message::Close(frame))) => {
                let code = frame.map_or(1000, |f| u16::from(f.code));
                out.close_with(None, Some((code, "")));
                break;
            }
            Some(Err(e)) => {
                out.close_with(None, close_code_of(&e));
                // The rest of a too-big or broken message may still be arriving: read it away
                // for a moment, or closing with unread input would reset the connection and
                // could destroy the close frame before the client reads it.
                let read = &mut ws.get_mut().read;
                let _ = tokio::time::timeout(LINGER, async {
                    let mut sink = [0u8; 8192];
                    while matches!(tokio::io::AsyncReadExt::read(read, &mut sink).await, Ok(n) if n > 0) {}
                })
                .await;
                break;
            }
            None => break,
            Some(Ok(_)) => continue, // ping/pong are answered by tungstenite
        };
        for f in &answer.frames {
            out.push_reply(f);
        }
        // Only now may the method's follow-up run: a subscription's first sample comes
        // after its reply.
        if let Some(then) = answer.then {
            then();
        }
        out.wait_below(REPLY_BACKLOG_BYTES).await;
    }
    // Closing the connection's sessions may stop records (a writer join, fsync, SQLite): not
    // on the reactor.
    let closing = Arc::clone(&cortex);
    let _ = tokio::task::spawn_blocking(move || closing.unregister_client(client)).await;
    tracing::debug!("client {peer} disconnected");
    finish_writer(&out, writer).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use cortex_stream::Pace;
    use tokio::io::AsyncReadExt;

    fn batching_load() -> Arc<Load> {
        let pace = Arc::new(Pace::new());
        pace.set_batching(true);
        Arc::new(Load::new(pace))
    }

    /// Read server frames until `n` have arrived: (opcode, payload).
    async fn read_frames<R: AsyncRead + Unpin>(r: &mut R, n: usize) -> Vec<(u8, String)> {
        let mut out = Vec::new();
        while out.len() < n {
            let mut head = [0u8; 2];
            r.read_exact(&mut head).await.expect("frame header");
            let len = match head[1] {
                126 => usize::from(r.read_u16().await.expect("length")),
                127 => usize::try_from(r.read_u64().await.expect("length")).expect("fits"),
                n => usize::from(n),
            };
            let mut payload = vec![0; len];
            r.read_exact(&mut payload).await.expect("payload");
            out.push((head[0], String::from_utf8(payload).expect("utf-8")));
        }
        out
    }

    #[tokio::test]
    async fn the_writer_keeps_order_across_data_and_replies_and_closes_after_the_last_frame() {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let out = Arc::new(OutQueue::new(100));
        let writer = tokio::spawn(write_out(server, Arc::clone(&out), batching_load()));
        assert!(out.push_data(&["d", "1"]));
        assert!(out.push_data(&["d2"]));
        assert!(out.push_reply("r1"));
        let got = tokio::time::timeout(Duration::from_secs(5), read_frames(&mut client, 3))
            .await
            .expect("a reply goes out without waiting, with the data queued before it");
        assert_eq!(
            got,
            vec![
                (0x81, "d1".to_owned()),
                (0x81, "d2".to_owned()),
                (0x81, "r1".to_owned())
            ]
        );
        assert!(out.push_data(&["d3"]));
        let got = tokio::time::timeout(Duration::from_secs(5), read_frames(&mut client, 1))
            .await
            .expect("batched data goes out on a tick");
        assert_eq!(got, vec![(0x81, "d3".to_owned())]);

        out.close(Some("bye"));
        let got = read_frames(&mut client, 2).await;
        assert_eq!(got, vec![(0x81, "bye".to_owned()), (0x88, String::new())]);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.expect("end of stream");
        assert!(rest.is_empty(), "nothing after the close frame");
        tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .expect("the writer ends")
            .expect("without panicking");
    }

    #[tokio::test]
    async fn a_peer_that_went_away_ends_the_writer_and_stops_the_reader() {
        let (client, server) = tokio::io::duplex(64);
        let out = Arc::new(OutQueue::new(100));
        let writer = tokio::spawn(write_out(server, Arc::clone(&out), batching_load()));
        drop(client);
        assert!(out.push_reply("nobody reads this"));
        tokio::time::timeout(Duration::from_secs(5), out.closed())
            .await
            .expect("the failed write closes the connection");
        assert!(out.push_data(&["late"]), "late frames are dropped quietly");
        tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .expect("the writer ends")
            .expect("without panicking");
    }

    #[test]
    fn warnings_have_their_own_lane_and_reach_a_client_whose_data_lane_is_full() {
        let out = Arc::new(OutQueue::new(2));
        let outbox = WsOutbox(Arc::clone(&out));
        assert!(outbox.push_parts(&["d1"]) && outbox.push_parts(&["d2"]));
        assert!(!outbox.push_parts(&["d3"]), "the data lane is full");
        outbox.push_warning(r#"{"warning":{"code":30}}"#.to_owned());
        let mut bytes = Vec::new();
        out.take(&mut bytes, true).expect("a batch");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains(r#"{"warning":{"code":30}}"#),
            "warning 30 was not lost: {text}"
        );
    }
}
