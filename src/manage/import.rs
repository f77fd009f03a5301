//! Importing the login an app already holds (a CLI's file, an IDE's database) as an account,
//! after a preview that shows what was found.

use std::path::PathBuf;
use std::sync::Arc;

use crate::auth::import::file;
use crate::auth::{Found, ImportError, LoginProvider};
use crate::manage::ManageError;

fn login_of(
    core: &crate::state::Core,
    provider: &str,
) -> Result<(String, Arc<dyn LoginProvider>), ManageError> {
    let id = core
        .catalog()
        .provider_by_prefix(provider)
        .map(|p| p.id.clone())
        .ok_or_else(|| ManageError::NotFound(format!("no provider '{provider}'")))?;
    let login = core
        .proxy
        .tokens
        .login(&id)
        .filter(|l| l.import_source().is_some())
        .cloned()
        .ok_or_else(|| ManageError::Invalid {
            field: "provider".into(),
            message: format!("{id} has no app login to import"),
        })?;
    Ok((id, login))
}

impl From<ImportError> for ManageError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Missing(_) => Self::NotFound(e.to_string()),
            ImportError::Auth(a) => Self::Upstream(a.to_string()),
            other => Self::Invalid {
                field: "file".into(),
                message: other.to_string(),
            },
        }
    }
}

fn located(
    core: &crate::state::Core,
    id: &str,
    login: &dyn LoginProvider,
) -> Result<PathBuf, ImportError> {
    let home = core.places.home.as_ref().map(|h| h.dir.as_path());
    file(login, core.proxy.tokens.endpoints(id), home)
        .ok_or_else(|| ImportError::Missing("the home directory".into()))
}

/// What an import of `provider`'s app login would bring in (nothing is stored).
pub fn preview_import(core: &crate::state::Core, provider: &str) -> Result<Found, ManageError> {
    let (id, login) = login_of(core, provider)?;
    let path = located(core, &id, login.as_ref())?;
    Ok(login.read_import(&path)?.1)
}

/// Imports `provider`'s app login as a new account (or as `replace`'s new login).
pub async fn import_login(
    core: &crate::state::Core,
    provider: &str,
    replace: Option<&str>,
) -> Result<(String, String), ManageError> {
    let (id, login) = login_of(core, provider)?;
    let path = located(core, &id, login.as_ref())?;
    let (set, _) = login.read_import(&path)?;
    let set = login
        .complete_import(&core.proxy.control, set)
        .await
        .map_err(ImportError::from)?;
    let name = set.email.clone().unwrap_or_default();
    let secret = set
        .to_secret()
        .map_err(|e| ManageError::Upstream(e.to_string()))?;
    let saved = crate::manage::save_login(core, &id, &name, secret, replace).await?;
    tracing::info!(provider = %id, account = %saved.1, "imported an app login");
    Ok(saved)
}
