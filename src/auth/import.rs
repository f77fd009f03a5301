//! Importing the login an official CLI already holds, with the user's consent: Codex CLI's
//! `~/.codex/auth.json`, Claude Code's `~/.claude/.credentials.json` and Gemini CLI's
//! `~/.gemini/oauth_creds.json`. A preview says what was found (never the tokens); the
//! import turns it into the account's token set. The CLI keeps its copy: both then share one
//! login, so when one of them renews it the other may have to log in again.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::tokens::TokenSet;
use super::{AuthError, Login, codex, google};
use crate::config::AuthEndpoints;

/// Where a provider's CLI keeps its login, under the home directory.
fn default_file(login: Login) -> Option<&'static str> {
    match login {
        Login::Codex => Some(".codex/auth.json"),
        Login::Claude => Some(".claude/.credentials.json"),
        Login::GeminiCli => Some(".gemini/oauth_creds.json"),
        _ => None,
    }
}

/// The CLI whose login can be imported for a provider, for the dashboard.
pub fn cli_name(provider_id: &str) -> Option<&'static str> {
    match Login::of(provider_id)? {
        Login::Codex => Some("Codex CLI"),
        Login::Claude => Some("Claude Code"),
        Login::GeminiCli => Some("Gemini CLI"),
        _ => None,
    }
}

/// The file to import from: `[auth.<provider>] import_file`, else the CLI's own.
pub fn file(login: Login, config: Option<&AuthEndpoints>) -> Option<PathBuf> {
    if let Some(path) = config.and_then(|c| c.import_file.clone()) {
        return Some(path);
    }
    let home = directories::BaseDirs::new()?.home_dir().to_path_buf();
    default_file(login).map(|f| home.join(f))
}

/// What the preview shows before the user agrees.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    pub path: String,
    /// Who the login is for, when the file says.
    pub account: Option<String>,
    pub plan: Option<String>,
    pub expires_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{provider} has no CLI login to import")]
    Unsupported { provider: String },
    #[error("no login found at {0}")]
    Missing(String),
    #[error("{path} is not a login this version understands: {reason}")]
    Unreadable { path: String, reason: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Reads a CLI's login file into a token set (still without what needs the network).
pub fn read(login: Login, path: &Path) -> Result<(TokenSet, Found), ImportError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|_| ImportError::Missing(shown.clone()))?;
    let unreadable = |reason: &str| ImportError::Unreadable {
        path: shown.clone(),
        reason: reason.to_owned(),
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| unreadable(&e.to_string()))?;
    let text_at = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut set = TokenSet {
        access_token: String::new(),
        refresh_token: String::new(),
        expires_at_ms: 0,
        obtained_at_ms: crate::store::now_ms(),
        resource_url: None,
        email: None,
        account_id: None,
        plan: None,
        project_id: None,
        api_key: None,
        client_id: None,
        client_secret: None,
        token_url: None,
    };
    match login {
        Login::Codex => {
            let tokens = value.get("tokens").ok_or_else(|| unreadable("no tokens"))?;
            let claims = text_at(tokens, "id_token")
                .map(|t| codex::claims(&t))
                .unwrap_or_default();
            set.access_token = text_at(tokens, "access_token").unwrap_or_default();
            set.refresh_token = text_at(tokens, "refresh_token").unwrap_or_default();
            set.expires_at_ms = jwt_expiry_ms(&set.access_token).unwrap_or(0);
            set.account_id = text_at(tokens, "account_id").or(claims.account_id);
            set.email = claims.email;
            set.plan = claims.plan;
        }
        Login::Claude => {
            let oauth = value
                .get("claudeAiOauth")
                .ok_or_else(|| unreadable("no claudeAiOauth"))?;
            set.access_token = text_at(oauth, "accessToken").unwrap_or_default();
            set.refresh_token = text_at(oauth, "refreshToken").unwrap_or_default();
            set.expires_at_ms = oauth.get("expiresAt").and_then(Value::as_i64).unwrap_or(0);
            set.plan = text_at(oauth, "subscriptionType");
        }
        Login::GeminiCli => {
            set.access_token = text_at(&value, "access_token").unwrap_or_default();
            set.refresh_token = text_at(&value, "refresh_token").unwrap_or_default();
            set.expires_at_ms = value
                .get("expiry_date")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            set.email = text_at(&value, "id_token").and_then(|t| codex::claims(&t).email);
        }
        _ => {
            return Err(ImportError::Unsupported {
                provider: format!("{login:?}"),
            });
        }
    }
    if set.refresh_token.is_empty() {
        return Err(unreadable("it holds no refresh token"));
    }
    let found = Found {
        path: shown,
        account: set.email.clone(),
        plan: set.plan.clone(),
        expires_at_ms: set.expires_at_ms,
    };
    Ok((set, found))
}

