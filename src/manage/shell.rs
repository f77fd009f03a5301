//! What the tray switches: routing paused or running, and the active combo (the `default`
//! alias pointed at a combo).

use super::{ManageError, put_alias};
use crate::engine::{ACTIVE_COMBO_ALIAS, Core};

pub async fn set_active_combo(core: &Core, name: &str) -> Result<(), ManageError> {
    if !core.catalog().combos.contains_key(name) {
        return Err(ManageError::NotFound(format!("no combo '{name}'")));
    }
    put_alias(core, ACTIVE_COMBO_ALIAS, name).await?;
    Ok(())
}
