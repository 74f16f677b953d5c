//! The WebSocket server: TLS (or plain ws for development), the Origin check, one reader and
//! one writer task per connection, and a bounded outgoing queue per client.

use std::net::SocketAddr;
use std::sync::Arc;

use cortex_session::{ClientId, Cortex, Outbox};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::batching::{Load, MEASURE_EVERY};
use crate::dispatch::dispatch;
use crate::{RpcError, codes, envelope};

/// Largest request frame accepted (Cortex requests are a few hundred bytes).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// How the server listens.
#[derive(Clone)]
pub struct ServerOptions {
    /// Address to bind (loopback by default).
    pub listen: SocketAddr,
    /// TLS configuration; `None` serves plain `ws://`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Web origins allowed besides this machine's own (`http(s)://localhost`, `127.0.0.1`).
    pub allowed_origins: Vec<String>,
    /// Frames queued per client before it counts as not reading (and is dropped).
    pub queue_frames: usize,
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    cortex: Arc<Cortex>,
    options: ServerOptions,
    load: Arc<Load>,
}

impl Server {
    /// Bind the listening socket.
    pub async fn bind(cortex: Arc<Cortex>, options: ServerOptions) -> Result<Server, RpcError> {
        let listener = TcpListener::bind(options.listen).await.map_err(|e| {
            RpcError::Io(std::io::Error::new(
                e.kind(),
                format!("cannot listen on {}: {e}", options.listen),
            ))
        })?;
        Ok(Server {
            listener,
            cortex,
            options,
            load: Arc::new(Load::new()),
        })
    }

    /// The address actually bound (port 0 resolves here).
    pub fn local_addr(&self) -> Result<SocketAddr, RpcError> {
        Ok(self.listener.local_addr()?)
    }

    /// The URL clients connect to.
    pub fn url(&self) -> Result<String, RpcError> {
        let scheme = if self.options.tls.is_some() { "wss" } else { "ws" };
        Ok(format!("{scheme}://{}", self.local_addr()?))
    }

    /// Accept connections until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let acceptor = self.options.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let measuring = tokio::spawn(measure_load(Arc::clone(&self.load)));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => {
                    measuring.abort();
                    return;
                }
                accepted = self.listener.accept() => {
                    let (tcp, peer) = match accepted {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::warn!("accepting a connection failed: {e}");
                            continue;
                        }
                    };
                    let cortex = Arc::clone(&self.cortex);
                    let options = self.options.clone();
                    let acceptor = acceptor.clone();
                    let load = Arc::clone(&self.load);
                    tokio::spawn(async move {
                        let _ = tcp.set_nodelay(true);
                        match acceptor {
                            Some(acc) => match acc.accept(tcp).await {
                                Ok(tls) => serve(cortex, tls, &options, peer, load).await,
                                // Typically a client that does not trust epocd's CA yet.
                                Err(e) => tracing::info!(
                                    "TLS handshake with {peer} failed: {e} (does the client trust the CA of `epocd cert`?)"
                                ),
                            },
                            None => serve::<TcpStream>(cortex, tcp, &options, peer, load).await,
                        }
                    });
                }
            }
        }
    }
}

/// Measure the frames written per second and switch write batching on and off.
async fn measure_load(load: Arc<Load>) {
    let mut last = (tokio::time::Instant::now(), load.total());
    loop {
        tokio::time::sleep(MEASURE_EVERY).await;
        let now = (tokio::time::Instant::now(), load.total());
        let secs = now.0.duration_since(last.0).as_secs_f64().max(1e-3);
        let rate = (now.1 - last.1) as f64 / secs;
        match load.measured(rate) {
            Some(true) => tracing::info!(
                "{rate:.0} frames/s to clients: writing in batches every {} ms",
                crate::batching::TICK.as_millis()
            ),
            Some(false) => tracing::info!("{rate:.0} frames/s to clients: writing each frame at once again"),
            None => {}
        }
        last = now;
    }
}

/// Whether a browser `Origin` belongs to this machine or is explicitly allowed.
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(&origin))
    {
        return true;
    }
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = if rest.starts_with('[') {
        rest.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        rest.split([':', '/']).next().unwrap_or_default().to_owned()
    };
    matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
}

/// A client's outgoing queue.
struct WsOutbox {
    frames: mpsc::Sender<String>,
    close: mpsc::UnboundedSender<String>,
}

impl Outbox for WsOutbox {
    fn push(&self, frame: String) -> bool {
        self.frames.try_send(frame).is_ok()
    }

    fn close(&self, last: String) {
        let _ = self.close.send(last);
    }
}

/// The frames to send for one text request.
fn handle_text(cortex: &Arc<Cortex>, client: ClientId, text: &str) -> Vec<String> {
    let req = match envelope::parse(text) {
        Ok(r) => r,
        Err(response) => return vec![response],
    };
    match dispatch(cortex, client, &req) {
        Ok(reply) => {
            let mut out = vec![envelope::result(&req.id, reply.result)];
            out.extend(reply.after);
            out
        }
        Err(RpcError::Call { code, message }) => vec![envelope::error(&req.id, code, &message)],
        Err(e) => vec![envelope::error(&req.id, codes::INTERNAL_ERROR, &e.to_string())],
    }
}

