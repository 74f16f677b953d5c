//! The Cortex service: every method's logic, over headsets, apps and sessions. The RPC layer
//! parses parameters, calls these, and wraps results and errors in JSON-RPC envelopes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use epoc_driver::discovery::{HotplugEvent, HotplugWatcher};
use epoc_driver::{Acquisition, AcquisitionConfig, Connection, EventKind, HeadsetEvent, Wakeup, headset_id};
use epoc_protocol::{Model, Serial};
use serde_json::{Value, json};

mod order;
mod records;
mod subjects;

pub use records::{ExportParams, MarkerParams, NewRecord, RecordQuery};
pub use subjects::SubjectParams;

use crate::access::AccessStore;
use crate::fanout::{Fanout, Outbox};
use crate::headset::{Headset, HeadsetSpec, HeadsetStatus, Link};
use crate::pace::Pace;
use crate::streams::{Stream, unsupported_reason};
use crate::time::{iso_now, unix_now};
use crate::{SessionError, warning};

/// A client connection, as the RPC layer registered it.
pub type ClientId = u64;

/// How the service starts.
#[derive(Debug, Clone, Default)]
pub struct ServiceConfig {
    /// Where `access.json` lives; `None` keeps grants and tokens in memory only.
    pub data_dir: Option<PathBuf>,
    /// Watch for dongles plugged in and out.
    pub hotplug: bool,
    /// How long `controlDevice refresh` scans Bluetooth (0: no Bluetooth scan).
    pub ble_scan: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionStatus {
    Opened,
    Activated,
    Closed,
}

impl SessionStatus {
    fn name(self) -> &'static str {
        match self {
            SessionStatus::Opened => "opened",
            SessionStatus::Activated => "activated",
            SessionStatus::Closed => "closed",
        }
    }
}

struct Session {
    id: String,
    client: ClientId,
    app_id: String,
    headset_id: String,
    status: SessionStatus,
    started: String,
    stopped: String,
    streams: Vec<Stream>,
    /// Records created in this session, oldest first.
    record_ids: Vec<String>,
    /// The record in progress.
    recording: Option<records::ActiveRecord>,
}

struct State {
    headsets: Vec<Headset>,
    sessions: Vec<Session>,
    clients: HashMap<ClientId, Arc<dyn Outbox>>,
    next_client: ClientId,
    /// The record store (`None` without a data dir: record methods then say so).
    book: Option<records::RecordBook>,
}

/// The license every app gets: epocd needs none.
pub const OPEN_LICENSE_ID: &str = "epocd-open-license";

/// The service. Cheap methods under one mutex; no method blocks on I/O.
pub struct Cortex {
    state: Mutex<State>,
    access: Mutex<AccessStore>,
    events: Sender<HeadsetEvent>,
    config: ServiceConfig,
    user: String,
    uid: String,
    started: String,
    hotplug: Mutex<Option<HotplugWatcher>>,
    pace: Arc<Pace>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock must not take the daemon down with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn os_user() -> (String, String) {
    let name = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "epocd".into());
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "0".into());
    (name, uid)
}

