//! The first chapters in-process: Cortex info and authentication, headsets, sessions and
//! subscriptions (shapes, first-run access flows, warnings 9/104/142, cols, data frames).

mod common;

use std::time::{Duration, Instant};

use common::{Client, Lab, code, envelope};
use cortex_service::{Cortex, ServiceConfig};
use serde_json::{Value, json};

fn app(id: &str) -> Value {
    json!({"clientId": id, "clientSecret": "s"})
}

#[test]
fn cortex_info_user_login_access_tokens_and_licence() {
    let cortex = Cortex::start(ServiceConfig::default()).unwrap();
    let c = Client::connect(&cortex);
    let r = c.call("getCortexInfo", json!({}));
    for k in ["buildDate", "buildNumber", "version"] {
        assert!(r[k].is_string(), "{k}");
    }
    let r = c.call("getUserLogin", json!({}));
    for k in [
        "username",
        "currentOSUId",
        "currentOSUsername",
        "loggedInOSUId",
        "loggedInOSUsername",
        "lastLoginTime",
    ] {
        assert!(r[0][k].is_string(), "getUserLogin misses {k}");
    }
    assert_eq!(r[0]["currentOSUId"], r[0]["loggedInOSUId"]);

    // First run, C# / Python way: false, then requestAccess false and warning 9.
    let r = c.call("hasAccessRight", app("com.test.app"));
    assert_eq!(r["accessGranted"], false);
    assert!(r["message"].is_string());
    let r = c.call("requestAccess", app("com.test.app"));
    assert_eq!(r["accessGranted"], false);
    let w = c
        .inbox
        .wait_warning(9, Duration::from_secs(1))
        .expect("warning 9");
    assert!(w["warning"]["message"]["behavior"].is_string(), "{w}");
    let r = c.call(
        "authorize",
        json!({"clientId": "com.test.app", "clientSecret": "s", "license": "", "debit": 10}),
    );
    let token = r["cortexToken"].as_str().unwrap().to_owned();
    assert!(token.len() >= 32);
    assert_eq!(
        c.call("hasAccessRight", app("com.test.app"))["accessGranted"],
        true
    );
    assert_eq!(
        c.call("requestAccess", app("com.test.app"))["accessGranted"],
        true
    );
    assert_eq!(c.inbox.frames().len(), 1, "one warning 9 in all");

    // Node.js way, on another connection: requestAccess first answers true, no warning 9.
    let node = Client::connect(&cortex);
    assert_eq!(
        node.call("requestAccess", app("com.example.node"))["accessGranted"],
        true
    );
    assert!(node.inbox.frames().is_empty());
    // An app never granted cannot authorize.
    assert_eq!(node.code("authorize", app("com.never.asked")), -32102);
    assert_eq!(
        node.code("requestAccess", json!({"clientId": " ", "clientSecret": "s"})),
        -32021
    );

    let r = c.call(
        "generateNewToken",
        json!({"cortexToken": token, "clientId": "com.test.app", "clientSecret": "s"}),
    );
    let token2 = r["cortexToken"].as_str().unwrap().to_owned();
    assert_ne!(token2, token);
    assert_eq!(
        c.code(
            "generateNewToken",
            json!({"cortexToken": token, "clientId": "com.example.node", "clientSecret": "s"})
        ),
        -32602,
        "a token renews only its own app's"
    );
    // The C# example sends the old name `token`.
    assert!(c.call("getUserInformation", json!({"token": token2}))["username"].is_string());
    assert_eq!(
        c.code("getUserInformation", json!({"cortexToken": "nope"})),
        -32014
    );
    let lic = c.call("getLicenseInfo", json!({"cortexToken": token}))["license"].clone();
    assert_eq!(lic["expired"], false);
    assert!(lic["scopes"].as_array().unwrap().iter().any(|s| s == "eeg"));
    for k in [
        "licenseId",
        "licenseName",
        "applications",
        "localQuota",
        "seatCount",
        "sessionCount",
        "totalDebit",
    ] {
        assert!(!lic[k].is_null(), "license misses {k}");
    }
    cortex.shutdown();
}

