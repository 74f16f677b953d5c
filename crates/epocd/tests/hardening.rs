//! Attacks and faults against a running daemon on loopback, each of which worked on an
//! earlier epocd: files planted where exports write, concurrent exports of one record.

mod common;

#[path = "../../cortex-service/tests/common/fs.rs"]
mod fs;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use common::daemon::*;
use common::records::*;
use serde_json::{Value, json};

/// A stopped record of about a second: (daemon, socket, token, record id).
async fn one_record(dir: &Path) -> (Daemon, Ws, String, String) {
    let d = Daemon::start(dir, &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let rid = record_for(&mut ws, &token, "attacked", Duration::from_millis(1000)).await;
    (d, ws, token, rid)
}

fn export_params(token: &str, rid: &str, folder: &Path, format: &str) -> Value {
    let mut p = json!({"cortexToken": token, "recordIds": [rid], "folder": folder,
                       "streamTypes": ["EEG", "MOTION"], "format": format});
    if format == "CSV" {
        p["version"] = json!("V2");
    }
    p
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_never_writes_through_a_link_planted_in_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (d, mut ws, token, rid) = one_record(dir.path()).await;
    let pid = d.child.id();

    for format in ["CSV", "EDFPLUS"] {
        // Where the export's files will be called: export once elsewhere and look.
        let scout = tempfile::tempdir().unwrap();
        let r = call(
            &mut ws,
            json!(1),
            "exportRecord",
            Some(export_params(&token, &rid, scout.path(), format)),
        )
        .await;
        assert_eq!(r["result"]["failure"], json!([]), "{r}");
        let outputs = names(scout.path());

        // A shared folder where someone planted links at every name epocd used to write
        // through: the writability probe and each file's temporary name.
        let shared = tempfile::tempdir().unwrap();
        let victim_dir = tempfile::tempdir().unwrap();
        let victim = victim_dir.path().join("precious.txt");
        std::fs::write(&victim, b"precious data").unwrap();
        symlink(&victim, shared.path().join(format!(".epocd-write-test-{pid}"))).unwrap();
        for name in &outputs {
            symlink(&victim, shared.path().join(format!(".{name}.partial-{pid}"))).unwrap();
        }
        let r = call(
            &mut ws,
            json!(2),
            "exportRecord",
            Some(export_params(&token, &rid, shared.path(), format)),
        )
        .await;
        assert_eq!(r["result"]["success"][0]["recordId"], json!(rid), "{format}: {r}");
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"precious data",
            "{format}: the file a planted link pointed at was written"
        );
        for name in &outputs {
            let meta = std::fs::symlink_metadata(shared.path().join(name)).unwrap();
            assert!(meta.file_type().is_file(), "{name} is a regular file of epocd's");
            assert_eq!(
                std::fs::read(shared.path().join(name)).unwrap(),
                std::fs::read(scout.path().join(name)).unwrap(),
                "{name}: the same export as in a clean folder"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exports_of_one_record_into_one_folder_give_one_whole_export() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _ws, token, rid) = one_record(dir.path()).await;
    let out = tempfile::tempdir().unwrap();
    let mut tasks = Vec::new();
    for i in 0..4 {
        let (url, params) = (d.url.clone(), export_params(&token, &rid, out.path(), "EDFPLUS"));
        tasks.push(tokio::spawn(async move {
            let mut ws = connect(&url).await;
            call(&mut ws, json!(i), "exportRecord", Some(params)).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        let r = t.await.unwrap();
        let ok = r["result"]["success"].as_array().map_or(0, Vec::len);
        let failed = r["result"]["failure"].as_array().map_or(0, Vec::len);
        assert_eq!(ok + failed, 1, "{r}");
        if ok == 1 {
            won += 1;
        } else {
            let message = r["result"]["failure"][0]["message"].as_str().unwrap_or("");
            assert!(message.contains("already exists"), "a clear reason: {r}");
        }
    }
    assert_eq!(won, 1, "exactly one export wins");
    let files = names(out.path());
    assert!(
        !files.iter().any(|f| f.contains(".partial")),
        "no temporary file left: {files:?}"
    );
    let edf = files.iter().find(|f| f.ends_with(".edf")).expect("the EDF+ file");
    let bytes = std::fs::read(out.path().join(edf)).unwrap();
    let header_bytes: usize = String::from_utf8_lossy(&bytes[184..192]).trim().parse().unwrap();
    let records: usize = String::from_utf8_lossy(&bytes[236..244]).trim().parse().unwrap();
    let signals: usize = String::from_utf8_lossy(&bytes[252..256]).trim().parse().unwrap();
    assert_eq!(header_bytes, 256 * (signals + 1), "a whole header");
    assert!(records >= 1 && bytes.len() > header_bytes, "data records follow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_local_process_cannot_pass_for_an_app_without_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let app = |secret: &str| json!({"clientId": "com.example.victim", "clientSecret": secret});
    let mut d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let r = call(&mut ws, json!(1), "requestAccess", Some(app("the real secret"))).await;
    assert_eq!(r["result"]["accessGranted"], json!(true), "{r}");
    let r = call(&mut ws, json!(2), "authorize", Some(app("the real secret"))).await;
    let token = r["result"]["cortexToken"].as_str().expect("a token").to_owned();

    // Another process knows the clientId (apps see it in markers and record objects).
    let mut thief = connect(&d.url).await;
    for method in ["requestAccess", "authorize"] {
        let r = call(&mut thief, json!(3), method, Some(app("a guess"))).await;
        assert_eq!(code(&r), -32021, "{method}: {r}");
    }
    let mut renew = app("a guess");
    renew["cortexToken"] = json!(token);
    let r = call(&mut thief, json!(4), "generateNewToken", Some(renew)).await;
    assert_eq!(code(&r), -32021, "{r}");

    // The binding survives a restart, and only a hash is on disk.
    d.signal("TERM");
    assert!(d.wait_exit(Duration::from_secs(10)).success());
    drop(d);
    let stored = std::fs::read_to_string(dir.path().join("access.json")).unwrap();
    assert!(!stored.contains("the real secret"), "the secret is not stored");
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let r = call(&mut ws, json!(5), "authorize", Some(app("a guess"))).await;
    assert_eq!(code(&r), -32021, "{r}");
    let r = call(&mut ws, json!(6), "authorize", Some(app("the real secret"))).await;
    assert!(r["result"]["cortexToken"].is_string(), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_a_headset_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let id = headset(&mut ws).await;
    let r = call(
        &mut ws,
        json!(1),
        "controlDevice",
        Some(json!({"command": "disconnect", "headset": id})),
    )
    .await;
    assert_eq!(code(&r), -32602, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("cortexToken"),
        "{r}"
    );
    let r = call(&mut ws, json!(2), "queryHeadsets", None).await;
    assert_eq!(
        r["result"][0]["status"],
        json!("connected"),
        "nothing happened: {r}"
    );
    let r = call(
        &mut ws,
        json!(3),
        "controlDevice",
        Some(json!({"command": "disconnect", "headset": id, "cortexToken": "forged"})),
    )
    .await;
    assert_eq!(code(&r), -32014, "{r}");
    let r = call(
        &mut ws,
        json!(4),
        "controlDevice",
        Some(json!({"command": "disconnect", "headset": id, "cortexToken": token})),
    )
    .await;
    assert_eq!(r["result"]["command"], json!("disconnect"), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_subjects_and_records_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("fresh-data-dir");
    let d = Daemon::start_with_umask("000", &dir, &["--no-tls", "--virtual", "1"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    call(
        &mut ws,
        json!(1),
        "createSubject",
        Some(json!({"cortexToken": token, "subjectName": "ann", "dateOfBirth": "1990-02-03"})),
    )
    .await;
    let rid = start_recording(&mut ws, &token, "private").await;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "the data dir");
    assert_eq!(mode(&dir.join("access.json")), 0o600, "bearer tokens");
    assert_eq!(mode(&dir.join("epocd.sqlite")), 0o600, "subjects' details");
    assert_eq!(mode(&dir.join("records")), 0o700, "recordings");
    assert_eq!(
        mode(&dir.join("records").join(&rid)) & 0o077,
        0,
        "the record's folder"
    );
    // A data dir left open by an older version is closed at start.
    drop(ws);
    drop(d);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _d = Daemon::start_with_umask("000", &dir, &["--no-tls"]);
    assert_eq!(mode(&dir) & 0o007, 0, "no access for others after a restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_forge_log_lines_or_pass_a_foreign_origin() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("epocd.log");
    let d = Daemon::start_logging(dir.path(), &["--no-tls", "--virtual", "1"], &log);
    let mut ws = connect(&d.url).await;
    let forged =
        json!({"clientId": "com.evil\nERROR epocd: FORGED the daemon was compromised", "clientSecret": "s"});
    for method in ["requestAccess", "authorize"] {
        let r = call(&mut ws, json!(1), method, Some(forged.clone())).await;
        assert_eq!(code(&r), -32021, "{method}: {r}");
    }
    // Whatever path an app id reaches the log by (a record start names the app).
    let token = authorize(&mut ws).await;
    let sid = active_session(&mut ws, &token).await;
    create_record(&mut ws, &token, &sid, "t\nFORGED title").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("record "), "the log was captured: {text}");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("ERROR epocd: FORGED") || l.starts_with("FORGED")),
        "{text}"
    );

    let with_origin = |origin: &str| {
        let mut req = d.url.as_str().into_client_request().unwrap();
        req.headers_mut().insert("Origin", origin.parse().unwrap());
        req
    };
    for origin in [
        "http://localhost:80@evil.example",
        "http://localhost@evil.example",
        "http://localhost/x",
    ] {
        assert!(
            tokio_tungstenite::connect_async(with_origin(origin))
                .await
                .is_err(),
            "{origin} is another site"
        );
    }
    assert!(
        tokio_tungstenite::connect_async(with_origin("http://localhost:8080"))
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_of_64_cjk_characters_exports_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let title = "脑电记录".repeat(16); // 64 characters, 192 bytes
    let rid = record_for(&mut ws, &token, &title, Duration::from_millis(600)).await;
    for format in ["CSV", "EDF", "EDFPLUS", "BDFPLUS"] {
        let out = tempfile::tempdir().unwrap();
        let r = call(
            &mut ws,
            json!(2),
            "exportRecord",
            Some(export_params(&token, &rid, out.path(), format)),
        )
        .await;
        assert_eq!(r["result"]["success"][0]["recordId"], json!(rid), "{format}: {r}");
        for name in names(out.path()) {
            assert!(name.len() <= 255, "{name}");
            assert!(name.starts_with("脑电记录"), "the title leads the name: {name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_and_clock_times_sizes_and_huge_ids_are_checked_or_kept_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let id = headset(&mut ws).await;
    let sid = active_session(&mut ws, &token).await;
    create_record(&mut ws, &token, &sid, "bounds").await;
    let marker = |time: Value, label: String, extras: Value| json!({"cortexToken": token, "session": sid, "time": time, "value": 1, "label": label, "extras": extras});
    let now = now_ms();
    for (params, what) in [
        (
            marker(json!(1e308), "l".into(), json!({})),
            "a time far beyond year 9999",
        ),
        (marker(json!(-5.0), "l".into(), json!({})), "a negative time"),
        (
            marker(json!(now), "l".repeat(2000), json!({})),
            "a 2000-byte label",
        ),
        (
            marker(json!(now), "l".into(), json!({"blob": "x".repeat(20_000)})),
            "20 kB of extras",
        ),
    ] {
        let r = call(&mut ws, json!(1), "injectMarker", Some(params)).await;
        assert_eq!(code(&r), -32602, "{what}: {r}");
    }
    let r = call(
        &mut ws,
        json!(2),
        "injectMarker",
        Some(marker(json!(now), "l".repeat(1000), json!({}))),
    )
    .await;
    assert!(
        r["result"]["marker"]["uuid"].is_string(),
        "a 1000-byte label is fine: {r}"
    );
    for (mono, sys) in [(json!(1.0), json!(1e308)), (json!(1e308), json!(1.7e9))] {
        let r = call(
            &mut ws,
            json!(3),
            "syncWithHeadsetClock",
            Some(json!({"headset": id, "monotonicTime": mono, "systemTime": sys})),
        )
        .await;
        assert_eq!(code(&r), -32602, "{r}");
    }
    // An id beyond 64-bit numbers comes back as written.
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let text = r#"{"jsonrpc":"2.0","id":100000000000000000000000000000,"method":"getCortexInfo"}"#;
    ws.send(Message::Text(text.into())).await.unwrap();
    let reply = loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains("\"result\"") => break t.as_str().to_owned(),
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    assert!(
        reply.starts_with(r#"{"id":100000000000000000000000000000,"#),
        "{reply}"
    );
}

/// A read that must see the server close the connection (not time out, not get data).
fn assert_closed(read: std::io::Result<usize>, what: &str) {
    match read {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("{what} must be closed by the server, got {other:?}"),
    }
}

/// Lines of `log` that mention accepting connections.
fn accept_lines(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("accept") || l.contains("connections are open"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_cannot_lock_clients_out_or_make_the_daemon_spin() {
    use std::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    let addr = |d: &Daemon| d.url.trim_start_matches("ws://").to_owned();

    // 1. Past max_connections, new connections are closed at once, with one log line.
    let log = dir.path().join("capped.log");
    let d = Daemon::start_logging(dir.path(), &["--no-tls", "--max-connections", "8"], &log);
    let idle: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(addr(&d)).unwrap()).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..50 {
        let mut extra = TcpStream::connect(addr(&d)).unwrap();
        extra.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 1];
        assert_closed(
            std::io::Read::read(&mut extra, &mut buf),
            "a connection past the limit",
        );
    }
    assert_eq!(
        accept_lines(&log),
        1,
        "one line for the episode, not one per connection"
    );
    drop(idle);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ws = connect(&d.url).await;
    assert!(call(&mut ws, json!(1), "getCortexInfo", None).await["result"]["version"].is_string());
    drop(ws);
    drop(d);

    // 2. Out of file descriptors: the accept loop waits instead of spinning, logs once, and
    //    serves again once descriptors are free.
    let log = dir.path().join("starved.log");
    let data = dir.path().join("starved");
    let d = Daemon::start_in_shell(
        "ulimit -n 64",
        &data,
        &["--no-tls", "--max-connections", "1000"],
        Some(&log),
    );
    let idle: Vec<TcpStream> = (0..120)
        .filter_map(|_| TcpStream::connect(addr(&d)).ok())
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let lines = accept_lines(&log);
    assert!(
        (1..=2).contains(&lines),
        "{lines} accept lines: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    drop(idle);
    // The sockets epocd accepted close by the handshake timeout at the latest.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Ok((mut ws, _))) = tokio::time::timeout(
            Duration::from_secs(2),
            tokio_tungstenite::connect_async(d.url.as_str()),
        )
        .await
            && call(&mut ws, json!(1), "getCortexInfo", None).await["result"]["version"].is_string()
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never served again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_handshakes_and_idle_connections_without_a_session_are_closed() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls", "--idle-timeout", "10"]);
    let t = std::time::Instant::now();
    // A TCP connection that never starts its handshake.
    let mut silent = std::net::TcpStream::connect(d.url.trim_start_matches("ws://")).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // A WebSocket that never makes a session, and one that does.
    let mut idle = connect(&d.url).await;
    let mut busy = connect(&d.url).await;
    let token = authorize(&mut busy).await;
    active_session(&mut busy, &token).await;
    let mut buf = [0u8; 16];
    assert_closed(
        silent.read(&mut buf),
        "a connection silent past the handshake timeout",
    );
    let handshake = t.elapsed();
    assert!(
        handshake >= Duration::from_secs(9) && handshake < Duration::from_secs(15),
        "{handshake:?}"
    );
    use futures::StreamExt;
    let end = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match idle.next().await {
                Some(Ok(m)) if m.is_close() => return,
                None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the idle connection was closed");
    assert!(t.elapsed() >= Duration::from_secs(9));
    let r = call(
        &mut busy,
        json!(9),
        "querySessions",
        Some(json!({"cortexToken": token})),
    )
    .await;
    assert_eq!(
        r["result"].as_array().map(Vec::len),
        Some(1),
        "a connection with a session stays: {r}"
    );
}

/// A raw WebSocket client connection: the upgrade done by hand, so the test can send what no
/// WebSocket library would.
fn raw_ws(addr: &str) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// Send one masked client frame.
fn send_frame(s: &mut std::net::TcpStream, opcode: u8, payload: &[u8]) {
    use std::io::Write;
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n < 65536 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask = [1u8, 2, 3, 4];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    // The server may close before a too-big message is all sent: that is its answer.
    let _ = s.write_all(&f);
}

/// Read server frames until a close frame: its code.
fn close_code(s: &mut std::net::TcpStream) -> u16 {
    use std::io::Read;
    loop {
        let mut h = [0u8; 2];
        s.read_exact(&mut h)
            .expect("a close frame before the connection ends");
        let len = match h[1] & 0x7f {
            126 => {
                let mut l = [0u8; 2];
                s.read_exact(&mut l).unwrap();
                usize::from(u16::from_be_bytes(l))
            }
            127 => {
                let mut l = [0u8; 8];
                s.read_exact(&mut l).unwrap();
                u64::from_be_bytes(l) as usize
            }
            n => usize::from(n),
        };
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).unwrap();
        if h[0] & 0x0f == 0x8 {
            return if len >= 2 {
                u16::from_be_bytes([payload[0], payload[1]])
            } else {
                1005
            };
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_closes_with_a_close_frame_and_answers_plain_http() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(dir.path(), &["--no-tls"]);
    let addr = d.url.trim_start_matches("ws://").to_owned();

    let mut s = raw_ws(&addr);
    send_frame(&mut s, 0x8, &4001u16.to_be_bytes());
    assert_eq!(close_code(&mut s), 4001, "the client's close is echoed");

    let mut s = raw_ws(&addr);
    send_frame(&mut s, 0x1, &[0xff, 0xfe, b'{']);
    assert_eq!(close_code(&mut s), 1007, "text that is not UTF-8");

    let mut s = raw_ws(&addr);
    send_frame(&mut s, 0x1, &vec![b' '; 2 << 20]);
    assert_eq!(close_code(&mut s), 1009, "a message over the 1 MiB limit");

    let plain = |request: String| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    };
    let answer = plain(format!("GET /cortex HTTP/1.1\r\nHost: {addr}\r\n\r\n"));
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(answer.contains("Upgrade: websocket"), "{answer}");
    // `/` is the headset page, for this machine's names only.
    let answer = plain(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n"));
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Content-Type: text/html"), "{answer}");
    assert!(answer.contains(&format!("connect-src ws://{addr};")), "{answer}");
    let answer = plain("GET / HTTP/1.1\r\nHost: rebound.example\r\n\r\n".into());
    assert!(answer.starts_with("HTTP/1.1 421 "), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immutable_data_dir_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let sid = active_session(&mut ws, &token).await;
    let rec = create_record(&mut ws, &token, &sid, "frozen").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let Some(_undo) = fs::immutable(dir.path(), true) else {
        return;
    };
    let mut stash = Vec::new();
    let r = raw(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 7, "method": "injectMarker", "params":
               {"cortexToken": token, "session": sid, "time": now_ms(), "value": 1, "label": "x"}})
        .to_string(),
        &mut stash,
    )
    .await;
    let message = r["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        code(&r) == -32603 && message.contains("immutable") || code(&r) == -32011,
        "a clear error: {r}"
    );
    let w = warning(&mut ws, 20, &mut stash).await;
    assert_eq!(w["warning"]["message"]["recordId"], rec["uuid"], "{w}");
    assert!(d.alive(), "the daemon is still running");
    let r = call(&mut ws, json!(8), "getCortexInfo", None).await;
    assert!(r["result"]["version"].is_string(), "and still answering: {r}");
}
