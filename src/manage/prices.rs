//! Prices: the built-in table, and the user's overrides per provider and model prefix.

use serde::Serialize;

use super::{ManageError, invalid};
use crate::catalog::{Price, PriceOverride};
use crate::state::Core;
use crate::store;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuiltInPrice {
    /// Model-name prefix; the longest match wins.
    pub model: &'static str,
    #[serde(flatten)]
    pub price: Price,
}

#[derive(Debug, Serialize)]
pub struct PriceList {
    pub table: Vec<BuiltInPrice>,
    pub overrides: Vec<PriceOverride>,
}

pub fn list_prices(core: &Core) -> PriceList {
    PriceList {
        table: crate::usage::price_table()
            .map(|(model, price)| BuiltInPrice { model, price })
            .collect(),
        overrides: core.catalog().prices.clone(),
    }
}

pub async fn put_price(
    core: &Core,
    provider: &str,
    model: &str,
    price: Price,
) -> Result<PriceOverride, ManageError> {
    if !core.catalog().has_provider(provider) {
        return Err(invalid(
            "provider",
            format!("'{provider}' is not a provider id or custom node id"),
        ));
    }
    if model.trim().is_empty() {
        return Err(invalid("model", "name a model or a model-name prefix"));
    }
    price.validate().map_err(|(f, m)| invalid(f, m))?;
    let row = PriceOverride {
        provider: provider.to_owned(),
        model: model.trim().to_owned(),
        price,
    };
    let saved = row.clone();
    core.store
        .call(move |c| store::put_price_override(c, &saved))
        .await?;
    core.reload("prices").await?;
    Ok(row)
}

pub async fn delete_price(core: &Core, provider: &str, model: &str) -> Result<(), ManageError> {
    let (p, m) = (provider.to_owned(), model.to_owned());
    let deleted = core
        .store
        .call(move |c| store::delete_price_override(c, &p, &m))
        .await?;
    if !deleted {
        return Err(ManageError::NotFound(format!(
            "no price override for {provider} {model}"
        )));
    }
    core.reload("prices").await?;
    Ok(())
}
