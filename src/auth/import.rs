//! Importing the login an app already holds (an official CLI's file, an IDE's database), with
//! the user's consent. The provider's module says where the app keeps it and reads it; a
//! preview says what was found (never the tokens); the import turns it into the account's
//! token set. The app keeps its copy: both then share one login, so when one of them renews
//! it the other may have to log in again.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::tokens::TokenSet;
use super::{AuthEndpoints, Found, ImportError, LoginProvider};

/// The file to import from: `[auth.<provider>] import_file`, else the app's own under `home`.
pub fn file(
    login: &dyn LoginProvider,
    config: Option<&AuthEndpoints>,
    home: Option<&Path>,
) -> Option<PathBuf> {
    if let Some(path) = config.and_then(|c| c.import_file.clone()) {
        return Some(path);
    }
    Some(home?.join(login.import_source()?.file))
}

/// An empty set for an import to fill in.
pub fn empty_set() -> TokenSet {
    TokenSet {
        access_token: String::new(),
        refresh_token: String::new(),
        expires_at_ms: 0,
        obtained_at_ms: crate::clock::now_ms(),
        email: None,
        plan: None,
        extra: serde_json::Map::new(),
    }
}

/// A login file's JSON, and an empty set to fill from it.
pub fn read_json(path: &Path) -> Result<(Value, TokenSet), ImportError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|_| ImportError::Missing(shown))?;
    let value = serde_json::from_str(&text).map_err(|e| unreadable(path, &e.to_string()))?;
    Ok((value, empty_set()))
}

pub fn unreadable(path: &Path, reason: &str) -> ImportError {
    ImportError::Unreadable {
        path: path.display().to_string(),
        reason: reason.to_owned(),
    }
}

/// The set read from `path`, with what the preview shows; a set without a refresh token is
/// refused (it could not be kept fresh).
pub fn found(path: &Path, set: TokenSet) -> Result<(TokenSet, Found), ImportError> {
    if set.refresh_token.is_empty() {
        return Err(unreadable(path, "it holds no refresh token"));
    }
    let found = Found {
        path: path.display().to_string(),
        account: set.email.clone(),
        plan: set.plan.clone(),
        expires_at_ms: set.expires_at_ms,
    };
    Ok((set, found))
}

/// A JWT's `exp` claim, in milliseconds.
pub fn jwt_expiry_ms(token: &str) -> Option<i64> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("exp")?.as_i64().map(crate::clock::secs_ms)
}
