//! The service object: its state, the clients, the sessions, and how work that needs I/O
//! leaves the lock.
//!
//! Rule: `state` is held only for reading and changing memory. Anything that blocks (opening
//! a device, SQLite, creating or fsyncing files, joining threads) is done outside it: a
//! method takes what it needs under the lock (or reserves it), releases the lock, does the
//! I/O, and commits under the lock again. What closing sessions leaves to do (stopping
//! records, joining a headset's threads) is returned as an [`Aftermath`] and carried out by
//! [`Cortex::finish`] once the lock is released.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cortex_api::{Stream, codes, warning};
use cortex_stream::{Outbox, Pace};
use crossbeam_channel::{Sender, unbounded};
use epoc_driver::discovery::HotplugWatcher;
use epoc_driver::{Acquisition, AcquisitionConfig, Cadence, HeadsetEvent, Wakeup};
use serde_json::{Value, json};

use crate::ServiceError;
use crate::grants::AccessStore;
use crate::headset::{Headset, Link};
use crate::record_book::{ActiveRecord, PendingStop, RecordBook};
use crate::time::iso_now;

/// A client connection, as the transport registered it.
pub type ClientId = u64;

/// How the service starts.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Where grants, tokens and records live; `None` keeps grants and tokens in memory only
    /// (and record methods say they need a data dir).
    pub data_dir: Option<PathBuf>,
    /// Watch for dongles plugged in and out.
    pub hotplug: bool,
    /// How long `controlDevice refresh` scans Bluetooth (0: no Bluetooth scan).
    pub ble_scan: Duration,
    /// Publish every headset to the Lab Streaming Layer.
    pub lsl: bool,
    /// LSL marker streams (by name) whose markers go into every record in progress.
    pub lsl_marker_streams: Vec<String>,
    /// Also publish band power to LSL (with `lsl`).
    pub lsl_band_power: bool,
    /// Upload stopped records to the lab's bucket (`[sync]`); None: records stay here.
    pub sync: Option<crate::sync::SyncSettings>,
    /// How late a sample may reach the apps and LSL: while anyone is subscribed the headsets
    /// are read in bursts this far apart (zero: each report as it arrives; more CPU).
    pub stream_interval: Duration,
}

/// The stream interval unless told otherwise: p99 latency stays under 5 ms, which a live
/// display cannot show, and several headsets cost a half to two thirds of the CPU of waking
/// for every report (docs/efficiency.md).
pub const DEFAULT_STREAM_INTERVAL: Duration = Duration::from_millis(4);

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            data_dir: None,
            hotplug: false,
            ble_scan: Duration::ZERO,
            lsl: false,
            lsl_marker_streams: Vec::new(),
            lsl_band_power: false,
            sync: None,
            stream_interval: DEFAULT_STREAM_INTERVAL,
        }
    }
}

/// A session's Cortex status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionStatus {
    Opened,
    Activated,
    Closed,
}

impl SessionStatus {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SessionStatus::Opened => "opened",
            SessionStatus::Activated => "activated",
            SessionStatus::Closed => "closed",
        }
    }
}

/// A session's record, if any.
pub(crate) enum Recording {
    /// Nothing in progress.
    Idle,
    /// createRecord reserved the session and is creating the record outside the lock.
    Starting,
    /// A record is being written.
    Active(ActiveRecord),
}

pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) client: ClientId,
    pub(crate) app_id: String,
    pub(crate) headset_id: String,
    pub(crate) status: SessionStatus,
    pub(crate) started: String,
    pub(crate) stopped: String,
    pub(crate) streams: Vec<Stream>,
    /// Records created in this session, oldest first.
    pub(crate) record_ids: Vec<String>,
    pub(crate) recording: Recording,
    /// Facial-expression settings its `fac` stream applies.
    pub(crate) facial: crate::detections::FacialSettings,
}

impl Session {
    /// The id of the record in progress.
    pub(crate) fn active_record(&self) -> Option<&ActiveRecord> {
        match &self.recording {
            Recording::Active(a) => Some(a),
            _ => None,
        }
    }
}

