//! Where a headset at the real rate costs CPU (issue 19): `epocd serve --no-tls --virtual N`
//! at the loads of the table (1 headset and nobody; 1 headset and one client on eeg;
//! on eeg+mot+dev+pow; 4 headsets and one client on everything), measured over 20 s after
//! 5 s of settling. Reports the daemon's CPU on one core, and per thread (by name) its CPU and
//! its wake-ups a second (voluntary + involuntary context switches, from /proc). It also
//! times the virtual headset's own synthesis apart, since a real dongle has none.
//! Run: `cargo bench -p epocd --bench idle_load` (about two minutes).
#![allow(missing_docs)]

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, proc_cpu_secs, start_daemon};

/// Per thread name: (CPU seconds, context switches).
fn threads(pid: u32) -> BTreeMap<String, (f64, u64)> {
    let mut out: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let tid = t.file_name().to_string_lossy().into_owned();
        let base = format!("/proc/{pid}/task/{tid}");
        let name = std::fs::read_to_string(format!("{base}/comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let tid: u32 = tid.parse().unwrap_or(0);
        let cpu = proc_cpu_secs_task(pid, tid);
        let switches: u64 = std::fs::read_to_string(format!("{base}/status"))
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches")
            })
            .filter_map(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
            .sum();
        // Threads of one kind share a name prefix up to a digit (`epocd-acq-1`, `tokio-runtime-w`).
        let kind: String = name
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
            .to_owned();
        let e = out.entry(kind).or_default();
        e.0 += cpu;
        e.1 += switches;
    }
    out
}

fn proc_cpu_secs_task(pid: u32, tid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// One client with a session on every headset, subscribed to `streams`, reading until
/// `until`; the frames it read.
async fn client(url: String, streams: Vec<&'static str>, until: Instant) -> u64 {
    let mut c = Client::connect(&url).await;
    let app = json!({"clientId": "bench.idle", "clientSecret": "s"});
    c.call("requestAccess", app.clone()).await;
    let token = c.call("authorize", app).await["result"]["cortexToken"].clone();
    // The headsets connect a moment after the daemon listens.
    let mut headsets = Value::Null;
    for _ in 0..100 {
        headsets = c.call("queryHeadsets", json!({})).await["result"].clone();
        let list = headsets.as_array().cloned().unwrap_or_default();
        if !list.is_empty() && list.iter().all(|h| h["status"] == "connected") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for h in headsets.as_array().into_iter().flatten() {
        let s = c
            .call(
                "createSession",
                json!({"cortexToken": token, "headset": h["id"], "status": "active"}),
            )
            .await;
        c.call(
            "subscribe",
            json!({"cortexToken": token, "session": s["result"]["id"], "streams": streams}),
        )
        .await;
    }
    c.drain(until.saturating_duration_since(Instant::now())).await;
    c.frames
}

fn measure(headsets: u32, streams: Option<Vec<&'static str>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = headsets.to_string();
    let args: Vec<&std::ffi::OsStr> = ["--no-tls", "--config", "/dev/null", "--virtual", n.as_str()]
        .into_iter()
        .map(std::ffi::OsStr::new)
        .collect();
    let (mut child, url) = start_daemon(&args, dir.path());
    let pid = child.id();
    let settle = Duration::from_secs(5);
    let span = Duration::from_secs(20);
    let until = Instant::now() + settle + span + Duration::from_secs(1);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let reader = streams
        .clone()
        .map(|s| runtime.spawn(client(url.clone(), s, until)));
    std::thread::sleep(settle);
    let (cpu0, t0, th0) = (proc_cpu_secs(pid), Instant::now(), threads(pid));
    std::thread::sleep(span);
    let (cpu1, th1) = (proc_cpu_secs(pid), threads(pid));
    let secs = t0.elapsed().as_secs_f64();
    let label = match &streams {
        None => format!("{headsets} headset(s), nobody connected"),
        Some(s) => format!("{headsets} headset(s), 1 client on {}", s.join("+")),
    };
    println!(
        "\n{label}: daemon CPU {:.2} % of one core",
        (cpu1 - cpu0) / secs * 100.0
    );
    println!("  {:<22} {:>8} {:>12}", "thread", "CPU %", "wake-ups/s");
    for (name, (c1, s1)) in &th1 {
        let (c0, s0) = th0.get(name).copied().unwrap_or_default();
        let wakeups = s1.saturating_sub(s0) as f64 / secs;
        let cpu = (c1 - c0) / secs * 100.0;
        if cpu > 0.005 || wakeups > 0.5 {
            println!("  {name:<22} {cpu:>8.2} {wakeups:>12.0}");
        }
    }
    if let Some(r) = reader {
        let frames = runtime.block_on(r).unwrap_or(0);
        let total = (settle + span).as_secs_f64();
        println!("  (the client received {:.0} frames/s)", frames as f64 / total);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The virtual headset's synthesis and encryption per second of real time (a real dongle
/// has none): its reports as fast as it can make them.
fn synthesis() {
    use epoc_driver::Source;
    let mut h = epoc_driver::virtual_headset::VirtualHeadset::new(1, false).expect("virtual headset");
    let n = 200_000;
    let t = Instant::now();
    for _ in 0..n {
        let _ = h.read(Duration::from_millis(10));
    }
    let per = t.elapsed().as_secs_f64() / f64::from(n);
    // 256 EEG + 64 motion reports a second.
    println!(
        "\nvirtual headset synthesis: {:.2} µs per report, {:.3} % of one core at 320 reports/s",
        per * 1e6,
        per * 320.0 * 100.0
    );
}

fn main() {
    synthesis();
    measure(1, None);
    measure(1, Some(vec!["eeg"]));
    measure(1, Some(vec!["eeg", "mot", "dev", "pow"]));
    measure(4, Some(vec!["eeg", "mot", "dev", "pow"]));
}
