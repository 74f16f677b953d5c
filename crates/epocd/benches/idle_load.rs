//! Where a headset at the real rate costs CPU (issue 19): `epocd serve --no-tls --virtual N`
//! at the loads of the table (1 headset and nobody; 1 headset and one client on eeg;
//! on eeg+mot+dev+pow; 4 headsets and one client on everything), measured over 20 s after
//! 5 s of settling. Reports the daemon's CPU on one core, and per thread (by name) its CPU and
//! its wake-ups a second (voluntary + involuntary context switches, from /proc). It also
//! times the virtual headset's own synthesis apart, since a real dongle has none.
//! With a client it also reports the eeg latency, sample timestamp to receipt (p50/p99).
//! Run: `cargo bench -p epocd --bench idle_load` (about two minutes). `EPOCD_BIN` picks
//! another build, `EPOCD_ARGS` adds options to `epocd serve` (e.g. `--stream-interval 0`).
#![allow(missing_docs)]

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, proc_cpu_secs, start_daemon};

/// A task's run time in seconds from its `schedstat` (the first field, in nanoseconds:
/// exact, where `stat`'s ticks are sampled 100–250 times a second and misjudge threads that
/// run in short bursts).
fn run_secs(schedstat: &str) -> f64 {
    std::fs::read_to_string(schedstat)
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
        .unwrap_or(0.0)
        / 1e9
}

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
        let cpu = run_secs(&format!("{base}/schedstat"));
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

/// One client with a session on every headset, subscribed to `streams`, reading until
/// `until`; the frames it read.
async fn client(url: String, streams: Vec<&'static str>, until: Instant) -> (u64, Vec<f64>) {
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
    (c.frames, c.eeg_latency_ms)
}

fn measure(headsets: u32, streams: Option<Vec<&'static str>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = headsets.to_string();
    let extra = std::env::var("EPOCD_ARGS").unwrap_or_default();
    let args: Vec<&std::ffi::OsStr> = ["--no-tls", "--config", "/dev/null", "--virtual", n.as_str()]
        .into_iter()
        .chain(extra.split_whitespace())
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
    let (t0, th0) = (Instant::now(), threads(pid));
    let ticks0 = proc_cpu_secs(pid);
    std::thread::sleep(span);
    let th1 = threads(pid);
    let ticks1 = proc_cpu_secs(pid);
    let secs = t0.elapsed().as_secs_f64();
    let total = |th: &BTreeMap<String, (f64, u64)>| th.values().map(|v| v.0).sum::<f64>();
    let (cpu0, cpu1) = (total(&th0), total(&th1));
    let label = match &streams {
        None => format!("{headsets} headset(s), nobody connected"),
        Some(s) => format!("{headsets} headset(s), 1 client on {}", s.join("+")),
    };
    println!(
        "\n{label}: daemon CPU {:.3} % of one core (tick-sampled: {:.2} %)",
        (cpu1 - cpu0) / secs * 100.0,
        (ticks1 - ticks0) / secs * 100.0
    );
    println!("  {:<22} {:>8} {:>12}", "thread", "CPU %", "wake-ups/s");
    for (name, (c1, s1)) in &th1 {
        let (c0, s0) = th0.get(name).copied().unwrap_or_default();
        let wakeups = s1.saturating_sub(s0) as f64 / secs;
        let cpu = (c1 - c0) / secs * 100.0;
        if cpu > 0.0005 || wakeups > 0.5 {
            println!("  {name:<22} {cpu:>8.3} {wakeups:>12.0}");
        }
    }
    if let Some(r) = reader {
        let (frames, mut latency) = runtime.block_on(r).unwrap_or_default();
        let total = (settle + span).as_secs_f64();
        latency.sort_by(f64::total_cmp);
        let at = |q: f64| {
            latency
                .get(((latency.len() as f64 - 1.0) * q) as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        println!(
            "  (the client received {:.0} frames/s; eeg latency p50 {:.2} ms, p99 {:.2} ms)",
            frames as f64 / total,
            at(0.5),
            at(0.99)
        );
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

/// What a wake-up alone costs here: a thread that does nothing but sleep until the next
/// point of a grid, at several rates (its run time from schedstat).
fn bare_wakeups() {
    let run_ns = || run_secs("/proc/thread-self/schedstat") * 1e9;
    println!("\nan empty thread waking on a grid (the floor under every figure below):");
    for hz in [10u32, 50, 250, 1000] {
        let period = Duration::from_secs(1) / hz;
        let (r0, t0) = (run_ns(), Instant::now());
        for i in 1..=hz * 3 {
            let due = t0 + period * i;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let (ns, secs) = (run_ns() - r0, t0.elapsed().as_secs_f64());
        println!(
            "  {hz:>5} wake-ups/s: {:.3} % of one core, {:.0} µs each",
            ns / 1e9 / secs * 100.0,
            ns / 1e3 / f64::from(hz * 3)
        );
    }
}

fn main() {
    bare_wakeups();
    synthesis();
    measure(1, None);
    measure(1, Some(vec!["eeg"]));
    measure(1, Some(vec!["eeg", "mot", "dev", "pow"]));
    measure(4, Some(vec!["eeg", "mot", "dev", "pow"]));
}