/// Completes what the file leaves out: Gemini CLI's project (and e-mail) come from Google.
pub async fn complete(
    login: Login,
    mut set: TokenSet,
    http: &reqwest::Client,
    google_servers: &google::Servers,
) -> Result<TokenSet, ImportError> {
    if login == Login::GeminiCli {
        let fresh = google::refresh(
            http,
            google_servers,
            &google::GEMINI_CLI,
            &set,
            crate::store::now_ms(),
        )
        .await?;
        let project = google::project(
            http,
            google_servers,
            &google::GEMINI_CLI,
            &fresh.access_token,
        )
        .await?;
        set = TokenSet {
            project_id: Some(project),
            email: set.email.or(fresh.email.clone()),
            ..fresh
        };
    }
    Ok(set)
}

/// A JWT's `exp` claim, in milliseconds.
fn jwt_expiry_ms(token: &str) -> Option<i64> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("exp")?.as_i64().map(crate::store::secs_ms)
}

fn login_of(
    core: &crate::engine::Core,
    provider: &str,
) -> Result<(String, Login), crate::manage::ManageError> {
    let id = core
        .catalog()
        .provider_by_prefix(provider)
        .map(|p| p.id.clone())
        .ok_or_else(|| crate::manage::ManageError::NotFound(format!("no provider '{provider}'")))?;
    let login = Login::of(&id)
        .filter(|l| default_file(*l).is_some())
        .ok_or_else(|| crate::manage::ManageError::Invalid {
            field: "provider".into(),
            message: format!("{id} has no CLI login to import"),
        })?;
    Ok((id, login))
}

impl From<ImportError> for crate::manage::ManageError {
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

fn located(core: &crate::engine::Core, id: &str, login: Login) -> Result<PathBuf, ImportError> {
    file(login, core.proxy.tokens.endpoints(id))
        .ok_or_else(|| ImportError::Missing("the home directory".into()))
}

/// What an import of `provider`'s CLI login would bring in (nothing is stored).
pub fn preview(
    core: &crate::engine::Core,
    provider: &str,
) -> Result<Found, crate::manage::ManageError> {
    let (id, login) = login_of(core, provider)?;
    let path = located(core, &id, login)?;
    Ok(read(login, &path)?.1)
}

/// Imports `provider`'s CLI login as a new account (or as `replace`'s new login).
pub async fn import(
    core: &crate::engine::Core,
    provider: &str,
    replace: Option<&str>,
) -> Result<(String, String), crate::manage::ManageError> {
    let (id, login) = login_of(core, provider)?;
    let path = located(core, &id, login)?;
    let (set, _) = read(login, &path)?;
    let set = complete(
        login,
        set,
        &core.proxy.control,
        core.proxy.tokens.gemini_cli_servers(),
    )
    .await?;
    let name = set.email.clone().unwrap_or_default();
    let json = serde_json::to_string(&set)
        .map_err(|e| crate::manage::ManageError::Upstream(e.to_string()))?;
    let saved = crate::manage::save_login(
        core,
        &id,
        &name,
        crate::secrets::SecretString::new(json),
        replace,
    )
    .await?;
    tracing::info!(provider = %id, account = %saved.1, "imported a CLI login");
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    #[test]
    fn each_cli_file_becomes_a_token_set() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let id_token = codex::id_token_for("a@b.c", "acct-9", "pro");
        let codex_file = write(
            dir.path(),
            "auth.json",
            &serde_json::json!({"OPENAI_API_KEY": null, "tokens": {"id_token": id_token,
                "access_token": "x.eyJleHAiOjE3OTUwMDAwMDB9.y", "refresh_token": "r1", "account_id": "acct-9"},
                "last_refresh": "2026-11-20T10:00:00Z"}).to_string(),
        );
        let (set, found) = read(Login::Codex, &codex_file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.account_id.as_deref(), Some("acct-9"));
        assert_eq!(set.expires_at_ms, 1_795_000_000_000);
        assert_eq!(found.account.as_deref(), Some("a@b.c"));
        assert_eq!(found.plan.as_deref(), Some("pro"));

        let claude_file = write(
            dir.path(),
            "credentials.json",
            r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-a","refreshToken":"sk-ant-ort01-r","expiresAt":1795000000000,"scopes":["user:inference"],"subscriptionType":"max"}}"#,
        );
        let (set, found) = read(Login::Claude, &claude_file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.refresh_token, "sk-ant-ort01-r");
        assert_eq!(found.plan.as_deref(), Some("max"));

        let gemini_file = write(
            dir.path(),
            "oauth_creds.json",
            r#"{"access_token":"ya29.a","refresh_token":"1//r","scope":"x","token_type":"Bearer","expiry_date":1795000000000}"#,
        );
        let (set, _) = read(Login::GeminiCli, &gemini_file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.expires_at_ms, 1_795_000_000_000);

        assert!(matches!(
            read(Login::Codex, &dir.path().join("none.json")),
            Err(ImportError::Missing(_))
        ));
        let empty = write(
            dir.path(),
            "empty.json",
            r#"{"claudeAiOauth":{"accessToken":"a"}}"#,
        );
        assert!(matches!(
            read(Login::Claude, &empty),
            Err(ImportError::Unreadable { .. })
        ));
    }
}
