//! What the tray switches: routing paused or running, and the active combo (the `default`
//! alias pointed at a combo).

use super::{ManageError, put_alias};
use crate::state::{ACTIVE_COMBO_ALIAS, Core};

pub async fn set_active_combo(core: &Core, name: &str) -> Result<(), ManageError> {
    if !core.catalog().combos.contains_key(name) {
        return Err(ManageError::NotFound(format!("no combo '{name}'")));
    }
    put_alias(core, ACTIVE_COMBO_ALIAS, name).await?;
    Ok(())
}

/// The tray's combo switch: the change, and its audit entry.
pub async fn shell_set_active_combo(core: &Core, name: &str) -> Result<(), ManageError> {
    let result = set_active_combo(core, name).await;
    let status = if result.is_ok() { 200 } else { 400 };
    let detail = serde_json::json!({ "combo": name }).to_string();
    super::record_change(
        core,
        "desktop".into(),
        &crate::admin::Actor::Desktop,
        "set active combo".into(),
        detail,
        status,
    )
    .await;
    result
}

/// The tray's pause and resume, recorded in the audit log.
pub async fn shell_set_paused(core: &Core, paused: bool) {
    core.set_paused(paused);
    let action = if paused {
        "pause routing"
    } else {
        "resume routing"
    };
    super::record_change(
        core,
        "desktop".into(),
        &crate::admin::Actor::Desktop,
        action.into(),
        String::new(),
        200,
    )
    .await;
}
