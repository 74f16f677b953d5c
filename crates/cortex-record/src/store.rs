//! The metadata store: records, markers, subjects and settings in one SQLite file.
//!
//! Why SQLite: metadata changes are small transactions that must survive kill -9 and power
//! loss without ever leaving a half-written file; SQLite's journal gives exactly that, and
//! other processes (`epocd records`, `epocd export`) can read while the daemon writes (WAL).
//! Samples do not go here: they stream into block files (see [`crate::writer`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use epoc_protocol::{EegRate, Mode, Model, Resolution};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use crate::RecordError;
pub use crate::meta::{Marker, RecordMeta, RecordState, Subject};

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    uuid TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    tags TEXT NOT NULL,
    application_id TEXT NOT NULL,
    application_version TEXT NOT NULL,
    license_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    experiment_id INTEGER NOT NULL,
    subject_name TEXT NOT NULL,
    session_id TEXT NOT NULL,
    headset_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    model TEXT NOT NULL,
    bits INTEGER NOT NULL,
    eeg_rate INTEGER NOT NULL,
    start_time REAL NOT NULL,
    end_time REAL,
    state TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS markers (
    uuid TEXT PRIMARY KEY,
    record_id TEXT NOT NULL REFERENCES records(uuid) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    interval INTEGER NOT NULL,
    value TEXT NOT NULL,
    label TEXT NOT NULL,
    port TEXT NOT NULL,
    start_ms REAL NOT NULL,
    end_ms REAL NOT NULL,
    extras TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS markers_by_record ON markers(record_id, seq);
CREATE TABLE IF NOT EXISTS subjects (
    name TEXT PRIMARY KEY,
    date_of_birth TEXT NOT NULL,
    sex TEXT NOT NULL,
    country_code TEXT NOT NULL,
    state TEXT NOT NULL,
    city TEXT NOT NULL,
    attributes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// The open database. Not `Sync`: the daemon keeps it behind a mutex.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

pub(crate) fn mode_names(m: Mode) -> (&'static str, i64, i64) {
    (
        m.model.cortex_prefix(),
        i64::from(m.resolution.bits()),
        i64::from(m.eeg_rate.hz()),
    )
}

pub(crate) fn mode_from(model: &str, bits: i64, rate: i64) -> Mode {
    Mode {
        model: match model {
            "EPOC" => Model::Epoc,
            "EPOCX" => Model::EpocX,
            _ => Model::EpocPlus,
        },
        resolution: if bits == 14 {
            Resolution::Bits14
        } else {
            Resolution::Bits16
        },
        eeg_rate: if rate == 128 {
            EegRate::Hz128
        } else {
            EegRate::Hz256
        },
    }
}

const RECORD_COLUMNS: &str = "uuid, title, description, tags, application_id, application_version, license_id, \
     owner_id, experiment_id, subject_name, session_id, headset_id, serial, model, bits, eeg_rate, start_time, \
     end_time, state, note";
const MARKER_COLUMNS: &str = "uuid, record_id, seq, interval, value, label, port, start_ms, end_ms, extras";
const SUBJECT_COLUMNS: &str = "name, date_of_birth, sex, country_code, state, city, attributes";

fn record_from_row(r: &Row<'_>) -> rusqlite::Result<RecordMeta> {
    let tags: String = r.get(3)?;
    let model: String = r.get(13)?;
    let state: String = r.get(18)?;
    Ok(RecordMeta {
        uuid: r.get(0)?,
        title: r.get(1)?,
        description: r.get(2)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        application_id: r.get(4)?,
        application_version: r.get(5)?,
        license_id: r.get(6)?,
        owner_id: r.get(7)?,
        experiment_id: r.get(8)?,
        subject_name: r.get(9)?,
        session_id: r.get(10)?,
        headset_id: r.get(11)?,
        serial: r.get(12)?,
        mode: mode_from(&model, r.get(14)?, r.get(15)?),
        start: r.get(16)?,
        end: r.get(17)?,
        state: RecordState::parse(&state),
        note: r.get(19)?,
    })
}

fn marker_from_row(r: &Row<'_>) -> rusqlite::Result<Marker> {
    let value: String = r.get(4)?;
    let extras: String = r.get(9)?;
    Ok(Marker {
        uuid: r.get(0)?,
        record_id: r.get(1)?,
        seq: r.get(2)?,
        interval: r.get::<_, i64>(3)? != 0,
        value: serde_json::from_str(&value).unwrap_or(Value::Null),
        label: r.get(5)?,
        port: r.get(6)?,
        start_ms: r.get(7)?,
        end_ms: r.get(8)?,
        extras: serde_json::from_str(&extras).unwrap_or_else(|_| Value::Object(Default::default())),
    })
}

fn subject_from_row(r: &Row<'_>) -> rusqlite::Result<Subject> {
    let attributes: String = r.get(6)?;
    Ok(Subject {
        name: r.get(0)?,
        date_of_birth: r.get(1)?,
        sex: r.get(2)?,
        country_code: r.get(3)?,
        state: r.get(4)?,
        city: r.get(5)?,
        attributes: serde_json::from_str(&attributes).unwrap_or_else(|_| Value::Array(Vec::new())),
    })
}

impl Store {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, RecordError> {
        let conn = Connection::open(path).map_err(|source| RecordError::Database {
            path: path.to_path_buf(),
            source,
        })?;
        Store::init(conn, path.to_path_buf())
    }

    /// A database in memory (tests, and a daemon run without a data dir).
    pub fn open_in_memory() -> Result<Store, RecordError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| RecordError::Database {
            path: path.clone(),
            source,
        })?;
        Store::init(conn, path)
    }

    fn init(conn: Connection, path: PathBuf) -> Result<Store, RecordError> {
        let store = Store { conn, path };
        let _ = store.conn.busy_timeout(Duration::from_secs(5));
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| store.db(e))?;
        if version > SCHEMA_VERSION {
            return Err(RecordError::NewerSchema(store.path.clone(), version));
        }
        // WAL: readers (the CLI) never block the daemon; FULL: a committed change survives
        // power loss.
        let _: String = store
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| store.db(e))?;
        store
            .conn
            .execute_batch(&format!(
                "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION};"
            ))
            .map_err(|e| store.db(e))?;
        Ok(store)
    }

    fn db(&self, source: rusqlite::Error) -> RecordError {
        RecordError::Database {
            path: self.path.clone(),
            source,
        }
    }

    /// The one row `sql` selects, if any.
    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, RecordError> {
        self.conn
            .query_row(sql, params, map)
            .optional()
            .map_err(|e| self.db(e))
    }

    /// Every row `sql` selects, in its order.
    fn all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, RecordError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.db(e))?;
        let rows = stmt.query_map(params, map).map_err(|e| self.db(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.db(e))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    // ---- records ------------------------------------------------------------------

    /// Add a record (normally in state `Recording`).
    pub fn insert_record(&self, r: &RecordMeta) -> Result<(), RecordError> {
        let (model, bits, rate) = mode_names(r.mode);
        self.conn
            .execute(
                &format!("INSERT INTO records ({RECORD_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)"),
                params![
                    r.uuid,
                    r.title,
                    r.description,
                    Value::from(r.tags.clone()).to_string(),
                    r.application_id,
                    r.application_version,
                    r.license_id,
                    r.owner_id,
                    r.experiment_id,
                    r.subject_name,
                    r.session_id,
                    r.headset_id,
                    r.serial,
                    model,
                    bits,
                    rate,
                    r.start,
                    r.end,
                    r.state.name(),
                    r.note,
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// Close a record at `end` (epoch seconds).
    pub fn finish_record(
        &self,
        uuid: &str,
        end: f64,
        state: RecordState,
        note: &str,
    ) -> Result<(), RecordError> {
        self.conn
            .execute(
                "UPDATE records SET end_time = ?2, state = ?3, note = ?4 WHERE uuid = ?1",
                params![uuid, end, state.name(), note],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// Change title, description and/or tags.
    pub fn update_record(
        &self,
        uuid: &str,
        title: Option<&str>,
        description: Option<&str>,
        tags: Option<&[String]>,
    ) -> Result<(), RecordError> {
        let tags = tags.map(|t| Value::from(t.to_vec()).to_string());
        self.conn
            .execute(
                "UPDATE records SET title = COALESCE(?2, title), description = COALESCE(?3, description), \
                 tags = COALESCE(?4, tags) WHERE uuid = ?1",
                params![uuid, title, description, tags],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// Remove a record and its markers. False if there was none.
    pub fn delete_record(&self, uuid: &str) -> Result<bool, RecordError> {
        let n = self
            .conn
            .execute("DELETE FROM records WHERE uuid = ?1", params![uuid])
            .map_err(|e| self.db(e))?;
        Ok(n > 0)
    }

    /// One record.
    pub fn record(&self, uuid: &str) -> Result<Option<RecordMeta>, RecordError> {
        self.one(
            &format!("SELECT {RECORD_COLUMNS} FROM records WHERE uuid = ?1"),
            params![uuid],
            record_from_row,
        )
    }

    /// Every record, oldest first.
    pub fn records(&self) -> Result<Vec<RecordMeta>, RecordError> {
        self.all(
            &format!("SELECT {RECORD_COLUMNS} FROM records ORDER BY start_time, uuid"),
            [],
            record_from_row,
        )
    }

    // ---- markers ------------------------------------------------------------------

    /// Add a marker; its `seq` is assigned here (next in its record) and returned.
    pub fn insert_marker(&self, m: &Marker) -> Result<i64, RecordError> {
        let seq: i64 = self
            .conn
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM markers WHERE record_id = ?1",
                params![m.record_id],
                |r| r.get(0),
            )
            .map_err(|e| self.db(e))?;
        self.conn
            .execute(
                &format!("INSERT INTO markers ({MARKER_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"),
                params![
                    m.uuid,
                    m.record_id,
                    seq,
                    i64::from(m.interval),
                    m.value.to_string(),
                    m.label,
                    m.port,
                    m.start_ms,
                    m.end_ms,
                    m.extras.to_string(),
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(seq)
    }

    /// One marker.
    pub fn marker(&self, uuid: &str) -> Result<Option<Marker>, RecordError> {
        self.one(
            &format!("SELECT {MARKER_COLUMNS} FROM markers WHERE uuid = ?1"),
            params![uuid],
            marker_from_row,
        )
    }

    /// Make a marker an interval ending at `end_ms`, merging `extras` if given.
    pub fn end_marker(&self, uuid: &str, end_ms: f64, extras: Option<&Value>) -> Result<(), RecordError> {
        self.conn
            .execute(
                "UPDATE markers SET interval = 1, end_ms = ?2, extras = COALESCE(?3, extras) WHERE uuid = ?1",
                params![uuid, end_ms, extras.map(Value::to_string)],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// A record's markers, in the order they were injected.
    pub fn markers(&self, record_id: &str) -> Result<Vec<Marker>, RecordError> {
        self.all(
            &format!("SELECT {MARKER_COLUMNS} FROM markers WHERE record_id = ?1 ORDER BY seq"),
            params![record_id],
            marker_from_row,
        )
    }

    // ---- subjects -----------------------------------------------------------------

    /// Add a subject (`replace` false: fails if the name exists) or replace one (`replace`
    /// true: fails if it does not). Returns whether the operation applied.
    pub fn put_subject(&self, s: &Subject, replace: bool) -> Result<bool, RecordError> {
        let exists = self.subject(&s.name)?.is_some();
        if exists != replace {
            return Ok(false);
        }
        self.conn
            .execute(
                &format!("INSERT OR REPLACE INTO subjects ({SUBJECT_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7)"),
                params![
                    s.name,
                    s.date_of_birth,
                    s.sex,
                    s.country_code,
                    s.state,
                    s.city,
                    s.attributes.to_string()
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(true)
    }

    /// One subject.
    pub fn subject(&self, name: &str) -> Result<Option<Subject>, RecordError> {
        self.one(
            &format!("SELECT {SUBJECT_COLUMNS} FROM subjects WHERE name = ?1"),
            params![name],
            subject_from_row,
        )
    }

    /// Every subject, by name.
    pub fn subjects(&self) -> Result<Vec<Subject>, RecordError> {
        self.all(
            &format!("SELECT {SUBJECT_COLUMNS} FROM subjects ORDER BY name"),
            [],
            subject_from_row,
        )
    }

    /// Remove a subject. False if there was none.
    pub fn delete_subject(&self, name: &str) -> Result<bool, RecordError> {
        let n = self
            .conn
            .execute("DELETE FROM subjects WHERE name = ?1", params![name])
            .map_err(|e| self.db(e))?;
        Ok(n > 0)
    }

    /// How many records name this subject.
    pub fn records_of_subject(&self, name: &str) -> Result<i64, RecordError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM records WHERE subject_name = ?1",
                params![name],
                |r| r.get(0),
            )
            .map_err(|e| self.db(e))
    }

    // ---- settings -----------------------------------------------------------------

    /// A stored setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>, RecordError> {
        self.one("SELECT value FROM settings WHERE key = ?1", params![key], |r| {
            r.get(0)
        })
    }

    /// Store a setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), RecordError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn meta(uuid: &str) -> RecordMeta {
        RecordMeta {
            uuid: uuid.into(),
            title: "t".into(),
            description: String::new(),
            tags: vec!["a".into(), "b".into()],
            application_id: "app".into(),
            application_version: String::new(),
            license_id: "lic".into(),
            owner_id: "me".into(),
            experiment_id: 0,
            subject_name: String::new(),
            session_id: "s".into(),
            headset_id: "EPOCPLUS-1".into(),
            serial: "SN".into(),
            mode: Mode::EPOC_PLUS_128,
            start: 100.5,
            end: None,
            state: RecordState::Recording,
            note: String::new(),
        }
    }

    #[test]
    fn records_survive_reopening_and_keep_their_mode_and_tags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("epocd.sqlite");
        {
            let s = Store::open(&path).expect("open");
            s.insert_record(&meta("r1")).expect("insert");
            s.finish_record("r1", 200.25, RecordState::Stopped, "")
                .expect("finish");
        }
        let s = Store::open(&path).expect("reopen");
        let r = s.record("r1").expect("query").expect("present");
        assert_eq!(r.mode, Mode::EPOC_PLUS_128);
        assert_eq!(r.tags, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(r.end, Some(200.25));
        assert_eq!(r.state, RecordState::Stopped);
    }

    #[test]
    fn markers_are_numbered_per_record_and_go_with_their_record() {
        let s = Store::open_in_memory().expect("open");
        s.insert_record(&meta("r1")).expect("insert");
        let m = |uuid: &str| Marker {
            uuid: uuid.into(),
            record_id: "r1".into(),
            seq: 0,
            interval: false,
            value: Value::from(7),
            label: "x".into(),
            port: "Software".into(),
            start_ms: 1.0,
            end_ms: 1.0,
            extras: serde_json::json!({}),
        };
        assert_eq!(s.insert_marker(&m("m1")).expect("m1"), 1);
        assert_eq!(s.insert_marker(&m("m2")).expect("m2"), 2);
        s.end_marker("m1", 5.0, None).expect("end");
        let got = s.markers("r1").expect("markers");
        assert!(got[0].interval && got[0].end_ms == 5.0 && !got[1].interval);
        assert!(s.delete_record("r1").expect("delete"));
        assert!(s.markers("r1").expect("markers").is_empty());
    }

    #[test]
    fn subjects_are_unique_by_name() {
        let s = Store::open_in_memory().expect("open");
        let sub = Subject {
            name: "ann".into(),
            ..Subject::default()
        };
        assert!(s.put_subject(&sub, false).expect("create"));
        assert!(!s.put_subject(&sub, false).expect("create twice"));
        assert!(
            !s.put_subject(
                &Subject {
                    name: "bob".into(),
                    ..Subject::default()
                },
                true
            )
            .expect("update missing")
        );
        assert!(s.delete_subject("ann").expect("delete"));
        assert!(!s.delete_subject("ann").expect("delete twice"));
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("epocd.sqlite");
        Connection::open(&path)
            .and_then(|c| c.execute_batch("PRAGMA user_version = 99;"))
            .expect("prepare");
        let err = Store::open(&path).err().expect("refused");
        assert!(err.to_string().contains("newer epocd"), "{err}");
    }
}
