//! From a client's model string to the ordered list of provider/model targets to try.
//!
//! `prefix/model` names a provider alias or node prefix; a bare name is a combo, then a model
//! alias, then a guess by model family. Combos and aliases may name other combos; a cycle is
//! an error, not a hang.

use serde::Serialize;

use super::RoutingState;
use crate::catalog::{Catalog, ComboStrategy};

const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Provider id (registry id or node id).
    pub provider: String,
    /// The model name the provider is asked for.
    pub model: String,
    /// How the user would write it: `prefix/model`.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "The model `{0}` does not exist: it is not a combo, an alias, or a `provider/model` of a connected provider"
    )]
    Unknown(String),
    #[error("Combo cycle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
    #[error("Combo or alias nesting is deeper than {MAX_DEPTH} levels at `{0}`")]
    TooDeep(String),
}

pub fn resolve(
    catalog: &Catalog,
    state: &RoutingState,
    model: &str,
) -> Result<Vec<Target>, ResolveError> {
    expand_all(catalog, Some(state), model)
}

/// Every target a model string can reach, in configured order, without taking a round-robin
/// turn: for health summaries, which must not move the rotation.
pub fn members(catalog: &Catalog, model: &str) -> Result<Vec<Target>, ResolveError> {
    expand_all(catalog, None, model)
}

fn expand_all(
    catalog: &Catalog,
    turns: Option<&RoutingState>,
    model: &str,
) -> Result<Vec<Target>, ResolveError> {
    let mut out = Vec::new();
    let mut stack = Vec::new();
    expand(catalog, turns, model, &mut stack, &mut out)?;
    if out.is_empty() {
        return Err(ResolveError::Unknown(model.to_owned()));
    }
    Ok(out)
}

fn push_unique(out: &mut Vec<Target>, target: Target) {
    if !out
        .iter()
        .any(|t| t.provider == target.provider && t.model == target.model)
    {
        out.push(target);
    }
}

