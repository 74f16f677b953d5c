//! The Cortex API over raw WebSocket JSON against a running `epocd serve` (127.0.0.1, a free
//! port): what only a socket shows. The wire shape of replies, warnings and data frames, the
//! error code of each bad input through the envelope, robustness against garbage, Origin
//! checks, TLS, and state that must survive a restart. Each method's semantics are tested
//! in-process in `crates/cortex-service/tests`.

mod common;

use std::time::{Duration, Instant};

use common::daemon::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wire_shape_of_replies_warnings_and_data_frames() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;

    // No params at all, and ids echoed with their JSON type.
    let r = call(&mut ws, json!(22), "getCortexInfo", None).await;
    assert_eq!(r["id"], json!(22));
    assert_eq!(r["jsonrpc"], "2.0");
    assert!(r["result"]["version"].is_string());
    let r = call(&mut ws, json!("abc"), "getUserLogin", None).await;
    assert_eq!(r["id"], json!("abc"));
    assert!(r["result"][0]["username"].is_string());
    let token = authorize(&mut ws).await;
    let id = headset(&mut ws).await;

    // Warnings are pushes: no id; 104 follows the connect reply.
    let mut others = Vec::new();
    let req =
        json!({"jsonrpc":"2.0","id":2,"method":"controlDevice","params":{"command":"connect","headset":id}});
    let r = raw(&mut ws, req.to_string(), &mut others).await;
    assert_eq!(r["result"]["command"], "connect");
    let w = warning(&mut ws, 104, &mut others).await;
    assert_eq!(w["warning"]["message"]["headsetId"], json!(id));
    assert!(w.get("id").is_none(), "warnings carry no id");

    let r = call(
        &mut ws,
        json!(5),
        "createSession",
        Some(json!({"cortexToken": token, "headset": id, "status": "active"})),
    )
    .await;
    let sid = r["result"]["id"].as_str().unwrap().to_owned();
    let r = call(
        &mut ws,
        json!(6),
        "subscribe",
        Some(json!({"cortexToken": token, "session": sid, "streams": ["eeg", "mot", "dev", "eq", "pow"]})),
    )
    .await;
    let success = r["result"]["success"].as_array().unwrap().clone();
    assert_eq!(success.len(), 5, "{r}");
    let cols = |name: &str| success.iter().find(|x| x["streamName"] == name).unwrap()["cols"].clone();

    // Data frames: no id, the session's sid, a time, values aligned with cols.
    let mut seen = std::collections::HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(6);
    while Instant::now() < deadline && seen.len() < 5 {
        let v = next_json(&mut ws).await;
        if v.get("warning").is_some() {
            continue;
        }
        assert!(v.get("id").is_none(), "data carries no id: {v}");
        assert_eq!(v["sid"], json!(sid));
        assert!(v["time"].as_f64().unwrap() > 1.6e9);
        let (name, values) = v
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| *k != "sid" && *k != "time")
            .unwrap();
        assert_eq!(
            values.as_array().unwrap().len(),
            cols(name).as_array().unwrap().len(),
            "{name} values vs cols"
        );
        seen.insert(name.clone(), v.clone());
    }
    assert_eq!(seen.len(), 5, "all five streams delivered: {:?}", seen.keys());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_input_gets_its_error_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let mut o = Vec::new();
    let r = raw(&mut ws, "{not json".into(), &mut o).await;
    assert_eq!((code(&r), r["id"].clone()), (-32700, Value::Null));
    assert_eq!(code(&raw(&mut ws, "[1,2,3]".into(), &mut o).await), -32600);
    assert_eq!(
        code(
            &raw(
                &mut ws,
                r#"{"jsonrpc":"2.0","method":"getCortexInfo"}"#.into(),
                &mut o
            )
            .await
        ),
        -32600
    );
    assert_eq!(
        code(&raw(&mut ws, r#"{"id":1,"method":42}"#.into(), &mut o).await),
        -32600
    );
    for (method, params, want) in [
        ("noSuchMethod", None, -32601),
        ("authorize", Some(json!({"clientSecret": "s"})), -32602),
        (
            "authorize",
            Some(json!({"clientId": 5, "clientSecret": "s"})),
            -32602,
        ),
        (
            "authorize",
            Some(json!({"clientId": "", "clientSecret": "s"})),
            -32021,
        ),
        // No token before requestAccess.
        (
            "authorize",
            Some(json!({"clientId": "never.asked", "clientSecret": "s"})),
            -32102,
        ),
        ("querySessions", Some(json!({"cortexToken": "forged"})), -32014),
        ("querySessions", None, -32602),
    ] {
        expect_code(&mut ws, method, params, want).await;
    }
    let r = raw(
        &mut ws,
        r#"{"id":1,"method":"getCortexInfo","params":[1]}"#.into(),
        &mut o,
    )
    .await;
    assert_eq!(code(&r), -32602);
    let token = authorize(&mut ws).await;
    let id = headset(&mut ws).await;
    let p = |extra: Value| {
        let mut v = json!({"cortexToken": token});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Some(v)
    };
    for (method, params, want) in [
        (
            "createSession",
            p(json!({"headset": "EPOCX-DEADBEEF", "status": "active"})),
            -32004,
        ),
        (
            "createSession",
            p(json!({"headset": id, "status": "sleepy"})),
            -32013,
        ),
        (
            "subscribe",
            p(json!({"session": "nope", "streams": ["eeg"]})),
            -32007,
        ),
        ("subscribe", p(json!({"session": "nope", "streams": []})), -32602),
        (
            "subscribe",
            p(json!({"session": "nope", "streams": "eeg"})),
            -32602,
        ),
        ("controlDevice", Some(json!({"command": "explode"})), -32013),
        (
            "controlDevice",
            Some(json!({"command": "connect", "headset": "INSIGHT-1"})),
            -32004,
        ),
        (
            "syncWithHeadsetClock",
            Some(json!({"headset": id, "systemTime": "x", "monotonicTime": 1})),
            -32602,
        ),
    ] {
        expect_code(&mut ws, method, params, want).await;
    }
    // An open (not activated) session cannot have eeg, but can have the others.
    let r = call(
        &mut ws,
        json!(5),
        "createSession",
        p(json!({"headset": id, "status": "open"})),
    )
    .await;
    let sid = r["result"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r["result"]["status"], "opened");
    let r = call(
        &mut ws,
        json!(6),
        "subscribe",
        p(json!({"session": sid, "streams": ["eeg", "dev"]})),
    )
    .await;
    assert_eq!(r["result"]["failure"][0]["streamName"], "eeg");
    assert!(
        r["result"]["failure"][0]["message"]
            .as_str()
            .unwrap()
            .contains("activated")
    );
    assert_eq!(r["result"]["success"][0]["streamName"], "dev");
    expect_code(
        &mut ws,
        "updateSession",
        p(json!({"session": sid, "status": "pause"})),
        -32013,
    )
    .await;
    let r = call(
        &mut ws,
        json!(1),
        "updateSession",
        p(json!({"session": sid, "status": "active"})),
    )
    .await;
    assert_eq!(r["result"]["status"], "activated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_bad_frames_do_not_hurt_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let shapes = [
        r#"{"id":1,"method":"subscribe","params":{"cortexToken":1,"session":[],"streams":{}}}"#.to_owned(),
        r#"{"id":1.5,"method":"createSession","params":{"cortexToken":null,"status":7}}"#.to_owned(),
        r#"{"id":-1,"method":"controlDevice","params":{"command":null}}"#.to_owned(),
        r#"{"id":"x","method":"syncWithHeadsetClock","params":{"headset":[1],"systemTime":{},"monotonicTime":"n"}}"#.to_owned(),
        format!("{}{}", "[".repeat(5000), "]".repeat(5000)),
        r#"{"id":true,"method":"getCortexInfo"}"#.to_owned(),
        "\u{0}\u{1}garbage".to_owned(),
        r#"{"id":1,"method":"","params":null}"#.to_owned(),
    ];
    let mut sent = 0;
    for i in 0..3000u64 {
        let frame = if i % 3 == 0 {
            let bytes: Vec<u8> = (0..(rnd() % 200)).map(|_| (rnd() % 95 + 32) as u8).collect();
            Message::Text(String::from_utf8(bytes).unwrap().into())
        } else if i % 7 == 0 {
            Message::Binary(vec![0xFF; (rnd() % 64) as usize].into())
        } else {
            Message::Text(shapes[(rnd() % shapes.len() as u64) as usize].clone().into())
        };
        ws.send(frame).await.unwrap();
        sent += 1;
    }
    // Every frame gets exactly one answer (an error), in order.
    let mut answers = 0;
    while answers < sent {
        let v = next_json(&mut ws).await;
        if v.get("warning").is_some() {
            continue; // e.g. 104 when the virtual headset connects
        }
        assert!(v.get("error").is_some() || v.get("result").is_some(), "{v}");
        answers += 1;
    }
    let r = call(&mut ws, json!(99), "getCortexInfo", None).await;
    assert!(r["result"]["version"].is_string(), "still answers after garbage");

    // An oversized frame closes only that connection.
    let mut big = connect(&d.url).await;
    let _ = big.send(Message::Text("x".repeat(2 << 20).into())).await;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match big.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true));
    let mut fresh = connect(&d.url).await;
    assert!(call(&mut fresh, json!(1), "getCortexInfo", None).await["result"].is_object());
    assert!(d.alive(), "the daemon never panicked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_close_with_their_connection_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let token;
    {
        let d = Daemon::start(dir.path(), &["--no-tls"]);
        let mut a = connect(&d.url).await;
        token = authorize(&mut a).await;
        let id = headset(&mut a).await;
        let r = call(
            &mut a,
            json!(5),
            "createSession",
            Some(json!({"cortexToken": token, "headset": id, "status": "active"})),
        )
        .await;
        assert_eq!(r["result"]["status"], "activated");
        drop(a);
        let mut b = connect(&d.url).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let r = call(
                &mut b,
                json!(9),
                "querySessions",
                Some(json!({"cortexToken": token})),
            )
            .await;
            if r["result"] == json!([]) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "session still open after its connection closed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut c = connect(&d.url).await;
    let r = call(
        &mut c,
        json!(9),
        "querySessions",
        Some(json!({"cortexToken": token})),
    )
    .await;
    assert_eq!(
        r["result"],
        json!([]),
        "the old token still works after a restart: {r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_web_origins_are_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls", "--allow-origin", "https://lab.example"]);
    let with_origin = |origin: &str| {
        let mut req = d.url.as_str().into_client_request().unwrap();
        req.headers_mut().insert("Origin", origin.parse().unwrap());
        req
    };
    assert!(
        connect_async(with_origin("https://evil.example")).await.is_err(),
        "a web page from another site"
    );
    assert!(
        connect_async(with_origin("http://localhost:8080")).await.is_ok(),
        "this machine's own pages"
    );
    assert!(
        connect_async(with_origin("https://lab.example")).await.is_ok(),
        "explicitly allowed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_the_generated_ca_over_tls_12_and_13() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &[]);
    assert!(d.url.starts_with("wss://127.0.0.1:"));
    let ca = std::fs::read(dir.path().join("tls/epocd-ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let port = d.url.rsplit(':').next().unwrap().to_owned();
    for versions in [&[&rustls::version::TLS12][..], &[&rustls::version::TLS13][..]] {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        let connector = tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(config));
        let url = format!("wss://localhost:{port}");
        let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector))
            .await
            .expect("TLS handshake with the generated CA");
        let r = call(&mut ws, json!(1), "getCortexInfo", None).await;
        assert!(r["result"]["version"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headset_that_goes_away_closes_its_sessions_with_warnings_0_and_1() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let id = headset(&mut ws).await;
    let r = call(
        &mut ws,
        json!(5),
        "createSession",
        Some(json!({"cortexToken": token, "headset": id, "status": "active"})),
    )
    .await;
    let sid = r["result"]["id"].as_str().unwrap().to_owned();
    call(
        &mut ws,
        json!(6),
        "subscribe",
        Some(json!({"cortexToken": token, "session": sid, "streams": ["eeg"]})),
    )
    .await;
    let mut others = Vec::new();
    let req = json!({"jsonrpc":"2.0","id":10,"method":"controlDevice","params":{"command":"disconnect","headset":id,"cortexToken":token}});
    let r = raw(&mut ws, req.to_string(), &mut others).await;
    assert_eq!(r["result"]["command"], "disconnect");
    let w0 = warning(&mut ws, 0, &mut others).await;
    assert_eq!(w0["warning"]["message"]["sessionId"], json!(sid));
    assert_eq!(w0["warning"]["message"]["streams"], json!(["eeg"]));
    let w1 = warning(&mut ws, 1, &mut others).await;
    assert_eq!(w1["warning"]["message"]["sessionId"], json!(sid));
    assert_eq!(
        call(
            &mut ws,
            json!(9),
            "querySessions",
            Some(json!({"cortexToken": token}))
        )
        .await["result"],
        json!([])
    );
    let r = call(&mut ws, json!(1), "queryHeadsets", None).await;
    assert_eq!(r["result"][0]["status"], "discovered");
    // Connecting again brings it back, announced by warning 104.
    let mut others = Vec::new();
    let req =
        json!({"jsonrpc":"2.0","id":2,"method":"controlDevice","params":{"command":"connect","headset":id}});
    raw(&mut ws, req.to_string(), &mut others).await;
    let w = warning(&mut ws, 104, &mut others).await;
    assert_eq!(w["warning"]["message"]["headsetId"], json!(id));
}
