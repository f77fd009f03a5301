//! The shell's own preferences (the engine keeps its settings in its database): a small JSON
//! file in the data directory, written whole through a temporary file so a crash cannot
//! leave half of it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Prefs {
    /// Desktop notifications for fallbacks and cooldowns.
    pub notifications: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            notifications: true,
        }
    }
}

pub struct PrefsFile {
    path: PathBuf,
}

impl PrefsFile {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join("desktop.json"),
        }
    }

    /// The saved preferences; defaults when there are none or they cannot be read (said in
    /// the log, so a hand-edited mistake is findable).
    pub fn load(&self) -> Prefs {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %self.path.display(), "ignoring unreadable preferences: {e}");
                Prefs::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Prefs::default(),
            Err(e) => {
                tracing::warn!(path = %self.path.display(), "cannot read preferences: {e}");
                Prefs::default()
            }
        }
    }

    pub fn save(&self, prefs: &Prefs) -> std::io::Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(prefs).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_survive_a_restart_and_bad_files_fall_back_to_defaults() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = PrefsFile::new(dir.path());
        assert_eq!(file.load(), Prefs::default());
        file.save(&Prefs {
            notifications: false,
        })?;
        assert_eq!(
            PrefsFile::new(dir.path()).load(),
            Prefs {
                notifications: false
            }
        );
        std::fs::write(dir.path().join("desktop.json"), b"{not json")?;
        assert_eq!(file.load(), Prefs::default());
        Ok(())
    }
}
