//! Moving a setup in and out: another router's setup read and previewed item by item, then
//! created; the whole setup written to an encrypted file and read back on another machine.
//! Applying is idempotent: what is already here is skipped, so a second import creates
//! nothing; a name taken by something different is a conflict, shown and left alone.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::accounts::{check_fields, insert_with_secret};
use super::{
    ComboInput, ManageError, NodeInput, create_combo, create_node, invalid, put_alias, put_price,
};
use crate::catalog::{
    AccountRecord, ApiKeyRecord, ComboStrategy, Credential, KeyLimits, Price, Source,
};
use crate::clock::{new_id, now_ms};
use crate::secrets::SecretString;
use crate::setup::bundle::{self, BundleError};
use crate::setup::doc::{AccountDoc, FORMAT, KeyDoc, NodeDoc, SetupDoc, Skipped};
use crate::setup::peers::Peer;
use crate::state::Core;
use crate::store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum ItemAction {
    /// Will be (or was) created.
    Create,
    /// Already here as it is: nothing to do.
    Present,
    /// Not brought over, and why.
    Skip,
    /// Its name is taken here by something else: left alone.
    Conflict,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ImportItem {
    /// `kind:name`, what a merge names to take the other side's version of a conflict.
    pub key: String,
    /// `account`, `node`, `combo`, `alias`, `key`, `price`, `settings`, `login`, `usage`.
    pub kind: String,
    pub name: String,
    pub action: ItemAction,
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ImportReport {
    /// Who wrote what was read (`9Router`, `CLIProxyAPI`, `NineRouter 0.1.0`).
    pub source: String,
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Whether anything was written (`false` for a preview).
    pub applied: bool,
    pub items: Vec<ImportItem>,
}

/// `POST /api/import/preview` and `…/apply`: which router, and where its setup is (its
/// default place when left out).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct PeerImportInput {
    #[cfg_attr(test, ts(as = "crate::setup::peers::Peer"))]
    pub source: Peer,
    pub path: Option<String>,
}

/// `POST /api/setup/export`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct ExportInput {
    #[cfg_attr(test, ts(optional = false))]
    pub passphrase: String,
    #[serde(default)]
    pub include_usage: bool,
}

impl From<BundleError> for ManageError {
    fn from(e: BundleError) -> Self {
        invalid(
            match e {
                BundleError::WeakPassphrase | BundleError::WrongPassphrase => "passphrase",
                _ => "file",
            },
            e.to_string(),
        )
    }
}

fn item(kind: &str, name: &str, action: ItemAction, reason: Option<String>) -> ImportItem {
    ImportItem {
        key: format!("{kind}:{}", name.split(" → ").next().unwrap_or(name)),
        kind: kind.to_owned(),
        name: name.to_owned(),
        action,
        reason,
    }
}

fn skipped(s: &Skipped) -> ImportItem {
    item(&s.kind, &s.name, ItemAction::Skip, Some(s.reason.clone()))
}

// ---- reading -------------------------------------------------------------------------------

/// Another router's setup, read from `path` or its default place on this machine.
pub fn read_peer(core: &Core, input: &PeerImportInput) -> Result<(SetupDoc, PathBuf), ManageError> {
    let home = core.places.home.as_ref();
    let path = match input
        .path
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => {
            let p = PathBuf::from(p);
            if !p.is_absolute() {
                return Err(invalid("path", "must be an absolute path"));
            }
            p
        }
        None => input.source.default_path(home.ok_or_else(|| {
            invalid(
                "path",
                "this router knows no home directory: name where the setup is",
            )
        })?),
    };
    let unknown = crate::setup::Home::isolated(std::path::Path::new("/nonexistent"), None);
    let doc = input.source.read(&path, home.unwrap_or(&unknown))?;
    Ok((doc, path))
}

/// A setup file, decrypted and checked (nothing is changed).
pub fn read_setup_file(bytes: &[u8], passphrase: &str) -> Result<SetupDoc, ManageError> {
    Ok(bundle::open(bytes, passphrase)?)
}

// ---- planning ------------------------------------------------------------------------------

/// How a setup is brought in: imported once, or merged from another machine's copy, where a
/// setting that differs is a conflict for the user to decide, never a silent overwrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Import,
    Merge,
}

