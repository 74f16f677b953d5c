//! `epocd serve` and `epocd cert`: wiring of the Cortex service, the WebSocket server, TLS
//! files and signals.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cortex_rpc::tls::{self, TlsPaths};
use cortex_rpc::{Server, ServerOptions};
use cortex_service::{Cortex, HeadsetSpec, Script, ServiceConfig};
use epoc_driver::virtual_script::VirtualScript;
use epoc_protocol::serial_in_file_name;

use crate::cli::{CertArgs, ServeArgs};
use crate::config::{Config, ReplayEntry};
use crate::error::CliError;

/// The data dir: `--data-dir`, else the config's `data_dir`, else `$XDG_DATA_HOME/epocd`
/// (~/.local/share/epocd).
pub fn data_dir(flag: Option<&PathBuf>, config: &Config) -> Result<PathBuf, CliError> {
    if let Some(d) = flag.or(config.data_dir.as_ref()) {
        return Ok(d.clone());
    }
    directories::ProjectDirs::from("org", "epocd", "epocd")
        .map(|p| p.data_dir().to_path_buf())
        .ok_or_else(|| CliError::Usage("cannot find a home directory: pass --data-dir".into()))
}

/// Tell systemd (Type=notify) how the service is doing; a no-op outside systemd.
fn notify(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, state) {
        tracing::warn!("cannot notify systemd: {e}");
    }
}

/// What to serve: the flags over the config file.
struct Settings {
    listen: std::net::SocketAddr,
    tls: bool,
    virtual_headsets: u32,
    virtual_script: Option<PathBuf>,
    replay: Vec<ReplayEntry>,
    allowed_origins: Vec<String>,
    page: bool,
    hotplug: bool,
    ble_scan: f64,
    max_connections: usize,
    idle_timeout: Duration,
    stream_interval: Duration,
    lsl: bool,
    lsl_marker_streams: Vec<String>,
    lsl_band_power: bool,
}

fn settings(args: &ServeArgs, config: &Config) -> Result<Settings, CliError> {
    let replay = if args.replay.is_empty() {
        if !args.serial.is_empty() {
            return Err(CliError::Usage("--serial goes with --replay".into()));
        }
        config.replay.clone()
    } else {
        if args.serial.len() > args.replay.len() {
            return Err(CliError::Usage("more --serial than --replay".into()));
        }
        let mut out = Vec::new();
        for (i, file) in args.replay.iter().enumerate() {
            let from_name = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(serial_in_file_name);
            let serial = args
                .serial
                .get(i)
                .map(String::as_str)
                .or(from_name)
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "--replay {} needs a --serial (the dongle that recorded it)",
                        file.display()
                    ))
                })?;
            out.push(ReplayEntry {
                file: file.clone(),
                serial: serial.to_owned(),
            });
        }
        out
    };
    Ok(Settings {
        listen: args.listen.unwrap_or(config.listen),
        tls: config.tls && !args.no_tls,
        virtual_headsets: args.virtual_headsets.unwrap_or(config.virtual_headsets),
        virtual_script: args
            .virtual_script
            .clone()
            .or_else(|| config.virtual_script.clone()),
        replay,
        allowed_origins: if args.allow_origin.is_empty() {
            config.allowed_origins.clone()
        } else {
            args.allow_origin.clone()
        },
        page: config.page && !args.no_page,
        hotplug: config.hotplug && !args.no_hotplug,
        ble_scan: args.ble_scan.unwrap_or(config.ble_scan_seconds).clamp(0.0, 60.0),
        max_connections: args
            .max_connections
            .map_or(config.max_connections, |n| n as usize),
        idle_timeout: Duration::from_secs(args.idle_timeout.unwrap_or(config.idle_timeout_seconds)),
        stream_interval: Duration::from_millis(args.stream_interval.unwrap_or(config.stream_interval_ms)),
        lsl: args.lsl || config.lsl.enabled,
        lsl_band_power: args.lsl_band_power || config.lsl.band_power,
        lsl_marker_streams: if args.lsl_marker_stream.is_empty() {
            config.lsl.marker_streams.clone()
        } else {
            args.lsl_marker_stream.clone()
        },
    })
}

