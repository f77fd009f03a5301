//! Changing a tool's files safely: every change is planned (and can be shown as a diff)
//! before anything is written; the files' first contents are backed up once, so a restore
//! puts them back byte for byte however many times the tool was set up since; a path that
//! leads outside the tool's own directory is refused.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A file that is there but cannot be read as what it should be: nothing is changed.
    #[error("{path} cannot be read: {reason}; fix or move it, then try again")]
    Unreadable { path: String, reason: String },
    #[error("{path} leads outside {root}; NineRouter only writes inside the tool's own directory")]
    Outside { path: String, root: String },
    #[error("{0} was not set up by NineRouter: there is nothing to restore")]
    NothingToRestore(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

impl SetupError {
    pub fn unreadable(path: &Path, reason: impl std::fmt::Display) -> Self {
        Self::Unreadable {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    fn io(path: &Path, e: &std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

/// One file as it is and as it would be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: PathBuf,
    /// `None`: the file does not exist yet.
    pub before: Option<String>,
    pub after: String,
    /// It holds a key: readable by its owner only.
    pub private: bool,
}

impl FileChange {
    pub fn changes_anything(&self) -> bool {
        self.before.as_deref() != Some(self.after.as_str())
    }

    /// A unified diff of the change, for a preview.
    pub fn diff(&self) -> String {
        let before = self.before.as_deref().unwrap_or("");
        let path = self.path.display().to_string();
        similar::TextDiff::from_lines(before, self.after.as_str())
            .unified_diff()
            .context_radius(3)
            .header(
                if self.before.is_some() {
                    &path
                } else {
                    "/dev/null"
                },
                &path,
            )
            .to_string()
    }
}

/// A tool's config file larger than this is not one (nothing is read or changed).
const MAX_CONFIG: u64 = 4 << 20;
/// Nesting deeper than this in a JSON5 file is refused before it is parsed (the parser
/// recurses).
const MAX_DEPTH: usize = 64;

/// A file's text, `None` when it does not exist; not UTF-8 is an error (nothing is changed).
pub fn read_text(path: &Path) -> Result<Option<String>, SetupError> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_CONFIG) {
        return Err(SetupError::unreadable(path, "it is larger than 4 MiB"));
    }
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| SetupError::unreadable(path, "it is not UTF-8 text")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SetupError::io(path, &e)),
    }
}

/// A JSON object file (absent or empty: an empty object). Anything else is an error.
pub fn read_json_object(
    path: &Path,
) -> Result<(Option<String>, serde_json::Map<String, serde_json::Value>), SetupError> {
    let text = read_text(path)?;
    let object = match text.as_deref().map(str::trim) {
        None | Some("") => serde_json::Map::new(),
        Some(t) => match serde_json::from_str(t) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(_) => return Err(SetupError::unreadable(path, "it is not a JSON object")),
            Err(e) => return Err(SetupError::unreadable(path, e)),
        },
    };
    Ok((text, object))
}

/// A JSON5 or JSONC object file (comments, trailing commas), as OpenClaw and OpenCode
/// write theirs; it is written back as plain JSON, which both read.
pub fn read_json5_object(
    path: &Path,
) -> Result<(Option<String>, serde_json::Map<String, serde_json::Value>), SetupError> {
    let text = read_text(path)?;
    let object = match text.as_deref().map(str::trim) {
        None | Some("") => serde_json::Map::new(),
        Some(t) if nesting(t) > MAX_DEPTH => {
            return Err(SetupError::unreadable(path, "it is nested too deeply"));
        }
        Some(t) => match json5::from_str(t) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(_) => return Err(SetupError::unreadable(path, "it is not a JSON object")),
            Err(e) => return Err(SetupError::unreadable(path, e)),
        },
    };
    Ok((text, object))
}

