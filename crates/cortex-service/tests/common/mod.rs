//! In-process clients of the service: no socket, the same `Cortex::call` the transport uses.

#![allow(dead_code)] // each test binary uses part of this

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cortex_service::{ClientId, Cortex, ServiceError};
use cortex_stream::Outbox;
use serde_json::{Map, Value, json};

/// What a connection was sent outside replies (warnings, data frames), in order.
#[derive(Default)]
pub struct Inbox {
    frames: Mutex<Vec<String>>,
}

impl Outbox for Inbox {
    fn push_parts(&self, parts: &[&str]) -> bool {
        self.frames.lock().unwrap().push(parts.concat());
        true
    }
    fn push_warning(&self, frame: String) {
        self.frames.lock().unwrap().push(frame);
    }
    fn close(&self, last: String) {
        self.frames.lock().unwrap().push(last);
    }
}

impl Inbox {
    /// Every frame so far, parsed.
    pub fn frames(&self) -> Vec<Value> {
        self.frames
            .lock()
            .unwrap()
            .iter()
            .map(|f| serde_json::from_str(f).expect("frames are JSON"))
            .collect()
    }

    /// Wait (bounded) for a warning with `code`.
    pub fn wait_warning(&self, code: i64, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(w) = self
                .frames()
                .into_iter()
                .find(|f| f["warning"]["code"] == json!(code))
            {
                return Some(w);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// One client connection of the service.
pub struct Client {
    pub cortex: Arc<Cortex>,
    pub id: ClientId,
    pub inbox: Arc<Inbox>,
}

impl Client {
    pub fn connect(cortex: &Arc<Cortex>) -> Client {
        let inbox = Arc::new(Inbox::default());
        let id = cortex.register_client(Arc::clone(&inbox) as Arc<dyn Outbox>);
        Client {
            cortex: Arc::clone(cortex),
            id,
            inbox,
        }
    }

    /// Call a method; the reply's `after` frames go to the inbox and its `then` runs, as
    /// the transport does.
    pub fn try_call(&self, method: &str, params: Value) -> Result<Value, ServiceError> {
        let Value::Object(params) = params else {
            panic!("params must be an object")
        };
        let reply = self.cortex.call(self.id, method, &params)?;
        for f in reply.after {
            self.inbox.push_warning(f);
        }
        if let Some(then) = reply.then {
            then();
        }
        Ok(reply.result)
    }

    /// Call a method that must succeed.
    pub fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method} failed: {e} ({})", e.code()))
    }

    /// The Cortex code of a call that must fail.
    pub fn code(&self, method: &str, params: Value) -> i64 {
        match self.try_call(method, params) {
            Ok(v) => panic!("{method} should fail, got {v}"),
            Err(e) => e.code(),
        }
    }

    /// requestAccess + authorize for `app`: its token.
    pub fn authorize(&self, app: &str) -> String {
        let cred = json!({"clientId": app, "clientSecret": "s"});
        self.call("requestAccess", cred.clone());
        self.call("authorize", cred)["cortexToken"]
            .as_str()
            .expect("a token")
            .to_owned()
    }
}

pub fn empty() -> Map<String, Value> {
    Map::new()
}

/// The response envelope's content for `r`: `{"result": …}` or `{"error": {"code", "message"}}`,
/// so assertions read as they would on the wire.
pub fn envelope(r: Result<Value, ServiceError>) -> Value {
    match r {
        Ok(v) => json!({ "result": v }),
        Err(e) => json!({"error": {"code": e.code(), "message": e.to_string()}}),
    }
}

/// The error code of an envelope that must be an error.
pub fn code(v: &Value) -> i64 {
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error, got {v}"))
}

/// Milliseconds since the epoch (marker times).
pub fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// A service with a data dir, one connected virtual headset and an authorized app: what most
/// scenarios start from.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub cortex: Arc<Cortex>,
    pub client: Client,
    pub token: String,
    pub headset: String,
}

impl Lab {
    pub fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let cortex = Cortex::start(cortex_service::ServiceConfig {
            data_dir: Some(dir.path().to_path_buf()),
            ..cortex_service::ServiceConfig::default()
        })
        .unwrap();
        let headset = cortex
            .add_headset(cortex_service::HeadsetSpec::Virtual(1))
            .unwrap();
        let client = Client::connect(&cortex);
        let token = client.authorize("com.test.app");
        let lab = Lab {
            dir,
            cortex,
            client,
            token,
            headset,
        };
        lab.wait_connected();
        lab
    }

    fn wait_connected(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.client.call("queryHeadsets", json!({"id": self.headset}))[0]["status"]
            != json!("connected")
        {
            assert!(Instant::now() < deadline, "the virtual headset never connected");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Call `method` with `params` plus this lab's token, as an envelope.
    pub fn rpc(&self, method: &str, mut params: Value) -> Value {
        params["cortexToken"] = json!(self.token);
        envelope(self.client.try_call(method, params))
    }

    /// A session on the lab's headset (`open` or `active`).
    pub fn session(&self, status: &str) -> String {
        let r = self.rpc(
            "createSession",
            json!({"headset": self.headset, "status": status}),
        );
        r["result"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .to_owned()
    }

    /// An active session recording into a new record: (session, record id).
    pub fn recording(&self, title: &str) -> (String, String) {
        let sid = self.session("active");
        let r = self.rpc("createRecord", json!({"session": sid, "title": title}));
        let rid = r["result"]["record"]["uuid"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .to_owned();
        (sid, rid)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.cortex.shutdown();
    }
}
pub mod csv;
pub mod fs;