/// One connection: where its frames go, and what it has been told.
pub(crate) struct Client {
    pub(crate) outbox: Arc<dyn Outbox>,
    /// Apps this connection heard `hasAccessRight: false` for (see `access::request_access`).
    pub(crate) told_no_access: HashSet<String>,
}

pub(crate) struct State {
    pub(crate) headsets: Vec<Headset>,
    pub(crate) sessions: Vec<Session>,
    pub(crate) clients: HashMap<ClientId, Client>,
    next_client: ClientId,
}

impl State {
    pub(crate) fn outbox(&self, client: ClientId) -> Option<Arc<dyn Outbox>> {
        self.clients.get(&client).map(|c| Arc::clone(&c.outbox))
    }

    pub(crate) fn headset(&self, id: &str) -> Option<&Headset> {
        self.headsets.iter().find(|h| h.id == id)
    }

    pub(crate) fn headset_mut(&mut self, id: &str) -> Option<&mut Headset> {
        self.headsets.iter_mut().find(|h| h.id == id)
    }

    /// This app's open session `id`.
    pub(crate) fn own_session(&mut self, app: &str, id: &str) -> Result<&mut Session, ServiceError> {
        self.sessions
            .iter_mut()
            .find(|s| s.id == id && s.app_id == app)
            .ok_or_else(|| ServiceError::SessionNotFound(id.into()))
    }
}

/// Work that closing sessions or dropping headsets leaves for after the lock.
#[derive(Default)]
#[must_use = "an aftermath holds records to stop and threads to join: pass it to Cortex::finish"]
pub(crate) struct Aftermath {
    pub(crate) stops: Vec<PendingStop>,
    pub(crate) links: Vec<Link>,
}

impl Aftermath {
    pub(crate) fn merge(&mut self, other: Aftermath) {
        self.stops.extend(other.stops);
        self.links.extend(other.links);
    }
}

/// The license every app gets: epocd needs none.
pub const OPEN_LICENSE_ID: &str = "epocd-open-license";

/// The Cortex service: every method's logic over headsets, apps, sessions and records. The
/// transport registers clients, hands it requests (`Cortex::call`) and sends what it
/// returns; it never sees a socket.
pub struct Cortex {
    pub(crate) state: Mutex<State>,
    pub(crate) access: Mutex<AccessStore>,
    /// The record and subject store (`None` without a data dir); it has its own lock.
    pub(crate) book: Option<Arc<RecordBook>>,
    /// The profile files (`None` without a data dir); file I/O happens under this lock only.
    pub(crate) profiles: Option<Mutex<cortex_profile::ProfileStore>>,
    pub(crate) events: Sender<HeadsetEvent>,
    pub(crate) config: ServiceConfig,
    pub(crate) user: String,
    pub(crate) uid: String,
    pub(crate) started: String,
    hotplug: Mutex<Option<HotplugWatcher>>,
    pub(crate) pace: Arc<Pace>,
    /// The one thread that runs every headset's fan-out.
    fanout_pool: Arc<cortex_stream::FanoutPool>,
    /// Clients waiting for the refresh scan in flight (empty: none in flight).
    pub(crate) refresh_waiting: Mutex<Vec<ClientId>>,
    /// Wakes the refresh thread.
    pub(crate) refresh_wanted: Sender<()>,
    /// Inlets on the configured LSL marker streams.
    lsl_inlets: Mutex<Option<epoc_lsl::MarkerInlets>>,
}

impl Cortex {
    /// The record sync worker, when `[sync]` is configured.
    pub(crate) fn syncer(&self) -> Option<&crate::sync::Syncer> {
        self.book.as_ref().and_then(|b| b.syncer())
    }

    /// Send `frame` to every connection with a session of application `app`.
    pub(crate) fn send_to_app(&self, app: &str, frame: String) {
        let outboxes: Vec<Arc<dyn Outbox>> = {
            let st = lock(&self.state);
            let mut clients: Vec<ClientId> = st
                .sessions
                .iter()
                .filter(|s| s.app_id == app)
                .map(|s| s.client)
                .collect();
            clients.sort_unstable();
            clients.dedup();
            clients.into_iter().filter_map(|c| st.outbox(c)).collect()
        };
        for o in outboxes {
            o.push_warning(frame.clone());
        }
    }
}