impl Cortex {
    /// Start the service (and its event thread).
    pub fn start(config: ServiceConfig) -> Result<Arc<Cortex>, SessionError> {
        let access = match &config.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| SessionError::Internal(format!("cannot create {}: {e}", dir.display())))?;
                AccessStore::open(dir.join("access.json"))?
            }
            None => AccessStore::in_memory(),
        };
        let book = match &config.data_dir {
            Some(dir) => Some(records::RecordBook::open(dir)?),
            None => None,
        };
        let (events, rx) = unbounded();
        let (user, uid) = os_user();
        let cortex = Arc::new(Cortex {
            state: Mutex::new(State {
                headsets: Vec::new(),
                sessions: Vec::new(),
                clients: HashMap::new(),
                next_client: 1,
                book,
            }),
            access: Mutex::new(access),
            events,
            config,
            user,
            uid,
            started: iso_now(),
            hotplug: Mutex::new(None),
            pace: Arc::new(Pace::new()),
        });
        let weak = Arc::downgrade(&cortex);
        std::thread::Builder::new()
            .name("cortex-events".into())
            .spawn(move || event_loop(weak, rx))
            .map_err(|e| SessionError::Internal(e.to_string()))?;
        let weak = Arc::downgrade(&cortex);
        std::thread::Builder::new()
            .name("cortex-records".into())
            .spawn(move || records::watch_loop(weak))
            .map_err(|e| SessionError::Internal(e.to_string()))?;
        if cortex.config.hotplug {
            let (tx, hot_rx) = unbounded();
            let watcher = HotplugWatcher::spawn(Duration::from_millis(500), tx)
                .map_err(|e| SessionError::Internal(e.to_string()))?;
            *lock(&cortex.hotplug) = Some(watcher);
            let weak = Arc::downgrade(&cortex);
            std::thread::Builder::new()
                .name("cortex-hotplug".into())
                .spawn(move || hotplug_loop(weak, hot_rx))
                .map_err(|e| SessionError::Internal(e.to_string()))?;
        }
        Ok(cortex)
    }

    /// Add a headset and start streaming it. Returns its Cortex id.
    pub fn add_headset(&self, spec: HeadsetSpec) -> Result<String, SessionError> {
        let source = spec
            .open()
            .map_err(|e| SessionError::InvalidParams(e.to_string()))?;
        let identity = source.identity().clone();
        let model = identity.model_hint.unwrap_or(Model::EpocPlus);
        let id = headset_id(model, &identity.serial);
        let mut st = lock(&self.state);
        if st.headsets.iter().any(|h| h.id == id) {
            return Err(SessionError::InvalidParams(format!(
                "headset {id} is already added"
            )));
        }
        let link = self.start_link(source, &id)?;
        st.headsets.push(Headset {
            id: id.clone(),
            spec,
            connection: identity.connection,
            model,
            mode: None,
            custom_name: String::new(),
            headband_position: None,
            link: Some(link),
        });
        Ok(id)
    }

    fn start_link(&self, source: Box<dyn epoc_driver::Source>, id: &str) -> Result<Link, SessionError> {
        let config = AcquisitionConfig {
            wakeup: Wakeup::new(),
            ..AcquisitionConfig::default()
        };
        let wakeup = config.wakeup.clone();
        let acquisition = Acquisition::start(source, config, self.events.clone())
            .map_err(|e| SessionError::Internal(e.to_string()))?;
        let fanout = Fanout::start(acquisition.ring(), &wakeup, id, Arc::clone(&self.pace))
            .map_err(|e| SessionError::Internal(e.to_string()))?;
        Ok(Link { fanout, acquisition })
    }

    /// The delivery pace the server's writers and the fan-out threads share.
    pub fn pace(&self) -> Arc<Pace> {
        Arc::clone(&self.pace)
    }

    /// Register a client connection; frames for it go to `outbox`.
    pub fn register_client(&self, outbox: Arc<dyn Outbox>) -> ClientId {
        let mut st = lock(&self.state);
        let id = st.next_client;
        st.next_client += 1;
        st.clients.insert(id, outbox);
        id
    }

    /// The connection closed: its sessions close with it.
    pub fn unregister_client(&self, client: ClientId) {
        let mut st = lock(&self.state);
        st.clients.remove(&client);
        close_sessions_where(&mut st, |s| s.client == client, None);
    }

    /// Close every session (with warnings) and stop every headset: orderly shutdown.
    pub fn shutdown(&self) {
        let mut st = lock(&self.state);
        close_sessions_where(&mut st, |_| true, Some("epocd is shutting down"));
        for h in &mut st.headsets {
            h.link = None;
        }
        drop(st);
        *lock(&self.hotplug) = None;
    }

    /// Open sessions right now (for status lines and tests).
    pub fn open_sessions(&self) -> usize {
        lock(&self.state).sessions.len()
    }

    // ---- authentication -------------------------------------------------------------

    /// The app a token belongs to.
    pub fn app_of(&self, token: &str) -> Result<String, SessionError> {
        lock(&self.access).check(token)
    }

    /// `getCortexInfo`.
    pub fn cortex_info(&self) -> Value {
        json!({
            "buildDate": self.started,
            "buildNumber": concat!("epocd-", env!("CARGO_PKG_VERSION")),
            "version": env!("CARGO_PKG_VERSION"),
        })
    }

    /// `getUserLogin`: the OS user (epocd has no cloud account), every field present.
    pub fn user_login(&self) -> Value {
        json!([{
            "username": self.user,
            "currentOSUId": self.uid,
            "currentOSUsername": self.user,
            "loggedInOSUId": self.uid,
            "loggedInOSUsername": self.user,
            "lastLoginTime": self.started,
        }])
    }

    /// `requestAccess`: a local app (the RPC layer refuses foreign web origins) is granted.
    pub fn request_access(&self, client_id: &str) -> Result<Value, SessionError> {
        valid_client(client_id)?;
        lock(&self.access).grant(client_id)?;
        Ok(
            json!({"accessGranted": true, "message": "The user has granted access right to this application."}),
        )
    }

    /// `hasAccessRight`.
    pub fn has_access_right(&self, client_id: &str) -> Result<Value, SessionError> {
        valid_client(client_id)?;
        Ok(if lock(&self.access).is_granted(client_id) {
            json!({"accessGranted": true, "message": "The access right to the application has already been granted."})
        } else {
            json!({"accessGranted": false, "message": "The application has no access right yet: call requestAccess."})
        })
    }

    /// `authorize`: any license (including none) is accepted.
    pub fn authorize(&self, client_id: &str) -> Result<Value, SessionError> {
        valid_client(client_id)?;
        let mut access = lock(&self.access);
        if !access.is_granted(client_id) {
            return Err(SessionError::NoAccess);
        }
        Ok(json!({"cortexToken": access.issue(client_id)?}))
    }

    /// `generateNewToken`.
    pub fn generate_new_token(&self, token: &str, client_id: &str) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        if app != client_id {
            return Err(SessionError::InvalidParams(format!(
                "the token belongs to {app}, not to clientId {client_id}"
            )));
        }
        Ok(json!({"cortexToken": lock(&self.access).issue(client_id)?}))
    }

    /// `getUserInformation`.
    pub fn user_information(&self, token: &str) -> Result<Value, SessionError> {
        self.app_of(token)?;
        Ok(json!({"username": self.user, "emotivId": self.user, "firstName": "", "lastName": ""}))
    }

    /// `getLicenseInfo`: an open license with every scope, never expiring.
    pub fn license_info(&self, token: &str) -> Result<Value, SessionError> {
        self.app_of(token)?;
        Ok(json!({
            "isOnline": false,
            "license": {
                "licenseId": OPEN_LICENSE_ID,
                "licenseName": "epocd open licence (no licence needed)",
                "expired": false,
                "applications": [],
                "scopes": ["eeg", "pm", "bp", "mot", "dev", "eq"],
                "localQuota": 0,
                "seatCount": 0,
                "sessionCount": 0,
                "totalDebit": 0,
                "validFrom": "1970-01-01T00:00:00.000000+00:00",
                "validTo": "9999-12-31T23:59:59.000000+00:00",
            },
        }))
    }

    // ---- headsets -------------------------------------------------------------------

    /// `queryHeadsets`, optionally filtered by an id or a `MODEL-*` wildcard.
    pub fn query_headsets(&self, id: Option<&str>) -> Value {
        let st = lock(&self.state);
        Value::Array(
            st.headsets
                .iter()
                .filter(|h| id.is_none_or(|p| h.matches(p)))
                .map(Headset::to_json)
                .collect(),
        )
    }

    /// `controlDevice`. Returns the result and frames to send right after it (warning 104
    /// for a headset that is already connected, so clients waiting for it go on).
    pub fn control_device(
        self: &Arc<Self>,
        client: ClientId,
        command: &str,
        headset: Option<&str>,
    ) -> Result<(Value, Vec<String>), SessionError> {
        match command {
            "refresh" => {
                let weak = Arc::downgrade(self);
                std::thread::Builder::new()
                    .name("cortex-refresh".into())
                    .spawn(move || refresh(weak, client))
                    .map_err(|e| SessionError::Internal(e.to_string()))?;
                Ok((
                    json!({"command": "refresh", "message": "Refreshing the headset list."}),
                    Vec::new(),
                ))
            }
            "connect" => {
                let id = headset.ok_or_else(|| {
                    SessionError::InvalidParams("connect needs the headset parameter".into())
                })?;
                let mut st = lock(&self.state);
                let h = st
                    .headsets
                    .iter_mut()
                    .find(|h| h.id == id)
                    .ok_or_else(|| SessionError::HeadsetNotFound(id.into()))?;
                let mut after = Vec::new();
                match h.status() {
                    HeadsetStatus::Connected => after.push(warning::frame(
                        warning::HEADSET_CONNECTED,
                        json!({"headsetId": id, "behavior": "Headset is connected."}),
                    )),
                    HeadsetStatus::Connecting => {}
                    HeadsetStatus::Discovered => {
                        let source = h
                            .spec
                            .open()
                            .map_err(|e| SessionError::HeadsetNotConnected(format!("{id} ({e})")))?;
                        let link = self.start_link(source, id)?;
                        if let Some(h) = find_headset_mut(&mut st.headsets, id) {
                            h.link = Some(link);
                        }
                    }
                }
                Ok((
                    json!({"command": "connect", "message": "Start connecting to device"}),
                    after,
                ))
            }
            "disconnect" => {
                let id = headset.ok_or_else(|| {
                    SessionError::InvalidParams("disconnect needs the headset parameter".into())
                })?;
                let mut st = lock(&self.state);
                if !st.headsets.iter().any(|h| h.id == id) {
                    return Err(SessionError::HeadsetNotFound(id.into()));
                }
                close_headset_sessions(&mut st, id, "The headset was disconnected by controlDevice.");
                if let Some(h) = find_headset_mut(&mut st.headsets, id) {
                    h.link = None;
                }
                Ok((
                    json!({"command": "disconnect", "message": "Disconnected the headset."}),
                    Vec::new(),
                ))
            }
            other => Err(SessionError::InvalidStatus(format!(
                "{other} (command must be connect, disconnect or refresh)"
            ))),
        }
    }

    /// `updateHeadsetCustomInfo`.
    pub fn update_headset_custom_info(
        &self,
        token: &str,
        headset: &str,
        position: Option<&str>,
        name: Option<&str>,
    ) -> Result<Value, SessionError> {
        self.app_of(token)?;
        if let Some(p) = position
            && p != "back"
            && p != "top"
        {
            return Err(SessionError::InvalidParams(format!(
                "headbandPosition {p:?}: must be \"back\" or \"top\""
            )));
        }
        let mut st = lock(&self.state);
        let h = find_headset_mut(&mut st.headsets, headset)
            .ok_or_else(|| SessionError::HeadsetNotFound(headset.into()))?;
        if let Some(p) = position {
            h.headband_position = Some(p.to_owned());
        }
        if let Some(n) = name {
            h.custom_name = n.to_owned();
        }
        Ok(json!({
            "customName": h.custom_name,
            "headbandPosition": h.headband_position,
            "headsetId": h.id,
            "message": "Update headset customized information successfully.",
        }))
    }

    /// `syncWithHeadsetClock`: the headset clock is epoch seconds (sample `time`), so the
    /// adjustment maps the client's monotonic clock onto it.
    pub fn sync_with_headset_clock(
        &self,
        headset: &str,
        monotonic: f64,
        system: f64,
    ) -> Result<Value, SessionError> {
        let st = lock(&self.state);
        if !st.headsets.iter().any(|h| h.id == headset) {
            return Err(SessionError::HeadsetNotFound(headset.into()));
        }
        // The client's systemTime and our clock are both epoch seconds: correct for any
        // difference between them too.
        let skew = unix_now() - system;
        Ok(json!({"headset": headset, "adjustment": system - monotonic + skew}))
    }

    // ---- sessions -------------------------------------------------------------------

    fn session_json(st: &State, s: &Session) -> Value {
        let headset = st
            .headsets
            .iter()
            .find(|h| h.id == s.headset_id)
            .map_or(Value::Null, Headset::to_json);
        json!({
            "id": s.id,
            "status": s.status.name(),
            "owner": "",
            "license": if s.status == SessionStatus::Activated { OPEN_LICENSE_ID } else { "" },
            "appId": s.app_id,
            "started": s.started,
            "stopped": s.stopped,
            "streams": s.streams.iter().map(|x| x.name()).collect::<Vec<_>>(),
            "recordIds": s.record_ids,
            "recording": s.recording.is_some(),
            "headset": headset,
        })
    }

    /// `createSession`.
    pub fn create_session(
        &self,
        client: ClientId,
        token: &str,
        headset: Option<&str>,
        status: &str,
    ) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let status = match status {
            "open" => SessionStatus::Opened,
            "active" => SessionStatus::Activated,
            other => {
                return Err(SessionError::InvalidStatus(format!(
                    "{other} (status must be open or active)"
                )));
            }
        };
        let mut st = lock(&self.state);
        let h = match headset {
            Some(id) => st
                .headsets
                .iter()
                .find(|h| h.id == id)
                .ok_or_else(|| SessionError::HeadsetNotFound(id.into()))?,
            None => st
                .headsets
                .iter()
                .find(|h| h.status() == HeadsetStatus::Connected)
                .ok_or_else(|| SessionError::HeadsetNotConnected("(none connected)".into()))?,
        };
        if h.status() != HeadsetStatus::Connected {
            return Err(SessionError::HeadsetNotConnected(h.id.clone()));
        }
        let headset_id = h.id.clone();
        if let Some(s) = st
            .sessions
            .iter()
            .find(|s| s.app_id == app && s.headset_id == headset_id)
        {
            return Err(SessionError::SessionExists(headset_id, s.id.clone()));
        }
        let session = Session {
            id: uuid::Uuid::new_v4().to_string(),
            client,
            app_id: app,
            headset_id,
            status,
            started: iso_now(),
            stopped: String::new(),
            streams: Vec::new(),
            record_ids: Vec::new(),
            recording: None,
        };
        let json = Self::session_json(&st, &session);
        st.sessions.push(session);
        Ok(json)
    }

    fn own_session<'a>(st: &'a mut State, app: &str, id: &str) -> Result<&'a mut Session, SessionError> {
        st.sessions
            .iter_mut()
            .find(|s| s.id == id && s.app_id == app)
            .ok_or_else(|| SessionError::SessionNotFound(id.into()))
    }

    /// `updateSession`.
    pub fn update_session(&self, token: &str, session: &str, status: &str) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let mut st = lock(&self.state);
        Self::own_session(&mut st, &app, session)?;
        match status {
            "active" => {
                let s = Self::own_session(&mut st, &app, session)?;
                s.status = SessionStatus::Activated;
                let s = st
                    .sessions
                    .iter()
                    .find(|s| s.id == session)
                    .ok_or_else(|| SessionError::SessionNotFound(session.into()))?;
                Ok(Self::session_json(&st, s))
            }
            "close" => {
                let closed = close_session(&mut st, session, None);
                closed.ok_or_else(|| SessionError::SessionNotFound(session.into()))
            }
            other => Err(SessionError::InvalidStatus(format!(
                "{other} (status must be active or close)"
            ))),
        }
    }

    /// `querySessions`: this app's open sessions.
    pub fn query_sessions(&self, token: &str) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let st = lock(&self.state);
        Ok(Value::Array(
            st.sessions
                .iter()
                .filter(|s| s.app_id == app)
                .map(|s| Self::session_json(&st, s))
                .collect(),
        ))
    }

    /// `subscribe`: partial success is a normal result with `success` and `failure`.
    pub fn subscribe(
        &self,
        client: ClientId,
        token: &str,
        session: &str,
        streams: &[String],
    ) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let mut st = lock(&self.state);
        let s = Self::own_session(&mut st, &app, session)?;
        let (activated, headset_id) = (s.status == SessionStatus::Activated, s.headset_id.clone());
        let mut have: Vec<Stream> = s.streams.clone();
        let mut success = Vec::new();
        let mut failure = Vec::new();
        let mode = st
            .headsets
            .iter()
            .find(|h| h.id == headset_id)
            .map(Headset::effective_mode);
        let mut bits = 0u8;
        for name in streams {
            let fail = |msg: String| json!({"streamName": name, "code": -32016, "message": msg});
            match Stream::parse(name) {
                None => failure.push(fail(unsupported_reason(name))),
                Some(Stream::Eeg) if !activated => failure.push(fail(
                    "the eeg stream needs an activated session: createSession or updateSession with status \"active\""
                        .into(),
                )),
                Some(x) if have.contains(&x) => failure.push(fail(format!("the {name} stream is already subscribed"))),
                Some(x) => {
                    let Some(mode) = mode else {
                        failure.push(fail("the session's headset is gone".into()));
                        continue;
                    };
                    have.push(x);
                    bits |= x.bit();
                    success.push(json!({"streamName": name, "cols": x.cols(mode), "sid": session}));
                }
            }
        }
        if bits != 0 {
            let outbox = st
                .clients
                .get(&client)
                .cloned()
                .ok_or_else(|| SessionError::Internal("client gone".into()))?;
            if let Some(link) = st
                .headsets
                .iter()
                .find(|h| h.id == headset_id)
                .and_then(|h| h.link.as_ref())
            {
                link.fanout.subscribe(session, bits, outbox);
            }
        }
        if let Some(s) = st.sessions.iter_mut().find(|s| s.id == session) {
            s.streams = have;
        }
        Ok(json!({"success": success, "failure": failure}))
    }

    /// `unsubscribe`.
    pub fn unsubscribe(&self, token: &str, session: &str, streams: &[String]) -> Result<Value, SessionError> {
        let app = self.app_of(token)?;
        let mut st = lock(&self.state);
        let s = Self::own_session(&mut st, &app, session)?;
        let mut success = Vec::new();
        let mut failure = Vec::new();
        let mut bits = 0u8;
        for name in streams {
            match Stream::parse(name).filter(|x| s.streams.contains(x)) {
                Some(x) => {
                    s.streams.retain(|y| *y != x);
                    bits |= x.bit();
                    success.push(json!({"streamName": name, "message": "Unsubscribe successfully"}));
                }
                None => failure.push(json!({"streamName": name, "code": -32016, "message": format!("the {name} stream is not subscribed")})),
            }
        }
        let headset_id = s.headset_id.clone();
        if let Some(link) = st
            .headsets
            .iter()
            .find(|h| h.id == headset_id)
            .and_then(|h| h.link.as_ref())
        {
            link.fanout.unsubscribe(session, bits);
        }
        Ok(json!({"success": success, "failure": failure}))
    }

    fn send_to(&self, client: ClientId, frame: String) {
        if let Some(o) = lock(&self.state).clients.get(&client) {
            o.push(frame);
        }
    }

    fn broadcast(&self, frame: &str) {
        for o in lock(&self.state).clients.values() {
            o.push(frame.to_owned());
        }
    }
}