fn expand(
    catalog: &Catalog,
    turns: Option<&RoutingState>,
    name: &str,
    stack: &mut Vec<String>,
    out: &mut Vec<Target>,
) -> Result<(), ResolveError> {
    if let Some((prefix, model)) = name.split_once('/')
        && let Some(provider) = catalog.provider_by_prefix(prefix)
        && !model.is_empty()
    {
        push_unique(
            out,
            Target {
                provider: provider.id.clone(),
                model: model.to_owned(),
                label: format!("{}/{model}", provider.prefix),
            },
        );
        return Ok(());
    }

    let combo = catalog.combos.get(name).map(|(c, _)| c);
    let alias = catalog.aliases.get(name).map(|(t, _)| t);
    if combo.is_some() || alias.is_some() {
        if stack.iter().any(|s| s == name) {
            let mut cycle = stack.clone();
            cycle.push(name.to_owned());
            return Err(ResolveError::Cycle(cycle));
        }
        if stack.len() >= MAX_DEPTH {
            return Err(ResolveError::TooDeep(name.to_owned()));
        }
        stack.push(name.to_owned());
        if let Some(combo) = combo {
            let n = combo.models.len();
            let start = match (combo.strategy, turns) {
                (ComboStrategy::RoundRobin, Some(state)) => state.next_combo_turn(&combo.name, n),
                _ => 0,
            };
            for member in combo.models.iter().cycle().skip(start).take(n) {
                match expand(catalog, turns, member, stack, out) {
                    // A member that names nothing routable (a deleted node, say) is skipped so
                    // the rest of the chain still works; cycles stay errors.
                    Err(ResolveError::Unknown(m)) => {
                        tracing::warn!(combo = %combo.name, member = %m, "combo member does not resolve; skipped");
                    }
                    other => other?,
                }
            }
        } else if let Some(target) = alias {
            expand(catalog, turns, target, stack, out)?;
        }
        stack.pop();
        return Ok(());
    }

    if !name.contains('/')
        && let Some(provider) = catalog.guess_provider(name)
    {
        push_unique(
            out,
            Target {
                provider: provider.id.clone(),
                model: name.to_owned(),
                label: format!("{}/{name}", provider.prefix),
            },
        );
        return Ok(());
    }
    Err(ResolveError::Unknown(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{AccountRecord, CatalogParts, Combo, Source};
    use crate::routing::Cooldowns;

    fn combo(name: &str, models: &[&str], strategy: ComboStrategy) -> (Combo, Source) {
        (
            Combo {
                name: name.into(),
                models: models.iter().map(|m| (*m).to_owned()).collect(),
                strategy,
            },
            Source::Api,
        )
    }

    fn catalog() -> Catalog {
        Catalog::build(CatalogParts {
            accounts: vec![(
                AccountRecord {
                    id: "o1".into(),
                    provider: "openai".into(),
                    name: "o1".into(),
                    priority: 1,
                    enabled: true,
                    base_url: None,
                    models: vec![],
                    secret_ref: None,
                    proxy_ref: None,
                    quota_reserve_pct: None,
                    source: Source::Api,
                },
                None,
            )],
            combos: vec![
                combo(
                    "stack",
                    &["oa/gpt-4o", "inner", "ds/deepseek-chat"],
                    ComboStrategy::Fallback,
                ),
                combo(
                    "inner",
                    &["groq/llama", "oa/gpt-4o"],
                    ComboStrategy::Fallback,
                ),
                combo("loop-a", &["oa/x", "loop-b"], ComboStrategy::Fallback),
                combo("loop-b", &["loop-a"], ComboStrategy::Fallback),
                combo("rr", &["oa/a", "oa/b", "oa/c"], ComboStrategy::RoundRobin),
                combo("with-missing", &["nope/x", "oa/y"], ComboStrategy::Fallback),
            ],
            aliases: vec![("fast".into(), "inner".into(), Source::Api)],
            ..CatalogParts::default()
        })
    }

    fn labels(r: Result<Vec<Target>, ResolveError>) -> Vec<String> {
        r.map(|ts| ts.into_iter().map(|t| t.label).collect())
            .unwrap_or_default()
    }

    #[test]
    fn prefixes_resolve_through_aliases_to_provider_ids() {
        let (cat, st) = (catalog(), RoutingState::new(Cooldowns::new(None)));
        let t = resolve(&cat, &st, "openai/gpt-4o").unwrap_or_default();
        assert_eq!(t[0].provider, "openai");
        assert_eq!(t[0].model, "gpt-4o");
        assert_eq!(t[0].label, "openai/gpt-4o");
        // A model name may itself contain slashes (OpenRouter style).
        let t = resolve(&cat, &st, "openrouter/meta-llama/llama-3").unwrap_or_default();
        assert_eq!(t[0].model, "meta-llama/llama-3");
    }

    #[test]
    fn nested_combos_flatten_in_order_without_duplicates() {
        let (cat, st) = (catalog(), RoutingState::new(Cooldowns::new(None)));
        assert_eq!(
            labels(resolve(&cat, &st, "stack")),
            ["openai/gpt-4o", "groq/llama", "ds/deepseek-chat"]
        );
        assert_eq!(
            labels(resolve(&cat, &st, "fast")),
            ["groq/llama", "openai/gpt-4o"]
        );
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let (cat, st) = (catalog(), RoutingState::new(Cooldowns::new(None)));
        assert_eq!(
            resolve(&cat, &st, "loop-a"),
            Err(ResolveError::Cycle(vec![
                "loop-a".into(),
                "loop-b".into(),
                "loop-a".into()
            ]))
        );
    }

    #[test]
    fn round_robin_combos_rotate_their_start() {
        let (cat, st) = (catalog(), RoutingState::new(Cooldowns::new(None)));
        let firsts: Vec<String> = (0..4)
            .map(|_| labels(resolve(&cat, &st, "rr")).remove(0))
            .collect();
        assert_eq!(firsts, ["openai/a", "openai/b", "openai/c", "openai/a"]);
        assert_eq!(
            labels(resolve(&cat, &st, "rr")),
            ["openai/b", "openai/c", "openai/a"]
        );
    }

    #[test]
    fn bare_names_are_guessed_by_family_only_for_connected_providers() {
        let (cat, st) = (catalog(), RoutingState::new(Cooldowns::new(None)));
        assert_eq!(labels(resolve(&cat, &st, "gpt-4.1")), ["openai/gpt-4.1"]);
        // DeepSeek has no account: no guess.
        assert_eq!(
            resolve(&cat, &st, "deepseek-chat"),
            Err(ResolveError::Unknown("deepseek-chat".into()))
        );
        assert!(matches!(
            resolve(&cat, &st, "zz/model"),
            Err(ResolveError::Unknown(_))
        ));
    }

    #[test]
    fn unresolvable_combo_members_are_skipped() {
        let (cat, st) = (catalog(), RoutingState::new(Cooldowns::new(None)));
        assert_eq!(labels(resolve(&cat, &st, "with-missing")), ["openai/y"]);
    }
}
