//! A running `epocd serve` for tests (127.0.0.1, a free port, killed when dropped) and raw
//! WebSocket JSON helpers: send a request, wait for its response, collect warnings.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A daemon for one test, killed when dropped.
pub struct Daemon {
    /// The daemon process.
    pub child: Child,
    /// Its ws:// or wss:// URL.
    pub url: String,
}

impl Daemon {
    pub fn start(data_dir: &std::path::Path, extra: &[&str]) -> Daemon {
        let mut args = vec!["--virtual", "1"];
        args.extend_from_slice(extra);
        Daemon::start_with(data_dir, &args)
    }

    /// A daemon over ws:// playing `capture` (recorded by the dongle `serial`) in a loop.
    pub fn replay(data_dir: &std::path::Path, capture: &std::path::Path, serial: &str) -> Daemon {
        let capture = capture.to_str().expect("a UTF-8 path");
        Daemon::start_with(data_dir, &["--no-tls", "--replay", capture, "--serial", serial])
    }

    /// A daemon with exactly these headset/TLS arguments (no virtual headset unless asked).
    /// Without a `--config` among them it reads none (`/dev/null`), so a developer's own
    /// `~/.config/epocd/epocd.toml` cannot change what a test sees.
    pub fn start_with(data_dir: &std::path::Path, extra: &[&str]) -> Daemon {
        let mut c = Command::new(env!("CARGO_BIN_EXE_epocd"));
        c.stderr(Stdio::null());
        Daemon::spawn(c, data_dir, extra)
    }

    /// [`Daemon::start_with`], its log (stderr) going to the file `log`.
    pub fn start_logging(data_dir: &std::path::Path, extra: &[&str], log: &std::path::Path) -> Daemon {
        let mut c = Command::new(env!("CARGO_BIN_EXE_epocd"));
        c.stderr(std::fs::File::create(log).expect("the log file"));
        Daemon::spawn(c, data_dir, extra)
    }

    /// [`Daemon::start_with`] under a shell that set this umask first (`"000"`: everything
    /// epocd does not protect itself comes out world-readable).
    pub fn start_with_umask(umask: &str, data_dir: &std::path::Path, extra: &[&str]) -> Daemon {
        Daemon::start_in_shell(&format!("umask {umask}"), data_dir, extra, None)
    }

    /// [`Daemon::start_with`] after the shell commands `prefix` (`ulimit -n 48`, `umask 000`),
    /// its log going to `log` if given.
    pub fn start_in_shell(
        prefix: &str,
        data_dir: &std::path::Path,
        extra: &[&str],
        log: Option<&std::path::Path>,
    ) -> Daemon {
        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            &format!("{prefix}; exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_epocd"),
        ]);
        match log {
            Some(path) => sh.stderr(std::fs::File::create(path).expect("the log file")),
            None => sh.stderr(Stdio::null()),
        };
        Daemon::spawn(sh, data_dir, extra)
    }

    fn spawn(mut command: Command, data_dir: &std::path::Path, extra: &[&str]) -> Daemon {
        let config: &[&str] = if extra.contains(&"--config") {
            &[]
        } else {
            &["--config", "/dev/null"]
        };
        let mut child = command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--no-hotplug",
                "--ble-scan",
                "0",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .args(config)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start epocd serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the URL line");
        let url = line
            .trim()
            .strip_prefix("epocd: listening on ")
            .unwrap_or_else(|| panic!("URL line expected, got {line:?}"))
            .to_owned();
        Daemon { child, url }
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Send a signal (`TERM`, `KILL`) to the daemon.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Wait (bounded) for the daemon to exit; its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "epocd did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn connect(url: &str) -> Ws {
    connect_async(url).await.expect("connect").0
}

/// Read the next text frame as JSON, within 5 s.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s");
        if let Some(Ok(Message::Text(t))) = msg {
            return serde_json::from_str(t.as_str()).expect("valid JSON");
        }
        assert!(msg.is_some(), "connection closed");
    }
}

/// Send a raw frame and return the response with the same id (skipping data and warnings,
/// which are kept in `others`).
pub async fn raw(ws: &mut Ws, text: String, others: &mut Vec<Value>) -> Value {
    ws.send(Message::Text(text.into())).await.expect("send");
    loop {
        let v = next_json(ws).await;
        if v.get("id").is_some() {
            return v;
        }
        others.push(v);
    }
}

/// The warning `code`, from frames already stashed or arriving next (order with the
/// response is not guaranteed: warnings come from other threads).
pub async fn warning(ws: &mut Ws, code: i64, stashed: &mut Vec<Value>) -> Value {
    if let Some(i) = stashed.iter().position(|v| v["warning"]["code"] == code) {
        return stashed.remove(i);
    }
    loop {
        let v = next_json(ws).await;
        if v["warning"]["code"] == code {
            return v;
        }
    }
}

pub async fn call(ws: &mut Ws, id: Value, method: &str, params: Option<Value>) -> Value {
    let mut req = json!({"jsonrpc": "2.0", "id": id, "method": method});
    if let Some(p) = params {
        req["params"] = p;
    }
    let mut others = Vec::new();
    raw(ws, req.to_string(), &mut others).await
}

/// Call `method` and assert that it fails with the Cortex error code `want`.
pub async fn expect_code(ws: &mut Ws, method: &str, params: Option<Value>, want: i64) {
    let shown = params.clone();
    let r = call(ws, json!(1), method, params).await;
    assert_eq!(
        r["error"]["code"].as_i64(),
        Some(want),
        "{method} {shown:?} should fail with {want}: {r}"
    );
}

pub fn code(v: &Value) -> i64 {
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error, got {v}"))
}

pub async fn authorize(ws: &mut Ws) -> String {
    let r = call(
        ws,
        json!(2),
        "requestAccess",
        Some(json!({"clientId": "com.test.app", "clientSecret": "s"})),
    )
    .await;
    assert_eq!(r["result"]["accessGranted"], true);
    let r = call(
        ws,
        json!(3),
        "authorize",
        Some(json!({"clientId": "com.test.app", "clientSecret": "s", "license": "", "debit": 10})),
    )
    .await;
    r["result"]["cortexToken"].as_str().expect("token").to_owned()
}

pub async fn headset(ws: &mut Ws) -> String {
    // The virtual headset is connected within a second of start.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = call(ws, json!(4), "queryHeadsets", None).await;
        if r["result"][0]["status"] == "connected" {
            return r["result"][0]["id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "headset never connected: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