fn valid_client(client_id: &str) -> Result<(), SessionError> {
    if client_id.trim().is_empty() {
        Err(SessionError::BadClient)
    } else {
        Ok(())
    }
}

fn find_headset_mut<'a>(headsets: &'a mut [Headset], id: &str) -> Option<&'a mut Headset> {
    headsets.iter_mut().find(|h| h.id == id)
}

/// Close one session: remove its subscriptions, tell its client (warnings 0 and 1) when the
/// daemon closes it (`reason`), and return its final object.
fn close_session(st: &mut State, id: &str, reason: Option<&str>) -> Option<Value> {
    let pos = st.sessions.iter().position(|s| s.id == id)?;
    let mut s = st.sessions.remove(pos);
    if let Some(link) = st
        .headsets
        .iter()
        .find(|h| h.id == s.headset_id)
        .and_then(|h| h.link.as_ref())
    {
        link.fanout.remove(&s.id);
    }
    if let (Some(reason), Some(outbox)) = (reason, st.clients.get(&s.client)) {
        let streams: Vec<&str> = s.streams.iter().map(|x| x.name()).collect();
        outbox.push(warning::frame(
            warning::SUBSCRIPTIONS_CANCELLED,
            json!({"sessionId": s.id, "behavior": reason, "streams": streams}),
        ));
        outbox.push(warning::frame(
            warning::SESSION_CLOSED,
            json!({"sessionId": s.id, "behavior": reason}),
        ));
    }
    if let Some(active) = s.recording.take() {
        records::stop_record(st, active, s.client, "");
    }
    tracing::info!(
        "session {} closed{}",
        s.id,
        reason.map_or_else(String::new, |r| format!(": {r}"))
    );
    s.status = SessionStatus::Closed;
    s.stopped = iso_now();
    s.streams.clear();
    Some(Cortex::session_json(st, &s))
}