/// What applying `doc` would do, item by item, against the router as it is now.
pub async fn plan(core: &Core, doc: &SetupDoc) -> Result<Vec<ImportItem>, ManageError> {
    plan_as(core, doc, Mode::Import).await
}

pub async fn plan_as(
    core: &Core,
    doc: &SetupDoc,
    mode: Mode,
) -> Result<Vec<ImportItem>, ManageError> {
    let here = Here::load(core).await?;
    let mut items: Vec<ImportItem> = Vec::new();
    let mut new_prefixes = HashSet::new();
    let mut blocked = HashSet::new();
    for n in &doc.nodes {
        let action = here.node(core, n);
        match action.0 {
            ItemAction::Create => {
                new_prefixes.insert(n.prefix.clone());
            }
            ItemAction::Present => {}
            _ => {
                blocked.insert(n.prefix.clone());
            }
        }
        items.push(item("node", &n.name, action.0, action.1));
    }
    for a in &doc.accounts {
        // An account of a node left alone would be another provider's here: its key is not
        // sent to a host it was not made for.
        let (action, reason) = if blocked.contains(&a.provider) {
            (
                ItemAction::Skip,
                Some(format!(
                    "its node '{}' is not brought in, so its key is not either",
                    a.provider
                )),
            )
        } else {
            here.account(core, a, &new_prefixes)
        };
        items.push(item(
            "account",
            &format!("{} · {}", a.provider, a.name),
            action,
            reason,
        ));
    }
    let catalog = core.catalog();
    for c in &doc.combos {
        let (action, reason) = match catalog.combos.get(&c.name) {
            Some((combo, _)) if combo.models == c.models => (ItemAction::Present, None),
            Some(_) => (
                ItemAction::Conflict,
                Some("a combo of this name lists other models".to_owned()),
            ),
            None => (ItemAction::Create, None),
        };
        items.push(item("combo", &c.name, action, reason));
    }
    for (alias, target) in &doc.aliases {
        let (action, reason) = match catalog.aliases.get(alias) {
            Some((t, _)) if t == target => (ItemAction::Present, None),
            Some((t, _)) => (ItemAction::Conflict, Some(format!("it points at {t} here"))),
            None if catalog.combos.contains_key(alias)
                || doc.combos.iter().any(|c| &c.name == alias) =>
            {
                (
                    ItemAction::Conflict,
                    Some("a combo has this name".to_owned()),
                )
            }
            None => (ItemAction::Create, None),
        };
        items.push(item(
            "alias",
            &format!("{alias} → {target}"),
            action,
            reason,
        ));
    }
    for k in &doc.keys {
        let action = if here.key_hashes.contains(&k.hash) {
            ItemAction::Present
        } else {
            ItemAction::Create
        };
        items.push(item(
            "key",
            &format!("{} ({})", k.name, k.hint),
            action,
            None,
        ));
    }
    for p in &doc.prices {
        let name = format!(
            "{} {}",
            p.get("provider").and_then(Value::as_str).unwrap_or("?"),
            p.get("model").and_then(Value::as_str).unwrap_or("?")
        );
        let action = if price_present(core, p) {
            ItemAction::Present
        } else {
            ItemAction::Create
        };
        items.push(item("price", &name, action, None));
    }
    if let Some(patch) = &doc.settings {
        let (action, reason) = match settings_action(core, patch).await? {
            (ItemAction::Create, _) if mode == Mode::Merge => (
                ItemAction::Conflict,
                Some("the settings differ from this machine's".to_owned()),
            ),
            other => other,
        };
        items.push(item("settings", "settings", action, reason));
    }
    if let Some(rows) = &doc.usage {
        let all = rows.clone();
        let new = core
            .store
            .call(move |c| store::count_new_usage(c, &all))
            .await?;
        let action = if new == 0 {
            ItemAction::Present
        } else {
            ItemAction::Create
        };
        items.push(item(
            "usage",
            &format!("{new} of {} recorded requests", rows.len()),
            action,
            None,
        ));
    }
    items.extend(doc.skipped.iter().map(skipped));
    Ok(items)
}

