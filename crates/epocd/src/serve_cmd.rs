//! `epocd serve` and `epocd cert`: wiring of the Cortex service, the WebSocket server, TLS
//! files and signals.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use cortex_rpc::tls::{self, TlsPaths};
use cortex_rpc::{Server, ServerOptions};
use cortex_session::{Cortex, HeadsetSpec, ServiceConfig};
use epoc_protocol::serial_in_file_name;

use crate::cli::{CertArgs, ServeArgs};
use crate::error::CliError;

/// The data dir: `--data-dir`, else `$XDG_DATA_HOME/epocd` (~/.local/share/epocd).
pub fn data_dir(flag: Option<&PathBuf>) -> Result<PathBuf, CliError> {
    if let Some(d) = flag {
        return Ok(d.clone());
    }
    directories::ProjectDirs::from("org", "epocd", "epocd")
        .map(|p| p.data_dir().to_path_buf())
        .ok_or_else(|| CliError::Usage("cannot find a home directory: pass --data-dir".into()))
}

/// Run `epocd serve` until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs) -> Result<(), CliError> {
    let dir = data_dir(args.data_dir.as_ref())?;
    std::fs::create_dir_all(&dir).map_err(CliError::io(format!("cannot create {}", dir.display())))?;
    let tls = if args.no_tls {
        None
    } else {
        let paths = TlsPaths::in_dir(&dir);
        if tls::ensure(&paths)? {
            eprintln!(
                "epocd: created a local CA: {} (see `epocd cert`)",
                paths.ca_cert.display()
            );
        }
        Some(tls::server_config(&paths)?)
    };
    if args.serial.len() > args.replay.len() {
        return Err(CliError::Usage("more --serial than --replay".into()));
    }
    let cortex = Cortex::start(ServiceConfig {
        data_dir: Some(dir),
        hotplug: !args.no_hotplug,
        ble_scan: Duration::from_secs_f64(args.ble_scan.clamp(0.0, 60.0)),
    })?;
    for n in 1..=args.virtual_headsets {
        let id = cortex.add_headset(HeadsetSpec::Virtual(n))?;
        eprintln!("epocd: virtual headset {id}");
    }
    for (i, path) in args.replay.iter().enumerate() {
        let from_name = path
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
                    path.display()
                ))
            })?;
        let id = cortex.add_headset(HeadsetSpec::Replay {
            path: path.clone(),
            serial: serial.to_owned(),
        })?;
        eprintln!("epocd: replay headset {id} ({})", path.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the runtime"))?;
    let result = runtime.block_on(async {
        let server = Server::bind(
            cortex.clone(),
            ServerOptions {
                listen: args.listen,
                tls,
                allowed_origins: args.allow_origin.clone(),
                queue_frames: 4096,
            },
        )
        .await?;
        // One line with the URL, once connections are accepted: scripts wait for it.
        println!("epocd: listening on {}", server.url()?);
        let _ = std::io::stdout().flush();
        server.run(shutdown_signal()).await;
        Ok::<(), CliError>(())
    });
    eprintln!(
        "epocd: shutting down: closing {} session(s)",
        cortex.open_sessions()
    );
    cortex.shutdown();
    result
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Run `epocd cert`.
pub fn cert(args: &CertArgs) -> Result<(), CliError> {
    let dir = data_dir(args.data_dir.as_ref())?;
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
         - a browser or .NET app: import {ca} as a trusted root certificate authority"
    );
    Ok(())
}
