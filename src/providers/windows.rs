//! Context windows (the most tokens a model reads in one request), by model family: what
//! routing uses to skip a member a request cannot fit before sending it. A row names the
//! start of a model name; the first row that matches wins, so specific rows come first. The
//! user overrides any of them per node or model (`routing.contextWindows`).

/// `(provider id or "*", model name prefix, window)`.
const WINDOWS: &[(&str, &str, u64)] = &[
    // Copilot caps every chat model's prompt at 128k, whatever the model reads elsewhere.
    ("github", "", 128_000),
    ("*", "claude", 200_000),
    ("*", "gpt-4.1", 1_047_576),
    ("*", "gpt-4o", 128_000),
    ("*", "gpt-oss", 131_072),
    ("*", "gpt-5", 400_000),
    ("*", "o1", 200_000),
    ("*", "o3", 200_000),
    ("*", "o4", 200_000),
    ("*", "gemini-", 1_048_576),
    ("*", "deepseek", 128_000),
    ("*", "kimi-k2", 262_144),
    ("*", "kimi-for-coding", 262_144),
    ("*", "glm-4.6", 200_000),
    ("*", "glm-4.5", 128_000),
    ("*", "qwen3-coder", 1_000_000),
    ("*", "minimax-m2", 204_800),
    ("*", "grok-4", 256_000),
    ("*", "grok-code-fast", 256_000),
    ("*", "llama-3.3-70b", 131_072),
    ("*", "mistral-large", 131_072),
];

/// The window of `model` at `provider`, when the table knows it. A vendor path in the name
/// (`anthropic/claude-sonnet-4` at OpenRouter) is looked through.
pub fn context_window(provider: &str, model: &str) -> Option<u64> {
    let name = model.rsplit('/').next().unwrap_or(model);
    WINDOWS
        .iter()
        .find(|(p, prefix, _)| {
            (*p == "*" || *p == provider)
                && name
                    .get(..prefix.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        })
        .map(|row| row.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_provider_caps_have_windows() {
        assert_eq!(context_window("claude", "claude-sonnet-4-5"), Some(200_000));
        assert_eq!(
            context_window("openrouter", "anthropic/claude-opus-4"),
            Some(200_000)
        );
        assert_eq!(context_window("openai", "gpt-4.1-mini"), Some(1_047_576));
        assert_eq!(context_window("openai", "gpt-4o-mini"), Some(128_000));
        assert_eq!(context_window("minimax", "MiniMax-M2"), Some(204_800));
        assert_eq!(context_window("github", "claude-sonnet-4.5"), Some(128_000));
        assert_eq!(context_window("gemini", "gemini-2.5-pro"), Some(1_048_576));
        assert_eq!(context_window("node-1", "my-local-llm"), None);
    }
}
