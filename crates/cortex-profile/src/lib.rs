//! Training profiles on disk (docs/profiles.md): one JSON file per profile in a folder,
//! `<uuid>.json`, each written atomically.

use std::path::{Path, PathBuf};

use epoc_mental::TrainingSet;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The file format this build writes and reads. A newer file is refused, never rewritten.
pub const FORMAT: u32 = 1;
/// The longest profile name, in characters.
pub const MAX_NAME: usize = 64;
/// Mental-command actions a profile may have active at once (besides neutral).
pub const MAX_ACTIVE_ACTIONS: usize = 4;

/// Why a profile operation failed; each says what to do.
#[derive(Debug, Error)]
pub enum ProfileError {
    /// An empty, too long or unprintable name.
    #[error("invalid profile name {0:?}: use 1 to 64 printable characters")]
    InvalidName(String),
    /// No profile of that name.
    #[error("profile {0:?} does not exist (queryProfile, or `epocd profiles`, lists them)")]
    NotFound(String),
    /// create or rename to a name in use.
    #[error("a profile named {0:?} already exists: choose another name")]
    Exists(String),
    /// A file that does not parse as a profile (named, with the reason).
    #[error("profile file {path} is damaged ({reason}); move it away or restore it from a backup")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file written by a newer epocd.
    #[error("profile file {path} has format {found}, newer than this epocd ({FORMAT}): upgrade epocd")]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its format.
        found: u32,
    },
    /// The file system refused.
    #[error("profile storage {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ProfileError + '_ {
    move |source| ProfileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Mental-command settings and training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MentalCommand {
    /// Accepted training epochs per action.
    pub training: TrainingSet,
    /// Actions the classifier chooses among besides neutral (at most four).
    pub active_actions: Vec<String>,
    /// Sensitivity 1–10 of each active action, in `active_actions` order (Cortex's four values).
    pub sensitivity: [u8; MAX_ACTIVE_ACTIONS],
    /// Cross-validated accuracy after the last accepted epoch (0–1).
    pub last_training_score: Option<f64>,
}

impl Default for MentalCommand {
    fn default() -> Self {
        MentalCommand {
            training: TrainingSet::default(),
            active_actions: Vec::new(),
            sensitivity: [epoc_mental::DEFAULT_SENSITIVITY; MAX_ACTIVE_ACTIONS],
            last_training_score: None,
        }
    }
}

/// Facial-expression settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FacialExpression {
    /// `universal` (or `trained`, once trained).
    pub signature: String,
    /// Threshold (0–1000) per expression, for those set.
    pub thresholds: Vec<(String, u16)>,
    /// Accepted training epochs per expression.
    pub training: TrainingSet,
}

impl Default for FacialExpression {
    fn default() -> Self {
        FacialExpression {
            signature: "universal".into(),
            thresholds: Vec::new(),
            training: TrainingSet::default(),
        }
    }
}

/// One profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// [`FORMAT`] when written.
    pub format: u32,
    /// Stable id (the file name).
    pub uuid: String,
    /// The name apps use.
    pub name: String,
    /// RFC 3339 times.
    pub created: String,
    /// See `created`.
    pub modified: String,
    /// Mental commands.
    pub mental_command: MentalCommand,
    /// Facial expressions.
    pub facial_expression: FacialExpression,
}

impl Profile {
    /// A new, untrained profile.
    pub fn new(name: &str) -> Result<Profile, ProfileError> {
        check_name(name)?;
        let now = chrono::Utc::now().to_rfc3339();
        Ok(Profile {
            format: FORMAT,
            uuid: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            created: now.clone(),
            modified: now,
            mental_command: MentalCommand::default(),
            facial_expression: FacialExpression::default(),
        })
    }
}

/// A name apps may use: 1–64 characters, none of them control characters.
pub fn check_name(name: &str) -> Result<(), ProfileError> {
    let n = name.chars().count();
    if name.trim().is_empty() || n > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ProfileError::InvalidName(name.chars().take(80).collect()));
    }
    Ok(())
}

/// The profiles folder.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    dir: PathBuf,
}

/// What a listing found: profiles, and files that could not be read.
#[derive(Debug, Default)]
pub struct Listing {
    /// Readable profiles, by name.
    pub profiles: Vec<Profile>,
    /// Files that are not usable profiles, with the reason.
    pub problems: Vec<ProfileError>,
}

