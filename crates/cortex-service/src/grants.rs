//! Which apps may use the daemon, and their tokens. Persisted so that tokens survive a
//! restart (Cortex tokens are reusable for days).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ServiceError;
use crate::time::unix_now;

/// How long a token stays valid (Cortex: "reusable for 2 days").
pub const TOKEN_LIFETIME_SECS: f64 = 2.0 * 24.0 * 3600.0;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Persisted {
    granted: BTreeSet<String>,
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
}

impl AccessStore {
    /// A store that lives only in memory (tests).
    pub fn in_memory() -> Self {
        AccessStore {
            path: None,
            data: Persisted::default(),
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
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| ServiceError::Internal(format!("cannot write {}: {e}", path.display())))
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
