//! Which apps may use the daemon, their secrets and their tokens. Persisted so that tokens
//! survive a restart (Cortex tokens are reusable for days).
//!
//! A `clientId` is not secret (other apps see it in markers and record objects), so an app is
//! its `clientId` **and** its `clientSecret`: the first grant binds the secret to the id, and
//! later calls must present the same secret. Only a PBKDF2-HMAC-SHA256 hash of it is stored (a
//! leaked `access.json` does not give the secret away); a secret checked once is remembered in
//! memory, so the slow hash runs once per app per daemon run.
//!
//! Why PBKDF2 and not a memory-hard hash: Argon2's multi-megabyte working block, freed after
//! each hash, raises glibc's dynamic mmap threshold, after which the connections' large
//! buffers stay in per-thread arenas (measured: 300 MB RSS at 16 clients instead of 17 MB).
//! App secrets are long random strings; iterations are what slows a guess down.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use pbkdf2::Pbkdf2;
use pbkdf2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

use crate::ServiceError;
use crate::time::unix_now;

/// PBKDF2 iterations of a stored secret hash (about 50 ms on a desktop core, once per app per
/// daemon run).
const SECRET_HASH_ROUNDS: u32 = 100_000;

/// Live tokens an app may hold; a new one beyond this replaces its oldest.
pub const MAX_TOKENS_PER_APP: usize = 64;