impl ProfileStore {
    /// The store in `dir` (created when missing).
    pub fn open(dir: &Path) -> Result<ProfileStore, ProfileError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        Ok(ProfileStore {
            dir: dir.to_path_buf(),
        })
    }

    /// Every profile file, read.
    pub fn list(&self) -> Result<Listing, ProfileError> {
        let mut out = Listing::default();
        for entry in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let path = entry.map_err(io(&self.dir))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match read(&path) {
                Ok(p) => out.profiles.push(p),
                Err(e) => out.problems.push(e),
            }
        }
        out.profiles.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The profile named `name`.
    pub fn get(&self, name: &str) -> Result<Profile, ProfileError> {
        self.list()?
            .profiles
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ProfileError::NotFound(name.to_owned()))
    }

    /// Create an empty profile named `name`.
    pub fn create(&self, name: &str) -> Result<Profile, ProfileError> {
        check_name(name)?;
        if self.list()?.profiles.iter().any(|p| p.name == name) {
            return Err(ProfileError::Exists(name.to_owned()));
        }
        let p = Profile::new(name)?;
        self.save(&p)?;
        Ok(p)
    }

    /// Write `profile` whole: a temporary file, fsync, rename over the old one, fsync the
    /// folder. A crash leaves the old file or the new one, never a mix.
    pub fn save(&self, profile: &Profile) -> Result<(), ProfileError> {
        use std::io::Write as _;
        let mut p = profile.clone();
        p.format = FORMAT;
        p.modified = chrono::Utc::now().to_rfc3339();
        let target = self.path_of(&p.uuid);
        let temp = self.dir.join(format!(".{}.json.partial", p.uuid));
        let text = serde_json::to_string_pretty(&p).map_err(|e| ProfileError::Damaged {
            path: target.clone(),
            reason: e.to_string(),
        })?;
        let result = (|| {
            let mut f = std::fs::File::create(&temp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&temp, &target)?;
            std::fs::File::open(&self.dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result.map_err(io(&target))
    }

    /// Rename `old` to `new`.
    pub fn rename(&self, old: &str, new: &str) -> Result<Profile, ProfileError> {
        check_name(new)?;
        let listing = self.list()?;
        if listing.profiles.iter().any(|p| p.name == new) {
            return Err(ProfileError::Exists(new.to_owned()));
        }
        let mut p = listing
            .profiles
            .into_iter()
            .find(|p| p.name == old)
            .ok_or_else(|| ProfileError::NotFound(old.to_owned()))?;
        p.name = new.to_owned();
        self.save(&p)?;
        Ok(p)
    }

    /// Delete the profile named `name`.
    pub fn delete(&self, name: &str) -> Result<(), ProfileError> {
        let p = self.get(name)?;
        let path = self.path_of(&p.uuid);
        std::fs::remove_file(&path).map_err(io(&path))
    }

    /// Copy the profile named `name` to `file` (to move a trained user to another machine).
    pub fn export(&self, name: &str, file: &Path) -> Result<(), ProfileError> {
        let p = self.get(name)?;
        let text = serde_json::to_string_pretty(&p).map_err(|e| ProfileError::Damaged {
            path: file.to_path_buf(),
            reason: e.to_string(),
        })?;
        std::fs::write(file, text).map_err(io(file))
    }

    /// Add the profile in `file` (exported by `export`), under `rename` if given. It gets a new
    /// uuid, so importing twice under two names keeps both.
    pub fn import(&self, file: &Path, rename: Option<&str>) -> Result<Profile, ProfileError> {
        let mut p = read(file)?;
        if let Some(name) = rename {
            check_name(name)?;
            p.name = name.to_owned();
        }
        if self.list()?.profiles.iter().any(|x| x.name == p.name) {
            return Err(ProfileError::Exists(p.name));
        }
        p.uuid = uuid::Uuid::new_v4().to_string();
        self.save(&p)?;
        Ok(p)
    }

    fn path_of(&self, uuid: &str) -> PathBuf {
        self.dir.join(format!("{uuid}.json"))
    }
}

/// Read one profile file, checking its format.
fn read(path: &Path) -> Result<Profile, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let damaged = |reason: String| ProfileError::Damaged {
        path: path.to_path_buf(),
        reason,
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
    let format = value
        .get("format")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if format > u64::from(FORMAT) {
        return Err(ProfileError::Newer {
            path: path.to_path_buf(),
            found: u32::try_from(format).unwrap_or(u32::MAX),
        });
    }
    let p: Profile = serde_json::from_value(value).map_err(|e| damaged(e.to_string()))?;
    check_name(&p.name).map_err(|e| damaged(e.to_string()))?;
    Ok(p)
}

#[cfg(test)]
mod tests;
