//! CPU of the open detections in `epocd serve`: N virtual headsets acting out a script of
//! blinks, winks, looks and expressions, one client with a session on each. The client
//! alternates between subscribing to `dev` only (no detections thread runs) and to
//! `dev`+`met`+`fac` (each headset's detections thread computes both), and the daemon's CPU
//! is read from /proc over each stretch. The difference divided by N is the CPU one headset's
//! met + fac cost on one core at the real rate.
//! Run: `cargo bench -p epocd --bench detections_load` (about two minutes; `-- --headsets N`).
#![allow(missing_docs)]

#[path = "support/mod.rs"]
mod support;

use support::{Client, proc_cpu_secs};

use std::time::{Duration, Instant};

use serde_json::json;

/// Ten minutes of events: every 2.5 s the next of blink, winkL, winkR, lookL, lookR,
/// surprise, frown, smile, clench.
fn script() -> String {
    let kinds = [
        "blink", "winkL", "winkR", "lookL", "lookR", "surprise", "frown", "smile", "clench",
    ];
    let mut s = String::from("5 engaged 120\n200 relaxed 120\n");
    for i in 0..240 {
        s.push_str(&format!(
            "{} {}\n",
            5.0 + 2.5 * f64::from(i),
            kinds[i as usize % kinds.len()]
        ));
    }
    s
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let args: Vec<String> = std::env::args().collect();
    let headsets: usize = args
        .iter()
        .position(|a| a == "--headsets")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let dir = std::env::temp_dir().join(format!("epocd-bench-detect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script_path = dir.join("session.script");
    std::fs::write(&script_path, script()).expect("script");
    let headsets_arg = headsets.to_string();
    let args: Vec<&std::ffi::OsStr> = vec![
        "--no-tls".as_ref(),
        "--config".as_ref(),
        "/dev/null".as_ref(),
        "--virtual".as_ref(),
        headsets_arg.as_ref(),
        "--virtual-script".as_ref(),
        script_path.as_os_str(),
    ];
    let (mut child, url) = support::start_daemon(&args, &dir);
    let pid = child.id();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (span, rounds) = if quick {
        (Duration::from_secs(1), 1)
    } else {
        (Duration::from_secs(15), 3)
    };
    rt.block_on(async {
        std::thread::sleep(Duration::from_secs(2)); // headsets connect
        let mut c = Client::connect(&url).await;
        let cid = json!({"clientId": "bench.detections", "clientSecret": "s"});
        c.call("requestAccess", cid.clone()).await;
        let token = c.call("authorize", cid).await["result"]["cortexToken"].clone();
        let mut sessions = Vec::new();
        for h in c.call("queryHeadsets", json!({})).await["result"].as_array().cloned().unwrap_or_default() {
            let s = c
                .call("createSession", json!({"cortexToken": token, "headset": h["id"], "status": "active"}))
                .await;
            let sid = s["result"]["id"].clone();
            c.call("subscribe", json!({"cortexToken": token, "session": sid, "streams": ["dev"]})).await;
            sessions.push(sid);
        }
        println!(
            "epocd serve --virtual {headsets} --virtual-script (daemon pid {pid}): CPU of one core, {} s stretches",
            span.as_secs()
        );
        let mut results: Vec<(bool, f64)> = Vec::new();
        for _ in 0..rounds {
            for on in [false, true] {
                let streams = json!(["met", "fac"]);
                for sid in &sessions {
                    let method = if on { "subscribe" } else { "unsubscribe" };
                    if on || !results.is_empty() {
                        c.call(method, json!({"cortexToken": token, "session": sid, "streams": streams}))
                            .await;
                    }
                }
                c.drain(Duration::from_secs(2)).await; // detectors settle (or stop)
                let (t0, cpu0) = (Instant::now(), proc_cpu_secs(pid));
                c.drain(span).await;
                let cpu = (proc_cpu_secs(pid) - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
                println!("  {:<22} {cpu:5.1} %", if on { "dev + met + fac" } else { "dev only" });
                results.push((on, cpu));
            }
        }
        let mean = |on: bool| {
            let v: Vec<f64> = results.iter().filter(|r| r.0 == on).map(|r| r.1).collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let (off, on) = (mean(false), mean(true));
        println!(
            "mean: dev only {off:.1} %, with met + fac {on:.1} %: met + fac cost {:.2} % of one core per headset \
             ({} frames read)",
            (on - off) / headsets as f64,
            c.frames
        );
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
