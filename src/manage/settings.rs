//! Settings, changed by partial patches (`{"routing":{"stickyLimit":2}}`).

use super::{ManageError, invalid};
use crate::catalog::Settings;
use crate::state::Core;
use crate::store;

pub fn get_settings(core: &Core) -> Settings {
    core.catalog().settings.clone()
}

pub(super) fn merge(target: &mut serde_json::Value, patch: serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                // providerStrategies is replaced whole: merging could never remove an override.
                match t.get_mut(&k) {
                    Some(existing)
                        if v.is_object() && existing.is_object() && k != "providerStrategies" =>
                    {
                        merge(existing, v)
                    }
                    _ => {
                        t.insert(k, v);
                    }
                }
            }
        }
        (t, p) => *t = p,
    }
}

pub async fn patch_settings(
    core: &Core,
    patch: serde_json::Value,
) -> Result<Settings, ManageError> {
    if !patch.is_object() {
        return Err(invalid("body", "must be a JSON object"));
    }
    let mut current =
        serde_json::to_value(get_settings(core)).map_err(|e| invalid("body", e.to_string()))?;
    merge(&mut current, patch);
    let settings: Settings = serde_json::from_value(current).map_err(|e| {
        let message = e.to_string();
        let field = super::field_in_message(&message)
            .unwrap_or("settings")
            .to_owned();
        invalid(field, message)
    })?;
    settings
        .routing
        .validate()
        .map_err(|(f, m)| invalid(format!("routing.{f}"), m))?;
    settings
        .observability
        .validate()
        .map_err(|(f, m)| invalid(format!("observability.{f}"), m))?;
    let turning_on = settings.require_api_key && !core.catalog().settings.require_api_key;
    if turning_on && super::admin::password_hash(core).await?.is_none() {
        return Err(invalid(
            "requireApiKey",
            "set a dashboard password first: with keys required, managing the router needs it",
        ));
    }
    let row = settings.clone();
    core.store
        .call(move |c| store::save_settings(c, &row))
        .await?;
    core.reload("settings").await?;
    Ok(settings)
}
