//! Admin access use-cases: whether the management API needs an admin, who presents what,
//! the dashboard password, sessions, desktop tickets and admin tokens.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::{ManageError, invalid, validate_name};
use crate::admin::{
    ADMIN_TOKEN_PREFIX, Actor, PasswordError, hash_password, random_token, verify_password,
};
use crate::clock::{new_id, now_ms};
use crate::state::Core;
use crate::store::{self, AdminTokenRecord};

/// Why a password login was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginRefusal {
    #[error("no dashboard password is set")]
    NoPassword,
    #[error("wrong password")]
    Wrong,
    #[error("too many wrong passwords from this address; try again in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
    #[error(transparent)]
    Manage(#[from] ManageError),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AccessState {
    /// Whether the management API needs an admin session or token.
    pub required: bool,
    pub password_set: bool,
    /// Who the caller is, when it presented a session or token.
    pub actor: Option<String>,
}

pub async fn password_hash(core: &Core) -> Result<Option<String>, ManageError> {
    let known = &core.admin.known_password;
    match core.store.call(|c| store::load_admin_password(c)).await {
        Ok(hash) => {
            *known.write().unwrap_or_else(|p| p.into_inner()) = Some(hash.clone());
            Ok(hash)
        }
        Err(e) => match known.read().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(hash) => {
                tracing::debug!("the store is out of reach; using the password as last read: {e}");
                Ok(hash)
            }
            None => Err(e.into()),
        },
    }
}

/// The management API is open only to the local dashboard of a loopback router with no
/// password and keys not required; otherwise it needs an admin.
pub async fn admin_required(core: &Core) -> Result<bool, ManageError> {
    let password_set = password_hash(core).await?.is_some();
    Ok(required_with(core, password_set))
}

fn required_with(core: &Core, password_set: bool) -> bool {
    !core.listen.is_loopback() || core.catalog().settings.require_api_key || password_set
}

/// Who presents one of `sessions` (the cookies; every one is tried) or `bearer` (an admin
/// token), if anyone valid; with the session that was taken.
pub async fn identify(
    core: &Core,
    sessions: &[&str],
    bearer: Option<&str>,
) -> Result<Option<(Actor, Option<String>)>, ManageError> {
    if !sessions.is_empty() {
        let fingerprint = current_fingerprint(core).await?;
        for session in sessions {
            if let Some(actor) = session_actor(core, session, fingerprint).await? {
                return Ok(Some((actor, Some((*session).to_owned()))));
            }
        }
    }
    let Some(token) = bearer.filter(|t| t.starts_with(ADMIN_TOKEN_PREFIX)) else {
        return Ok(None);
    };
    let hash = crate::catalog::hash_key(token);
    let name = core
        .store
        .call(move |c| store::admin_token_named(c, &hash))
        .await?;
    Ok(name.map(|n| (Actor::Token(n), None)))
}

pub async fn access_state(core: &Core, actor: Option<&Actor>) -> Result<AccessState, ManageError> {
    let password_set = password_hash(core).await?.is_some();
    Ok(AccessState {
        required: required_with(core, password_set),
        password_set,
        actor: actor.map(ToString::to_string),
    })
}

/// Checks the dashboard password (paced per address); a session token on success.
pub async fn log_in(core: &Core, client: IpAddr, password: String) -> Result<String, LoginRefusal> {
    // The attempt counts before the (slow) check, so parallel guesses are paced like serial
    // ones; a success takes it back.
    if let Some(wait) = core.admin.throttle.attempt(client, now_ms()) {
        return Err(LoginRefusal::Throttled(wait));
    }
    let hash = password_hash(core).await?.ok_or(LoginRefusal::NoPassword)?;
    let fingerprint = password_fingerprint(&hash);
    // One Argon2 check at a time: each takes ~19 MiB, and logins come from anyone.
    let matches = {
        let _one = core.admin.verifying.lock().await;
        tokio::task::spawn_blocking(move || verify_password(&hash, &password))
            .await
            .unwrap_or(false)
    };
    if !matches {
        tracing::warn!(%client, "a dashboard login was refused: wrong password");
        return Err(LoginRefusal::Wrong);
    }
    core.admin.throttle.succeeded(client);
    Ok(open_session(core, Actor::Session, fingerprint).await?)
}

