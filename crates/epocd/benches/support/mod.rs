//! What the daemon benches share: starting `epocd serve`, reading its CPU from /proc, and a
//! plain websocket Cortex client.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// User + system CPU seconds of process `pid`.
pub fn proc_cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0 // USER_HZ
}

/// `epocd serve <args>` on a free loopback port with its data in `dir` (`EPOCD_BIN` runs
/// another build, to compare two versions on one machine). Returns the child and the URL it
/// printed.
pub fn start_daemon(args: &[&std::ffi::OsStr], dir: &Path) -> (Child, String) {
    let daemon = std::env::var_os("EPOCD_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_epocd").into());
    let mut child = Command::new(daemon)
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0", "--no-hotplug", "--ble-scan", "0"])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start epocd serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("URL line");
    let url = line.trim().trim_start_matches("epocd: listening on ").to_owned();
    (child, url)
}

/// The websocket of a bench client.
pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A Cortex client over plain ws:// that counts the data frames it reads.
#[allow(dead_code)] // each bench uses part of it
pub struct Client {
    pub ws: Ws,
    id: u64,
    pub frames: u64,
    /// Milliseconds from each eeg sample's timestamp to its frame's receipt, while draining.
    pub eeg_latency_ms: Vec<f64>,
}

#[allow(dead_code)]
impl Client {
    /// Connect to `url` (ws://).
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
        Client {
            ws,
            id: 0,
            frames: 0,
            eeg_latency_ms: Vec::new(),
        }
    }

    /// Call `method`; data frames read while waiting are counted.
    pub async fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        self.id += 1;
        let id = self.id;
        self.ws
            .send(Message::Text(
                serde_json::json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
                    .to_string()
                    .into(),
            ))
            .await
            .expect("send");
        loop {
            if let Some(Ok(Message::Text(t))) = self.ws.next().await {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).expect("json");
                if v.get("id") == Some(&serde_json::json!(id)) {
                    return v;
                }
                self.frames += 1;
            }
        }
    }

    /// Read frames for `span`, noting the latency of eeg frames.
    pub async fn drain(&mut self, span: std::time::Duration) {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let end = std::time::Instant::now() + span;
        while std::time::Instant::now() < end {
            if let Ok(Some(Ok(m))) =
                tokio::time::timeout(std::time::Duration::from_millis(200), self.ws.next()).await
            {
                self.frames += 1;
                if let Message::Text(t) = m
                    && t.as_str().starts_with("{\"eeg\"")
                    && let Ok(v) = serde_json::from_str::<serde_json::Value>(t.as_str())
                    && let Some(time) = v["time"].as_f64()
                {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0.0, |d| d.as_secs_f64());
                    self.eeg_latency_ms.push((now - time) * 1e3);
                }
            }
        }
    }
}