/// The same price is already set for the provider's models.
fn price_present(core: &Core, p: &Value) -> bool {
    let catalog = core.catalog();
    let text = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default();
    let Some(provider) = catalog.provider_by_prefix(text("provider")) else {
        return false;
    };
    let Some(price) = price_of(p) else {
        return false;
    };
    catalog
        .prices
        .iter()
        .any(|o| o.provider == provider.id && o.model == text("model") && o.price == price)
}

fn price_of(p: &Value) -> Option<Price> {
    let mut fields = p.clone();
    let o = fields.as_object_mut()?;
    o.remove("provider");
    o.remove("model");
    serde_json::from_value(fields).ok()
}

/// The settings a setup brings, less what would lower this router's guard: requiring proxy
/// keys, once on, is never turned off by an import.
fn guarded(core: &Core, patch: &Value) -> Value {
    let mut patch = patch.clone();
    if core.catalog().settings.require_api_key
        && let Some(o) = patch.as_object_mut()
        && o.get("requireApiKey") == Some(&Value::Bool(false))
    {
        o.remove("requireApiKey");
    }
    patch
}

async fn settings_action(
    core: &Core,
    patch: &Value,
) -> Result<(ItemAction, Option<String>), ManageError> {
    let patch = &guarded(core, patch);
    let current = serde_json::to_value(super::get_settings(core))
        .map_err(|e| invalid("settings", e.to_string()))?;
    let mut merged = current.clone();
    super::settings::merge(&mut merged, patch.clone());
    if merged == current {
        return Ok((ItemAction::Present, None));
    }
    let wants_keys = merged.get("requireApiKey") == Some(&Value::Bool(true))
        && current.get("requireApiKey") != Some(&Value::Bool(true));
    if wants_keys && super::admin::password_hash(core).await?.is_none() {
        return Ok((
            ItemAction::Skip,
            Some(
                "it requires proxy keys: set a dashboard password first, then import again".into(),
            ),
        ));
    }
    Ok((ItemAction::Create, None))
}

/// What the router holds now, to match against.
struct Here {
    key_hashes: HashSet<String>,
}

impl Here {
    async fn load(core: &Core) -> Result<Self, ManageError> {
        let keys = super::list_keys(core).await?;
        Ok(Self {
            key_hashes: keys.iter().map(|k| hex::encode(k.hash)).collect(),
        })
    }

    fn node(&self, core: &Core, n: &NodeDoc) -> (ItemAction, Option<String>) {
        let catalog = core.catalog();
        match catalog.provider_by_prefix(&n.prefix) {
            Some(p) if p.base_url.trim_end_matches('/') == n.base_url.trim_end_matches('/') => {
                (ItemAction::Present, None)
            }
            Some(p) => (
                ItemAction::Conflict,
                Some(format!(
                    "the prefix '{}' is {} here ({})",
                    n.prefix,
                    p.name,
                    crate::catalog::masked_url(&p.base_url)
                )),
            ),
            None => (ItemAction::Create, None),
        }
    }

    fn account(
        &self,
        core: &Core,
        a: &AccountDoc,
        new_prefixes: &HashSet<String>,
    ) -> (ItemAction, Option<String>) {
        let catalog = core.catalog();
        let Some(provider) = catalog.provider_by_prefix(&a.provider) else {
            return if new_prefixes.contains(&a.provider) {
                (ItemAction::Create, None)
            } else {
                (
                    ItemAction::Skip,
                    Some(format!("no provider or node '{}' here", a.provider)),
                )
            };
        };
        let same_name = catalog
            .accounts()
            .iter()
            .find(|x| x.provider == provider.id && x.name == a.name);
        if same_name.is_some() {
            return (ItemAction::Present, None);
        }
        let same_key = catalog.accounts().iter().find(|x| {
            x.provider == provider.id
                && matches!((&x.credential, a.secret.as_deref()), (Credential::ApiKey(k), Some(s)) if k.expose() == s)
        });
        if let Some(x) = same_key {
            return (
                ItemAction::Present,
                Some(format!("this key is already the account '{}'", x.name)),
            );
        }
        (ItemAction::Create, None)
    }
}

// ---- applying ------------------------------------------------------------------------------

