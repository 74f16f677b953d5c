//! Load on `epocd serve --virtual 4`: 1, 16 and 64 clients, each with an activated session
//! on every headset subscribed to eeg+mot+dev+pow. Reports eeg latency from the sample's
//! timestamp to client receipt (p50/p99), and the daemon's CPU and RSS from /proc.
//! Run: `cargo bench -p epocd --bench serve_load` (about a minute).
#![allow(missing_docs)]

#[path = "support/mod.rs"]
mod support;

use support::proc_cpu_secs;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn proc_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn client(
    url: String,
    tls: Option<tokio_tungstenite::Connector>,
    n: usize,
    lat: Arc<Mutex<Vec<f64>>>,
    measure_from: f64,
    until: f64,
) {
    let (mut ws, _) = match tls {
        Some(connector) => {
            tokio_tungstenite::connect_async_tls_with_config(url.as_str(), None, false, Some(connector))
                .await
                .expect("connect over TLS")
        }
        None => connect_async(url.as_str()).await.expect("connect"),
    };
    let mut id = 0;
    let mut call = async |ws: &mut _, method: &str, params: Value| -> Value {
        id += 1;
        let ws: &mut tokio_tungstenite::WebSocketStream<_> = ws;
        ws.send(Message::Text(
            json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
                .to_string()
                .into(),
        ))
        .await
        .expect("send");
        loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                let v: Value = serde_json::from_str(t.as_str()).expect("json");
                if v.get("id") == Some(&json!(id)) {
                    return v;
                }
            }
        }
    };
    let cid = format!("bench.client.{n}");
    call(
        &mut ws,
        "requestAccess",
        json!({"clientId": cid, "clientSecret": "s"}),
    )
    .await;
    let token = call(
        &mut ws,
        "authorize",
        json!({"clientId": cid, "clientSecret": "s"}),
    )
    .await["result"]["cortexToken"]
        .clone();
    let headsets = call(&mut ws, "queryHeadsets", json!({})).await["result"].clone();
    for h in headsets.as_array().into_iter().flatten() {
        let s = call(
            &mut ws,
            "createSession",
            json!({"cortexToken": token, "headset": h["id"], "status": "active"}),
        )
        .await;
        call(
            &mut ws,
            "subscribe",
            json!({"cortexToken": token, "session": s["result"]["id"], "streams": ["eeg","mot","dev","pow"]}),
        )
        .await;
    }
    let mut local = Vec::new();
    while now() < until {
        let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(Duration::from_secs(1), ws.next()).await
        else {
            continue;
        };
        let received = now();
        if received < measure_from || !t.as_str().starts_with("{\"eeg\"") {
            continue;
        }
        if let Ok(v) = serde_json::from_str::<Value>(t.as_str())
            && let Some(t0) = v["time"].as_f64()
        {
            local.push(received - t0);
        }
    }
    lat.lock().map(|mut l| l.extend(local)).ok();
}

/// A client TLS setup that trusts the CA the daemon generated in `dir`.
fn trust_generated_ca(dir: &std::path::Path) -> tokio_tungstenite::Connector {
    use rustls::pki_types::pem::PemObject;
    let ca = std::fs::read(dir.join("tls/epocd-ca.pem")).expect("the daemon's CA");
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.expect("CA certificate")).expect("usable CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_tungstenite::Connector::Rustls(Arc::new(config))
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    // `-- --tls` serves wss:// as the daemon does by default (the figures use plain ws://).
    let tls = std::env::args().any(|a| a == "--tls");
    let dir = std::env::temp_dir().join(format!("epocd-bench-{}", std::process::id()));
    let mut args: Vec<&std::ffi::OsStr> = vec!["--virtual".as_ref(), "4".as_ref()];
    if !tls {
        args.push("--no-tls".as_ref());
    }
    let (mut child, mut url) = support::start_daemon(&args, &dir);
    let pid = child.id();
    let connector = tls.then(|| trust_generated_ca(&dir));
    if tls {
        // The certificate names localhost, not the address.
        url = url.replace("127.0.0.1", "localhost");
    }
    std::thread::sleep(Duration::from_secs(2)); // headsets connect
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    println!("daemon pid {pid}");
    println!(
        "epocd serve --virtual 4 ({}): eeg+mot+dev+pow per headset per client (real rate: 256 Hz EEG, 64 Hz motion)",
        if tls { "wss" } else { "ws" }
    );
    // `-- --clients N --secs S` measures one size for longer (for profiling the daemon).
    let arg = |name: &str| {
        let args: Vec<String> = std::env::args().collect();
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let sizes: Vec<usize> = match arg("--clients") {
        Some(n) => vec![n],
        None if quick => vec![1],
        None => vec![1, 16, 64],
    };
    for clients in sizes {
        let warm = if quick { 1.0 } else { 3.0 };
        let span = match arg("--secs") {
            Some(s) => s as f64,
            None if quick => 1.0,
            None => 10.0,
        };
        let start = now();
        let lat = Arc::new(Mutex::new(Vec::new()));
        let cpu0 = std::cell::Cell::new(0.0);
        rt.block_on(async {
            let tasks: Vec<_> = (0..clients)
                .map(|n| {
                    tokio::spawn(client(
                        url.clone(),
                        connector.clone(),
                        n,
                        lat.clone(),
                        start + warm,
                        start + warm + span,
                    ))
                })
                .collect();
            tokio::time::sleep(Duration::from_secs_f64(warm)).await;
            cpu0.set(proc_cpu_secs(pid));
            for t in tasks {
                let _ = t.await;
            }
        });
        let cpu = (proc_cpu_secs(pid) - cpu0.get()) / span * 100.0;
        let mut l = lat.lock().map(|l| l.clone()).unwrap_or_default();
        l.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN)
                * 1e3
        };
        println!(
            "  {clients:>2} client(s): {} eeg frames, latency p50 {:.3} ms, p99 {:.3} ms; daemon CPU {cpu:.1} % of one core, RSS {:.1} MB",
            l.len(),
            pct(0.5),
            pct(0.99),
            proc_rss_mb(pid)
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}
