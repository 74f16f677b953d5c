//! No method blocks the others on I/O: while one client connects a headset whose open takes
//! 5 s, another client's requests (getCortexInfo, queryHeadsets, injectMarker into a record
//! in progress) are answered at once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Client;
use cortex_service::{Cortex, HeadsetSpec, Opener, ServiceConfig};
use epoc_driver::Source;
use epoc_driver::virtual_headset::VirtualHeadset;
use serde_json::{Value, json};

const SLOW_OPEN: Duration = Duration::from_secs(5);

fn wait_connected(client: &Client, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = client.call("queryHeadsets", json!({"id": id}));
        if r[0]["status"] == json!("connected") {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never connected: {r}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Answer `method` and say how long it took.
fn timed(client: &Client, method: &str, params: Value) -> (Value, Duration) {
    let t = Instant::now();
    let r = client.call(method, params);
    (r, t.elapsed())
}

#[test]
fn a_slow_device_open_does_not_hold_up_other_clients() {
    let dir = tempfile::tempdir().unwrap();
    let cortex = Cortex::start(ServiceConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..ServiceConfig::default()
    })
    .unwrap();
    let a = Client::connect(&cortex);
    let token = a.authorize("com.example.recorder");
    let fast = cortex.add_headset(HeadsetSpec::Virtual(1)).unwrap();
    wait_connected(&a, &fast);
    let session = a.call(
        "createSession",
        json!({"cortexToken": token, "headset": fast, "status": "active"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.call(
        "createRecord",
        json!({"cortexToken": token, "session": session, "title": "while another connects"}),
    );

    // A headset whose first open is quick and whose every later open takes 5 s.
    let opens = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&opens);
    let opener = Opener(Arc::new(move || {
        if counter.fetch_add(1, Ordering::SeqCst) > 0 {
            std::thread::sleep(SLOW_OPEN);
        }
        Ok(Box::new(VirtualHeadset::new(2, true)?) as Box<dyn Source>)
    }));
    let slow = cortex.add_headset(HeadsetSpec::Custom(opener)).unwrap();
    let b = Client::connect(&cortex);
    let b_token = b.authorize("com.example.connector");
    wait_connected(&b, &slow);
    b.call(
        "controlDevice",
        json!({"cortexToken": b_token, "command": "disconnect", "headset": slow}),
    );
    assert_eq!(
        b.call("queryHeadsets", json!({"id": slow}))[0]["status"],
        json!("discovered")
    );

    let done = Arc::new(AtomicBool::new(false));
    let connecting = {
        let (done, slow) = (Arc::clone(&done), slow.clone());
        std::thread::spawn(move || {
            let t = Instant::now();
            let r = b.call(
                "controlDevice",
                json!({"cortexToken": b_token, "command": "connect", "headset": slow}),
            );
            done.store(true, Ordering::SeqCst);
            (r, t.elapsed(), b)
        })
    };
    // The open is under way.
    let deadline = Instant::now() + Duration::from_secs(2);
    while opens.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "connect never started opening");
        std::thread::sleep(Duration::from_millis(10));
    }

    let (info, t1) = timed(&a, "getCortexInfo", json!({}));
    assert!(info["version"].is_string());
    let (headsets, t2) = timed(&a, "queryHeadsets", json!({}));
    let status = |id: &str| {
        headsets
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == json!(id))
            .map(|h| h["status"].clone())
    };
    assert_eq!(status(&slow), Some(json!("connecting")), "{headsets}");
    assert_eq!(status(&fast), Some(json!("connected")), "{headsets}");
    let (marker, t3) = timed(
        &a,
        "injectMarker",
        json!({"cortexToken": token, "session": session, "time": 1.0e12, "value": 1, "label": "during the open"}),
    );
    assert_eq!(marker["marker"]["label"], json!("during the open"));
    assert!(
        !done.load(Ordering::SeqCst),
        "these requests must be answered while the open is still going on"
    );
    for (what, t) in [("getCortexInfo", t1), ("queryHeadsets", t2), ("injectMarker", t3)] {
        assert!(
            t < Duration::from_secs(1),
            "{what} waited {t:?} for the device open"
        );
    }

    let (reply, took, b) = connecting.join().unwrap();
    assert_eq!(reply["command"], json!("connect"));
    assert!(
        took >= SLOW_OPEN,
        "the connect itself waits for its open ({took:?})"
    );
    wait_connected(&b, &slow);
    let stopped = a.call("stopRecord", json!({"cortexToken": token, "session": session}));
    assert_eq!(stopped["record"]["state"], json!("stopped"));
    assert!(
        a.inbox.wait_warning(30, Duration::from_secs(5)).is_some(),
        "warning 30 after stopRecord"
    );
    cortex.shutdown();
}

#[test]
fn a_failed_open_leaves_the_headset_discovered_and_says_why() {
    let cortex = Cortex::start(ServiceConfig::default()).unwrap();
    let opens = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&opens);
    let opener = Opener(Arc::new(move || {
        if counter.fetch_add(1, Ordering::SeqCst) > 0 {
            return Err(epoc_driver::DriverError::NotFound(
                "the dongle was unplugged".into(),
            ));
        }
        Ok(Box::new(VirtualHeadset::new(3, true)?) as Box<dyn Source>)
    }));
    let id = cortex.add_headset(HeadsetSpec::Custom(opener)).unwrap();
    let c = Client::connect(&cortex);
    let token = c.authorize("com.example.app");
    wait_connected(&c, &id);
    c.call(
        "controlDevice",
        json!({"cortexToken": token, "command": "disconnect", "headset": id}),
    );
    let code = c.code(
        "controlDevice",
        json!({"cortexToken": token, "command": "connect", "headset": id}),
    );
    assert_eq!(code, -32004);
    let err = c
        .try_call(
            "controlDevice",
            json!({"cortexToken": token, "command": "connect", "headset": id}),
        )
        .unwrap_err();
    assert!(err.to_string().contains("unplugged"), "{err}");
    assert_eq!(
        c.call("queryHeadsets", json!({"id": id}))[0]["status"],
        json!("discovered")
    );
    cortex.shutdown();
}