/// Lock a mutex; a panic while holding it must not take the daemon down with it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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

/// Make `dir` (and missing parents) private to the daemon's user: new folders are created
/// 0700, and an existing one loses any access for others (a system unit may keep its group),
/// whatever the umask. The data dir holds bearer tokens, subjects' details and recordings.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o7777;
    if mode & 0o007 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & !0o007))?;
    }
    Ok(())
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), ServiceError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(drop)
        .map_err(|e| ServiceError::Internal(format!("cannot start thread {name}: {e}")))
}

impl Cortex {
    /// Start the service and its background threads (acquisition events, record watch,
    /// hot-plug).
    pub fn start(config: ServiceConfig) -> Result<Arc<Cortex>, ServiceError> {
        let pace = Arc::new(Pace::with_stream_interval(config.stream_interval));
        let fanout_pool = cortex_stream::FanoutPool::start("fanout")
            .map_err(|e| ServiceError::Internal(format!("cannot start the fan-out thread: {e}")))?;
        let access = match &config.data_dir {
            Some(dir) => {
                private_dir(dir)
                    .map_err(|e| ServiceError::Internal(format!("cannot create {}: {e}", dir.display())))?;
                AccessStore::open(dir.join("access.json"))?
            }
            None => AccessStore::in_memory(),
        };
        let book = match &config.data_dir {
            Some(dir) => Some(Arc::new(RecordBook::open(dir)?)),
            None => None,
        };
        let profiles = match &config.data_dir {
            Some(dir) => Some(Mutex::new(cortex_profile::ProfileStore::open(
                &dir.join("profiles"),
            )?)),
            None => None,
        };
        let (events, rx) = unbounded();
        let (refresh_wanted, refresh_rx) = unbounded();
        let (user, uid) = os_user();
        let cortex = Arc::new(Cortex {
            state: Mutex::new(State {
                headsets: Vec::new(),
                sessions: Vec::new(),
                clients: HashMap::new(),
                next_client: 1,
            }),
            access: Mutex::new(access),
            book,
            profiles,
            events,
            config,
            user,
            uid,
            started: iso_now(),
            hotplug: Mutex::new(None),
            pace,
            fanout_pool,
            refresh_waiting: Mutex::new(Vec::new()),
            refresh_wanted,
            lsl_inlets: Mutex::new(None),
        });
        let weak = Arc::downgrade(&cortex);
        spawn("cortex-events", move || crate::events::event_loop(weak, rx))?;
        let weak = Arc::downgrade(&cortex);
        spawn("cortex-records", move || crate::record_book::watch_loop(weak))?;
        let weak = Arc::downgrade(&cortex);
        spawn("cortex-refresh", move || {
            crate::events::refresh_loop(weak, refresh_rx)
        })?;
        if !cortex.config.lsl_marker_streams.is_empty() {
            let weak = Arc::downgrade(&cortex);
            let sink: epoc_lsl::MarkerSink = Box::new(move |text: &str, epoch_secs: f64| {
                if let Some(c) = weak.upgrade() {
                    c.lsl_marker(text, epoch_secs);
                }
            });
            let inlets = epoc_lsl::MarkerInlets::start(cortex.config.lsl_marker_streams.clone(), sink)
                .map_err(|e| ServiceError::Internal(format!("cannot listen for LSL markers: {e}")))?;
            *lock(&cortex.lsl_inlets) = Some(inlets);
        }
        if let (Some(settings), Some(book), Some(dir)) = (
            cortex.config.sync.clone(),
            cortex.book.as_ref(),
            cortex.config.data_dir.as_ref(),
        ) {
            let opted_out = crate::records::opted_out(book)?;
            let weak = Arc::downgrade(&cortex);
            let notify: crate::sync::Notify = Arc::new(move |app: &str, frame: String| {
                if let Some(c) = weak.upgrade() {
                    c.send_to_app(app, frame);
                }
            });
            let syncer = crate::sync::Syncer::start(settings, dir, Arc::clone(book), opted_out, notify)
                .map_err(|e| ServiceError::Internal(format!("cannot start record sync: {e}")))?;
            book.set_syncer(syncer);
        }
        if cortex.config.hotplug {
            let (tx, hot_rx) = unbounded();
            let watcher = HotplugWatcher::spawn(Duration::from_millis(500), tx)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            *lock(&cortex.hotplug) = Some(watcher);
            let weak = Arc::downgrade(&cortex);
            spawn("cortex-hotplug", move || {
                crate::events::hotplug_loop(weak, hot_rx)
            })?;
        }
        Ok(cortex)
    }

