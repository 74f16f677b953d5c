//! Compatibility with the official clients, spoken in raw JSON to a running daemon: each
//! client's first run of a new app, subscribe replies before samples, wrong parameter types,
//! a null request id, the licence's scopes, and the real motion rate of a replayed EPOC+.

mod common;

use std::time::{Duration, Instant};

use common::daemon::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn app(id: &str) -> Value {
    json!({"clientId": id, "clientSecret": "secret"})
}

/// Every frame that arrives within `window` (warnings, data).
async fn frames_for(ws: &mut Ws, window: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    let end = tokio::time::Instant::now() + window;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(end, ws.next()).await {
        if let Message::Text(t) = msg {
            out.push(serde_json::from_str(t.as_str()).expect("JSON"));
        }
    }
    out
}

fn warnings_9(frames: &[Value]) -> usize {
    frames.iter().filter(|f| f["warning"]["code"] == json!(9)).count()
}

/// A new connection that asks hasAccessRight (which must say `false`) and then requestAccess:
/// the connection, requestAccess's response, and what arrives in the next 0.8 s.
async fn ask_then_request(d: &Daemon, id: &str) -> (Ws, Value, Vec<Value>) {
    let mut ws = connect(&d.url).await;
    let r = call(&mut ws, json!(20), "hasAccessRight", Some(app(id))).await;
    assert_eq!(r["result"]["accessGranted"], json!(false), "{r}");
    let r = call(&mut ws, json!(3), "requestAccess", Some(app(id))).await;
    let later = frames_for(&mut ws, Duration::from_millis(800)).await;
    (ws, r, later)
}

#[tokio::test]
async fn each_official_clients_first_run_authorizes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(dir.path(), &["--no-tls"]);

    // C# and Unity: hasAccessRight false -> requestAccess -> authorize only on warning 9.
    let (mut ws, r, later) = ask_then_request(&d, "com.example.csharp").await;
    assert_eq!(
        r["result"]["accessGranted"],
        json!(false),
        "C# waits for warning 9 whatever requestAccess says; `true` would also be fine only with a 9"
    );
    assert_eq!(warnings_9(&later), 1, "exactly one warning 9: {later:?}");
    let r = call(&mut ws, json!(4), "authorize", Some(app("com.example.csharp"))).await;
    assert!(r["result"]["cortexToken"].is_string(), "{r}");

    // Python: hasAccessRight false -> requestAccess; `true` authorizes at once, `false` waits
    // for 9; and every warning 9 authorizes (again). It must authorize exactly once.
    let (mut ws, r, later) = ask_then_request(&d, "com.example.python").await;
    let at_once = usize::from(r["result"]["accessGranted"] == json!(true));
    assert_eq!(
        at_once + warnings_9(&later),
        1,
        "Python authorizes exactly once: {r} then {later:?}"
    );
    let r = call(&mut ws, json!(4), "authorize", Some(app("com.example.python"))).await;
    assert!(r["result"]["cortexToken"].is_string(), "{r}");

    // Node.js: requestAccess first; `false` makes it give up, so it must be `true`.
    let mut ws = connect(&d.url).await;
    let r = call(&mut ws, json!(1), "requestAccess", Some(app("com.example.node"))).await;
    assert_eq!(r["result"]["accessGranted"], json!(true), "{r}");
    let later = frames_for(&mut ws, Duration::from_millis(500)).await;
    assert_eq!(warnings_9(&later), 0, "{later:?}");

    // An app granted before (a second run of the C# app) sees no warning 9.
    let mut ws = connect(&d.url).await;
    let r = call(
        &mut ws,
        json!(20),
        "hasAccessRight",
        Some(app("com.example.csharp")),
    )
    .await;
    assert_eq!(r["result"]["accessGranted"], json!(true));
    let r = call(
        &mut ws,
        json!(3),
        "requestAccess",
        Some(app("com.example.csharp")),
    )
    .await;
    assert_eq!(r["result"]["accessGranted"], json!(true));
    let later = frames_for(&mut ws, Duration::from_millis(500)).await;
    assert_eq!(warnings_9(&later), 0, "{later:?}");
}

