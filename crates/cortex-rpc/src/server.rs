//! The WebSocket server: TLS (or plain ws for development), the Origin check, one reader and
//! one writer task per connection, and a bounded outgoing queue per client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cortex_service::Cortex;
use tokio::net::{TcpListener, TcpStream};

use crate::RpcError;
use crate::batching::{Load, MEASURE_EVERY};
use crate::connection::serve;

pub use crate::connection::MAX_MESSAGE_BYTES;

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
    /// Connections served at once; more are closed at once (each costs a file descriptor).
    pub max_connections: usize,
    /// Time a new connection has to finish TCP, TLS and the WebSocket upgrade.
    pub handshake_timeout: Duration,
    /// Time a connection without a session may stay silent before it is closed.
    pub idle_timeout: Duration,
    /// Whether a plain HTTP GET of `/` gets the live headset page (`headset-page`).
    pub serve_page: bool,
}

impl ServerOptions {
    /// Defaults for everything but where to listen and TLS.
    pub fn new(listen: SocketAddr, tls: Option<Arc<rustls::ServerConfig>>) -> ServerOptions {
        ServerOptions {
            listen,
            tls,
            allowed_origins: Vec::new(),
            queue_frames: 4096,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(600),
            serve_page: true,
        }
    }
}

/// Connections served at once unless configured (systemd's default descriptor limit is 1024).
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// Whether an accept error means the process (or the system) has no descriptor left.
fn out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE (24), ENFILE (23), ENOBUFS (105), ENOMEM (12).
    matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12))
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
            load: Arc::new(Load::new(cortex.pace())),
            cortex,
            options,
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
        let slots = Arc::new(tokio::sync::Semaphore::new(self.options.max_connections.max(1)));
        // Conditions worth one log line each time they begin, not one per connection.
        let (mut starved, mut full) = (false, false);
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
                        Err(e) if out_of_descriptors(&e) => {
                            if !starved {
                                starved = true;
                                tracing::error!(
                                    "cannot accept connections: {e}; {} are open. Raise LimitNOFILE or lower \
                                     max_connections; retrying every 100 ms",
                                    self.options.max_connections - slots.available_permits()
                                );
                            }
                            // The pending connection stays in the backlog: wait instead of spinning.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                        Err(e) => {
                            tracing::debug!("accepting a connection failed: {e}");
                            continue;
                        }
                    };
                    if starved {
                        starved = false;
                        tracing::info!("accepting connections again");
                    }
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        if !full {
                            full = true;
                            tracing::warn!(
                                "{} connections are open, the most allowed (max_connections): closing new ones",
                                self.options.max_connections
                            );
                        }
                        drop(tcp);
                        continue;
                    };
                    full = false;
                    let cortex = Arc::clone(&self.cortex);
                    let options = self.options.clone();
                    let acceptor = acceptor.clone();
                    let load = Arc::clone(&self.load);
                    tokio::spawn(async move {
                        let _slot = slot;
                        let _ = tcp.set_nodelay(true);
                        match acceptor {
                            Some(acc) => match tokio::time::timeout(options.handshake_timeout, acc.accept(tcp)).await {
                                Ok(Ok(tls)) => serve(cortex, tls, &options, peer, load).await,
                                // Typically a client that does not trust epocd's CA yet.
                                Ok(Err(e)) => tracing::info!(
                                    "TLS handshake with {peer} failed: {e} (does the client trust the CA of `epocd cert`?)"
                                ),
                                Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                            },
                            None => serve::<TcpStream>(cortex, tcp, &options, peer, load).await,
                        }
                    });
                }
            }
        }
    }
}

/// Measure the frames written per second and switch write batching on and off; with no
/// connection open, sleep until one opens (an idle daemon has no timer firing here).
async fn measure_load(load: Arc<Load>) {
    let mut last = (tokio::time::Instant::now(), load.total());
    loop {
        if !load.has_connections() {
            if load.measured(0.0) == Some(false) {
                tracing::info!("no connections: writing each frame at once again");
            }
            load.until_connected().await;
            last = (tokio::time::Instant::now(), load.total());
        }
        tokio::time::sleep(MEASURE_EVERY).await;
        let now = (tokio::time::Instant::now(), load.total());
        let secs = now.0.duration_since(last.0).as_secs_f64().max(1e-3);
        let rate = (now.1 - last.1) as f64 / secs;
        match load.measured(rate) {
            Some(true) => tracing::info!(
                "{rate:.0} frames/s to clients: writing in batches every {} ms",
                load.tick().as_millis()
            ),
            Some(false) => tracing::info!("{rate:.0} frames/s to clients: writing each frame at once again"),
            None => {}
        }
        last = now;
    }
}

/// Whether a browser `Origin` belongs to this machine or is explicitly allowed.
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim();
    if allowed.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    // An Origin is `scheme://host[:port]`: parsed as a URL, it may carry nothing else (no
    // user info such as `http://localhost:80@evil.example`, no path), and its host must be
    // this machine.
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let bare = url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && !origin.ends_with('/');
    let local = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() && ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    };
    matches!(url.scheme(), "http" | "https") && bare && local
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
            "http://localhost:80@evil.example",
            "http://localhost@evil.example",
            "http://evil.example#@localhost",
            "http://localhost/evil",
            "http://user:pass@localhost",
            "ftp://localhost",
            "http://localhost\nx",
        ] {
            assert!(!origin_allowed(bad, &none), "{bad}");
        }
        assert!(origin_allowed(
            "https://lab.example",
            &["https://lab.example".to_owned()]
        ));
    }
}
