//! Where provider API keys and tokens live: the OS keychain when one answers, an owner-only
//! file otherwise, memory in tests. The database holds only references (`secret_ref`), and
//! which store holds the secrets: the store chosen once is kept (a keychain that does not
//! answer at start is waited for, never swapped for the file), and secrets change store only
//! by an explicit move.
//!
//! Keychain calls can block (an unlock prompt, a hung D-Bus peer), so the async front
//! (`Secrets`) runs every call on the blocking pool with a timeout.

mod file;
mod keychain;
mod memory;
mod token;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use file::FileStore;
pub use keychain::KeychainStore;
pub use memory::MemoryStore;
pub use token::{random_token, same_token};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the {backend} did not answer within {seconds} s (is it locked?)")]
    Timeout { backend: &'static str, seconds: u64 },
    #[error("the {backend} failed: {message}")]
    Backend {
        backend: &'static str,
        message: String,
    },
    /// The remembered store did not answer at start; NineRouter keeps asking.
    #[error("waiting for the {backend} to answer (is it locked?)")]
    Waiting { backend: &'static str },
    /// A store over the network did not answer.
    #[error("the {backend} is out of reach")]
    Unreachable { backend: &'static str },
}

impl SecretError {
    /// The store did not answer (rather than answering that something is wrong).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::Waiting { .. } | Self::Unreachable { .. }
        )
    }
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
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum BackendKind {
    Keychain,
    File,
    Memory,
    /// Encrypted with the master key in a shared (PostgreSQL) store.
    Database,
}

impl BackendKind {
    /// How the database remembers it.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Keychain => "keychain",
            BackendKind::File => "file",
            BackendKind::Memory => "memory",
            BackendKind::Database => "database",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "keychain" => Some(Self::Keychain),
            "file" => Some(Self::File),
            "memory" => Some(Self::Memory),
            "database" => Some(Self::Database),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            BackendKind::Keychain if cfg!(target_os = "macos") => "macOS Keychain",
            BackendKind::Keychain if cfg!(target_os = "windows") => "Windows Credential Manager",
            BackendKind::Keychain => "Secret Service (GNOME Keyring, KWallet)",
            BackendKind::File => "owner-only file in the data directory",
            BackendKind::Memory => "memory (not persisted)",
            BackendKind::Database => "shared database, encrypted with the master key",
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
    state: Arc<RwLock<State>>,
    /// Where the other stores would be, for a move.
    places: Arc<Places>,
}

#[derive(Clone)]
struct State {
    store: Arc<dyn SecretStore>,
    /// The store did not answer yet: every call fails at once until a retry succeeds.
    waiting: bool,
}

#[derive(Default)]
struct Places {
    data_dir: PathBuf,
    keychain_service: String,
}

/// Secrets copied to another store, waiting to be adopted (see `Secrets::copy_to`).
pub struct Copied {
    target: Secrets,
    moved: Vec<String>,
}

impl Copied {
    pub fn count(&self) -> usize {
        self.moved.len()
    }
}

/// Where the secrets of an install are, as remembered in its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    pub kind: BackendKind,
    /// The store did not answer; it is waited for.
    pub waiting: bool,
}

impl Secrets {
    pub fn new(store: Arc<dyn SecretStore>) -> Self {
        Self::with_places(store, Places::default())
    }

    fn with_places(store: Arc<dyn SecretStore>, places: Places) -> Self {
        Self {
            state: Arc::new(RwLock::new(State {
                store,
                waiting: false,
            })),
            places: Arc::new(places),
        }
    }

    pub fn memory() -> Self {
        Self::new(Arc::new(MemoryStore::default()))
    }

    /// Opens the backend `choice` asks for. `remembered` is the store this install's secrets
    /// are in, if known: it is used whatever happens (a keychain that does not answer is
    /// waited for). With nothing remembered, `Auto` uses the file store when it already holds
    /// secrets (an install from before stores were remembered), else the keychain when a
    /// probe works, else the file store.
    pub async fn open(
        choice: BackendChoice,
        data_dir: &Path,
        keychain_service: &str,
        remembered: Option<BackendKind>,
    ) -> Self {
        let places = Places {
            data_dir: data_dir.to_path_buf(),
            keychain_service: keychain_service.to_owned(),
        };
        let kind = match (choice, remembered) {
            (BackendChoice::Memory, _) => BackendKind::Memory,
            (BackendChoice::File, _) => BackendKind::File,
            (BackendChoice::Keychain, _) => BackendKind::Keychain,
            (BackendChoice::Auto, Some(kind)) => kind,
            (BackendChoice::Auto, None) if FileStore::holds_secrets(&places.file_path()) => {
                BackendKind::File
            }
            (BackendChoice::Auto, None) => {
                let keychain = Self::new(places.store(BackendKind::Keychain));
                match keychain.probe().await {
                    Ok(()) => BackendKind::Keychain,
                    Err(e) => {
                        tracing::warn!(
                            "no usable keychain ({e}); keeping secrets in an owner-only file"
                        );
                        BackendKind::File
                    }
                }
            }
        };
        let secrets = Self::with_places(places.store(kind), places);
        if kind == BackendKind::Keychain
            && let Err(e) = secrets.probe().await
        {
            tracing::warn!("the keychain does not answer ({e}); waiting for it");
            secrets.write().waiting = true;
        }
        secrets
    }

