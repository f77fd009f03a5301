//! Where provider API keys and tokens live: the OS keychain when one answers, an owner-only
//! file otherwise, memory in tests. The database holds only references (`secret_ref`).
//!
//! Keychain calls can block (an unlock prompt, a hung D-Bus peer), so the async front
//! (`Secrets`) runs every call on the blocking pool with a timeout.

mod file;
mod keychain;
mod memory;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use file::FileStore;
pub use keychain::KeychainStore;
pub use memory::MemoryStore;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the {backend} did not answer within {seconds} s (is it locked?)")]
    Timeout { backend: &'static str, seconds: u64 },
    #[error("the {backend} failed: {message}")]
    Backend {
        backend: &'static str,
        message: String,
    },
}

/// A secret value whose `Debug` never shows it, so it cannot leak through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// A synchronous secret backend; `Secrets` moves its calls off the async runtime.
pub trait SecretStore: Send + Sync + 'static {
    fn kind(&self) -> BackendKind;
    fn get(&self, reference: &str) -> Result<Option<SecretString>, SecretError>;
    fn set(&self, reference: &str, value: &SecretString) -> Result<(), SecretError>;
    fn delete(&self, reference: &str) -> Result<(), SecretError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    Keychain,
    File,
    Memory,
}

impl BackendKind {
    pub fn describe(self) -> &'static str {
        match self {
            BackendKind::Keychain if cfg!(target_os = "macos") => "macOS Keychain",
            BackendKind::Keychain if cfg!(target_os = "windows") => "Windows Credential Manager",
            BackendKind::Keychain => "Secret Service (GNOME Keyring, KWallet)",
            BackendKind::File => "owner-only file in the data directory",
            BackendKind::Memory => "memory (not persisted)",
        }
    }
}

/// Which backend to use; `Auto` tries the keychain and falls back to the file store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    #[default]
    Auto,
    Keychain,
    File,
    Memory,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "keychain" => Ok(Self::Keychain),
            "file" => Ok(Self::File),
            "memory" => Ok(Self::Memory),
            other => Err(format!(
                "unknown secret backend '{other}' (auto, keychain, file, memory)"
            )),
        }
    }
}

const CALL_TIMEOUT: Duration = Duration::from_secs(5);
pub const KEYCHAIN_SERVICE: &str = "ninerouter";

/// The async face of the chosen backend.
#[derive(Clone)]
pub struct Secrets {
    store: Arc<dyn SecretStore>,
}

impl Secrets {
    pub fn new(store: Arc<dyn SecretStore>) -> Self {
        Self { store }
    }

    pub fn memory() -> Self {
        Self::new(Arc::new(MemoryStore::default()))
    }

    /// Opens the backend `choice` asks for. `Auto` probes the keychain with a write, read and
    /// delete, and uses the file store in `data_dir` when that does not work.
    pub async fn open(
        choice: BackendChoice,
        data_dir: &Path,
        keychain_service: &str,
    ) -> Result<Self, SecretError> {
        let file = || Self::new(Arc::new(FileStore::new(data_dir.join("secrets.json"))));
        match choice {
            BackendChoice::Memory => Ok(Self::memory()),
            BackendChoice::File => Ok(file()),
            BackendChoice::Keychain => {
                let keychain = Self::new(Arc::new(KeychainStore::new(keychain_service)));
                keychain.probe().await?;
                Ok(keychain)
            }
            BackendChoice::Auto => {
                let keychain = Self::new(Arc::new(KeychainStore::new(keychain_service)));
                match keychain.probe().await {
                    Ok(()) => Ok(keychain),
                    Err(e) => {
                        tracing::warn!(
                            "no usable keychain ({e}); keeping secrets in an owner-only file"
                        );
                        Ok(file())
                    }
                }
            }
        }
    }

    pub fn kind(&self) -> BackendKind {
        self.store.kind()
    }

    async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn SecretStore) -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, SecretError> {
        let store = self.store.clone();
        let backend = store.kind().describe();
        let task = tokio::task::spawn_blocking(move || call(store.as_ref()));
        match tokio::time::timeout(CALL_TIMEOUT, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(SecretError::Backend {
                backend,
                message: format!("worker failed: {join}"),
            }),
            Err(_) => Err(SecretError::Timeout {
                backend,
                seconds: CALL_TIMEOUT.as_secs(),
            }),
        }
    }

    pub async fn get(&self, reference: &str) -> Result<Option<SecretString>, SecretError> {
        let reference = reference.to_owned();
        self.run(move |s| s.get(&reference)).await
    }

    pub async fn set(&self, reference: &str, value: SecretString) -> Result<(), SecretError> {
        let reference = reference.to_owned();
        self.run(move |s| s.set(&reference, &value)).await
    }

    pub async fn delete(&self, reference: &str) -> Result<(), SecretError> {
        let reference = reference.to_owned();
        self.run(move |s| s.delete(&reference)).await
    }

    async fn probe(&self) -> Result<(), SecretError> {
        let reference = format!("probe-{}", std::process::id());
        let value = SecretString::new("probe");
        self.set(&reference, value.clone()).await?;
        let read = self.get(&reference).await?;
        self.delete(&reference).await?;
        if read.as_ref() == Some(&value) {
            Ok(())
        } else {
            Err(SecretError::Backend {
                backend: self.kind().describe(),
                message: "a value written could not be read back".into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_strings_never_print_their_value() {
        let s = SecretString::new("sk-very-secret");
        assert!(!format!("{s:?}").contains("very-secret"));
        assert_eq!(s.expose(), "sk-very-secret");
    }

    #[tokio::test]
    async fn memory_backend_round_trips() {
        let secrets = Secrets::memory();
        secrets.set("a", SecretString::new("1")).await.ok();
        assert_eq!(
            secrets.get("a").await.ok().flatten(),
            Some(SecretString::new("1"))
        );
        secrets.delete("a").await.ok();
        assert_eq!(secrets.get("a").await.ok().flatten(), None);
    }
}