/// How deep `{`/`[` nest in a JSON5 text, strings and comments aside (roughly: enough to
/// refuse a file built to exhaust the parser's stack).
fn nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '/') if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            (None, '{' | '[') => {
                depth += 1;
                max = max.max(depth);
            }
            (None, '}' | ']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Pretty JSON with a final newline, the way the tools write their own files.
pub fn json_text(value: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

/// The object under `key`, made one if it is absent (or not an object).
pub fn object_at<'a>(
    parent: &'a mut serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> &'a mut serde_json::Map<String, serde_json::Value> {
    let slot = parent
        .entry(key.to_owned())
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    if !slot.is_object() {
        *slot = serde_json::Value::Object(serde_json::Map::new());
    }
    match slot {
        serde_json::Value::Object(o) => o,
        _ => unreachable!("made an object above"),
    }
}

/// What was set up, and how to undo it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub version: u32,
    /// What the files were pointed at (the tool's own words for URL and model).
    pub applied: Applied,
    pub files: Vec<Backed>,
    /// Directories the setup created, deepest last; removed by a restore when empty.
    #[serde(default)]
    pub created_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub base_url: String,
    pub model: Option<String>,
    pub at_ms: i64,
    /// The proxy key made for the tool by a setup, revoked by the restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Backed {
    pub path: PathBuf,
    /// The file existed before the first setup (its bytes are in `backup`).
    pub existed: bool,
    pub backup: Option<String>,
    /// SHA-256 of what the last setup wrote.
    pub written: String,
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    /// Put back, or removed when the setup had created them.
    pub files: Vec<PathBuf>,
    /// Copies of files changed since the setup, saved beside them before the restore.
    pub kept_aside: Vec<PathBuf>,
}

const MANIFEST: &str = "manifest.json";

/// Where one tool's backups live, under the router's data dir.
pub struct Backups {
    dir: PathBuf,
    tool: String,
}

impl Backups {
    pub fn new(root: &Path, tool: &str) -> Self {
        Self {
            dir: root.join(tool),
            tool: tool.to_owned(),
        }
    }

    pub fn manifest(&self) -> Result<Option<Manifest>, SetupError> {
        let path = self.dir.join(MANIFEST);
        match read_text(&path)? {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| SetupError::unreadable(&path, e)),
        }
    }

    /// Writes `changes` (all confined to `roots`), backing up each file's first contents.
    /// Either every file is written or, on a failure, the ones written are put back.
    pub fn apply(
        &self,
        roots: &[PathBuf],
        changes: &[FileChange],
        applied: Applied,
    ) -> Result<(), SetupError> {
        for c in changes {
            confined(&c.path, roots)?;
        }
        let mut manifest = self.manifest()?.unwrap_or(Manifest {
            version: 1,
            ..Manifest::default()
        });
        create_private_dir(&self.dir)?;
        for c in changes {
            if manifest.files.iter().any(|b| b.path == c.path) {
                continue;
            }
            let backup = match &c.before {
                Some(text) => {
                    let name = format!("{}.orig", manifest.files.len());
                    write_atomic(&self.dir.join(&name), text.as_bytes(), true)?;
                    Some(name)
                }
                None => None,
            };
            manifest.files.push(Backed {
                path: c.path.clone(),
                existed: c.before.is_some(),
                backup,
                written: String::new(),
            });
        }
        for c in changes {
            for dir in missing_dirs(&c.path) {
                if !manifest.created_dirs.contains(&dir) {
                    manifest.created_dirs.push(dir);
                }
            }
        }
        // A later setup that kept the key still leaves it to the restore to revoke.
        let created_key = applied
            .created_key
            .clone()
            .or(manifest.applied.created_key.take());
        manifest.applied = Applied {
            created_key,
            ..applied
        };
        // The backups are on disk before any of the tool's files is touched.
        self.save(&manifest)?;
        let mut done: Vec<&FileChange> = Vec::new();
        for c in changes {
            let written = c
                .path
                .parent()
                .map_or(Ok(()), |p| {
                    std::fs::create_dir_all(p).map_err(|e| SetupError::io(p, &e))
                })
                .and_then(|()| write_atomic(&c.path, c.after.as_bytes(), c.private));
            if let Err(e) = written {
                for d in done {
                    let _ = match &d.before {
                        Some(t) => write_atomic(&d.path, t.as_bytes(), d.private),
                        None => {
                            std::fs::remove_file(&d.path).map_err(|e| SetupError::io(&d.path, &e))
                        }
                    };
                }
                return Err(e);
            }
            done.push(c);
            if let Some(b) = manifest.files.iter_mut().find(|b| b.path == c.path) {
                b.written = sha256(c.after.as_bytes());
            }
        }
        self.save(&manifest)
    }

    /// Puts every file back as it was before the first setup and forgets the backup. A file
    /// changed since the setup wrote it (by the user, or the tool itself) is kept aside first,
    /// beside it, so a restore loses nothing.
    pub fn restore(&self, roots: &[PathBuf]) -> Result<Restored, SetupError> {
        let manifest = self
            .manifest()?
            .ok_or_else(|| SetupError::NothingToRestore(self.tool.clone()))?;
        // The manifest is a file too: a path in it that leads elsewhere is not followed.
        for b in &manifest.files {
            confined(&b.path, roots)?;
            if let Some(name) = &b.backup {
                plain_name(name)?;
            }
        }
        let mut kept_aside = Vec::new();
        for b in &manifest.files {
            if let Ok(now) = std::fs::read(&b.path)
                && sha256(&now) != b.written
            {
                let name = b
                    .path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                let aside = b.path.with_file_name(format!(
                    "{name}.ninerouter-changed-{}",
                    crate::clock::now_ms()
                ));
                write_atomic(&aside, &now, true)?;
                kept_aside.push(aside);
            }
            match (&b.backup, b.existed) {
                (Some(name), true) => {
                    let from = self.dir.join(name);
                    let bytes = std::fs::read(&from).map_err(|e| SetupError::io(&from, &e))?;
                    write_atomic(&b.path, &bytes, false)?;
                }
                _ => match std::fs::remove_file(&b.path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(SetupError::io(&b.path, &e)),
                },
            }
        }
        for dir in manifest.created_dirs.iter().rev() {
            // One inside a root, or one the setup made on the way to it (`~/.config`).
            if confined(dir, roots).is_ok() || roots.iter().any(|r| r.starts_with(dir)) {
                // Only an empty one goes: what the user put there since stays.
                let _ = std::fs::remove_dir(dir);
            }
        }
        std::fs::remove_dir_all(&self.dir).map_err(|e| SetupError::io(&self.dir, &e))?;
        Ok(Restored {
            files: manifest.files.into_iter().map(|b| b.path).collect(),
            kept_aside,
        })
    }

    fn save(&self, manifest: &Manifest) -> Result<(), SetupError> {
        let text =
            serde_json::to_vec_pretty(manifest).map_err(|e| SetupError::Invalid(e.to_string()))?;
        write_atomic(&self.dir.join(MANIFEST), &text, true)
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn plain_name(name: &str) -> Result<(), SetupError> {
    let mut parts = Path::new(name).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) => Ok(()),
        _ => Err(SetupError::Invalid(format!(
            "a backup named '{name}' is not NineRouter's"
        ))),
    }
}

