//! The sync folder: a folder the user's file-sync service keeps the same on each machine
//! (Dropbox, iCloud Drive, Syncthing…). Each router keeps its own setup there, encrypted with
//! a passphrase the user gives every machine, rewritten after each change; the copies of the
//! other machines are offered as merges, item by item, with conflicts shown instead of
//! overwritten. One file per machine, so no two machines ever write the same file.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::move_in::{self, ImportItem, Mode};
use super::{ManageError, invalid};
use crate::secrets::SecretString;
use crate::setup::bundle;
use crate::setup::doc::SetupDoc;
use crate::state::Core;
use crate::store;

const CONFIG_KEY: &str = "sync";
const PASSPHRASE_REF: &str = "sync:passphrase";
/// At most this many other machines' copies are read.
const MAX_COPIES: usize = 32;
const MAX_COPY_BYTES: u64 = 64 << 20;
/// How long after a change the copy is written, so that changes made together are one write.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncConfig {
    folder: PathBuf,
    /// This machine's file in the folder is `ninerouter-<machine>.age`.
    machine: String,
    name: String,
}

/// `PUT /api/sync`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct SyncInput {
    #[cfg_attr(test, ts(optional = false))]
    pub folder: String,
    #[cfg_attr(test, ts(optional = false))]
    pub passphrase: String,
    /// What the other machines call this one [default: its host name].
    pub name: Option<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SyncStatus {
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When this machine's copy was last written.
    #[cfg_attr(test, ts(optional, type = "number"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_ms: Option<i64>,
    pub others: Vec<SyncPeer>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SyncPeer {
    pub machine: String,
    pub name: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub modified_ms: i64,
    /// What merging its copy would do here.
    pub items: Vec<ImportItem>,
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /api/sync/merge`: which machine's copy, and the conflicts to settle its way.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MergeInput {
    pub machine: String,
    #[serde(default)]
    pub take: Vec<String>,
}

async fn config(core: &Core) -> Result<Option<SyncConfig>, ManageError> {
    let text = core
        .store
        .call(|c| store::load_value(c, CONFIG_KEY))
        .await?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

async fn passphrase(core: &Core) -> Result<String, ManageError> {
    core.secrets
        .get(PASSPHRASE_REF)
        .await?
        .map(|s| s.expose().to_owned())
        .ok_or_else(|| {
            invalid(
                "passphrase",
                "the sync folder's passphrase is not in the secret store: set the folder again",
            )
        })
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this computer".into())
}

fn copy_path(folder: &Path, machine: &str) -> PathBuf {
    folder.join(format!("ninerouter-{machine}.age"))
}

/// Starts keeping this machine's setup in `folder`; its copy is written at once.
pub async fn set_sync(core: &Core, input: SyncInput) -> Result<SyncStatus, ManageError> {
    let folder = PathBuf::from(input.folder.trim());
    let probe = folder.clone();
    let is_dir = tokio::task::spawn_blocking(move || probe.is_dir())
        .await
        .unwrap_or(false);
    if !folder.is_absolute() || !is_dir {
        return Err(invalid(
            "folder",
            "must be an existing folder, named by its full path",
        ));
    }
    if input.passphrase.chars().count() < bundle::MIN_PASSPHRASE {
        return Err(invalid(
            "passphrase",
            format!("must have at least {} characters", bundle::MIN_PASSPHRASE),
        ));
    }
    let machine = match config(core).await? {
        Some(c) => c.machine,
        None => crate::clock::new_id(),
    };
    let name = input
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(host_name);
    super::validate_name("name", &name)?;
    core.secrets
        .set(PASSPHRASE_REF, SecretString::new(input.passphrase))
        .await?;
    let text = serde_json::to_string(&SyncConfig {
        folder,
        machine,
        name,
    })
    .map_err(|e| invalid("folder", e.to_string()))?;
    core.store
        .call(move |c| store::save_value(c, CONFIG_KEY, Some(&text)))
        .await?;
    write_copy(core).await?;
    sync_status(core).await
}

pub async fn stop_sync(core: &Core) -> Result<(), ManageError> {
    core.store
        .call(|c| store::save_value(c, CONFIG_KEY, None))
        .await?;
    core.secrets.delete(PASSPHRASE_REF).await?;
    Ok(())
}

/// What was last written where (a digest of the setup and the passphrase): an unchanged
/// setup is not sealed and uploaded again.
static LAST_WRITTEN: Mutex<Option<(PathBuf, [u8; 32])>> = Mutex::new(None);

/// Copies of other machines already opened, by file: a copy is decrypted once per version.
type Opened = HashMap<PathBuf, (Version, Result<SetupDoc, String>)>;
type Version = (std::time::SystemTime, u64, [u8; 32]);
static OPENED: Mutex<Option<Opened>> = Mutex::new(None);

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// Writes this machine's copy (every setting, account and secret; not usage), unless it is
/// already there as it is.
pub async fn write_copy(core: &Core) -> Result<(), ManageError> {
    let Some(cfg) = config(core).await? else {
        return Ok(());
    };
    let passphrase = passphrase(core).await?;
    let mut doc = move_in::export(core, false).await?;
    doc.made_by = format!("NineRouter on {}", cfg.name);
    let path = copy_path(&cfg.folder, &cfg.machine);
    let plain = serde_json::to_vec(&doc).map_err(|e| invalid("setup", e.to_string()))?;
    let sum = digest(&[&plain, passphrase.as_bytes()]);
    let written = path.clone();
    let last = LAST_WRITTEN.lock().map(|l| l.clone()).unwrap_or(None);
    if last == Some((path.clone(), sum))
        && tokio::task::spawn_blocking(move || written.exists())
            .await
            .unwrap_or(false)
    {
        return Ok(());
    }
    let written = path.clone();
    tokio::task::spawn_blocking(move || {
        let sealed = bundle::seal(&doc, &passphrase)?;
        crate::setup::edit::write_atomic(&path, &sealed, true)?;
        Ok::<_, ManageError>(())
    })
    .await
    .map_err(|e| ManageError::Upstream(e.to_string()))??;
    if let Ok(mut last) = LAST_WRITTEN.lock() {
        *last = Some((written, sum));
    }
    tracing::info!(folder = %cfg.folder.display(), "wrote this machine's setup to the sync folder");
    Ok(())
}

fn modified_ms(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The other machines' copies in the folder: (machine, path).
fn other_copies(folder: &Path, mine: &str) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let machine = name
                .strip_prefix("ninerouter-")?
                .strip_suffix(".age")?
                .to_owned();
            let plain = machine
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
            (plain && machine != mine).then(|| (machine, e.path()))
        })
        .collect();
    found.sort();
    found.truncate(MAX_COPIES);
    found
}

/// Another machine's copy, decrypted (once per version of the file and passphrase).
async fn open_copy(path: PathBuf, passphrase: String) -> Result<SetupDoc, ManageError> {
    tokio::task::spawn_blocking(move || {
        let meta = std::fs::metadata(&path).map_err(|e| invalid("copy", e.to_string()))?;
        let version: Version = (
            meta.modified().unwrap_or(std::time::UNIX_EPOCH),
            meta.len(),
            digest(&[passphrase.as_bytes()]),
        );
        let cached = OPENED.lock().ok().and_then(|o| {
            o.as_ref()
                .and_then(|o| o.get(&path))
                .filter(|(v, _)| *v == version)
                .map(|(_, r)| r.clone())
        });
        let result = match cached {
            Some(r) => r,
            None => {
                let r = if meta.len() > MAX_COPY_BYTES {
                    Err("it is larger than a setup can be".to_owned())
                } else {
                    std::fs::read(&path)
                        .map_err(|e| e.to_string())
                        .and_then(|bytes| {
                            bundle::open(&bytes, &passphrase).map_err(|e| e.to_string())
                        })
                };
                if let Ok(mut opened) = OPENED.lock() {
                    let cache = opened.get_or_insert_with(HashMap::new);
                    if cache.len() >= 2 * MAX_COPIES {
                        cache.clear();
                    }
                    cache.insert(path, (version, r.clone()));
                }
                r
            }
        };
        result.map_err(|e| invalid("copy", e))
    })
    .await
    .map_err(|e| ManageError::Upstream(e.to_string()))?
}

pub async fn sync_status(core: &Core) -> Result<SyncStatus, ManageError> {
    let Some(cfg) = config(core).await? else {
        return Ok(SyncStatus::default());
    };
    let mine = copy_path(&cfg.folder, &cfg.machine);
    // A synced folder may answer slowly (files fetched on demand): read off the workers.
    let (folder, machine) = (cfg.folder.clone(), cfg.machine.clone());
    let (written, copies) = tokio::task::spawn_blocking(move || {
        let copies: Vec<(String, PathBuf, i64)> = other_copies(&folder, &machine)
            .into_iter()
            .map(|(m, p)| {
                let at = modified_ms(&p);
                (m, p, at)
            })
            .collect();
        (mine.exists().then(|| modified_ms(&mine)), copies)
    })
    .await
    .map_err(|e| ManageError::Upstream(e.to_string()))?;
    let mut status = SyncStatus {
        folder: Some(cfg.folder.display().to_string()),
        name: Some(cfg.name.clone()),
        written_ms: written,
        others: Vec::new(),
    };
    let passphrase = passphrase(core).await?;
    for (machine, path, modified) in copies {
        let peer = match open_copy(path, passphrase.clone()).await {
            Ok(doc) => SyncPeer {
                machine,
                name: doc
                    .made_by
                    .strip_prefix("NineRouter on ")
                    .unwrap_or(&doc.made_by)
                    .to_owned(),
                modified_ms: modified,
                items: move_in::plan_as(core, &doc, Mode::Merge).await?,
                error: None,
            },
            Err(e) => SyncPeer {
                machine,
                name: String::new(),
                modified_ms: modified,
                items: Vec::new(),
                error: Some(e.to_string()),
            },
        };
        status.others.push(peer);
    }
    Ok(status)
}

/// Brings in what another machine's copy has that this one lacks, and the conflicts named in
/// `take` its way.
pub async fn merge(core: &Core, input: MergeInput) -> Result<Vec<ImportItem>, ManageError> {
    let cfg = config(core)
        .await?
        .ok_or_else(|| invalid("folder", "no sync folder is set"))?;
    let (folder, mine) = (cfg.folder.clone(), cfg.machine.clone());
    let copies = tokio::task::spawn_blocking(move || other_copies(&folder, &mine))
        .await
        .map_err(|e| ManageError::Upstream(e.to_string()))?;
    let (_, path) = copies
        .into_iter()
        .find(|(m, _)| *m == input.machine)
        .ok_or_else(|| {
            ManageError::NotFound(format!(
                "no copy of machine '{}' in the sync folder",
                input.machine
            ))
        })?;
    let doc = open_copy(path, passphrase(core).await?).await?;
    let take: HashSet<String> = input.take.into_iter().collect();
    move_in::apply_as(core, doc, Mode::Merge, &take).await
}

/// Rewrites this machine's copy after every change (changes arriving together are written
/// once), until the engine stops.
pub async fn sync_loop(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut changes = core.setup_changes();
    // A change made while the router was stopped (a config file edited) is written too.
    changes.mark_changed();
    loop {
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = stop.wait_for(|s| *s) => return,
        }
        // Changes made together (an import's items) go into one copy.
        tokio::select! {
            () = tokio::time::sleep(SETTLE) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        changes.mark_unchanged();
        if let Err(e) = write_copy(&core).await {
            tracing::warn!("cannot write this machine's setup to the sync folder: {e}");
        }
    }
}
