//! Management use-cases: every change a user makes through the dashboard, a script or the
//! desktop shell. Each validates, writes the store (and the secret store), then rebuilds the
//! catalog. Front ends stay thin and call these.

mod accounts;
pub mod admin;
mod aliases;
mod audit;
mod code_login;
mod combos;
mod first_run;
mod import;
mod keys;
mod login;
mod models;
mod move_in;
mod nodes;
mod prices;
mod quota;
mod secrets;
mod settings;
mod shell;
mod sync;
mod tools;

pub use accounts::{
    AccountInput, AccountPatch, AccountView, account_secret_ref, create_account, delete_account,
    get_account, list_accounts, reset_account, save_login, test_account, update_account,
};
pub use aliases::{AliasView, delete_alias, list_aliases, put_alias};
pub use audit::{audit_detail, list_audit, record_change};
pub use code_login::complete_login;
pub use combos::{
    ComboInput, ComboPatch, ComboView, create_combo, delete_combo, list_combos, update_combo,
};
pub use first_run::{
    FIRST_COMBO, FirstRun, FirstRunDone, FirstRunInput, FoundLogin, complete_first_run, first_run,
};
pub use import::{import_login, preview_import};
pub use keys::{CreatedKey, KeyInput, create_key, delete_key, list_keys, update_key};
pub use login::{LoginOptions, start_login, upkeep};
pub use models::{ModelTestInput, ModelTested, ModelView, list_models, test_models};
pub use move_in::{
    ExportInput, ImportItem, ImportReport, ItemAction, PeerImportInput, apply as apply_setup,
    export as export_setup, export_file, open_file, plan as plan_setup, read_peer,
};
pub use nodes::{NodeInput, NodePatch, create_node, delete_node, list_nodes, update_node};
pub use prices::{PriceList, delete_price, list_prices, put_price};
pub use quota::{
    api_of as quota_api_of, fetch as fetch_quota, refresh_account as refresh_quota,
    refresh_loop as quota_refresh_loop,
};
pub use secrets::{SecretsMoved, move_secrets, move_secrets_offline};
pub use settings::{get_settings, patch_settings};
pub use shell::{set_active_combo, shell_set_active_combo, shell_set_paused};
pub use sync::{
    MergeInput, SyncInput, SyncPeer, SyncStatus, merge as merge_sync, set_sync, stop_sync,
    sync_loop, sync_status,
};
pub use tools::{
    FilePreview, KeyChoice, ToolApplied, ToolInput, ToolPreview, ToolRestored, apply_tool,
    list_tools, preview_tool, restore_tool,
};

use crate::secrets::SecretError;
use crate::state::CoreError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    ReadOnly(String),
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// A provider's server failed or refused (a login's first step, say).
    #[error("{0}")]
    Upstream(String),
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<StoreError> for ManageError {
    fn from(e: StoreError) -> Self {
        Self::Core(CoreError::Store(e))
    }
}

impl From<SecretError> for ManageError {
    fn from(e: SecretError) -> Self {
        Self::Core(CoreError::Secret(e))
    }
}

pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ManageError {
    ManageError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

pub(super) fn conflict(field: impl Into<String>, message: impl Into<String>) -> ManageError {
    ManageError::Conflict {
        field: field.into(),
        message: message.into(),
    }
}

fn read_only(what: &str) -> ManageError {
    ManageError::ReadOnly(format!(
        "{what} is declared in the config file; change it there and restart"
    ))
}

pub(super) fn validate_name(field: &str, name: &str) -> Result<(), ManageError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > 64 {
        return Err(invalid(field, "must be at most 64 characters"));
    }
    Ok(())
}

/// A model string must name something routable now: a combo, alias or `prefix/model`.
fn validate_model_ref(
    catalog: &crate::catalog::Catalog,
    field: String,
    model: &str,
) -> Result<(), ManageError> {
    let m = model.trim();
    if m.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    let known = match m.split_once('/') {
        Some((prefix, rest)) => catalog.provider_by_prefix(prefix).is_some() && !rest.is_empty(),
        None => {
            catalog.combos.contains_key(m)
                || catalog.aliases.contains_key(m)
                || catalog.guess_provider(m).is_some()
        }
    };
    if known {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!(
                "'{m}' is not a combo, an alias, or provider/model with a known provider prefix"
            ),
        ))
    }
}

/// The field a serde error names (``unknown field `x` `` / ``missing field `x` ``), if any.
pub fn field_in_message(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}
