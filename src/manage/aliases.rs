//! Model aliases: a bare name standing for a combo or `provider/model`.

use serde::Serialize;

use super::{ManageError, conflict, invalid, read_only, validate_model_ref};
use crate::catalog::Source;
use crate::state::Core;
use crate::store;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AliasView {
    pub alias: String,
    pub target: String,
    pub source: Source,
    pub read_only: bool,
}

pub fn list_aliases(core: &Core) -> Vec<AliasView> {
    core.catalog()
        .aliases
        .iter()
        .map(|(a, (t, s))| AliasView {
            alias: a.clone(),
            target: t.clone(),
            source: *s,
            read_only: *s == Source::File,
        })
        .collect()
}

pub async fn put_alias(core: &Core, alias: &str, target: &str) -> Result<AliasView, ManageError> {
    let catalog = core.catalog();
    if alias.is_empty() || alias.contains('/') || alias.chars().any(char::is_whitespace) {
        return Err(invalid(
            "alias",
            "must be a bare name without '/' or spaces",
        ));
    }
    if let Some((_, Source::File)) = catalog.aliases.get(alias) {
        return Err(read_only(&format!("alias '{alias}'")));
    }
    if catalog.combos.contains_key(alias) {
        return Err(conflict("alias", format!("'{alias}' is already a combo")));
    }
    if target == alias {
        return Err(invalid("target", "an alias cannot point at itself"));
    }
    validate_model_ref(&catalog, "target".into(), target)?;
    let (a, t) = (alias.to_owned(), target.trim().to_owned());
    core.store
        .call(move |c| store::save_alias(c, &a, &t))
        .await?;
    core.reload("aliases").await?;
    Ok(AliasView {
        alias: alias.to_owned(),
        target: target.trim().to_owned(),
        source: Source::Api,
        read_only: false,
    })
}

pub async fn delete_alias(core: &Core, alias: &str) -> Result<(), ManageError> {
    match core.catalog().aliases.get(alias) {
        Some((_, Source::File)) => return Err(read_only(&format!("alias '{alias}'"))),
        None => return Err(ManageError::NotFound(format!("no alias '{alias}'"))),
        Some(_) => {}
    }
    let a = alias.to_owned();
    core.store.call(move |c| store::delete_alias(c, &a)).await?;
    core.reload("aliases").await?;
    Ok(())
}
