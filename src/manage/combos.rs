//! Combos: named fallback chains. Members are checked against what can be routed, and a
//! change that would make combos nest in a cycle is refused up front.

use serde::{Deserialize, Serialize};

use super::{ManageError, conflict, invalid, read_only, validate_model_ref};
use crate::catalog::{Combo, ComboStrategy, Source, validate_combo};
use crate::state::Core;
use crate::store;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct ComboInput {
    pub name: String,
    pub models: Vec<String>,
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<ComboStrategy>"))]
    pub strategy: ComboStrategy,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct ComboPatch {
    pub name: Option<String>,
    pub models: Option<Vec<String>>,
    pub strategy: Option<ComboStrategy>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ComboView {
    #[serde(flatten)]
    pub combo: Combo,
    pub source: Source,
    pub read_only: bool,
}

pub fn list_combos(core: &Core) -> Vec<ComboView> {
    core.catalog()
        .combos
        .values()
        .map(|(c, s)| ComboView {
            combo: c.clone(),
            source: *s,
            read_only: *s == Source::File,
        })
        .collect()
}

fn check(core: &Core, combo: &Combo, previous: Option<&str>) -> Result<(), ManageError> {
    validate_combo(&combo.name, &combo.models).map_err(|(f, m)| invalid(f, m))?;
    let catalog = core.catalog();
    let renamed = previous != Some(combo.name.as_str());
    if renamed {
        if catalog.combos.contains_key(&combo.name) {
            return Err(conflict(
                "name",
                format!("a combo named '{}' exists", combo.name),
            ));
        }
        if catalog.aliases.contains_key(&combo.name) {
            return Err(conflict(
                "name",
                format!("'{}' is already an alias", combo.name),
            ));
        }
    }
    for (i, m) in combo.models.iter().enumerate() {
        if previous == Some(m.as_str()) {
            return Err(invalid(
                format!("models[{i}]"),
                "a combo cannot contain itself",
            ));
        }
        validate_model_ref(&catalog, format!("models[{i}]"), m)?;
    }
    // Would the new membership close a cycle? Walk the combos as they would be.
    let lookup = |name: &str| -> Option<Vec<String>> {
        if name == combo.name {
            return Some(combo.models.clone());
        }
        if Some(name) == previous {
            return None;
        }
        catalog.combos.get(name).map(|(c, _)| c.models.clone())
    };
    let mut path = vec![combo.name.clone()];
    if let Some(cycle) = find_cycle(&lookup, &combo.models, &mut path) {
        return Err(invalid(
            "models",
            format!("this would make a cycle: {}", cycle.join(" → ")),
        ));
    }
    Ok(())
}

fn find_cycle(
    lookup: &dyn Fn(&str) -> Option<Vec<String>>,
    members: &[String],
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    for m in members {
        if path.iter().any(|p| p == m) {
            let mut cycle = path.clone();
            cycle.push(m.clone());
            return Some(cycle);
        }
        if let Some(inner) = lookup(m) {
            path.push(m.clone());
            if let Some(c) = find_cycle(lookup, &inner, path) {
                return Some(c);
            }
            path.pop();
        }
    }
    None
}

pub async fn create_combo(core: &Core, input: ComboInput) -> Result<ComboView, ManageError> {
    let combo = Combo {
        name: input.name.trim().to_owned(),
        models: input.models.iter().map(|m| m.trim().to_owned()).collect(),
        strategy: input.strategy,
    };
    check(core, &combo, None)?;
    let row = combo.clone();
    core.store
        .call(move |c| store::save_combo(c, &row, None))
        .await?;
    core.reload("combos").await?;
    Ok(ComboView {
        combo,
        source: Source::Api,
        read_only: false,
    })
}

fn existing(core: &Core, name: &str) -> Result<Combo, ManageError> {
    match core.catalog().combos.get(name) {
        Some((_, Source::File)) => Err(read_only(&format!("combo '{name}'"))),
        Some((c, Source::Api)) => Ok(c.clone()),
        None => Err(ManageError::NotFound(format!("no combo '{name}'"))),
    }
}

pub async fn update_combo(
    core: &Core,
    name: &str,
    patch: ComboPatch,
) -> Result<ComboView, ManageError> {
    let mut combo = existing(core, name)?;
    if let Some(n) = patch.name {
        combo.name = n.trim().to_owned();
    }
    if let Some(m) = patch.models {
        combo.models = m.iter().map(|m| m.trim().to_owned()).collect();
    }
    if let Some(s) = patch.strategy {
        combo.strategy = s;
    }
    check(core, &combo, Some(name))?;
    let row = combo.clone();
    let old = name.to_owned();
    core.store
        .call(move |c| store::save_combo(c, &row, Some(&old)))
        .await?;
    core.reload("combos").await?;
    Ok(ComboView {
        combo,
        source: Source::Api,
        read_only: false,
    })
}

pub async fn delete_combo(core: &Core, name: &str) -> Result<(), ManageError> {
    existing(core, name)?;
    let n = name.to_owned();
    core.store.call(move |c| store::delete_combo(c, &n)).await?;
    core.reload("combos").await?;
    Ok(())
}