/// Creates what `plan` says to create, in order (nodes before their accounts, combos before
/// the aliases that may name them). An item that fails is reported, the rest go on.
pub async fn apply(core: &Core, doc: SetupDoc) -> Result<Vec<ImportItem>, ManageError> {
    apply_as(core, doc, Mode::Import, &HashSet::new()).await
}

/// As `apply`, and for each conflict whose key is in `take`, the other side's version
/// replaces this one (a combo's models, an alias's target, a node's URL, the settings).
pub async fn apply_as(
    core: &Core,
    doc: SetupDoc,
    mode: Mode,
    take: &HashSet<String>,
) -> Result<Vec<ImportItem>, ManageError> {
    // The plan lists the items in the order they are created below.
    let mut items = plan_as(core, &doc, mode).await?;
    let mut steps: Vec<Step<'_>> = Vec::new();
    steps.extend(doc.nodes.iter().map(Step::Node));
    steps.extend(doc.accounts.iter().map(Step::Account));
    steps.extend(doc.combos.iter().map(Step::Combo));
    steps.extend(doc.aliases.iter().map(|(a, t)| Step::Alias(a, t)));
    steps.extend(doc.keys.iter().map(Step::Key));
    steps.extend(doc.prices.iter().map(Step::Price));
    steps.extend(doc.settings.iter().map(Step::Settings));
    steps.extend(doc.usage.iter().map(|rows| Step::Usage(rows)));
    for (step, it) in steps.into_iter().zip(items.iter_mut()) {
        let result = match it.action {
            ItemAction::Create => step.run(core).await,
            ItemAction::Conflict if take.contains(&it.key) => match step.replace(core).await {
                Ok(()) => {
                    it.action = ItemAction::Create;
                    it.reason = Some("replaced by the other machine's".into());
                    Ok(())
                }
                Err(e) => Err(e),
            },
            _ => continue,
        };
        if let Err(e) = result {
            it.action = ItemAction::Skip;
            it.reason = Some(e.to_string());
        }
    }
    tracing::info!(
        created = items.iter().filter(|i| i.action == ItemAction::Create).count(),
        source = %doc.made_by,
        "imported a setup"
    );
    Ok(items)
}