fn close_headset_sessions(st: &mut State, headset: &str, reason: &str) {
    close_sessions_where(st, |s| s.headset_id == headset, Some(reason));
}

/// Close every session `which` picks (their ids first: closing changes the sessions).
fn close_sessions_where(st: &mut State, which: impl Fn(&Session) -> bool, reason: Option<&str>) {
    let ids: Vec<String> = st
        .sessions
        .iter()
        .filter(|s| which(s))
        .map(|s| s.id.clone())
        .collect();
    for id in ids {
        close_session(st, &id, reason);
    }
}

/// Turn acquisition events into headset status changes and warnings.
fn event_loop(cortex: Weak<Cortex>, rx: Receiver<HeadsetEvent>) {
    while let Ok(ev) = rx.recv() {
        let Some(c) = cortex.upgrade() else { return };
        let serial = Serial::from_usb(&ev.serial).ok();
        let mut st = lock(&c.state);
        // Events name the headset by serial; the registry keys by id (the model prefix of a
        // dongle can change once its reports are decrypted).
        let Some(h) = st.headsets.iter_mut().find(|h| {
            h.link
                .as_ref()
                .is_some_and(|l| l.acquisition.identity().serial.as_str() == ev.serial)
        }) else {
            continue;
        };
        let id = h.id.clone();
        match ev.kind {
            EventKind::Connected { mode, .. } => {
                h.mode = Some(mode);
                if h.model != mode.model
                    && let Some(serial) = serial
                {
                    h.model = mode.model;
                    h.id = headset_id(mode.model, &serial);
                }
                let id = h.id.clone();
                drop(st);
                tracing::info!(
                    "headset {id} connected ({} {}-bit, {} Hz)",
                    mode.model.cortex_prefix(),
                    mode.resolution.bits(),
                    mode.eeg_rate.hz()
                );
                c.broadcast(&warning::frame(
                    warning::HEADSET_CONNECTED,
                    json!({"headsetId": id, "behavior": "Headset is connected."}),
                ));
            }
            EventKind::Disconnected { reason } => {
                tracing::warn!("headset {id} disconnected: {reason}");
                close_headset_sessions(&mut st, &id, &format!("The headset disconnected: {reason}"));
                drop(st);
                c.broadcast(&warning::frame(
                    warning::HEADSET_DISCONNECTED,
                    json!({"headsetId": id, "behavior": format!("Headset disconnected: {reason}")}),
                ));
            }
            EventKind::DetectionFailed { reason } => {
                tracing::warn!("headset {id}: {reason}");
                drop(st);
                c.broadcast(&warning::frame(101, json!({"headsetId": id, "behavior": reason})));
            }
            EventKind::Reconnected => {}
            EventKind::Ended { reason } => {
                let why = reason.unwrap_or_else(|| "stopped".into());
                close_headset_sessions(&mut st, &id, &format!("The headset is gone: {why}"));
            }
        }
    }
}