/// Run `epocd serve` until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs, config: &Config, config_file: Option<&std::path::Path>) -> Result<(), CliError> {
    let set = settings(args, config)?;
    let dir = data_dir(args.data_dir.as_ref(), config)?;
    cortex_service::private_dir(&dir).map_err(CliError::io(format!("cannot create {}", dir.display())))?;
    tracing::info!(
        "epocd {} starting: data dir {}, config {}",
        env!("CARGO_PKG_VERSION"),
        dir.display(),
        config_file.map_or_else(|| "none (defaults)".to_owned(), |p| p.display().to_string())
    );
    let tls = if set.tls {
        let paths = TlsPaths::in_dir(&dir);
        if tls::ensure(&paths)? {
            tracing::info!(
                "created a local CA: {} (see `epocd cert`)",
                paths.ca_cert.display()
            );
        }
        Some(tls::server_config(&paths)?)
    } else {
        tracing::warn!("serving plain ws:// (tls off): for development only");
        None
    };
    let cortex = Cortex::start(ServiceConfig {
        data_dir: Some(dir),
        hotplug: set.hotplug,
        ble_scan: Duration::from_secs_f64(set.ble_scan),
        lsl: set.lsl,
        lsl_marker_streams: set.lsl_marker_streams.clone(),
        lsl_band_power: set.lsl_band_power,
        sync: sync_settings(config)?,
        stream_interval: set.stream_interval,
    })?;
    let script = match &set.virtual_script {
        Some(path) => Some(Script(Arc::new(
            VirtualScript::load(path).map_err(|e| CliError::Usage(e.to_string()))?,
        ))),
        None => None,
    };
    if script.is_some() && set.virtual_headsets == 0 {
        return Err(CliError::Usage(
            "a virtual script needs virtual headsets to act it out: add --virtual N (or virtual_headsets)"
                .into(),
        ));
    }
    for n in 1..=set.virtual_headsets {
        let spec = match &script {
            Some(script) => HeadsetSpec::Scripted {
                n,
                script: script.clone(),
            },
            None => HeadsetSpec::Virtual(n),
        };
        let id = cortex.add_headset(spec)?;
        tracing::info!("virtual headset {id}");
    }
    for r in &set.replay {
        let id = cortex.add_headset(HeadsetSpec::Replay {
            path: r.file.clone(),
            serial: r.serial.clone(),
        })?;
        tracing::info!("replay headset {id} ({})", r.file.display());
    }
    // One worker: the runtime only moves bytes (requests run on the blocking pool, frames are
    // made by the fan-out threads), and a second worker woke on every frame to look for work
    // to steal, which cost more than the writes (BENCHMARKS.md, issue 19).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the runtime"))?;
    let result = runtime.block_on(async {
        let server = Server::bind(
            cortex.clone(),
            ServerOptions {
                allowed_origins: set.allowed_origins.clone(),
                max_connections: set.max_connections,
                idle_timeout: set.idle_timeout,
                serve_page: set.page,
                ..ServerOptions::new(set.listen, tls)
            },
        )
        .await?;
        let url = server.url()?;
        // Before anyone can know we are up (the URL line, readiness), so a SIGTERM at once
        // still closes records cleanly.
        let shutdown = shutdown_signal();
        // One line with the URL, once connections are accepted: scripts wait for it.
        // Written, not println!: a reader that took the first line and closed the pipe must
        // not bring the daemon down.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "epocd: listening on {url}");
        if set.page {
            let page = page_url(server.local_addr()?, set.tls);
            let _ = writeln!(out, "epocd: headset page at {page}");
            tracing::info!("headset page at {page} (epocd open)");
        }
        let _ = out.flush();
        tracing::info!("listening on {url}");
        notify(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(&format!("listening on {url}")),
        ]);
        server.run(shutdown).await;
        Ok::<(), CliError>(())
    });
    notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!(
        "shutting down: closing {} session(s) and their records",
        cortex.open_sessions()
    );
    cortex.shutdown();
    tracing::info!("stopped");
    result
}

