//! Records under faults: the daemon killed with SIGKILL mid-record 20 times (each restart
//! closes the record at its last durable sample, at most 1 s before the kill, and it
//! exports), and a disk that fills up mid-record (the app is warned, what was written stays
//! exportable).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::daemon::*;
use common::records::*;
use serde_json::json;

/// Export `rid` as CSV V2 into `folder`; the Timestamp column.
async fn exported_times(ws: &mut Ws, token: &str, rid: &str, folder: &Path) -> Vec<f64> {
    let csv = read_csv(&export_csv(ws, token, rid, folder).await);
    let t = csv.col("Timestamp");
    csv.rows
        .iter()
        .map(|r| r[t].parse().expect("a timestamp"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_record_20_times_loses_at_most_a_second_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut killed: Vec<(String, f64, f64)> = Vec::new();
    for i in 0..20u64 {
        let mut d = Daemon::start(dir.path(), &["--no-tls"]);
        let mut ws = connect(&d.url).await;
        let token = authorize(&mut ws).await;
        if let Some((prev, _, _)) = killed.last() {
            // The restart closed the previous record before accepting connections.
            let rec = record_info(&mut ws, &token, prev).await;
            assert_eq!(rec["state"], "recovered", "after kill {i}: {rec}");
            assert_ne!(rec["endDatetime"], "");
        }
        let rid = start_recording(&mut ws, &token, &format!("crash {i}")).await;
        let started = now_ms() / 1000.0;
        // Kill at a different point of the fsync cycle each time.
        tokio::time::sleep(Duration::from_millis(600 + (i * 173) % 1400)).await;
        let at = now_ms() / 1000.0;
        d.signal("KILL");
        d.wait_exit(Duration::from_secs(5));
        killed.push((rid, started, at));
    }
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    for (n, (rid, started, at)) in killed.iter().enumerate() {
        let rec = record_info(&mut ws, &token, rid).await;
        assert_eq!(rec["state"], "recovered", "{rec}");
        let times = exported_times(&mut ws, &token, rid, &out.path().join(n.to_string())).await;
        // Nothing lost if nothing was due yet: measure from the start without samples.
        let last = times.last().copied().unwrap_or(*started).max(*started);
        assert!(
            at - last <= 1.0,
            "record {n}: last durable sample {:.3} s before the kill",
            at - last
        );
        assert!(
            times.windows(2).all(|w| w[1] > w[0]),
            "record {n}: samples out of order"
        );
    }
}

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_record_with_a_warning_and_keeps_what_was_written() {
    let base = tempfile::tempdir().unwrap();
    let mnt = base.path().join("small-disk");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&mnt)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "mounting a small tmpfs failed under CI (the test command runs as root)"
        );
        eprintln!("note: cannot mount a tmpfs here (needs root), skipping the full-disk test");
        return;
    }
    let _guard = Mount(mnt.clone());
    let d = Daemon::start(&mnt, &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let rid = start_recording(&mut ws, &token, "fills the disk").await;
    let mut stash = Vec::new();
    // 8 MB free is under Cortex's critical level: the app hears it while the record goes on.
    let early = tokio::time::timeout(Duration::from_secs(5), warning(&mut ws, 20, &mut stash))
        .await
        .expect("a disk-critical warning 20 within a few seconds of recording on an 8 MB disk");
    let early_text = early["warning"]["message"]["behavior"]
        .as_str()
        .unwrap_or_default();
    assert!(
        early_text.contains("critical") && early_text.contains("MB free"),
        "{early}"
    );
    assert_eq!(early["warning"]["message"]["recordId"], json!(rid), "{early}");
    assert_eq!(
        record_info(&mut ws, &token, &rid).await["endDatetime"],
        "",
        "still recording"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;

    // Fill what is left of the disk.
    let filler = mnt.join("filler");
    let chunk = vec![0u8; 64 << 10];
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let w = loop {
        // Warnings that arrive before the answer are kept in `stash` for `warning`.
        let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "getCortexInfo"});
        let r = raw(&mut ws, ping.to_string(), &mut stash).await;
        assert!(r.get("result").is_some());
        if let Ok(w) =
            tokio::time::timeout(Duration::from_millis(300), warning(&mut ws, 20, &mut stash)).await
        {
            break w;
        }
        assert!(
            Instant::now() < deadline,
            "no warning 20 after the disk filled up"
        );
    };
    assert_eq!(w["warning"]["message"]["recordId"], json!(rid), "{w}");
    let behavior = w["warning"]["message"]["behavior"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        behavior.contains("stopped") && behavior.contains("disk"),
        "{behavior}"
    );
    let ready = warning(&mut ws, 30, &mut stash).await;
    assert_eq!(ready["warning"]["message"]["recordId"], json!(rid));
    let rec = record_info(&mut ws, &token, &rid).await;
    assert_ne!(rec["endDatetime"], "", "{rec}");
    assert!(
        rec["note"].as_str().unwrap_or_default().contains("storage"),
        "{rec}"
    );
    let r = call(
        &mut ws,
        json!(10),
        "querySessions",
        Some(json!({"cortexToken": token})),
    )
    .await;
    assert_eq!(r["result"][0]["recording"], false, "{r}");

    // What was written exports (to a folder on another disk), and the daemon still works.
    let times = exported_times(&mut ws, &token, &rid, &base.path().join("export")).await;
    assert!(times.len() >= 256, "only {} samples kept", times.len());
    std::fs::remove_file(&filler).unwrap();
    let again = {
        let r = call(
            &mut ws,
            json!(11),
            "querySessions",
            Some(json!({"cortexToken": token})),
        )
        .await;
        let sid = r["result"][0]["id"].as_str().unwrap().to_owned();
        call(
            &mut ws,
            json!(12),
            "createRecord",
            Some(json!({"cortexToken": token, "session": sid, "title": "after freeing space"})),
        )
        .await
    };
    assert!(again["result"]["record"]["uuid"].is_string(), "{again}");
}