/// `path` is inside one of `roots`: lexically (no `..`), and, where it exists, once its
/// symbolic links are followed.
pub fn confined(path: &Path, roots: &[PathBuf]) -> Result<(), SetupError> {
    let outside = || SetupError::Outside {
        path: path.display().to_string(),
        root: roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(" or "),
    };
    if !path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(outside());
    }
    let root = roots
        .iter()
        .find(|r| path.starts_with(r))
        .ok_or_else(outside)?;
    // The deepest part that exists, with its links followed, must still be in the root.
    let existing = path.ancestors().find(|a| a.symlink_metadata().is_ok());
    if let Some(existing) = existing.filter(|e| e.starts_with(root)) {
        let real = existing
            .canonicalize()
            .map_err(|e| SetupError::io(existing, &e))?;
        let real_root = root.canonicalize().map_err(|e| SetupError::io(root, &e))?;
        if !real.starts_with(&real_root) {
            return Err(outside());
        }
    }
    Ok(())
}

fn missing_dirs(path: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .map(Path::to_path_buf)
        .collect();
    dirs.reverse();
    dirs
}

fn create_private_dir(dir: &Path) -> Result<(), SetupError> {
    std::fs::create_dir_all(dir).map_err(|e| SetupError::io(dir, &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| SetupError::io(dir, &e))?;
    }
    Ok(())
}

/// Writes through a temporary file in the same directory and a rename, so a crash leaves the
/// old file or the new one, never half of one. The temporary file is its owner's only from the
/// start; a private file stays so, another keeps the mode it had.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), SetupError> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .ok_or_else(|| SetupError::Invalid(format!("{} has no directory", path.display())))?;
    let (tmp, mut file) = tempfile_in(dir)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| SetupError::io(&tmp, &e))
        .and_then(|()| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = match std::fs::metadata(path) {
                    _ if private => 0o600,
                    Ok(m) => m.permissions().mode() & 0o777,
                    Err(_) => 0o644,
                };
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| SetupError::io(&tmp, &e))?;
            }
            std::fs::rename(&tmp, path).map_err(|e| SetupError::io(path, &e))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn tempfile_in(dir: &Path) -> Result<(PathBuf, std::fs::File), SetupError> {
    let path = dir.join(format!(".ninerouter-{}.tmp", crate::clock::new_id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path).map_err(|e| SetupError::io(&path, &e))?;
    Ok((path, file))
}