    /// Start acquisition and fan-out for an opened source (no lock held: this spawns threads).
    pub(crate) fn start_link(
        &self,
        source: Box<dyn epoc_driver::Source>,
        id: &str,
    ) -> Result<Link, ServiceError> {
        let config = AcquisitionConfig {
            wakeup: Wakeup::new(),
            cadence: Cadence::idling(epoc_driver::cadence::IDLE_INTERVAL),
            ..AcquisitionConfig::default()
        };
        let (wakeup, cadence) = (config.wakeup.clone(), config.cadence.clone());
        let acquisition = Acquisition::start(source, config, self.events.clone())
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let fanout = cortex_stream::Fanout::start_in(
            &self.fanout_pool,
            acquisition.ring(),
            &wakeup,
            &cadence,
            id,
            Arc::clone(&self.pace),
        );
        let lsl = if self.config.lsl {
            let meta = epoc_lsl::HeadsetMeta {
                headset_id: id.to_owned(),
                serial: acquisition.identity().serial.as_str().to_owned(),
                band_power: self.config.lsl_band_power,
            };
            Some(
                epoc_lsl::HeadsetOutlets::start(&acquisition.ring(), meta)
                    .map_err(|e| ServiceError::Internal(format!("cannot start the LSL outlets: {e}")))?,
            )
        } else {
            None
        };
        let lsl_demand = lsl.is_some().then(|| cadence.demand(self.pace.stream_interval()));
        Ok(Link {
            fanout,
            acquisition,
            lsl,
            lsl_demand,
        })
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
        st.clients.insert(
            id,
            Client {
                outbox,
                told_no_access: HashSet::new(),
            },
        );
        id
    }

    /// The connection closed: its sessions close with it.
    pub fn unregister_client(&self, client: ClientId) {
        let after = {
            let mut st = lock(&self.state);
            st.clients.remove(&client);
            close_sessions_where(&mut st, |s| s.client == client, None)
        };
        self.finish(after);
    }

    /// Close every session (with warnings) and stop every headset: orderly shutdown.
    pub fn shutdown(&self) {
        let after = {
            let mut st = lock(&self.state);
            let mut after = close_sessions_where(&mut st, |_| true, Some("epocd is shutting down"));
            after
                .links
                .extend(st.headsets.iter_mut().filter_map(|h| h.link.take()));
            after
        };
        self.finish(after);
        *lock(&self.hotplug) = None;
        *lock(&self.lsl_inlets) = None;
        if let Some(s) = self.syncer() {
            s.stop();
        }
    }

    /// Whether `client` has an open session (a connection with none may be closed when idle).
    pub fn has_sessions(&self, client: ClientId) -> bool {
        lock(&self.state).sessions.iter().any(|s| s.client == client)
    }

    /// Open sessions right now (for status lines and tests).
    pub fn open_sessions(&self) -> usize {
        lock(&self.state).sessions.len()
    }

    /// Carry out what closing sessions left (stopping records: writer join, fsync, SQLite),
    /// with no lock held.
    pub(crate) fn finish(&self, after: Aftermath) {
        for stop in after.stops {
            if let Some(book) = &self.book {
                book.stop(stop);
            }
        }
        drop(after.links); // joins the fan-out and acquisition threads
    }

    /// The app a token belongs to.
    pub fn app_of(&self, token: &str) -> Result<String, ServiceError> {
        lock(&self.access).check(token)
    }

