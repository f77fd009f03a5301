//! The built-in provider table. A provider is a row here; code exists only where a provider is
//! special. Base URLs are written the way each API's official SDK takes them (OpenAI: `…/v1`),
//! and every one can be overridden per account.

use serde::Serialize;

use crate::auth::LoginCtor;
pub use crate::format::WireFormat;

/// How a provider tells its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum QuotaApi {
    /// Only through rate-limit headers on its answers (or not at all).
    Headers,
    /// OpenRouter's `GET /key`: credit limit, usage per day, week and month.
    OpenrouterKey,
    /// The provider's login module fetches it (its usage endpoint, with the login's token).
    Login,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Tier {
    Subscription,
    Cheap,
    Free,
    ApiKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum AuthKind {
    ApiKey,
    OauthPkce,
    DeviceCode,
    /// The login an app of the provider's holds, imported from its own files.
    Imported,
}

/// Whether a provider gives something for free, as far as known when this table was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum FreeOffer {
    /// Paid only.
    None,
    /// A free tier or plan exists.
    Available,
    /// There was one; it ended on this date.
    Ended { since: &'static str },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ProviderDef {
    pub id: &'static str,
    /// Prefixes accepted in `prefix/model` strings; the first is the one `/v1/models` shows.
    pub aliases: &'static [&'static str],
    pub name: &'static str,
    pub tier: Tier,
    pub auth: AuthKind,
    pub format: WireFormat,
    pub base_url: &'static str,
    /// Bare model names starting with one of these are guessed to belong here.
    #[serde(skip)]
    pub families: &'static [&'static str],
    pub models: &'static [&'static str],
    /// Models (a name containing one of these) the provider serves only through its
    /// Responses endpoint, though it speaks `format` otherwise (Copilot's Codex models).
    #[serde(skip)]
    pub responses_models: &'static [&'static str],
    /// Where its quota comes from.
    pub quota: QuotaApi,
    /// Shown in the dashboard next to the provider.
    pub free_offer: FreeOffer,
    /// The provider's login module, for subscription providers.
    #[serde(skip)]
    pub login: Option<LoginCtor>,
}

impl ProviderDef {
    /// The format a request for `model` goes out in.
    pub fn wire_for(&self, model: &str) -> WireFormat {
        wire_for(self.format, self.responses_models, model)
    }

    pub fn display_prefix(&self) -> &'static str {
        self.aliases.first().copied().unwrap_or(self.id)
    }
}

const fn anthropic_key(
    id: &'static str,
    aliases: &'static [&'static str],
    name: &'static str,
    tier: Tier,
    base_url: &'static str,
    families: &'static [&'static str],
    models: &'static [&'static str],
) -> ProviderDef {
    ProviderDef {
        format: WireFormat::Anthropic,
        ..openai_key(id, aliases, name, tier, base_url, families, models)
    }
}

const fn openai_key(
    id: &'static str,
    aliases: &'static [&'static str],
    name: &'static str,
    tier: Tier,
    base_url: &'static str,
    families: &'static [&'static str],
    models: &'static [&'static str],
) -> ProviderDef {
    ProviderDef {
        id,
        aliases,
        name,
        tier,
        auth: AuthKind::ApiKey,
        format: WireFormat::OpenaiChat,
        base_url,
        families,
        models,
        responses_models: &[],
        quota: QuotaApi::Headers,
        free_offer: match tier {
            Tier::Free => FreeOffer::Available,
            _ => FreeOffer::None,
        },
        login: None,
    }
}

