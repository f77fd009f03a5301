//! Custom nodes: the user's own OpenAI-compatible endpoints, each with its model prefix.

use serde::Deserialize;

use super::{ManageError, conflict, invalid, read_only, validate_name};
use crate::catalog::{NodeKind, NodeRecord, Source, validate_base_url, validate_prefix};
use crate::clock::new_id;
use crate::state::Core;
use crate::store;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct NodeInput {
    pub name: String,
    pub prefix: String,
    #[serde(default = "default_kind")]
    #[cfg_attr(test, ts(as = "Option<NodeKind>"))]
    pub kind: String,
    pub base_url: String,
}

fn default_kind() -> String {
    NodeKind::OpenaiCompatible.as_str().to_owned()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePatch {
    pub name: Option<String>,
    pub prefix: Option<String>,
    pub base_url: Option<String>,
}

fn parse_kind(kind: &str) -> Result<NodeKind, ManageError> {
    NodeKind::parse(kind).ok_or_else(|| {
        invalid(
            "kind",
            "must be one of 'openai-compatible', 'openai-responses', 'anthropic-compatible', 'gemini-compatible'",
        )
    })
}

fn check_prefix_free(
    core: &Core,
    prefix: &str,
    except_id: Option<&str>,
) -> Result<(), ManageError> {
    validate_prefix(prefix).map_err(|m| invalid("prefix", m))?;
    let catalog = core.catalog();
    if let Some(p) = catalog.provider_by_prefix(prefix)
        && Some(p.id.as_str()) != except_id
    {
        return Err(conflict(
            "prefix",
            format!("'{prefix}' is already used by {}", p.name),
        ));
    }
    if catalog.combos.contains_key(prefix) || catalog.aliases.contains_key(prefix) {
        return Err(conflict(
            "prefix",
            format!("'{prefix}' is already a combo or alias name"),
        ));
    }
    Ok(())
}

pub async fn list_nodes(core: &Core) -> Result<Vec<NodeRecord>, ManageError> {
    let catalog = core.catalog();
    let mut nodes = core.store.call(|c| store::list_nodes(c)).await?;
    // File nodes exist only in the catalog; show them too, read-only.
    for p in catalog.providers() {
        if p.id.starts_with("file-node-") {
            nodes.push(NodeRecord {
                id: p.id.clone(),
                name: p.name.clone(),
                prefix: p.prefix.clone(),
                kind: NodeKind::OpenaiCompatible,
                base_url: p.base_url.clone(),
                source: Source::File,
            });
        }
    }
    Ok(nodes)
}

pub async fn create_node(core: &Core, input: NodeInput) -> Result<NodeRecord, ManageError> {
    validate_name("name", &input.name)?;
    let kind = parse_kind(&input.kind)?;
    check_prefix_free(core, &input.prefix, None)?;
    validate_base_url(&input.base_url).map_err(|m| invalid("baseUrl", m))?;
    let node = NodeRecord {
        id: format!("node-{}", new_id()),
        name: input.name.trim().to_owned(),
        prefix: input.prefix,
        kind,
        base_url: input.base_url.trim_end_matches('/').to_owned(),
        source: Source::Api,
    };
    let row = node.clone();
    core.store
        .call(move |c| store::insert_node(c, &row))
        .await?;
    core.reload("nodes").await?;
    Ok(node)
}

async fn stored(core: &Core, id: &str) -> Result<NodeRecord, ManageError> {
    if id.starts_with("file-node-") {
        return Err(read_only(&format!("node '{id}'")));
    }
    core.store
        .call(|c| store::list_nodes(c))
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .ok_or_else(|| ManageError::NotFound(format!("no node '{id}'")))
}

pub async fn update_node(
    core: &Core,
    id: &str,
    patch: NodePatch,
) -> Result<NodeRecord, ManageError> {
    let mut node = stored(core, id).await?;
    if let Some(n) = patch.name {
        validate_name("name", &n)?;
        node.name = n.trim().to_owned();
    }
    if let Some(p) = patch.prefix {
        check_prefix_free(core, &p, Some(id))?;
        node.prefix = p;
    }
    if let Some(u) = patch.base_url {
        validate_base_url(&u).map_err(|m| invalid("baseUrl", m))?;
        node.base_url = u.trim_end_matches('/').to_owned();
    }
    let row = node.clone();
    core.store
        .call(move |c| store::update_node(c, &row))
        .await?;
    core.reload("nodes").await?;
    Ok(node)
}

/// Deletes a node with its accounts and their stored keys.
pub async fn delete_node(core: &Core, id: &str) -> Result<(), ManageError> {
    stored(core, id).await?;
    let id_owned = id.to_owned();
    let refs = core
        .store
        .call(move |c| store::delete_node(c, &id_owned))
        .await?
        .ok_or_else(|| ManageError::NotFound(format!("no node '{id}'")))?;
    for r in refs {
        core.secrets.delete(&r).await?;
    }
    core.reload("nodes").await?;
    Ok(())
}