    /// The record store, or the error that says how to get one.
    pub(crate) fn book(&self) -> Result<&Arc<RecordBook>, ServiceError> {
        let book = self.book.as_ref().ok_or_else(|| {
            ServiceError::Internal(
                "records and subjects need a data directory: start epocd serve with --data-dir".into(),
            )
        })?;
        match book.lost() {
            Some(why) => Err(ServiceError::Internal(why)),
            None => Ok(book),
        }
    }

    pub(crate) fn send_to(&self, client: ClientId, frame: String) {
        if let Some(o) = lock(&self.state).outbox(client) {
            o.push_warning(frame);
        }
    }

    pub(crate) fn broadcast(&self, frame: &str) {
        let outboxes: Vec<Arc<dyn Outbox>> = lock(&self.state)
            .clients
            .values()
            .map(|c| Arc::clone(&c.outbox))
            .collect();
        for o in outboxes {
            o.push_warning(frame.to_owned());
        }
    }
}

/// Close one session: remove its subscriptions, tell its client (warnings 0 and 1) when the
/// daemon closes it (`reason`), and return its final object and what is left to do.
pub(crate) fn close_session(st: &mut State, id: &str, reason: Option<&str>) -> Option<(Value, Aftermath)> {
    let pos = st.sessions.iter().position(|s| s.id == id)?;
    let mut s = st.sessions.remove(pos);
    if let Some(link) = st.headset(&s.headset_id).and_then(|h| h.link.as_ref()) {
        link.fanout.remove(&s.id);
    }
    let outbox = st.outbox(s.client);
    if let (Some(reason), Some(outbox)) = (reason, &outbox) {
        let streams: Vec<&str> = s.streams.iter().map(|x| x.name()).collect();
        outbox.push_warning(warning::frame(
            codes::warning::SUBSCRIPTIONS_CANCELLED,
            json!({"sessionId": s.id, "behavior": reason, "streams": streams}),
        ));
        outbox.push_warning(warning::frame(
            codes::warning::SESSION_CLOSED,
            json!({"sessionId": s.id, "behavior": reason}),
        ));
    }
    auto_unload_profile(st, &s, outbox.as_ref());
    let mut after = Aftermath::default();
    if let Recording::Active(active) = std::mem::replace(&mut s.recording, Recording::Idle) {
        after.stops.push(PendingStop {
            active,
            outbox,
            note: String::new(),
        });
    }
    tracing::info!(
        "session {} closed{}",
        s.id,
        reason.map_or_else(String::new, |r| format!(": {r}"))
    );
    s.status = SessionStatus::Closed;
    s.stopped = iso_now();
    s.streams.clear();
    Some((crate::sessions::session_object(st, &s), after))
}

/// When `closed` was its app's last session on its headset, unload the profile that app
/// loaded there (warning 15: training apps reload on their next session).
fn auto_unload_profile(st: &mut State, closed: &Session, outbox: Option<&Arc<dyn Outbox>>) {
    if st
        .sessions
        .iter()
        .any(|x| x.app_id == closed.app_id && x.headset_id == closed.headset_id)
    {
        return;
    }
    let Some(h) = st.headset_mut(&closed.headset_id) else {
        return;
    };
    if h.profile.as_ref().is_none_or(|p| p.app_id != closed.app_id) {
        return;
    }
    if let Some(p) = h.profile.take() {
        tracing::info!(
            "profile {:?} unloaded from {}: its app's last session closed",
            p.profile.name,
            h.id
        );
        if let Some(outbox) = outbox {
            outbox.push_warning(warning::frame(
                codes::warning::PROFILE_AUTO_UNLOADED,
                json!({"headsetId": h.id, "profile": p.profile.name}),
            ));
        }
    }
}

/// Close every session `which` picks (their ids first: closing changes the sessions).
pub(crate) fn close_sessions_where(
    st: &mut State,
    which: impl Fn(&Session) -> bool,
    reason: Option<&str>,
) -> Aftermath {
    let ids: Vec<String> = st
        .sessions
        .iter()
        .filter(|s| which(s))
        .map(|s| s.id.clone())
        .collect();
    let mut after = Aftermath::default();
    for id in ids {
        if let Some((_, a)) = close_session(st, &id, reason) {
            after.merge(a);
        }
    }
    after
}
