//! Profiles as the training examples use them: create, load, current, save, rename, unload,
//! delete; errors and warnings 13/14/15; facial settings persisted in the profile; damaged
//! files reported by name.

mod common;

use std::time::Duration;

use common::{Client, Lab, code};
use serde_json::json;

#[test]
fn the_official_training_flow_over_profiles() {
    let lab = Lab::new();
    let h = lab.headset.clone();
    // query → not there → create (does not load) → load.
    assert_eq!(lab.rpc("queryProfile", json!({}))["result"], json!([]));
    let r = lab.rpc(
        "setupProfile",
        json!({"profile": "alice", "status": "create", "headset": h}),
    );
    assert_eq!(r["result"]["action"], "create", "{r}");
    assert_eq!(r["result"]["name"], "alice");
    let r = lab.rpc("getCurrentProfile", json!({"headset": h}));
    assert_eq!(
        r["result"],
        json!({"name": null, "loadedByThisApp": false}),
        "create does not load"
    );
    let q = lab.rpc("queryProfile", json!({}));
    let item = &q["result"][0];
    assert_eq!(
        (item["name"].clone(), item["readOnly"].clone()),
        (json!("alice"), json!(false))
    );
    assert_eq!(item["eegChannels"].as_array().unwrap().len(), 14);
    assert!(item["uuid"].is_string());

    let r = lab.rpc(
        "setupProfile",
        json!({"profile": "alice", "status": "load", "headset": h}),
    );
    assert_eq!(r["result"]["action"], "load", "{r}");
    assert!(
        lab.client
            .inbox
            .wait_warning(13, Duration::from_secs(2))
            .is_some(),
        "warning 13 on load"
    );
    let r = lab.rpc("getCurrentProfile", json!({"headset": h}));
    assert_eq!(r["result"], json!({"name": "alice", "loadedByThisApp": true}));

    // Another app sees it loaded, not by itself, and cannot unload it.
    let other = Client::connect(&lab.cortex);
    let token = other.authorize("com.other.app");
    let r = other.call("getCurrentProfile", json!({"cortexToken": token, "headset": h}));
    assert_eq!(r, json!({"name": "alice", "loadedByThisApp": false}));
    let e = other.code(
        "setupProfile",
        json!({"cortexToken": token, "profile": "alice", "status": "unload", "headset": h}),
    );
    assert_eq!(e, -32046);

    // A threshold set through the session lands in the loaded profile, and save keeps it.
    let sid = lab.session("active");
    let r = lab.rpc(
        "facialExpressionThreshold",
        json!({"status": "set", "session": sid, "action": "smile", "value": 320}),
    );
    assert_eq!(r["result"]["currentThreshold"], 320, "{r}");
    let r = lab.rpc(
        "setupProfile",
        json!({"profile": "alice", "status": "save", "headset": h}),
    );
    assert_eq!(r["result"]["action"], "save", "{r}");
    let r = lab.rpc(
        "facialExpressionThreshold",
        json!({"status": "get", "profile": "alice", "action": "smile"}),
    );
    assert_eq!(r["result"]["currentThreshold"], 320);

    // Loading a second profile over the first is refused; unload (warning 14), then no profile.
    lab.rpc("setupProfile", json!({"profile": "bob", "status": "create"}));
    let r = lab.rpc(
        "setupProfile",
        json!({"profile": "bob", "status": "load", "headset": h}),
    );
    assert_eq!(code(&r), -32044, "{r}");
    let r = lab.rpc(
        "setupProfile",
        json!({"profile": "alice", "status": "unload", "headset": h}),
    );
    assert_eq!(r["result"]["action"], "unload", "{r}");
    assert!(
        lab.client
            .inbox
            .wait_warning(14, Duration::from_secs(2))
            .is_some()
    );
    let r = lab.rpc(
        "setupProfile",
        json!({"profile": "alice", "status": "unload", "headset": h}),
    );
    assert_eq!(code(&r), -32045, "{r}");

    // Loaded again later, the saved threshold is the session's again.
    lab.rpc(
        "setupProfile",
        json!({"profile": "alice", "status": "load", "headset": h}),
    );
    let r = lab.rpc(
        "facialExpressionThreshold",
        json!({"status": "get", "session": sid, "action": "smile"}),
    );
    assert_eq!(r["result"]["currentThreshold"], 320, "{r}");

    // Rename follows the loaded profile; delete is refused while loaded.
    let r = lab.rpc(
        "setupProfile",
        json!({"profile": "alice", "status": "rename", "newProfileName": "alice2", "headset": h}),
    );
    assert_eq!(r["result"]["name"], "alice2", "{r}");
    assert_eq!(
        lab.rpc("getCurrentProfile", json!({"headset": h}))["result"]["name"],
        "alice2"
    );
    let r = lab.rpc("setupProfile", json!({"profile": "alice2", "status": "delete"}));
    assert_eq!(code(&r), -32044, "{r}");

    // Closing the app's last session on the headset unloads it (warning 15).
    lab.rpc("updateSession", json!({"session": sid, "status": "close"}));
    assert!(
        lab.client
            .inbox
            .wait_warning(15, Duration::from_secs(2))
            .is_some(),
        "warning 15"
    );
    assert_eq!(
        lab.rpc("getCurrentProfile", json!({"headset": h}))["result"]["name"],
        json!(null)
    );
    let r = lab.rpc("setupProfile", json!({"profile": "alice2", "status": "delete"}));
    assert_eq!(r["result"]["action"], "delete", "{r}");
    let names: Vec<String> = lab.rpc("queryProfile", json!({}))["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["bob"]);
}

#[test]
fn bad_names_unknown_profiles_and_the_guest_profile() {
    let lab = Lab::new();
    let h = lab.headset.clone();
    let r = lab.rpc("setupProfile", json!({"profile": "", "status": "create"}));
    assert_eq!(code(&r), -32031, "{r}");
    let r = lab.rpc(
        "setupProfile",
        json!({"profile": "nobody", "status": "load", "headset": h}),
    );
    assert_eq!(code(&r), -32031, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("queryProfile"),
        "{r}"
    );
    lab.rpc("setupProfile", json!({"profile": "x", "status": "create"}));
    let r = lab.rpc("setupProfile", json!({"profile": "x", "status": "create"}));
    assert_eq!(code(&r), -32036, "{r}");
    let r = lab.rpc("setupProfile", json!({"profile": "x", "status": "explode"}));
    assert_eq!(code(&r), -32013, "{r}");
    let r = lab.rpc("setupProfile", json!({"profile": "x", "status": "load"}));
    assert_eq!(code(&r), -32602, "load needs the headset: {r}");

    let r = lab.rpc("loadGuestProfile", json!({"headset": h}));
    assert!(r["result"]["message"].is_string(), "{r}");
    assert_eq!(
        lab.rpc("getCurrentProfile", json!({"headset": h}))["result"]["name"],
        "guest"
    );
    let r = lab.rpc(
        "setupProfile",
        json!({"profile": "guest", "status": "save", "headset": h}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be saved"),
        "{r}"
    );
}

#[test]
fn a_damaged_profile_file_is_named_and_the_others_still_work() {
    let lab = Lab::new();
    lab.rpc("setupProfile", json!({"profile": "good", "status": "create"}));
    std::fs::write(lab.dir.path().join("profiles/broken.json"), "{not json").unwrap();
    let r = lab.rpc("queryProfile", json!({}));
    let names: Vec<&str> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["good"]);
    let r = lab.rpc(
        "setupProfile",
        json!({"profile": "good", "status": "load", "headset": lab.headset}),
    );
    assert_eq!(r["result"]["action"], "load", "{r}");
}

#[test]
fn profiles_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let cortex = cortex_service::Cortex::start(cortex_service::ServiceConfig {
            data_dir: Some(dir.path().to_path_buf()),
            ..cortex_service::ServiceConfig::default()
        })
        .unwrap();
        let client = Client::connect(&cortex);
        let token = client.authorize("com.test.app");
        if round == 0 {
            client.call(
                "setupProfile",
                json!({"cortexToken": token, "profile": "kept", "status": "create"}),
            );
        } else {
            let r = client.call("queryProfile", json!({"cortexToken": token}));
            assert_eq!(r[0]["name"], "kept");
        }
        cortex.shutdown();
    }
}
