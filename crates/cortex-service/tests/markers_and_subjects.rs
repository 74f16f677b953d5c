//! Markers and subjects in-process: injectMarker, updateMarker, createSubject, updateSubject,
//! querySubjects, deleteSubjects, getDemographicAttributes.

mod common;

use common::{Lab, code, now_ms};
use serde_json::json;

#[test]
fn markers_are_instances_until_updated_into_intervals_and_bad_ones_are_refused() {
    let lab = Lab::new();
    let (sid, rid) = lab.recording("markers");
    let t1 = now_ms();
    let r = lab.rpc(
        "injectMarker",
        json!({"session": sid, "time": t1, "value": 42, "label": "blink", "extras": {"trial": 1}}),
    );
    let m1 = r["result"]["marker"].clone();
    assert_eq!(m1["type"], "instance", "{r}");
    assert_eq!(m1["value"], 42);
    assert_eq!(m1["port"], "Software");
    assert_eq!(m1["extras"], json!({"trial": 1}));
    assert_eq!(m1["startDatetime"], m1["endDatetime"]);
    assert_eq!(r["result"]["recordId"], json!(rid));
    assert_eq!(r["result"]["sessionId"], json!(sid));
    let t2 = t1 + 500.0;
    let r = lab.rpc(
        "injectMarker",
        json!({"session": sid, "time": t2, "value": "go", "label": "stim", "port": "psychopy"}),
    );
    assert_eq!(r["result"]["marker"]["port"], "psychopy");
    let m2 = r["result"]["marker"]["uuid"]
        .as_str()
        .expect("marker id")
        .to_owned();
    let r = lab.rpc(
        "updateMarker",
        json!({"session": sid, "markerId": m2, "time": t2 + 400.0}),
    );
    assert_eq!(r["result"]["marker"]["type"], "interval", "{r}");
    assert_ne!(
        r["result"]["marker"]["startDatetime"],
        r["result"]["marker"]["endDatetime"]
    );
    for (method, params) in [
        (
            "injectMarker",
            json!({"session": sid, "time": t2, "value": -1, "label": "neg"}),
        ),
        (
            "injectMarker",
            json!({"session": sid, "time": "now", "value": 1, "label": "x"}),
        ),
        (
            "injectMarker",
            json!({"session": sid, "time": t2, "value": 1.5, "label": "x"}),
        ),
        (
            "injectMarker",
            json!({"session": sid, "time": t2, "value": 1, "label": "x", "extras": [1]}),
        ),
        (
            "updateMarker",
            json!({"session": sid, "markerId": m2, "time": t2 - 1000.0}),
        ),
        (
            "updateMarker",
            json!({"session": sid, "markerId": "nope", "time": t2}),
        ),
    ] {
        let r = lab.rpc(method, params.clone());
        assert!([-32602, -32122].contains(&code(&r)), "{method} {params}: {r}");
    }
    let r = lab.rpc(
        "injectMarker",
        json!({"session": "nope", "time": t2, "value": 1, "label": "x"}),
    );
    assert_eq!(code(&r), -32007, "{r}");
    let r = lab.rpc("getRecordInfos", json!({"recordIds": [rid]}));
    let markers = r["result"][0]["markers"].as_array().unwrap();
    assert_eq!(markers.len(), 2, "refused markers were not stored: {r}");
}

#[test]
fn subjects_are_checked_kept_counted_and_deleted() {
    let lab = Lab::new();
    let r = lab.rpc("getDemographicAttributes", json!({}));
    let attr = r["result"][0].clone();
    assert!(attr["name"].is_string() && attr["value"].is_array(), "{r}");
    let r = lab.rpc(
        "createSubject",
        json!({"subjectName": "ann", "sex": "F", "dateOfBirth": "1990-02-03",
               "countryCode": "FR", "attributes": [{"name": attr["name"], "value": attr["value"][0]}]}),
    );
    assert_eq!(r["result"]["subjectName"], "ann", "{r}");
    assert_eq!(r["result"]["experimentsCount"], 0);
    assert_eq!(r["result"]["countryCode"], "FR", "{r}");
    assert_eq!(r["result"]["countryName"], "France", "{r}");
    for (params, what) in [
        (json!({"subjectName": "ann"}), "duplicate"),
        (
            json!({"subjectName": "bob", "dateOfBirth": "03/02/1990"}),
            "bad date",
        ),
        (json!({"subjectName": "bob", "sex": "X"}), "bad sex"),
        (
            json!({"subjectName": "bob", "countryCode": "XZ"}),
            "unassigned country code",
        ),
        (
            json!({"subjectName": "bob", "countryCode": "fr"}),
            "lower-case country code",
        ),
        (json!({"subjectName": "a".repeat(31)}), "long name"),
        (
            json!({"subjectName": "bob", "attributes": [{"name": "Nope", "value": "x"}]}),
            "bad attribute",
        ),
    ] {
        let r = lab.rpc("createSubject", params);
        assert_eq!(code(&r), -32602, "{what}: {r}");
    }
    let r = lab.rpc("updateSubject", json!({"subjectName": "ann", "city": "Lyon"}));
    assert_eq!(r["result"]["city"], "Lyon");
    assert_eq!(r["result"]["sex"], "F", "update keeps what it was not given");
    let r = lab.rpc("updateSubject", json!({"subjectName": "nobody", "city": "Lyon"}));
    assert_eq!(code(&r), -32602, "{r}");

    let sid = lab.session("active");
    let r = lab.rpc(
        "createRecord",
        json!({"session": sid, "title": "t", "subjectName": "ann"}),
    );
    assert_eq!(r["result"]["record"]["subject"], "ann", "{r}");
    lab.rpc("createSubject", json!({"subjectName": "bea", "sex": "F"}));
    let r = lab.rpc(
        "querySubjects",
        json!({"query": {}, "orderBy": [{"subjectName": "DESC"}]}),
    );
    assert_eq!(r["result"]["count"], 2, "{r}");
    assert_eq!(r["result"]["subjects"][0]["subjectName"], "bea");
    assert_eq!(r["result"]["subjects"][1]["experimentsCount"], 1, "{r}");
    let r = lab.rpc(
        "querySubjects",
        json!({"query": {"keyword": "AN"}, "orderBy": []}),
    );
    assert_eq!(r["result"]["count"], 1, "{r}");
    let r = lab.rpc("querySubjects", json!({"query": {"shoe": "42"}, "orderBy": []}));
    assert_eq!(code(&r), -32602, "{r}");
    let r = lab.rpc("deleteSubjects", json!({"subjects": ["ann", "zed"]}));
    assert_eq!(r["result"]["success"][0]["subjectName"], "ann", "{r}");
    assert_eq!(r["result"]["failure"][0]["subjectName"], "zed");
}
