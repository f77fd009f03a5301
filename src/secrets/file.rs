//! Secrets in a JSON file readable only by its owner (0600), for machines without a keychain.
//! Writes go to a temporary file that is renamed over the old one, so a crash never leaves a
//! half-written file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use super::{BackendKind, SecretError, SecretStore, SecretString};

pub struct FileStore {
    path: PathBuf,
    lock: Mutex<()>,
}

fn fail(message: impl Into<String>) -> SecretError {
    SecretError::Backend {
        backend: BackendKind::File.describe(),
        message: message.into(),
    }
}

impl FileStore {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }

    /// Whether the file at `path` holds any secret (a probe's entry aside): an install that
    /// kept its secrets there before the store was remembered.
    pub fn holds_secrets(path: &std::path::Path) -> bool {
        Self::new(path.to_path_buf())
            .read()
            .is_ok_and(|m| m.keys().any(|k| !k.starts_with("probe-")))
    }

    fn read(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| fail(format!("{} is not valid JSON: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(fail(format!("cannot read {}: {e}", self.path.display()))),
        }
    }

    fn write(&self, values: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let dir = self
            .path
            .parent()
            .ok_or_else(|| fail("the secrets file has no parent directory"))?;
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(values).map_err(|e| fail(e.to_string()))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .map_err(|e| fail(format!("cannot write {}: {e}", tmp.display())))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| fail(format!("cannot write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| fail(format!("cannot replace {}: {e}", self.path.display())))
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SecretStore for FileStore {
    fn kind(&self) -> BackendKind {
        BackendKind::File
    }

    fn get(&self, reference: &str) -> Result<Option<SecretString>, SecretError> {
        let _g = self.guard();
        Ok(self.read()?.remove(reference).map(SecretString::new))
    }

    fn set(&self, reference: &str, value: &SecretString) -> Result<(), SecretError> {
        let _g = self.guard();
        let mut values = self.read()?;
        values.insert(reference.to_owned(), value.expose().to_owned());
        self.write(&values)
    }

    fn delete(&self, reference: &str) -> Result<(), SecretError> {
        let _g = self.guard();
        let mut values = self.read()?;
        if values.remove(reference).is_some() {
            self.write(&values)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_across_instances_with_owner_only_permissions()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("nested").join("secrets.json");
        FileStore::new(path.clone()).set("conn-1", &SecretString::new("sk-1"))?;
        let reopened = FileStore::new(path.clone());
        assert_eq!(reopened.get("conn-1")?, Some(SecretString::new("sk-1")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        reopened.delete("conn-1")?;
        assert_eq!(FileStore::new(path).get("conn-1")?, None);
        Ok(())
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_store() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, b"{not json")?;
        assert!(FileStore::new(path).get("x").is_err());
        Ok(())
    }
}