/// How long a token stays valid (Cortex: "reusable for 2 days").
pub const TOKEN_LIFETIME_SECS: f64 = 2.0 * 24.0 * 3600.0;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Persisted {
    granted: BTreeSet<String>,
    /// clientId → PBKDF2-HMAC-SHA256 hash (PHC string) of its secret. Absent in files of epocd 0.1.0:
    /// such an app's secret is bound at its next call.
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    tokens: BTreeMap<String, TokenInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenInfo {
    client_id: String,
    expires: f64,
}

/// Access rights and tokens, kept in `<data dir>/access.json` (mode 0600 by umask of the
/// service; the file holds bearer tokens).
#[derive(Debug)]
pub struct AccessStore {
    path: Option<PathBuf>,
    data: Persisted,
    /// Secrets already checked against their hash in this run (memory only).
    checked: HashMap<String, String>,
}

impl AccessStore {
    /// A store that lives only in memory (tests).
    pub fn in_memory() -> Self {
        AccessStore {
            path: None,
            data: Persisted::default(),
            checked: HashMap::new(),
        }
    }

    /// Load the store from `path`, or start empty if it does not exist. A corrupt file is an
    /// error (never silently discarded: it holds the user's grants).
    pub fn open(path: PathBuf) -> Result<Self, ServiceError> {
        let data = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                ServiceError::Internal(format!(
                    "{} is corrupt ({e}); move it away to start afresh",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Persisted::default(),
            Err(e) => {
                return Err(ServiceError::Internal(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let mut store = AccessStore {
            path: Some(path),
            data,
            checked: HashMap::new(),
        };
        let now = unix_now();
        store.data.tokens.retain(|_, t| t.expires > now);
        Ok(store)
    }

    fn save(&self) -> Result<(), ServiceError> {
        let Some(path) = &self.path else { return Ok(()) };
        let tmp = path.with_extension("json.tmp");
        let bytes =
            serde_json::to_vec_pretty(&self.data).map_err(|e| ServiceError::Internal(e.to_string()))?;
        write_private(&tmp, &bytes)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| ServiceError::Internal(format!("cannot write {}: {e}", path.display())))
    }

    /// Check `secret` against the one bound to `client_id`, or bind it if there is none yet
    /// (`bind`: the first grant, or an app granted before secrets were bound). A wrong secret
    /// is [`ServiceError::BadClient`].
    pub fn check_secret(&mut self, client_id: &str, secret: &str, bind: bool) -> Result<(), ServiceError> {
        if let Some(known) = self.checked.get(client_id) {
            return if same(known.as_bytes(), secret.as_bytes()) {
                Ok(())
            } else {
                Err(ServiceError::BadClient)
            };
        }
        match self.data.secrets.get(client_id) {
            Some(hash) => {
                let parsed = PasswordHash::new(hash).map_err(|e| {
                    ServiceError::Internal(format!("the stored secret of {client_id:?} is damaged: {e}"))
                })?;
                if Pbkdf2.verify_password(secret.as_bytes(), &parsed).is_err() {
                    return Err(ServiceError::BadClient);
                }
            }
            None if bind || self.data.granted.contains(client_id) => {
                let mut salt = [0u8; 16];
                getrandom::fill(&mut salt)
                    .map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
                let salt =
                    SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let params = pbkdf2::Params {
                    rounds: SECRET_HASH_ROUNDS,
                    output_length: 32,
                };
                let hash = Pbkdf2
                    .hash_password_customized(secret.as_bytes(), None, None, params, &salt)
                    .map_err(|e| ServiceError::Internal(format!("cannot hash the client secret: {e}")))?
                    .to_string();
                self.data.secrets.insert(client_id.to_owned(), hash);
                self.save()?;
            }
            None => return Ok(()), // not granted: the caller says so
        }
        self.checked.insert(client_id.to_owned(), secret.to_owned());
        Ok(())
    }

    /// Record that `client_id` may use the daemon.
    pub fn grant(&mut self, client_id: &str) -> Result<(), ServiceError> {
        if self.data.granted.insert(client_id.to_owned()) {
            self.save()?;
        }
        Ok(())
    }

    /// Whether `client_id` was granted access.
    pub fn is_granted(&self, client_id: &str) -> bool {
        self.data.granted.contains(client_id)
    }

    /// A new random token for `client_id`.
    pub fn issue(&mut self, client_id: &str) -> Result<String, ServiceError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // Keep the file small whatever apps do: expired tokens go, and an app keeps its
        // newest MAX_TOKENS_PER_APP (an app that authorizes in a loop loses its oldest).
        let now = unix_now();
        self.data.tokens.retain(|_, t| t.expires > now);
        let mut mine: Vec<(f64, String)> = self
            .data
            .tokens
            .iter()
            .filter(|(_, t)| t.client_id == client_id)
            .map(|(k, t)| (t.expires, k.clone()))
            .collect();
        if mine.len() >= MAX_TOKENS_PER_APP {
            mine.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (_, old) in &mine[..=mine.len() - MAX_TOKENS_PER_APP] {
                self.data.tokens.remove(old);
            }
        }
        self.data.tokens.insert(
            token.clone(),
            TokenInfo {
                client_id: client_id.to_owned(),
                expires: unix_now() + TOKEN_LIFETIME_SECS,
            },
        );
        self.save()?;
        Ok(token)
    }

    /// The app a token belongs to, if it is valid now.
    pub fn check(&self, token: &str) -> Result<String, ServiceError> {
        match self.data.tokens.get(token) {
            None => Err(ServiceError::InvalidToken),
            Some(t) if t.expires <= unix_now() => Err(ServiceError::TokenExpired),
            Some(t) => Ok(t.client_id.clone()),
        }
    }

    /// Make a token expire now (tests of expiry; revocation).
    pub fn expire(&mut self, token: &str) -> Result<(), ServiceError> {
        if let Some(t) = self.data.tokens.get_mut(token) {
            t.expires = 0.0;
        }
        self.save()
    }
}

/// Write a new file readable by its owner only (0600, whatever the umask: it holds bearer
/// tokens), durably: a stale temporary file is replaced, not reused with its old mode.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Equal bytes, compared in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_checked_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.json");
        let mut a = AccessStore::open(path.clone()).unwrap();
        a.grant("com.example.app").unwrap();
        let t1 = a.issue("com.example.app").unwrap();
        let t2 = a.issue("com.example.app").unwrap();
        assert_ne!(t1, t2);
        assert_eq!(t1.len(), 64);
        let b = AccessStore::open(path.clone()).unwrap();
        assert!(b.is_granted("com.example.app"));
        assert_eq!(b.check(&t1).unwrap(), "com.example.app");
        assert_eq!(b.check("nope"), Err(ServiceError::InvalidToken));
        let mut c = b;
        c.expire(&t2).unwrap();
        assert_eq!(c.check(&t2), Err(ServiceError::TokenExpired));
        std::fs::write(&path, b"{not json").unwrap();
        assert!(
            AccessStore::open(path).is_err(),
            "a corrupt store is an error, not a silent reset"
        );
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn a_secret_is_bound_at_the_first_grant_stored_only_as_a_hash_and_checked_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.json");
        let mut a = AccessStore::open(path.clone()).unwrap();
        a.check_secret("com.example.app", "the right secret", true)
            .unwrap();
        a.grant("com.example.app").unwrap();
        assert_eq!(
            a.check_secret("com.example.app", "the right secret", false),
            Ok(())
        );
        assert_eq!(
            a.check_secret("com.example.app", "wrong", false),
            Err(ServiceError::BadClient)
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("the right secret"),
            "the secret itself is never stored"
        );
        assert!(text.contains("$pbkdf2-sha256$i=100000,"), "{text}");
        let mut b = AccessStore::open(path).unwrap();
        assert_eq!(
            b.check_secret("com.example.app", "wrong", false),
            Err(ServiceError::BadClient)
        );
        assert_eq!(
            b.check_secret("com.example.app", "the right secret", false),
            Ok(())
        );
        assert_eq!(
            b.check_secret("com.example.app", "the right secret", false),
            Ok(()),
            "remembered"
        );
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }

    #[test]
    fn tokens_do_not_pile_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.json");
        let mut a = AccessStore::open(path.clone()).unwrap();
        a.grant("com.example.loop").unwrap();
        let first = a.issue("com.example.loop").unwrap();
        a.expire(&first).unwrap();
        let mut last = String::new();
        for _ in 0..300 {
            last = a.issue("com.example.loop").unwrap();
        }
        let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let tokens = stored["tokens"].as_object().unwrap();
        assert_eq!(
            tokens.len(),
            MAX_TOKENS_PER_APP,
            "at most {MAX_TOKENS_PER_APP} live tokens for the app"
        );
        assert!(!tokens.contains_key(&first), "the expired one is gone");
        assert_eq!(a.check(&last).unwrap(), "com.example.loop", "the newest works");
    }
}