static REGISTRY: &[ProviderDef] = &[
    openai_key(
        "openai",
        &["openai", "oa"],
        "OpenAI",
        Tier::ApiKey,
        "https://api.openai.com/v1",
        &["gpt-", "o1", "o3", "o4", "chatgpt-", "codex-"],
        &[
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4o",
            "gpt-4o-mini",
            "o3",
            "o4-mini",
        ],
    ),
    ProviderDef {
        responses_models: &[],
        quota: QuotaApi::OpenrouterKey,
        ..openai_key(
            "openrouter",
            &["openrouter", "or"],
            "OpenRouter",
            Tier::Cheap,
            "https://openrouter.ai/api/v1",
            &[],
            &["openrouter/auto"],
        )
    },
    openai_key(
        "deepseek",
        &["ds", "deepseek"],
        "DeepSeek",
        Tier::Cheap,
        "https://api.deepseek.com",
        &["deepseek-"],
        &["deepseek-chat", "deepseek-reasoner"],
    ),
    openai_key(
        "groq",
        &["groq"],
        "Groq",
        Tier::Free,
        "https://api.groq.com/openai/v1",
        &[],
        &["llama-3.3-70b-versatile"],
    ),
    openai_key(
        "xai",
        &["xai"],
        "xAI",
        Tier::ApiKey,
        "https://api.x.ai/v1",
        &["grok-"],
        &["grok-4", "grok-code-fast-1"],
    ),
    openai_key(
        "mistral",
        &["mistral"],
        "Mistral",
        Tier::ApiKey,
        "https://api.mistral.ai/v1",
        &["mistral-", "codestral-", "devstral-", "magistral-"],
        &[
            "mistral-large-latest",
            "codestral-latest",
            "devstral-medium-latest",
        ],
    ),
    openai_key(
        "perplexity",
        &["pplx", "perplexity"],
        "Perplexity",
        Tier::ApiKey,
        "https://api.perplexity.ai",
        &["sonar"],
        &["sonar", "sonar-pro"],
    ),
    openai_key(
        "together",
        &["together"],
        "Together AI",
        Tier::Cheap,
        "https://api.together.xyz/v1",
        &[],
        &[],
    ),
    openai_key(
        "fireworks",
        &["fireworks"],
        "Fireworks AI",
        Tier::Cheap,
        "https://api.fireworks.ai/inference/v1",
        &[],
        &[],
    ),
    openai_key(
        "cerebras",
        &["cerebras"],
        "Cerebras",
        Tier::Free,
        "https://api.cerebras.ai/v1",
        &[],
        &["gpt-oss-120b", "qwen-3-coder-480b"],
    ),
    openai_key(
        "cohere",
        &["cohere"],
        "Cohere",
        Tier::ApiKey,
        "https://api.cohere.ai/compatibility/v1",
        &["command-"],
        &["command-a-03-2025"],
    ),
    openai_key(
        "nvidia",
        &["nvidia"],
        "NVIDIA NIM",
        Tier::Free,
        "https://integrate.api.nvidia.com/v1",
        &[],
        &[],
    ),
    openai_key(
        "nebius",
        &["nebius"],
        "Nebius",
        Tier::Cheap,
        "https://api.studio.nebius.ai/v1",
        &[],
        &[],
    ),
    openai_key(
        "siliconflow",
        &["siliconflow"],
        "SiliconFlow",
        Tier::Cheap,
        "https://api.siliconflow.cn/v1",
        &[],
        &[],
    ),
    openai_key(
        "hyperbolic",
        &["hyp", "hyperbolic"],
        "Hyperbolic",
        Tier::Cheap,
        "https://api.hyperbolic.xyz/v1",
        &[],
        &[],
    ),
    openai_key(
        "chutes",
        &["ch", "chutes"],
        "Chutes",
        Tier::Cheap,
        "https://llm.chutes.ai/v1",
        &[],
        &[],
    ),
    openai_key(
        "glm-cn",
        &["glm-cn"],
        "GLM (China, coding plan)",
        Tier::Cheap,
        "https://open.bigmodel.cn/api/coding/paas/v4",
        &[],
        &["glm-4.6"],
    ),
    anthropic_key(
        "glm",
        &["glm"],
        "GLM (Z.ai coding plan)",
        Tier::Cheap,
        "https://api.z.ai/api/anthropic",
        &["glm-"],
        &["glm-4.6", "glm-4.5-air"],
    ),
    anthropic_key(
        "kimi",
        &["kimi"],
        "Kimi (coding plan)",
        Tier::Cheap,
        "https://api.kimi.com/coding",
        &["kimi-"],
        &["kimi-for-coding", "kimi-k2-turbo-preview"],
    ),
    anthropic_key(
        "minimax",
        &["minimax"],
        "MiniMax",
        Tier::Cheap,
        "https://api.minimax.io/anthropic",
        &["MiniMax-"],
        &["MiniMax-M2"],
    ),
    anthropic_key(
        "minimax-cn",
        &["minimax-cn"],
        "MiniMax (China)",
        Tier::Cheap,
        "https://api.minimaxi.com/anthropic",
        &[],
        &["MiniMax-M2"],
    ),
    anthropic_key(
        "anthropic",
        &["anthropic"],
        "Anthropic",
        Tier::ApiKey,
        "https://api.anthropic.com",
        &["claude-"],
        &["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"],
    ),
    ProviderDef {
        id: "gemini",
        aliases: &["gemini"],
        name: "Gemini (AI Studio)",
        tier: Tier::ApiKey,
        auth: AuthKind::ApiKey,
        format: WireFormat::Gemini,
        base_url: "https://generativelanguage.googleapis.com",
        families: &["gemini-"],
        models: &["gemini-2.5-pro", "gemini-2.5-flash"],
        responses_models: &[],
        quota: QuotaApi::Headers,
        login: None,
        free_offer: FreeOffer::Available,
    },
    // Subscription rows: accounts come from logins (a row's `login` names its module);
    // the rest are listed so model strings resolve to a clear answer.
    ProviderDef {
        id: "claude",
        aliases: &["cc"],
        name: "Claude (Pro/Max)",
        tier: Tier::Subscription,
        auth: AuthKind::OauthPkce,
        format: WireFormat::Anthropic,
        base_url: "https://api.anthropic.com",
        families: &[],
        models: &[],
        responses_models: &[],
        quota: QuotaApi::Login,
        login: Some(super::claude::login),
        free_offer: FreeOffer::None,
    },
    ProviderDef {
        id: "codex",
        aliases: &["cx"],
        name: "OpenAI Codex (Plus/Pro)",
        tier: Tier::Subscription,
        auth: AuthKind::OauthPkce,
        format: WireFormat::OpenaiResponses,
        base_url: "https://chatgpt.com/backend-api/codex",
        families: &[],
        models: &[
            "gpt-5.1-codex",
            "gpt-5.1-codex-mini",
            "gpt-5.1",
            "gpt-5-codex",
            "gpt-5",
        ],
        responses_models: &[],
        quota: QuotaApi::Login,
        login: Some(super::codex::login),
        free_offer: FreeOffer::None,
    },
    ProviderDef {
        id: "gemini-cli",
        aliases: &["gc"],
        name: "Gemini CLI",
        tier: Tier::Subscription,
        auth: AuthKind::OauthPkce,
        format: WireFormat::GeminiCloudcode,
        base_url: "https://cloudcode-pa.googleapis.com",
        families: &[],
        models: &["gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview"],
        responses_models: &[],
        quota: QuotaApi::Headers,
        login: Some(super::google::gemini_cli),
        free_offer: FreeOffer::Available,
    },
    ProviderDef {
        id: "antigravity",
        aliases: &["ag"],
        name: "Antigravity",
        tier: Tier::Subscription,
        auth: AuthKind::OauthPkce,
        format: WireFormat::GeminiCloudcode,
        base_url: "https://daily-cloudcode-pa.googleapis.com",
        families: &[],
        models: &[
            "gemini-3-pro-high",
            "gemini-3-pro-low",
            "gemini-3-flash",
            "claude-sonnet-4-5",
            "claude-sonnet-4-5-thinking",
            "gpt-oss-120b-medium",
        ],
        responses_models: &[],
        quota: QuotaApi::Login,
        login: Some(super::google::antigravity),
        free_offer: FreeOffer::Available,
    },
    ProviderDef {
        id: "github",
        aliases: &["gh"],
        name: "GitHub Copilot",
        tier: Tier::Subscription,
        auth: AuthKind::DeviceCode,
        format: WireFormat::OpenaiChat,
        base_url: "https://api.githubcopilot.com",
        families: &[],
        models: &[],
        responses_models: &["codex"],
        quota: QuotaApi::Login,
        login: Some(super::copilot::login),
        free_offer: FreeOffer::Available,
    },
    ProviderDef {
        id: "kiro",
        aliases: &["kr"],
        name: "Kiro (AWS)",
        tier: Tier::Subscription,
        auth: AuthKind::DeviceCode,
        format: WireFormat::Kiro,
        base_url: "https://codewhisperer.us-east-1.amazonaws.com",
        families: &[],
        models: &["claude-sonnet-4.5", "claude-haiku-4.5", "claude-sonnet-4"],
        responses_models: &[],
        quota: QuotaApi::Login,
        login: Some(super::kiro::login),
        free_offer: FreeOffer::Available,
    },
    ProviderDef {
        id: "qwen",
        aliases: &["qw"],
        name: "Qwen",
        tier: Tier::Subscription,
        auth: AuthKind::DeviceCode,
        format: WireFormat::OpenaiChat,
        base_url: "https://portal.qwen.ai/v1",
        families: &[],
        models: &[],
        responses_models: &[],
        quota: QuotaApi::Headers,
        login: Some(super::qwen::login),
        free_offer: FreeOffer::Ended {
            since: "2026-04-15",
        },
    },
    ProviderDef {
        id: "iflow",
        aliases: &["if"],
        name: "iFlow",
        tier: Tier::Subscription,
        auth: AuthKind::OauthPkce,
        format: WireFormat::OpenaiChat,
        base_url: "https://apis.iflow.cn/v1",
        families: &[],
        models: &["qwen3-coder-plus", "kimi-k2", "deepseek-v3.2", "glm-4.6"],
        responses_models: &[],
        quota: QuotaApi::Headers,
        login: Some(super::iflow::login),
        free_offer: FreeOffer::Available,
    },
    ProviderDef {
        id: "cursor",
        aliases: &["cu"],
        name: "Cursor",
        tier: Tier::Subscription,
        auth: AuthKind::Imported,
        format: WireFormat::Native,
        base_url: "https://api2.cursor.sh",
        families: &[],
        models: &[
            "default",
            "claude-4.5-sonnet",
            "claude-4.5-sonnet-thinking",
            "claude-4.5-opus",
            "claude-4.5-opus-high",
            "claude-4.5-opus-high-thinking",
            "claude-4.5-haiku",
            "claude-4.6-opus-max",
            "claude-4.6-sonnet-medium-thinking",
            "gpt-5.2",
            "gpt-5.2-codex",
            "gpt-5.3-codex",
            "gemini-3-flash-preview",
            "kimi-k2.5",
        ],
        responses_models: &[],
        quota: QuotaApi::Headers,
        login: Some(super::cursor::login),
        free_offer: FreeOffer::Available,
    },
];

