// How each coding tool is pointed at the router. `base` is the router's origin.

export interface Snippet {
  tool: string;
  where: string;
  text: (base: string, key: string) => string;
}

export const SNIPPETS: Snippet[] = [
  {
    tool: "Claude Code",
    where: "shell, before `claude`",
    text: (b, k) => `export ANTHROPIC_BASE_URL=${b}\nexport ANTHROPIC_AUTH_TOKEN=${k}`,
  },
  {
    tool: "Codex CLI",
    where: "~/.codex/config.toml",
    text: (b) =>
      `model_provider = "ninerouter"\n\n[model_providers.ninerouter]\nname = "NineRouter"\nbase_url = "${b}/v1"\nenv_key = "NINEROUTER_API_KEY"\nwire_api = "responses"`,
  },
  {
    tool: "Gemini CLI",
    where: "shell, before `gemini`",
    text: (b, k) => `export GOOGLE_GEMINI_BASE_URL=${b}\nexport GEMINI_API_KEY=${k}`,
  },
  {
    tool: "Cursor",
    where: "Settings → Models → OpenAI API key, override base URL",
    text: (b, k) => `Base URL: ${b}/v1\nAPI key:  ${k}`,
  },
  {
    tool: "Cline",
    where: "API provider: OpenAI Compatible",
    text: (b, k) => `Base URL: ${b}/v1\nAPI key:  ${k}\nModel ID: a combo or provider/model`,
  },
  {
    tool: "OpenCode",
    where: "opencode.json",
    text: (b, k) =>
      JSON.stringify(
        {
          provider: {
            ninerouter: {
              npm: "@ai-sdk/openai-compatible",
              options: { baseURL: `${b}/v1`, apiKey: k },
            },
          },
        },
        null,
        2,
      ),
  },
];