/// A refresh: look for new dongles and Bluetooth headsets, then warning 142.
fn refresh(cortex: Weak<Cortex>, client: ClientId) {
    let Some(c) = cortex.upgrade() else { return };
    let scan = (!c.config.ble_scan.is_zero()).then_some(c.config.ble_scan);
    drop(c);
    let found = epoc_driver::discovery::discover(scan);
    let Some(c) = cortex.upgrade() else { return };
    for f in found.headsets.iter().filter(|f| f.problem.is_none()) {
        let known = lock(&c.state).headsets.iter().any(|h| h.id == f.headset_id);
        if known {
            continue;
        }
        let spec = match (f.connection, &f.serial) {
            (Connection::Dongle, Some(serial)) => HeadsetSpec::Dongle {
                serial: serial.clone(),
            },
            (Connection::Bluetooth, _) => HeadsetSpec::Ble {
                address: f.location.clone(),
            },
            _ => continue,
        };
        let _ = c.add_headset(spec);
    }
    c.send_to(
        client,
        warning::frame(
            warning::SCAN_FINISHED,
            json!({"behavior": "Headset scanning finished."}),
        ),
    );
}

/// Dongles plugged in start streaming; dongles pulled out are gone (their sessions close).
fn hotplug_loop(cortex: Weak<Cortex>, rx: Receiver<HotplugEvent>) {
    while let Ok(ev) = rx.recv() {
        let Some(c) = cortex.upgrade() else { return };
        match ev {
            HotplugEvent::Added(d) => match (d.serial, d.problem) {
                (Some(serial), None) => {
                    tracing::info!("dongle {serial} plugged in");
                    if let Err(e) = c.add_headset(HeadsetSpec::Dongle { serial }) {
                        tracing::warn!("cannot use the dongle: {e}");
                    }
                }
                (serial, Some(problem)) => tracing::warn!(
                    "dongle {} plugged in but unusable: {problem}",
                    serial.unwrap_or_default()
                ),
                (None, None) => tracing::warn!("a dongle without a serial number was plugged in"),
            },
            HotplugEvent::Removed(d) => {
                let Some(serial) = d.serial else { continue };
                tracing::info!("dongle {serial} unplugged");
                let mut st = lock(&c.state);
                let ids: Vec<String> = st
                    .headsets
                    .iter()
                    .filter(|h| {
                        h.spec
                            == HeadsetSpec::Dongle {
                                serial: serial.clone(),
                            }
                    })
                    .map(|h| h.id.clone())
                    .collect();
                for id in ids {
                    close_headset_sessions(&mut st, &id, "The dongle was unplugged.");
                    st.headsets.retain(|h| h.id != id);
                }
            }
        }
    }
}