/// One item of a setup to create.
enum Step<'a> {
    Node(&'a NodeDoc),
    Account(&'a AccountDoc),
    Combo(&'a crate::setup::doc::ComboDoc),
    Alias(&'a String, &'a String),
    Key(&'a KeyDoc),
    Price(&'a Value),
    Settings(&'a Value),
    Usage(&'a [Value]),
}

impl Step<'_> {
    /// The other side's version over this one, for a conflict the user chose to take.
    async fn replace(self, core: &Core) -> Result<(), ManageError> {
        match self {
            Self::Combo(c) => {
                let patch = super::ComboPatch {
                    models: Some(c.models.clone()),
                    ..Default::default()
                };
                super::update_combo(core, &c.name, patch).await.map(|_| ())
            }
            Self::Alias(alias, target) => put_alias(core, alias, target).await.map(|_| ()),
            Self::Node(n) => {
                let id = core
                    .catalog()
                    .provider_by_prefix(&n.prefix)
                    .map(|p| p.id.clone())
                    .ok_or_else(|| invalid("node", format!("no node '{}' here", n.prefix)))?;
                let patch = super::NodePatch {
                    base_url: Some(n.base_url.clone()),
                    ..Default::default()
                };
                super::update_node(core, &id, patch).await.map(|_| ())
            }
            Self::Settings(patch) => super::patch_settings(core, guarded(core, patch))
                .await
                .map(|_| ()),
            _ => Err(invalid(
                "take",
                "this item cannot be replaced from another machine",
            )),
        }
    }

    async fn run(self, core: &Core) -> Result<(), ManageError> {
        match self {
            Self::Node(n) => {
                let input = NodeInput {
                    name: n.name.clone(),
                    prefix: n.prefix.clone(),
                    kind: n.kind.clone(),
                    base_url: n.base_url.clone(),
                };
                create_node(core, input).await.map(|_| ())
            }
            Self::Account(a) => create_account(core, a).await,
            Self::Combo(c) => {
                let strategy = match c.strategy.as_deref() {
                    Some("round-robin") => ComboStrategy::RoundRobin,
                    _ => ComboStrategy::default(),
                };
                let input = ComboInput {
                    name: c.name.clone(),
                    models: c.models.clone(),
                    strategy,
                };
                create_combo(core, input).await.map(|_| ())
            }
            Self::Alias(alias, target) => put_alias(core, alias, target).await.map(|_| ()),
            Self::Key(k) => insert_key(core, k).await,
            Self::Price(p) => insert_price(core, p).await,
            Self::Settings(patch) => super::patch_settings(core, guarded(core, patch))
                .await
                .map(|_| ()),
            Self::Usage(rows) => {
                let rows = rows.to_vec();
                core.store
                    .call(move |c| store::import_usage(c, &rows))
                    .await?;
                Ok(())
            }
        }
    }
}

async fn create_account(core: &Core, a: &AccountDoc) -> Result<(), ManageError> {
    let catalog = core.catalog();
    let provider = catalog
        .provider_by_prefix(&a.provider)
        .map(|p| p.id.clone())
        .ok_or_else(|| invalid("provider", format!("no provider or node '{}'", a.provider)))?;
    // The same account twice in one file: the first one is kept.
    if catalog
        .accounts()
        .iter()
        .any(|x| x.provider == provider && x.name == a.name.trim())
    {
        return Err(super::conflict(
            "name",
            format!(
                "{provider} already has an account named '{}'",
                a.name.trim()
            ),
        ));
    }
    // A login talks to its provider's own servers only.
    let login = crate::providers::find(&provider)
        .is_some_and(|p| p.auth != crate::providers::AuthKind::ApiKey);
    if login && a.base_url.is_some() {
        return Err(invalid(
            "baseUrl",
            "a login account uses its provider's own address",
        ));
    }
    check_fields(
        Some(&a.name),
        a.priority,
        a.base_url.as_deref(),
        Some(&a.models),
        a.proxy.as_deref(),
        a.quota_reserve_pct,
    )?;
    let secret = a
        .secret
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid("secret", "it holds no key or login"))?;
    let rec = AccountRecord {
        id: new_id(),
        provider,
        name: a.name.trim().to_owned(),
        priority: a.priority.unwrap_or(100),
        enabled: a.enabled,
        base_url: a.base_url.clone(),
        models: a.models.clone(),
        secret_ref: None,
        proxy_ref: None,
        quota_reserve_pct: a.quota_reserve_pct,
        source: Source::Api,
    };
    insert_with_secret(
        core,
        rec,
        Some(SecretString::new(secret.to_owned())),
        a.proxy.clone(),
    )
    .await?;
    Ok(())
}

async fn insert_key(core: &Core, k: &KeyDoc) -> Result<(), ManageError> {
    let bytes = hex::decode(&k.hash).map_err(|_| invalid("hash", "not a key hash"))?;
    let hash: [u8; 32] = bytes
        .try_into()
        .map_err(|_| invalid("hash", "not a key hash"))?;
    super::validate_name("name", &k.name)?;
    k.limits.validate().map_err(|(f, m)| invalid(f, m))?;
    let record = ApiKeyRecord {
        id: new_id(),
        name: k.name.trim().to_owned(),
        hint: k.hint.chars().take(32).collect(),
        hash,
        created_at: now_ms(),
        source: Source::Api,
        limits: KeyLimits::clone(&k.limits),
    };
    core.store
        .call(move |c| store::insert_api_key(c, &record))
        .await?;
    core.reload("keys").await?;
    Ok(())
}

async fn insert_price(core: &Core, p: &Value) -> Result<(), ManageError> {
    let text = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let provider = core
        .catalog()
        .provider_by_prefix(&text("provider"))
        .map(|x| x.id.clone())
        .ok_or_else(|| invalid("provider", format!("no provider '{}'", text("provider"))))?;
    let mut fields = p.clone();
    if let Some(o) = fields.as_object_mut() {
        o.remove("provider");
        o.remove("model");
    }
    let price: Price =
        serde_json::from_value(fields).map_err(|e| invalid("price", e.to_string()))?;
    put_price(core, &provider, &text("model"), price)
        .await
        .map(|_| ())
}

/// The largest setup file made: base64 in a 64 MiB body.
pub const MAX_SETUP_FILE: usize = 46 << 20;

// ---- exporting -----------------------------------------------------------------------------

/// The whole setup: settings, nodes, accounts with their secrets, combos, aliases, key hashes,
/// prices, optionally usage. Only what was made here (the config file's own are its own).
pub async fn export(core: &Core, include_usage: bool) -> Result<SetupDoc, ManageError> {
    let (rows, usage) = core
        .store
        .call(move |c| {
            let usage = if include_usage {
                Some(store::export_usage(c)?)
            } else {
                None
            };
            Ok((store::load_catalog_rows(c)?, usage))
        })
        .await?;
    let store::CatalogRows {
        settings,
        nodes,
        accounts,
        combos,
        aliases,
        keys,
        prices,
    } = rows;
    let prefix_of = |id: &str| {
        nodes
            .iter()
            .find(|n| n.id == id)
            .map_or_else(|| id.to_owned(), |n| n.prefix.clone())
    };
    let mut doc = SetupDoc {
        format: FORMAT,
        made_by: format!("NineRouter {}", env!("CARGO_PKG_VERSION")),
        settings: Some(
            serde_json::to_value(&settings).map_err(|e| invalid("settings", e.to_string()))?,
        ),
        nodes: nodes
            .iter()
            .map(|n| NodeDoc {
                name: n.name.clone(),
                prefix: n.prefix.clone(),
                kind: n.kind.as_str().to_owned(),
                base_url: n.base_url.clone(),
            })
            .collect(),
        combos: combos
            .iter()
            .map(|c| crate::setup::doc::ComboDoc {
                name: c.name.clone(),
                models: c.models.clone(),
                strategy: serde_json::to_value(c.strategy)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
            })
            .collect(),
        aliases: aliases.into_iter().collect(),
        keys: keys
            .iter()
            .map(|k| KeyDoc {
                name: k.name.clone(),
                hash: hex::encode(k.hash),
                hint: k.hint.clone(),
                limits: k.limits.clone(),
            })
            .collect(),
        prices: prices
            .iter()
            .filter_map(|p| {
                let mut v = serde_json::to_value(p).ok()?;
                v["provider"] = Value::String(prefix_of(&p.provider));
                Some(v)
            })
            .collect(),
        usage,
        ..SetupDoc::default()
    };
    for rec in accounts {
        let secret = match &rec.secret_ref {
            Some(r) => core.secrets.get(r).await?.map(|s| s.expose().to_owned()),
            None => None,
        };
        let proxy = match &rec.proxy_ref {
            Some(r) => core.secrets.get(r).await?.map(|s| s.expose().to_owned()),
            None => None,
        };
        // A login renewed since it was read: the one in use is newer than the stored one.
        doc.accounts.push(AccountDoc {
            provider: prefix_of(&rec.provider),
            name: rec.name,
            priority: Some(rec.priority),
            enabled: rec.enabled,
            base_url: rec.base_url,
            models: rec.models,
            secret,
            proxy,
            quota_reserve_pct: rec.quota_reserve_pct,
        });
    }
    Ok(doc)
}

pub async fn export_file(core: &Core, input: ExportInput) -> Result<Vec<u8>, ManageError> {
    if input.passphrase.chars().count() < bundle::MIN_PASSPHRASE {
        return Err(BundleError::WeakPassphrase.into());
    }
    let doc = export(core, input.include_usage).await?;
    let passphrase = input.passphrase;
    let sealed = tokio::task::spawn_blocking(move || bundle::seal(&doc, &passphrase))
        .await
        .map_err(|e| ManageError::Upstream(e.to_string()))??;
    // It must fit what a router takes in (base64 in a bounded body).
    if sealed.len() > MAX_SETUP_FILE {
        return Err(invalid(
            "includeUsage",
            "the setup with its usage is too large to bring in elsewhere: export it without usage",
        ));
    }
    tracing::info!(bytes = sealed.len(), "exported the setup");
    Ok(sealed)
}

/// Decrypts a setup file off the async workers (scrypt takes about a second by design).
pub async fn open_file(bytes: Vec<u8>, passphrase: String) -> Result<SetupDoc, ManageError> {
    tokio::task::spawn_blocking(move || read_setup_file(&bytes, &passphrase))
        .await
        .map_err(|e| ManageError::Upstream(e.to_string()))?
}
