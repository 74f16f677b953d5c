//! Record sync upload: a 1-hour record (the sample files of an hour at 256 Hz with motion:
//! 51.6 + 12.9 MB) queued in a data dir, uploaded by `epocd serve --virtual 4` to s3s-fs on
//! loopback, against the same daemon with nothing to upload, interleaved. Reports the upload
//! throughput, the daemon's CPU (one core) and its peak RSS in both.
//! Run: `cargo bench -p epocd --bench sync_upload` (needs s3s-fs: `cargo install s3s-fs
//! --version 0.14.1 --features binary`; about a minute).
#![allow(missing_docs)]

#[path = "../tests/common/planted.rs"]
mod planted;
#[path = "../../cortex-sync/tests/common/s3.rs"]
mod s3;
#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{proc_cpu_secs, start_daemon};

const UUID: &str = "3d2a9f4e-1b7c-4e58-a0c6-9b1e2f3a4d5c";
const EEG_BYTES: usize = 256 * 3600 * 56;
const MOTION_BYTES: usize = 64 * 3600 * 56;

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One run: (seconds, CPU %, peak RSS MiB). With `upload`, until the record is in the bucket;
/// else for `seconds`.
fn run(server: &s3::S3Server, upload: bool, seconds: f64) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let config = if upload {
        planted::queued_record(&data, UUID, &[("eeg.blk", EEG_BYTES), ("mot.blk", MOTION_BYTES)]);
        planted::sync_config(dir.path(), server.port, s3::KEY, s3::SECRET, s3::BUCKET)
    } else {
        std::path::PathBuf::from("/dev/null")
    };
    let args: Vec<std::ffi::OsString> = vec![
        "--virtual".into(),
        "4".into(),
        "--no-tls".into(),
        "--config".into(),
        config.into_os_string(),
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (mut child, _) = start_daemon(&args, &data);
    let pid = child.id();
    let (t0, cpu0) = (Instant::now(), proc_cpu_secs(pid));
    if upload {
        let deadline = Instant::now() + Duration::from_secs(300);
        while planted::saved(&data, UUID)["upload"]["complete"] != true {
            assert!(Instant::now() < deadline, "no upload in 5 minutes");
            std::thread::sleep(Duration::from_millis(5));
        }
    } else {
        std::thread::sleep(Duration::from_secs_f64(seconds));
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (proc_cpu_secs(pid) - cpu0) / wall * 100.0;
    let rss = peak_rss_mib(pid);
    let _ = child.kill();
    let _ = child.wait();
    (wall, cpu, rss)
}

fn main() {
    let Some(server) = s3::server() else {
        eprintln!("sync_upload needs s3s-fs: cargo install s3s-fs --version 0.14.1 --features binary");
        std::process::exit(1);
    };
    let mb = (EEG_BYTES + MOTION_BYTES) as f64 / 1e6;
    println!("record: {mb:.1} MB; 4 virtual headsets acquiring in both runs");
    println!(
        "{:<10} {:>8} {:>10} {:>10} {:>12}",
        "run", "seconds", "MB/s", "CPU %", "peak RSS MiB"
    );
    for round in 1..=3 {
        let (secs, cpu, rss) = run(&server, true, 0.0);
        println!(
            "{:<10} {secs:>8.2} {:>10.1} {cpu:>10.1} {rss:>12.1}",
            format!("upload {round}"),
            mb / secs
        );
        let (bsecs, bcpu, brss) = run(&server, false, secs);
        println!(
            "{:<10} {bsecs:>8.2} {:>10} {bcpu:>10.1} {brss:>12.1}",
            format!("idle {round}"),
            "-"
        );
    }
}
