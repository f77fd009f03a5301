//! The data directory holds prompts, usage and (without a keychain) secrets: it and its files
//! are the owner's alone. Applied at every start, so installs made before this are fixed too.

use std::path::Path;

/// Makes `dir` 0700 and the database, its journal files and the secret file in it 0600
/// (Unix; elsewhere the user profile's ACLs already keep them private).
pub fn make_private(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        for name in [
            "ninerouter.db",
            "ninerouter.db-wal",
            "ninerouter.db-shm",
            "secrets.json",
        ] {
            let path = dir.join(name);
            match std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