#[tokio::test]
async fn no_sample_arrives_before_the_subscribe_reply() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(dir.path(), &["--no-tls", "--virtual", "1"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let headset = headset(&mut ws).await;
    drop(ws);
    // A fresh connection each time: nothing left from an earlier subscription.
    for round in 0..15 {
        let mut ws = connect(&d.url).await;
        let r = call(
            &mut ws,
            json!(5),
            "createSession",
            Some(json!({"cortexToken": token, "headset": headset, "status": "active"})),
        )
        .await;
        let sid = r["result"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .to_owned();
        let req = json!({"jsonrpc": "2.0", "id": 6, "method": "subscribe",
                         "params": {"cortexToken": token, "session": sid, "streams": ["eeg", "mot", "dev", "pow"]}});
        ws.send(Message::Text(req.to_string().into())).await.unwrap();
        loop {
            let f = next_json(&mut ws).await;
            if f.get("id") == Some(&json!(6)) {
                assert_eq!(f["result"]["success"].as_array().map(Vec::len), Some(4), "{f}");
                break;
            }
            assert!(
                f.get("warning").is_some(),
                "round {round}: a data frame before the subscribe reply: {f}"
            );
        }
        // And the samples do come right after it.
        let f = next_json(&mut ws).await;
        assert!(f.get("sid").is_some() || f.get("warning").is_some(), "{f}");
    }
}

#[tokio::test]
async fn a_parameter_of_the_wrong_type_is_an_error_never_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(dir.path(), &["--no-tls", "--virtual", "1"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let headset = headset(&mut ws).await;
    let cases = [
        ("queryHeadsets", json!({"id": 123})),
        ("queryHeadsets", json!({"includeFlexMappings": "yes"})),
        (
            "authorize",
            json!({"clientId": "com.test.app", "clientSecret": "s", "debit": "ten"}),
        ),
        (
            "authorize",
            json!({"clientId": "com.test.app", "clientSecret": "s", "license": 5}),
        ),
        ("controlDevice", json!({"command": "connect", "headset": 5})),
        (
            "controlDevice",
            json!({"command": "refresh", "connectionType": true}),
        ),
        (
            "createSession",
            json!({"cortexToken": token, "headset": headset, "status": ["active"]}),
        ),
        (
            "subscribe",
            json!({"cortexToken": token, "session": "x", "streams": "eeg"}),
        ),
        (
            "queryRecords",
            json!({"cortexToken": token, "query": {}, "orderBy": [], "limit": -1}),
        ),
        (
            "queryRecords",
            json!({"cortexToken": token, "query": {}, "orderBy": [], "includeMarkers": "yes"}),
        ),
        (
            "updateRecord",
            json!({"cortexToken": token, "record": "x", "tags": "one"}),
        ),
        (
            "injectMarker",
            json!({"cortexToken": token, "session": "x", "time": "now", "value": 1, "label": "l"}),
        ),
        (
            "syncWithHeadsetClock",
            json!({"headset": headset, "monotonicTime": "1", "systemTime": 2}),
        ),
        (
            "exportRecord",
            json!({"cortexToken": token, "recordIds": ["x"], "folder": "/tmp", "streamTypes": ["EEG"], "format": "EDF", "includeDemographics": "yes"}),
        ),
    ];
    for (method, params) in cases {
        let shown = params.to_string();
        let r = call(&mut ws, json!(1), method, Some(params)).await;
        assert_eq!(r["error"]["code"], json!(-32602), "{method} {shown}: {r}");
    }
}

#[tokio::test]
async fn a_null_id_is_an_id_and_is_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    ws.send(Message::Text(
        r#"{"jsonrpc":"2.0","id":null,"method":"noSuchMethod"}"#.into(),
    ))
    .await
    .unwrap();
    let r = next_json(&mut ws).await;
    assert_eq!(r["error"]["code"], json!(-32601), "{r}");
    assert!(
        r.as_object().unwrap().contains_key("id") && r["id"].is_null(),
        "{r}"
    );
    ws.send(Message::Text(
        r#"{"jsonrpc":"2.0","id":null,"method":"getCortexInfo"}"#.into(),
    ))
    .await
    .unwrap();
    let r = next_json(&mut ws).await;
    assert!(r["result"]["version"].is_string() && r["id"].is_null(), "{r}");
}

#[tokio::test]
async fn the_licence_lists_only_the_scopes_epocd_serves() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(dir.path(), &["--no-tls"]);
    let mut ws = connect(&d.url).await;
    let token = authorize(&mut ws).await;
    let r = call(
        &mut ws,
        json!(1),
        "getLicenseInfo",
        Some(json!({"cortexToken": token})),
    )
    .await;
    let scopes: Vec<&str> = r["result"]["license"]["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    // eeg, mot, dev, eq, band power and performance metrics (pm) are served.
    let mut sorted = scopes.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["bp", "dev", "eeg", "eq", "mot", "pm"], "{r}");
}

#[tokio::test]
async fn a_replayed_epoc_plus_reports_its_real_motion_rate_from_the_start() {
    let Some(shared) = common::shared() else { return };
    let capture = shared.join("emokit/emotiv_encrypted_data_UD20160103001874_2017-04-05.17-21-32.384061.csv");
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::replay(dir.path(), &capture, "UD20160103001874");
    let mut ws = connect(&d.url).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let settings = loop {
        let r = call(&mut ws, json!(1), "queryHeadsets", None).await;
        if r["result"][0]["status"] == json!("connected") {
            break r["result"][0]["settings"].clone();
        }
        assert!(Instant::now() < deadline, "never connected: {r}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Two EEG reports for each motion report at 256 Hz: motion at 128 Hz.
    assert_eq!(settings["eegRate"], json!(256), "{settings}");
    assert_eq!(settings["memsRate"], json!(128), "{settings}");
}