pub fn registry() -> &'static [ProviderDef] {
    REGISTRY
}

/// Finds a registry provider by id or by any of its aliases.
pub fn find(id_or_alias: &str) -> Option<&'static ProviderDef> {
    REGISTRY
        .iter()
        .find(|p| p.id == id_or_alias || p.aliases.contains(&id_or_alias))
}

/// `format`, or Responses for a model named in `responses_models`.
pub fn wire_for(format: WireFormat, responses_models: &[&str], model: &str) -> WireFormat {
    if responses_models.iter().any(|m| model.contains(m)) {
        WireFormat::OpenaiResponses
    } else {
        format
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn free_offers_are_known_per_row() {
        let offer = |id: &str| find(id).map(|p| p.free_offer);
        assert_eq!(
            offer("qwen"),
            Some(FreeOffer::Ended {
                since: "2026-04-15"
            })
        );
        assert_eq!(offer("groq"), Some(FreeOffer::Available));
        assert_eq!(offer("github"), Some(FreeOffer::Available));
        assert_eq!(offer("openai"), Some(FreeOffer::None));
        let json = serde_json::to_value(find("qwen").map(|p| p.free_offer)).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"state": "ended", "since": "2026-04-15"})
        );
    }

    #[test]
    fn ids_and_aliases_are_unique_across_the_table() {
        let mut seen = HashSet::new();
        for p in registry() {
            assert!(
                seen.insert(p.id) || p.aliases.contains(&p.id),
                "duplicate {}",
                p.id
            );
            for a in p.aliases {
                if *a != p.id {
                    assert!(seen.insert(a), "alias {a} used twice");
                }
            }
        }
    }

    #[test]
    fn compatibility_aliases_resolve_as_in_9router() {
        for (alias, id) in [
            ("cc", "claude"),
            ("cx", "codex"),
            ("gc", "gemini-cli"),
            ("ag", "antigravity"),
            ("gh", "github"),
            ("qw", "qwen"),
            ("if", "iflow"),
            ("kr", "kiro"),
            ("ds", "deepseek"),
            ("pplx", "perplexity"),
            ("openrouter", "openrouter"),
        ] {
            assert_eq!(find(alias).map(|p| p.id), Some(id), "{alias}");
        }
    }

    #[test]
    fn openai_format_base_urls_are_sdk_style_without_endpoint_path() {
        for p in registry() {
            assert!(!p.base_url.ends_with('/'), "{}", p.id);
            assert!(!p.base_url.contains("/chat/completions"), "{}", p.id);
        }
    }
}