/// What a session remembers of the password it was opened under: a changed password (from
/// the dashboard or the CLI, in any process) ends the sessions of the old one.
fn password_fingerprint(hash: &str) -> u64 {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(hash.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
}

/// The fingerprint sessions are checked against now (0: no password).
async fn current_fingerprint(core: &Core) -> Result<u64, ManageError> {
    Ok(password_hash(core)
        .await?
        .map_or(0, |h| password_fingerprint(&h)))
}

pub async fn log_out(core: &Core, session: &str) -> Result<(), ManageError> {
    core.admin.sessions.close(session);
    if shared(core) {
        let hash = crate::admin::session_hash(session);
        core.store
            .call(move |c| store::delete_sessions(c, Some(&hash)))
            .await?;
    }
    Ok(())
}

/// Whether sessions are kept in a shared store too (so that a login holds on every host).
fn shared(core: &Core) -> bool {
    core.store.kind() == "postgres"
}

/// A new session, kept in the shared store too when there is one.
async fn open_session(core: &Core, actor: Actor, fingerprint: u64) -> Result<String, ManageError> {
    let now = now_ms();
    let token = core.admin.sessions.open(actor.clone(), fingerprint, now);
    if shared(core) {
        let stored = store::StoredSession {
            hash: crate::admin::session_hash(&token),
            actor: actor.to_string(),
            fingerprint,
            expires_ms: now.saturating_add(crate::admin::SESSION_TTL_MS),
        };
        core.store
            .call(move |c| store::save_session(c, &stored))
            .await?;
    }
    Ok(token)
}

/// Who holds `session`: from this host's sessions, else (on a shared store) from another
/// host's.
async fn session_actor(
    core: &Core,
    session: &str,
    fingerprint: u64,
) -> Result<Option<Actor>, ManageError> {
    let now = now_ms();
    if let Some(actor) = core.admin.sessions.actor(session, fingerprint, now) {
        return Ok(Some(actor));
    }
    if !shared(core) {
        return Ok(None);
    }
    let hash = crate::admin::session_hash(session);
    let Some(found) = core
        .store
        .call(move |c| store::load_session(c, &hash))
        .await?
    else {
        return Ok(None);
    };
    let actor = match found.actor.as_str() {
        "session" => Actor::Session,
        "desktop" => Actor::Desktop,
        _ => return Ok(None),
    };
    if found.expires_ms <= now || found.fingerprint != fingerprint {
        return Ok(None);
    }
    core.admin
        .sessions
        .adopt(hash, actor.clone(), fingerprint, found.expires_ms, now);
    Ok(Some(actor))
}

/// Sets (or with `None` removes) the dashboard password. Every session ends; with a new
/// password, the caller gets a session of its own back.
pub async fn set_password(
    core: &Core,
    password: Option<String>,
) -> Result<Option<String>, ManageError> {
    let hash = match password {
        Some(p) => Some(hashed(p).await?),
        None if core.catalog().settings.require_api_key => {
            return Err(invalid(
                "password",
                "turn off 'Require API key' first: it needs the dashboard password",
            ));
        }
        None => None,
    };
    let stored = hash.clone();
    core.store
        .call(move |c| store::save_admin_password(c, stored.as_deref()))
        .await?;
    core.admin.sessions.close_all();
    if shared(core) {
        core.store.call(|c| store::delete_sessions(c, None)).await?;
    }
    tracing::info!(
        "the dashboard password was {}",
        if hash.is_some() { "set" } else { "removed" }
    );
    match hash {
        Some(h) => Ok(Some(
            open_session(core, Actor::Session, password_fingerprint(&h)).await?,
        )),
        None => Ok(None),
    }
}

/// The password's Argon2 hash, made off the async runtime (it is slow by design).
async fn hashed(password: String) -> Result<String, ManageError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| invalid("password", e.to_string()))?
        .map_err(|e: PasswordError| invalid("password", e.to_string()))
}