#[test]
fn headsets_query_connect_refresh_custom_info_and_clock() {
    let lab = Lab::new();
    let id = lab.headset.clone();
    assert_eq!(id, "EPOCPLUS-00000001");
    let c = &lab.client;
    let r = c.call("queryHeadsets", json!({"id": "EPOCPLUS-*"}));
    let h = &r[0];
    assert_eq!(h["connectedBy"], "virtual");
    assert_eq!(h["status"], "connected");
    assert_eq!(h["sensors"].as_array().unwrap().len(), 14);
    assert_eq!(h["motionSensors"].as_array().unwrap().len(), 9);
    assert_eq!(h["settings"]["eegRate"], 256);
    assert_eq!(h["settings"]["eegRes"], 16);
    assert_eq!(c.call("queryHeadsets", json!({"id": "EPOCX-*"})), json!([]));

    // connect on a connected headset succeeds, and warning 104 follows the reply.
    let r = c.call("controlDevice", json!({"command": "connect", "headset": id}));
    assert_eq!(r["command"], "connect");
    let w = c
        .inbox
        .wait_warning(104, Duration::from_secs(1))
        .expect("warning 104");
    assert_eq!(w["warning"]["message"]["headsetId"], json!(id));
    assert!(w.get("id").is_none(), "warnings carry no id");
    assert_eq!(
        c.code(
            "controlDevice",
            json!({"command": "connect", "headset": "EPOC-NOPE"})
        ),
        -32004
    );
    assert_eq!(c.code("controlDevice", json!({"command": "explode"})), -32013);
    // refresh ends with warning 142 whose message is an object with behavior.
    let r = c.call("controlDevice", json!({"command": "refresh"}));
    assert_eq!(r["command"], "refresh");
    let w = c
        .inbox
        .wait_warning(142, Duration::from_secs(10))
        .expect("warning 142");
    assert!(w["warning"]["message"]["behavior"].is_string());

    let r = lab.rpc(
        "updateHeadsetCustomInfo",
        json!({"headsetId": id, "headbandPosition": "top"}),
    );
    assert_eq!(r["result"]["headbandPosition"], "top");
    assert_eq!(r["result"]["headsetId"], json!(id));
    let r = lab.rpc(
        "updateHeadsetCustomInfo",
        json!({"headsetId": id, "headbandPosition": "side"}),
    );
    assert_eq!(code(&r), -32602, "{r}");
    let now = common::now_ms() / 1000.0;
    let r = c.call(
        "syncWithHeadsetClock",
        json!({"headset": id, "systemTime": now, "monotonicTime": 1000.0}),
    );
    let adj = r["adjustment"].as_f64().unwrap();
    assert!(
        (1000.0 + adj - now).abs() < 1.0,
        "monotonic + adjustment is the headset clock"
    );
}