async fn serve<S>(cortex: Arc<Cortex>, stream: S, options: &ServerOptions, peer: SocketAddr, load: Arc<Load>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let allowed = options.allowed_origins.clone();
    // The signature is tungstenite's callback type; its error is an HTTP response.
    #[allow(clippy::result_large_err)]
    let check_origin = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        match req.headers().get("origin").map(|o| o.to_str().unwrap_or("?")) {
            Some(origin) if !origin_allowed(origin, &allowed) => {
                tracing::warn!("refused a connection from origin {origin} (allow it with allowed_origins)");
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
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let ws = match tokio_tungstenite::accept_hdr_async_with_config(stream, check_origin, Some(config)).await {
        Ok(ws) => ws,
        Err(e) => {
            tracing::debug!("WebSocket handshake with {peer} failed: {e}");
            return;
        }
    };
    let (mut sink, mut incoming) = ws.split();
    let (frames_tx, mut frames_rx) = mpsc::channel::<String>(options.queue_frames.max(16));
    let (close_tx, mut close_rx) = mpsc::unbounded_channel::<String>();
    let outbox = Arc::new(WsOutbox {
        frames: frames_tx.clone(),
        close: close_tx,
    });
    let client = cortex.register_client(outbox);
    tracing::debug!("client {peer} connected");

    // Replies to requests have their own queue so they are written at once even while data
    // frames wait for a batching tick.
    let (replies_tx, mut replies_rx) = mpsc::channel::<String>(64);
    let writer = tokio::spawn(async move {
        let mut pending: Option<String> = None;
        loop {
            let mut first = tokio::select! {
                biased;
                last = close_rx.recv() => {
                    if let Some(last) = last {
                        let _ = sink.send(Message::Text(last.into())).await;
                    }
                    break;
                }
                reply = replies_rx.recv() => match reply {
                    Some(r) => r,
                    None => break,
                },
                frame = frames_rx.recv() => {
                    let Some(f) = frame else { break };
                    if load.batching() {
                        // Hold data frames until the shared tick; a reply cuts the wait short.
                        let tick = load.next_tick(tokio::time::Instant::now());
                        tokio::select! {
                            biased;
                            reply = replies_rx.recv() => pending = reply,
                            () = tokio::time::sleep_until(tick) => {}
                        }
                    }
                    f
                }
            };
            // Queue whatever else is ready, then one flush: one write for a burst.
            let mut ok = true;
            let mut written = 0u64;
            loop {
                ok = ok && sink.feed(Message::Text(first.into())).await.is_ok();
                written += 1;
                if !ok || written >= 4096 {
                    break;
                }
                first = match pending.take().or_else(|| replies_rx.try_recv().ok()) {
                    Some(r) => r,
                    None => match frames_rx.try_recv() {
                        Ok(f) => f,
                        Err(_) => break,
                    },
                };
            }
            load.count(written);
            if !ok || sink.flush().await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });

    while let Some(msg) = incoming.next().await {
        let frames = match msg {
            Ok(Message::Text(text)) => {
                let cortex = Arc::clone(&cortex);
                let text = text.as_str().to_owned();
                // Methods may touch devices (controlDevice connect): keep them off the reactor.
                match tokio::task::spawn_blocking(move || handle_text(&cortex, client, &text)).await {
                    Ok(frames) => frames,
                    Err(_) => vec![envelope::error(
                        &serde_json::Value::Null,
                        codes::INTERNAL_ERROR,
                        "internal error",
                    )],
                }
            }
            Ok(Message::Binary(_)) => vec![envelope::error(
                &serde_json::Value::Null,
                codes::INVALID_REQUEST,
                "invalid request: send JSON-RPC requests as text frames",
            )],
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue, // ping/pong are answered by tungstenite
        };
        let mut gone = false;
        for f in frames {
            if replies_tx.send(f).await.is_err() {
                gone = true;
                break;
            }
        }
        if gone || writer.is_finished() {
            break;
        }
    }
    cortex.unregister_client(client);
    tracing::debug!("client {peer} disconnected");
    drop(frames_tx);
    let _ = writer.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let none: Vec<String> = Vec::new();
        for ok in [
            "http://localhost",
            "https://localhost:8080",
            "http://127.0.0.1:6868",
            "http://[::1]:3000",
            "HTTP://LOCALHOST",
        ] {
            assert!(origin_allowed(ok, &none), "{ok}");
        }
        for bad in [
            "https://evil.example",
            "http://localhost.evil.example",
            "null",
            "file://",
            "http://127.0.0.2",
        ] {
            assert!(!origin_allowed(bad, &none), "{bad}");
        }
        assert!(origin_allowed(
            "https://lab.example",
            &["https://lab.example".to_owned()]
        ));
    }
}