/// The future that resolves on SIGTERM or SIGINT. Its handlers are installed when this is
/// called, not when the future is first polled: readiness is announced after this, and a
/// SIGTERM right after readiness must already find them (else the default action kills the
/// process before it can close its records).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(int) => {}
            () = wait(term) => {}
        }
    }
}

/// The `[sync]` table made ready: the bucket parsed and the credentials found (never logged).
pub(crate) fn sync_settings(config: &Config) -> Result<Option<cortex_service::SyncSettings>, CliError> {
    let Some(s) = &config.sync else {
        return Ok(None);
    };
    let usage = |e: cortex_service::SyncError| CliError::Usage(format!("[sync]: {e}"));
    let (bucket, prefix) = cortex_service::parse_bucket_url(&s.url).map_err(usage)?;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let credentials = cortex_service::find_credentials(
        s.credentials_file.as_deref(),
        &|k| std::env::var(k).ok(),
        home.as_deref(),
    )
    .map_err(usage)?;
    tracing::info!(
        "record sync to {} ({}), credentials from {}",
        s.url,
        s.endpoint.as_deref().unwrap_or("AWS"),
        credentials.source
    );
    Ok(Some(cortex_service::SyncSettings {
        target: cortex_service::SyncTarget {
            bucket,
            prefix,
            endpoint: s.endpoint.clone(),
            region: s.region.clone(),
            credentials,
            ca_file: s.ca_file.clone(),
            request_timeout: Duration::from_secs(60),
        },
        delete_remote: s.delete_remote,
        part_size: s.part_size_mib << 20,
    }))
}

/// The headset page's address for a listening address: `localhost`, which the certificate
/// names, for the loopback addresses.
pub fn page_url(listen: std::net::SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let host = if listen.ip().is_loopback() || listen.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        listen.ip().to_string()
    };
    format!("{scheme}://{host}:{}/", listen.port())
}

/// Run `epocd open`: start the desktop's browser on the page, or say how to reach it.
pub fn open(args: &crate::cli::OpenArgs, config: &Config) -> Result<(), CliError> {
    let url = page_url(config.listen, config.tls);
    println!("{url}");
    if !config.page {
        eprintln!(
            "epocd: the page is off in the configuration (page = false): set page = true and restart epocd"
        );
        return Ok(());
    }
    if args.print {
        return Ok(());
    }
    let trust = "If the browser warns about the certificate, trust epocd's local CA once: `epocd cert` names it and says how.";
    match std::process::Command::new("xdg-open")
        .arg(&url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
    {
        Ok(s) if s.success() => {
            eprintln!("epocd: opened {url} in the browser. {trust}");
            Ok(())
        }
        Ok(_) | Err(_) => {
            eprintln!(
                "epocd: cannot start a browser here (xdg-open failed or is missing): open {url} in a browser on \
                 this machine. {trust}"
            );
            Ok(())
        }
    }
}

/// Run `epocd cert`.
pub fn cert(args: &CertArgs, config: &Config) -> Result<(), CliError> {
    let dir = data_dir(args.data_dir.as_ref(), config)?;
    let paths = TlsPaths::in_dir(&dir);
    if tls::ensure(&paths)? {
        eprintln!("epocd: created a local CA");
    }
    let ca = paths.ca_cert.display();
    println!("{ca}");
    eprintln!(
        "Trust it so Cortex clients accept wss://localhost:6868:\n\
         - Debian/Ubuntu system store: sudo cp {ca} /usr/local/share/ca-certificates/epocd-ca.crt && sudo update-ca-certificates\n\
         - the official Cortex Python example: copy {ca} over cortex-example/python/certificates/rootCA.pem\n\
         - a browser or .NET app: import {ca} as a trusted root certificate authority\n\
         It vouches for localhost, 127.0.0.1 and ::1 only (name constraints), for {} days from its making, and \
         its signing key was discarded once it had signed epocd's own certificate.",
        tls::VALID_DAYS
    );
    Ok(())
}