#[test]
fn sessions_subscriptions_cols_and_data_frames() {
    let lab = Lab::new();
    let id = lab.headset.clone();
    let r = lab.rpc("createSession", json!({"headset": id, "status": "active"}));
    let s = r["result"].clone();
    assert_eq!(s["status"], "activated");
    assert_eq!(s["appId"], "com.test.app");
    assert_eq!(s["headset"]["id"], json!(id));
    for k in [
        "id",
        "owner",
        "license",
        "started",
        "stopped",
        "streams",
        "recordIds",
        "recording",
    ] {
        assert!(!s[k].is_null(), "session misses {k}");
    }
    let sid = s["id"].as_str().unwrap().to_owned();
    let r = lab.rpc("createSession", json!({"headset": id, "status": "open"}));
    assert_eq!(code(&r), -32005, "one session per headset per app");
    let r = lab.rpc("createSession", json!({"headset": id, "status": "half"}));
    assert_eq!(code(&r), -32013, "{r}");
    let r = lab.rpc("querySessions", json!({}));
    assert_eq!(r["result"].as_array().unwrap().len(), 1);

    let r = lab.rpc(
        "subscribe",
        json!({"session": sid, "streams": ["eeg", "mot", "dev", "eq", "pow", "met", "fac", "telepathy"]}),
    );
    let success = r["result"]["success"].as_array().unwrap().clone();
    let failure = r["result"]["failure"].as_array().unwrap().clone();
    assert_eq!(success.len(), 7);
    assert_eq!(failure.len(), 1);
    assert_eq!(failure[0]["streamName"], "telepathy");
    assert_eq!(failure[0]["code"], -32016);
    let cols = |name: &str| success.iter().find(|x| x["streamName"] == name).unwrap()["cols"].clone();
    assert_eq!(cols("eeg").as_array().unwrap().last().unwrap(), "MARKERS");
    assert_eq!(cols("eeg").as_array().unwrap().len(), 19);
    assert!(cols("dev")[2].is_array(), "dev cols nest the CQ list at index 2");
    assert_eq!(cols("pow").as_array().unwrap().len(), 70);
    assert_eq!(cols("pow")[0], "AF3/theta");
    assert_eq!(cols("met").as_array().unwrap().len(), 13);
    assert_eq!(cols("fac"), json!(["eyeAct", "uAct", "uPow", "lAct", "lPow"]));
    assert!(success.iter().all(|x| x["sid"] == json!(sid)));
    let r = lab.rpc("subscribe", json!({"session": sid, "streams": ["eeg"]}));
    assert_eq!(r["result"]["failure"][0]["code"], -32016, "already subscribed");

    // Data: sid and time, values aligned with cols, MARKERS last; pow and met within 2.5 s.
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut seen = std::collections::HashMap::new();
    while Instant::now() < deadline && seen.len() < 7 {
        for v in lab.client.inbox.frames() {
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
            if name == "eeg" {
                assert!(values.as_array().unwrap().last().unwrap().is_array());
                let af3 = values[2].as_f64().unwrap();
                assert!((3500.0..5000.0).contains(&af3));
            }
            seen.insert(name.clone(), v.clone());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(seen.len(), 7, "all seven streams delivered: {:?}", seen.keys());

    let r = lab.rpc("unsubscribe", json!({"session": sid, "streams": ["eeg", "com"]}));
    assert_eq!(r["result"]["success"][0]["streamName"], "eeg");
    assert_eq!(r["result"]["failure"][0]["streamName"], "com", "not subscribed");
    assert!(r["result"]["failure"][0]["code"].is_i64());
    let r = lab.rpc("updateSession", json!({"session": sid, "status": "close"}));
    assert_eq!(r["result"]["status"], "closed");
    assert_eq!(r["result"]["id"], json!(sid));
    let r = lab.rpc("updateSession", json!({"session": sid, "status": "active"}));
    assert_eq!(code(&r), -32007, "{r}");
}

#[test]
fn eeg_needs_an_activated_session_and_sessions_are_per_app() {
    let lab = Lab::new();
    let sid = lab.session("open");
    let r = lab.rpc("subscribe", json!({"session": sid, "streams": ["eeg", "dev"]}));
    assert_eq!(r["result"]["failure"][0]["streamName"], "eeg", "{r}");
    assert_eq!(r["result"]["success"][0]["streamName"], "dev", "{r}");
    let other = Client::connect(&lab.cortex);
    let token = other.authorize("com.other.app");
    let r = envelope(other.try_call(
        "subscribe",
        json!({"cortexToken": token, "session": sid, "streams": ["dev"]}),
    ));
    assert_eq!(code(&r), -32007, "another app cannot use this session: {r}");
    let r = envelope(other.try_call("querySessions", json!({"cortexToken": token})));
    assert_eq!(r["result"], json!([]), "{r}");
}

#[test]
fn methods_epocd_does_not_have_answer_clearly() {
    let lab = Lab::new();
    for method in ["updateHeadset", "configMapping", "requestToDownloadRecordData"] {
        let r = lab.rpc(method, json!({}));
        assert_eq!(code(&r), -32601, "{method}: {r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not supported by epocd"),
            "{r}"
        );
    }
    let r = lab.rpc("noSuchMethod", json!({}));
    assert_eq!(code(&r), -32601, "{r}");
}

#[test]
fn every_method_in_the_table_is_a_distinct_cortex_method() {
    let mut names: Vec<&str> = cortex_service::METHODS.iter().map(|(n, _)| *n).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "a method listed twice");
    // What docs/cortex-api.md lists: every desktop Cortex method.
    for m in [
        "getCortexInfo",
        "getUserLogin",
        "requestAccess",
        "hasAccessRight",
        "authorize",
        "generateNewToken",
        "getUserInformation",
        "getLicenseInfo",
        "queryHeadsets",
        "controlDevice",
        "updateHeadset",
        "updateHeadsetCustomInfo",
        "syncWithHeadsetClock",
        "configMapping",
        "createSession",
        "updateSession",
        "querySessions",
        "subscribe",
        "unsubscribe",
        "createRecord",
        "stopRecord",
        "updateRecord",
        "deleteRecord",
        "queryRecords",
        "getRecordInfos",
        "configOptOut",
        "exportRecord",
        "requestToDownloadRecordData",
        "injectMarker",
        "updateMarker",
        "createSubject",
        "updateSubject",
        "deleteSubjects",
        "querySubjects",
        "getDemographicAttributes",
        "queryProfile",
        "getCurrentProfile",
        "setupProfile",
        "loadGuestProfile",
        "getDetectionInfo",
        "training",
        "getTrainedSignatureActions",
        "getTrainingTime",
        "facialExpressionSignatureType",
        "facialExpressionThreshold",
        "mentalCommandActiveAction",
        "mentalCommandBrainMap",
        "mentalCommandGetSkillRating",
        "mentalCommandTrainingThreshold",
        "mentalCommandActionSensitivity",
    ] {
        assert!(names.contains(&m), "{m} has no handler");
    }
}
