//! What the daemon benches share: starting `epocd serve` and reading its CPU from /proc.

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