/// A new admin token and its record (only the token's hash is kept).
fn new_admin_token(name: &str) -> Result<(AdminTokenRecord, String), ManageError> {
    validate_name("name", name)?;
    let token = random_token(ADMIN_TOKEN_PREFIX);
    let record = AdminTokenRecord {
        id: new_id(),
        name: name.trim().to_owned(),
        hint: crate::catalog::hint(&token),
        hash: crate::catalog::hash_key(&token),
        created_at: now_ms(),
    };
    Ok((record, token))
}

/// A one-time ticket the desktop window trades for a session (it never types a password).
pub fn desktop_ticket(core: &Core) -> String {
    core.admin.tickets.issue(now_ms())
}

/// A session for the desktop window, if `ticket` is good.
pub async fn redeem_ticket(core: &Core, ticket: &str) -> Result<Option<String>, ManageError> {
    if !core.admin.tickets.redeem(ticket, now_ms()) {
        return Ok(None);
    }
    let fingerprint = current_fingerprint(core).await?;
    Ok(Some(open_session(core, Actor::Desktop, fingerprint).await?))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CreatedAdminToken {
    #[serde(flatten)]
    pub record: AdminTokenRecord,
    /// Shown once.
    pub token: String,
}

pub async fn list_admin_tokens(core: &Core) -> Result<Vec<AdminTokenRecord>, ManageError> {
    Ok(core.store.call(|c| store::list_admin_tokens(c)).await?)
}

pub async fn create_admin_token(core: &Core, name: &str) -> Result<CreatedAdminToken, ManageError> {
    let (record, token) = new_admin_token(name)?;
    let row = record.clone();
    core.store
        .call(move |c| store::insert_admin_token(c, &row))
        .await?;
    Ok(CreatedAdminToken { record, token })
}

pub async fn delete_admin_token(core: &Core, id: &str) -> Result<(), ManageError> {
    let i = id.to_owned();
    if !core
        .store
        .call(move |c| store::delete_admin_token(c, &i))
        .await?
    {
        return Err(ManageError::NotFound(format!("no admin token '{id}'")));
    }
    Ok(())
}

/// `ninerouter admin set-password` / `clear-password` on the router's machine, straight on the
/// database (the router may be running: it reads the hash at each login). Recorded in the
/// audit log as the CLI's doing.
pub async fn set_password_offline(
    store: &crate::store::Store,
    password: Option<String>,
) -> Result<(), ManageError> {
    let hash = match password {
        Some(p) => Some(hashed(p).await?),
        None => None,
    };
    let action = if hash.is_some() {
        "set dashboard password"
    } else {
        "remove dashboard password"
    };
    let entry = store::AuditEntry {
        seq: 0,
        at_ms: now_ms(),
        client: "cli".into(),
        actor: Actor::Cli.to_string(),
        action: action.into(),
        detail: String::new(),
        status: 200,
    };
    store
        .call(move |c| {
            store::save_admin_password(c, hash.as_deref())?;
            store::insert_audit(c, &entry)
        })
        .await?;
    Ok(())
}

/// `ninerouter admin create-token NAME`: a new admin token, straight on the database.
pub async fn create_admin_token_offline(
    store: &crate::store::Store,
    name: &str,
) -> Result<String, ManageError> {
    let (record, token) = new_admin_token(name)?;
    let entry = store::AuditEntry {
        seq: 0,
        at_ms: now_ms(),
        client: "cli".into(),
        actor: Actor::Cli.to_string(),
        action: "create admin token".into(),
        detail: serde_json::json!({"name": record.name}).to_string(),
        status: 201,
    };
    store
        .call(move |c| {
            store::insert_admin_token(c, &record)?;
            store::insert_audit(c, &entry)
        })
        .await?;
    Ok(token)
}