    fn read(&self) -> State {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn kind(&self) -> BackendKind {
        self.read().store.kind()
    }

    /// Whether the store has not answered yet (see `retry`).
    pub fn is_waiting(&self) -> bool {
        self.read().waiting
    }

    /// Where the secrets are, and whether that store is still waited for.
    pub fn opened(&self) -> Opened {
        let state = self.read();
        Opened {
            kind: state.store.kind(),
            waiting: state.waiting,
        }
    }

    /// Asks a waited-for store again; `true` once it answers (and from then on).
    pub async fn retry(&self) -> bool {
        if !self.is_waiting() {
            return true;
        }
        match Self::new(self.read().store).probe().await {
            Ok(()) => {
                self.write().waiting = false;
                tracing::info!("the {} answers now", self.kind().describe());
                true
            }
            Err(e) => {
                tracing::debug!("still waiting for the keychain: {e}");
                false
            }
        }
    }

    /// The first half of a move: copies every secret named in `references` into the store
    /// of kind `to` and reads each back there. On any failure the copies made are removed and
    /// nothing else changes. `adopt` finishes the move once it is recorded.
    pub async fn copy_to(
        &self,
        to: BackendKind,
        references: &[String],
    ) -> Result<Copied, SecretError> {
        let from = self.read();
        if from.waiting {
            return Err(SecretError::Waiting {
                backend: from.store.kind().describe(),
            });
        }
        let target = Self::new(self.places.store(to));
        if from.store.kind() == to {
            return Ok(Copied {
                target,
                moved: Vec::new(),
            });
        }
        target.probe().await?;
        let mut moved = Vec::new();
        for reference in references {
            if let Err(e) = self.copy_one(&target, reference, &mut moved).await {
                for r in &moved {
                    if target.delete(r).await.is_err() {
                        tracing::warn!("a copied secret could not be removed after a failed move");
                    }
                }
                return Err(e);
            }
        }
        Ok(Copied { target, moved })
    }

    async fn copy_one(
        &self,
        target: &Secrets,
        reference: &str,
        moved: &mut Vec<String>,
    ) -> Result<(), SecretError> {
        let Some(value) = self.get(reference).await? else {
            return Ok(());
        };
        target.set(reference, value.clone()).await?;
        moved.push(reference.to_owned());
        if target.get(reference).await?.as_ref() != Some(&value) {
            return Err(SecretError::Backend {
                backend: target.kind().describe(),
                message: "a moved secret could not be read back".into(),
            });
        }
        Ok(())
    }

    /// The second half of a move: uses the store the secrets were copied to, and removes them
    /// from the old one.
    pub async fn adopt(&self, copied: Copied) {
        if copied.moved.is_empty() && copied.target.kind() == self.kind() {
            return;
        }
        let old = Self::new(std::mem::replace(
            &mut self.write().store,
            copied.target.read().store,
        ));
        for reference in &copied.moved {
            if old.delete(reference).await.is_err() {
                tracing::warn!("a moved secret could not be removed from the old store");
            }
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn SecretStore) -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, SecretError> {
        let State { store, waiting } = self.read();
        let backend = store.kind().describe();
        if waiting {
            return Err(SecretError::Waiting { backend });
        }
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

impl Places {
    fn file_path(&self) -> PathBuf {
        self.data_dir.join("secrets.json")
    }

    fn store(&self, kind: BackendKind) -> Arc<dyn SecretStore> {
        match kind {
            BackendKind::Keychain => Arc::new(KeychainStore::new(&self.keychain_service)),
            BackendKind::File => Arc::new(FileStore::new(self.file_path())),
            // A shared store's secrets are opened by the store itself, with the master key;
            // nothing asks for them here (a move out of it is refused, see `manage::secrets`).
            BackendKind::Memory | BackendKind::Database => Arc::new(MemoryStore::default()),
        }
    }
}

/// Where an account's secret (API key or saved login) is kept in the secret store.
pub fn account_secret_ref(id: &str) -> String {
    format!("connection:{id}")
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
