//! controlDevice refresh: one scan at a time however often apps ask (an earlier epocd started
//! one OS thread per call). Alone in its test binary: it counts this process's threads.

mod common;

use std::time::Duration;

use common::{Client, Lab};
use serde_json::json;

/// Threads of this process with this name right now.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn refreshes_share_one_scan_and_everyone_who_asked_hears_142() {
    let lab = Lab::new();
    let clients: Vec<Client> = (0..4).map(|_| Client::connect(&lab.cortex)).collect();
    let mut most = 0;
    for _ in 0..50 {
        for c in &clients {
            let r = c.call("controlDevice", json!({"command": "refresh"}));
            assert_eq!(r["command"], "refresh");
            most = most.max(threads_named("cortex-refresh"));
        }
    }
    assert!(
        most <= 1,
        "{most} scans at once: a refresh is coalesced into the one in flight"
    );
    for c in &clients {
        assert!(
            c.inbox.wait_warning(142, Duration::from_secs(10)).is_some(),
            "every asker hears 142"
        );
    }
}
